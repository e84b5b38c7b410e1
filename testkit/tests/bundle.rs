//! `bundle DIR -o -`: the bundle streamed to stdout (how it leaves a DaemonSet pod with
//! `kubectl exec ... > node.tar`) is what the analyzer reads, every snapshot of every
//! node; a terminal is refused; a reader that stops early is not an error.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn snapshot(out: &Path, host_name: &str, node: &str) {
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
        ])
        .args(["--node-name", node, "-o"])
        .arg(out)
        .arg("--host-root")
        .arg(host(host_name))
        .output()
        .unwrap();
    assert_exit(&o, 0);
}

fn bundle_to_stdout_is_read_whole_by_the_analyzer() {
    let d = tempfile::tempdir().unwrap();
    let snaps = d.path().join("snaps");
    snapshot(&snaps, "v2-systemd-containerd", "node-a");
    snapshot(&snaps, "v1-cgroupfs-docker", "node-b");
    snapshot(&snaps, "v2-systemd-containerd", "node-a");
    let o = Command::new(bin())
        .arg("bundle")
        .arg(&snaps)
        .args(["-o", "-"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("3 snapshot(s) of 2 node(s)"), "{stderr}");
    // stdout is the tar and nothing else (no path line after it).
    assert_eq!(o.stdout.len() % 512, 0, "a tar is whole 512-byte blocks");
    assert_eq!(&o.stdout[257..262], b"ustar");
    assert!(
        !common::names(&snaps).iter().any(|n| n.contains(".tmp")),
        "no temporary file left"
    );

    let file = d.path().join("node.tar");
    std::fs::write(&file, &o.stdout).unwrap();
    let report = podmem_analyzer::analyze(
        std::slice::from_ref(&file),
        &podmem_analyzer::load::Limits::default(),
        jiff::Timestamp::now(),
    );
    assert_eq!(report.inputs.len(), 1);
    let input = &report.inputs[0];
    assert_eq!(
        (input.kind.as_str(), input.snapshots, input.status.as_str()),
        ("bundle", 3, "ok"),
        "{:?}",
        input.problems
    );
    let mut nodes: Vec<&str> = report.nodes.iter().map(|n| n.name.as_str()).collect();
    nodes.sort();
    assert_eq!(nodes, ["node-a", "node-b"]);
}

fn bundle_refuses_a_terminal() {
    let d = tempfile::tempdir().unwrap();
    snapshot(d.path(), "v2-systemd-containerd", "node-a");
    // A pseudo-terminal as stdout, as when the redirection is forgotten.
    let (master, slave) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(m)).to_owned();
        let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(s >= 0, "open pts: {}", std::io::Error::last_os_error());
        (m, s)
    };
    let tty = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(slave) };
    let o = Command::new(bin())
        .arg("bundle")
        .arg(d.path())
        .args(["-o", "-"])
        .stdout(Stdio::from(tty))
        .output()
        .unwrap();
    unsafe { libc::close(master) };
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stdout is a terminal"), "{stderr}");
}

fn bundle_reader_closing_early_is_not_an_error() {
    let d = tempfile::tempdir().unwrap();
    // More than a pipe buffer and the writer's buffer hold, so the writer is still
    // writing when the reader hangs up.
    for _ in 0..14 {
        snapshot(d.path(), "v2-systemd-containerd", "node-a");
    }
    let mut child = Command::new(bin())
        .arg("bundle")
        .arg(d.path())
        .args(["-o", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one block, then hang up, like `| head -c 512`.
    let mut stdout = child.stdout.take().unwrap();
    let mut block = [0u8; 512];
    stdout.read_exact(&mut block).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(&block[..11], b"bundle.json");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("broken pipe"), "{stderr}");
}

/// `bundle -o` follows the analyzer's `-o` rules (issue 13, hole 2; one shared helper,
/// `podmem_schema::outfile`): a character device and a FIFO are written in place and stay
/// what they were, a directory and a socket are refused, a regular file is replaced.
fn bundle_output_over_every_file_type() {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let d = tempfile::tempdir().unwrap();
    let snaps = d.path().join("snaps");
    snapshot(&snaps, "v2-systemd-containerd", "node-a");
    let bundle_to = |out: &Path| {
        Command::new(bin())
            .arg("bundle")
            .arg(&snaps)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap()
    };
    let reference = d.path().join("ref.tar");
    let o = bundle_to(&reference);
    assert_exit(&o, 0);
    let want_len = std::fs::metadata(&reference).unwrap().len();

    // Regular file: replaced.
    let o = bundle_to(&reference);
    assert_exit(&o, 0);
    assert!(std::fs::metadata(&reference).unwrap().is_file());

    // Directory: refused.
    let dir = d.path().join("adir");
    std::fs::create_dir(&dir).unwrap();
    let o = bundle_to(&dir);
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a directory"));
    assert!(dir.is_dir());

    // Character device (a /dev/null made by the test): written, still a device.
    let null = d.path().join("null");
    let c = CString::new(null.as_os_str().as_bytes()).unwrap();
    // SAFETY: mknod with a valid NUL-terminated path.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(
        made,
        0,
        "mknod needs root: {}",
        std::io::Error::last_os_error()
    );
    let o = bundle_to(&null);
    assert_exit(&o, 0);
    let md = std::fs::symlink_metadata(&null).unwrap();
    assert!(md.file_type().is_char_device() && md.rdev() == libc::makedev(1, 3));

    // FIFO: the reader gets the whole bundle, the FIFO stays.
    let fifo = d.path().join("fifo");
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let f2 = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(f2).unwrap());
    let o = bundle_to(&fifo);
    let t = std::time::Instant::now();
    while !reader.is_finished() && t.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        reader.is_finished(),
        "the FIFO was never opened for writing"
    );
    assert_exit(&o, 0);
    assert_eq!(reader.join().unwrap().len() as u64, want_len);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());

    // Socket: refused.
    let sock = d.path().join("sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = bundle_to(&sock);
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a socket"));
    assert!(!common::names(d.path()).iter().any(|n| n.ends_with(".tmp")));
}

podmem_testkit::main! {
    [] => [
        bundle_to_stdout_is_read_whole_by_the_analyzer,
        bundle_refuses_a_terminal,
        bundle_reader_closing_early_is_not_an_error,
    ],
    // mknod of a character device needs root, which the kernel need includes.
    [Need::Kernel] => [bundle_output_over_every_file_type],
}
