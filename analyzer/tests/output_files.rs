//! `report -o` over every kind of file (issue 13, hole 2): a regular file or a new path is
//! replaced atomically, a character device and a FIFO are written in place and stay
//! what they were, a directory and a socket are refused with the reason, a symbolic
//! link is followed. The device nodes are made by the test (mknod in a temporary
//! directory, same numbers as /dev/null and /dev/full), never the system's own.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

fn analyzer() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("podmem-analyzer").unwrap()
}

/// A snapshot to report on, and the report's text as the analyzer prints it to stdout.
fn input(dir: &Path) -> (PathBuf, Vec<u8>) {
    let snap = healthy("out-node", 1)[0].write(dir);
    let o = analyzer().arg("report").arg(&snap).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    (snap, o.stdout)
}

fn report_to(snap: &Path, out: &Path) -> Output {
    analyzer()
        .arg("report")
        .arg(snap)
        .arg("-o")
        .arg(out)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

fn mknod(path: &Path, mode: u32, major: u32, minor: u32) -> bool {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: mknod with a valid NUL-terminated path.
    unsafe { libc::mknod(c.as_ptr(), mode, libc::makedev(major, minor)) == 0 }
}

/// A text report without its first line (which holds the generation time, different
/// between two runs a second apart).
fn body(report: &[u8]) -> Vec<u8> {
    let at = report.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1);
    report[at..].to_vec()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn no_temp_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

fn regular_file_and_new_path_are_replaced_with_the_report() {
    let d = tempfile::tempdir().unwrap();
    let (snap, want) = input(d.path());
    let new = d.path().join("new.txt");
    let o = report_to(&snap, &new);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(body(&std::fs::read(&new).unwrap()), body(&want));

    let old = d.path().join("old.txt");
    std::fs::write(&old, "previous").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = report_to(&snap, &old);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(body(&std::fs::read(&old).unwrap()), body(&want));
    let md = std::fs::metadata(&old).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o600, "permissions kept");
    no_temp_left(d.path());
}

fn directory_is_refused_and_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let (snap, _) = input(d.path());
    let target = d.path().join("dir");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("inside"), "x").unwrap();
    let o = report_to(&snap, &target);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    assert!(std::fs::metadata(&target).unwrap().is_dir());
    assert_eq!(std::fs::read(target.join("inside")).unwrap(), b"x");
    no_temp_left(d.path());
}

fn character_devices_are_written_in_place_never_replaced() {
    let d = tempfile::tempdir().unwrap();
    let (snap, _) = input(d.path());
    // A /dev/null: the report is written to it and it stays a device.
    let null = d.path().join("null");
    assert!(mknod(&null, libc::S_IFCHR | 0o666, 1, 3), "mknod null");
    let o = report_to(&snap, &null);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = std::fs::symlink_metadata(&null).unwrap();
    assert!(md.file_type().is_char_device(), "{md:?}");
    assert_eq!(md.rdev(), libc::makedev(1, 3));
    // A /dev/full: the write fails (no space), the run says so, and it stays a device.
    let full = d.path().join("full");
    assert!(mknod(&full, libc::S_IFCHR | 0o666, 1, 7), "mknod full");
    let o = report_to(&snap, &full);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("full"), "{}", stderr(&o));
    let md = std::fs::symlink_metadata(&full).unwrap();
    assert!(md.file_type().is_char_device(), "{md:?}");
    assert_eq!(md.rdev(), libc::makedev(1, 7));
    // Through a symbolic link: the device behind it is written, the link stays.
    let link = d.path().join("link-to-null");
    std::os::unix::fs::symlink(&null, &link).unwrap();
    let o = report_to(&snap, &link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::symlink_metadata(&null)
        .unwrap()
        .file_type()
        .is_char_device());
    no_temp_left(d.path());
}

fn fifo_gets_the_report_and_stays_a_fifo() {
    let d = tempfile::tempdir().unwrap();
    let (snap, want) = input(d.path());
    let fifo = d.path().join("pipe");
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let f2 = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(f2).unwrap());
    let o = report_to(&snap, &fifo);
    // A run that replaced the FIFO never opened it: the reader stays blocked (it is
    // left behind, not joined).
    let t = std::time::Instant::now();
    while !reader.is_finished() && t.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        reader.is_finished(),
        "the FIFO was never opened for writing"
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(body(&reader.join().unwrap()), body(&want));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    no_temp_left(d.path());
}

fn socket_and_dangling_link_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (snap, _) = input(d.path());
    let sock = d.path().join("sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = report_to(&snap, &sock);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a socket"), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_socket());

    let dangling = d.path().join("dangling");
    std::os::unix::fs::symlink(d.path().join("missing"), &dangling).unwrap();
    let o = report_to(&snap, &dangling);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert!(!d.path().join("missing").exists());

    // A link to a regular file: the file behind it gets the report, the link stays.
    let target = d.path().join("target.txt");
    std::fs::write(&target, "old").unwrap();
    let link = d.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = report_to(&snap, &link);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(std::fs::read(&target).unwrap(), b"old");
    no_temp_left(d.path());
}

fn no_usable_input_writes_no_report() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.tar.gz");
    std::fs::write(&bad, b"not an archive").unwrap();
    let out = d.path().join("report.html");
    for fmt in ["text", "json", "html"] {
        let o = analyzer()
            .args(["report", "--format", fmt])
            .arg(&bad)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(!out.exists(), "{fmt}: a report was written");
        assert!(stderr(&o).contains("no report written"), "{}", stderr(&o));
        let o = analyzer()
            .args(["report", "--format", fmt])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        assert!(o.stdout.is_empty(), "{fmt}: report on stdout");
    }
}

podmem_testkit::main! {
    [] => [
        regular_file_and_new_path_are_replaced_with_the_report,
        directory_is_refused_and_left_alone,
        fifo_gets_the_report_and_stays_a_fifo,
        socket_and_dangling_link_are_refused,
        no_usable_input_writes_no_report,
    ],
    // mknod of a character device needs root, which the kernel need includes.
    [Need::Kernel] => [character_devices_are_written_in_place_never_replaced],
}
