//! The floor for the collector benchmark: the least work that reads the same cgroup
//! files the collector captures (every v1 or v2 memory file of every cgroup under a
//! root, plus the procfs files) into memory and does nothing else: no manifest, no
//! parsing, no archive. It uses the same cheap syscall pattern as the collector (one
//! directory fd per cgroup, `openat` per file, two reader threads), so the ratio
//! collector/floor is the collector's own overhead, not a difference in approach.
//!
//! `cargo run --release -p podmem-collector --example floor -- CGROUP_ROOT [PROC_ROOT]`
//! prints the number of cgroups, files and bytes read.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use podmem_schema::snapshot::{V1_FILES, V2_FILES};

fn dirs_under(root: &Path, out: &mut Vec<PathBuf>) {
    out.push(root.to_path_buf());
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut subs: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subs.sort();
    for s in subs {
        dirs_under(&s, out);
    }
}

/// Reads the files of one directory; returns (files, bytes).
fn read_dir_files(dir: &Path, names: &[CString], buf: &mut Vec<u8>) -> (usize, usize) {
    let Ok(d) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
    else {
        return (0, 0);
    };
    let (mut files, mut bytes) = (0, 0);
    for n in names {
        let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC;
        let Ok(fd) = rustix::fs::openat(&d, n.as_c_str(), flags, rustix::fs::Mode::empty()) else {
            continue;
        };
        let mut f = std::fs::File::from(fd);
        buf.clear();
        if f.read_to_end(buf).is_ok() {
            files += 1;
            bytes += buf.len();
            // Kept like the collector keeps it: one owned copy per file.
            std::hint::black_box(buf.clone());
        }
    }
    (files, bytes)
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let root = PathBuf::from(args.next().expect("usage: floor CGROUP_ROOT [PROC_ROOT]"));
    let proc_root = PathBuf::from(args.next().unwrap_or_else(|| "/proc".into()));
    let v2 = root.join("cgroup.controllers").exists();
    let names: Vec<CString> = if v2 { V2_FILES } else { V1_FILES }
        .iter()
        .map(|f| CString::new(std::ffi::OsStr::new(f).as_bytes()).unwrap())
        .collect();
    let mut dirs = Vec::new();
    dirs_under(&root, &mut dirs);
    let chunk = dirs.len().div_ceil(2).max(1);
    let (files, bytes) = std::thread::scope(|s| {
        let hs: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| {
                let names = &names;
                s.spawn(move || {
                    let mut buf = Vec::with_capacity(16 << 10);
                    part.iter().fold((0, 0), |(f, b), d| {
                        let (f2, b2) = read_dir_files(d, names, &mut buf);
                        (f + f2, b + b2)
                    })
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |(f, b), (f2, b2)| (f + f2, b + b2))
    });
    let mut proc_bytes = 0;
    for p in [
        "meminfo",
        "vmstat",
        "cgroups",
        "pressure/memory",
        "self/mountinfo",
    ] {
        if let Ok(v) = std::fs::read(proc_root.join(p)) {
            proc_bytes += v.len();
        }
    }
    println!(
        "{} cgroups, {files} files, {bytes} bytes (+{proc_bytes} bytes of procfs)",
        dirs.len()
    );
}
