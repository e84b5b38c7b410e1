//! Helpers shared by the collector's integration tests: the binary and fixture paths;
//! reading archives back and exit codes come from the test kit.
#![allow(dead_code, unused_imports)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use podmem_testkit::archive::*;
pub use podmem_testkit::exit::assert_exit;

/// The collector binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_podmem-collector"))
}

/// A fixture host tree (`fixtures/hosts/<name>`).
pub fn host(name: &str) -> PathBuf {
    podmem_testkit::samples::host(name)
}

/// Makes a FIFO at `path` with `mode`.
pub fn mkfifo(path: &Path, mode: u32) {
    use rustix::fs::{FileType, Mode, CWD};
    rustix::fs::mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(mode), 0)
        .unwrap_or_else(|e| panic!("{}: mkfifo: {e}", path.display()));
}

/// Runs `openssl ARGS` in `dir`; the test fails with its stderr if it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed for this test");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The `openssl s_server` child, killed when dropped.
pub struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `s_server -WWW` serving `stats/summary` from `dir` with `cert` (and `chain`).
pub fn serve(dir: &Path, cert: &str, chain: Option<&str>) -> (Server, u16) {
    std::fs::create_dir_all(dir.join("stats")).unwrap();
    std::fs::copy(host("kubelet-summary.json"), dir.join("stats/summary")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-quiet", "-WWW", "-cert"])
        .arg(format!("{cert}.pem"))
        .arg("-key")
        .arg(format!("{cert}.key"));
    if let Some(c) = chain {
        cmd.arg("-cert_chain").arg(format!("{c}.pem"));
    }
    let child = cmd
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}
