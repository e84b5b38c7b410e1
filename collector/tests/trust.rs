//! The collector's promises to the node and to whoever receives its archives (issue 13,
//! `docs/security.md`), through the real binary on the fixture host trees: retention
//! never removes the archive of its own run, long node names still give an archive,
//! the bearer token never reaches any byte the collector writes, redaction hashes whole
//! names, and names read from the node reach stderr escaped.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn snapshot(out: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
        ])
        .arg("-o")
        .arg(out)
        .arg("--host-root")
        .arg(host("v2-systemd-containerd"))
        .args(extra)
        .output()
        .unwrap()
}

fn stdout_path(o: &Output) -> std::path::PathBuf {
    std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

/// Hole 3: with archives stamped in the future in the output directory, `--keep 1`
/// removed each new archive right after writing it (it was the "oldest").
#[test]
fn retention_never_removes_this_runs_archive() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path();
    for stamp in ["20991231T235959.000Z", "20990101T000000.000Z"] {
        std::fs::write(out.join(format!("podmem-node-f-{stamp}.tar.gz")), b"x").unwrap();
    }
    for _ in 0..2 {
        let o = snapshot(out, &["--node-name", "node-f", "--keep", "1"]);
        assert_exit(&o, 0);
        let p = stdout_path(&o);
        assert!(p.exists(), "the printed archive was removed: {p:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        let m = manifest(&entries(&p));
        let src = m.sources.iter().find(|s| s.name == "out-dir");
        let said = src.and_then(|s| s.message.clone()).unwrap_or_default();
        if out
            .join("podmem-node-f-20991231T235959.000Z.tar.gz")
            .exists()
        {
            assert!(stderr.contains("stamped after this capture"), "{stderr}");
            assert!(said.contains("stamped after this capture"), "{said}");
        }
        assert_eq!(archives(out).len(), 1, "{:?}", names(out));
        assert_eq!(archives(out)[0], p);
    }
}

/// Hole 7: a node name of 253 bytes (the Kubernetes maximum) gave `File name too long`.
#[test]
fn longest_node_name_gives_an_archive_with_the_full_name_inside() {
    let d = tempfile::tempdir().unwrap();
    let node = format!("{}.example", "a".repeat(245));
    assert_eq!(node.len(), 253);
    for _ in 0..2 {
        let o = snapshot(d.path(), &["--node-name", &node, "--keep", "5"]);
        assert_exit(&o, 0);
        let p = stdout_path(&o);
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.len() < 255, "{} bytes", name.len());
        assert_eq!(manifest(&entries(&p)).node, node);
    }
    // Both runs are found again as this node's archives (retention, continuation).
    assert_eq!(archives(d.path()).len(), 2);
    let o = snapshot(d.path(), &["--node-name", &node, "--keep", "1"]);
    assert_exit(&o, 0);
    assert_eq!(archives(d.path()).len(), 1);
}

/// What a generated kubelet stand-in answers.
#[derive(Debug, Clone)]
struct Behaviour {
    status: u16,
    gzip: bool,
    framing: Framing,
    body: BodyKind,
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    /// Content-Length equal to the body.
    Exact,
    /// Content-Length larger than what is sent, then the connection closes.
    ShortByLength,
    /// Chunked, complete.
    Chunked,
    /// Chunked, the connection closes in the middle of a chunk.
    ChunkedCut,
    /// No length, the body ends when the connection closes.
    Close,
}

#[derive(Debug, Clone)]
enum BodyKind {
    /// The request head inside a JSON string (valid JSON).
    EchoJson,
    /// The request head in an HTML page.
    EchoHtml,
    /// A real summary with the request head appended after `pad` bytes of padding
    /// (over the cap when `pad` is large).
    SummaryThenEcho { pad: usize },
    /// The request head cut `cut` bytes into the token, as JSON padding.
    EchoCutInToken { cut: usize },
    /// The real summary, nothing else.
    Summary,
}

const SUMMARY_CAP: usize = 1 << 20;

fn body_for(kind: &BodyKind, head: &str, token: &str) -> Vec<u8> {
    let summary = std::fs::read(host("kubelet-summary.json")).unwrap();
    match kind {
        BodyKind::EchoJson => serde_json::to_vec(&serde_json::json!({ "echo": head })).unwrap(),
        BodyKind::EchoHtml => format!("<html><pre>{head}</pre></html>").into_bytes(),
        BodyKind::SummaryThenEcho { pad } => {
            let mut b = summary;
            b.extend(std::iter::repeat_n(b' ', *pad));
            b.extend_from_slice(head.as_bytes());
            b
        }
        BodyKind::EchoCutInToken { cut } => {
            let at = head.find(token).unwrap_or(0) + cut.min(&token.len());
            let mut b = b"{\"echo\":\"".to_vec();
            b.extend_from_slice(head[..at].replace(['\r', '\n', '"'], " ").as_bytes());
            b.extend_from_slice(b"\"}");
            b
        }
        BodyKind::Summary => summary,
    }
}

/// Serves one behaviour to every connection until dropped.
struct Stub {
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    fn start(b: Behaviour, token: String) -> Stub {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((conn, _)) = l.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                let head = podmem_testkit::fake_kubelet::read_head(&conn);
                let mut body = body_for(&b.body, &head, &token);
                if b.gzip {
                    body = gzip(&body);
                }
                let mut c = conn;
                let reason = match b.status {
                    200 => "OK",
                    302 => "Found",
                    _ => "Error",
                };
                let mut h = format!("HTTP/1.1 {} {reason}\r\nConnection: close\r\n", b.status);
                if b.status == 302 {
                    h.push_str("Location: http://127.0.0.1:1/stats/summary\r\n");
                }
                if b.gzip {
                    h.push_str("Content-Encoding: gzip\r\n");
                }
                let half = body.len() / 2;
                let _ = match b.framing {
                    Framing::Exact => write!(c, "{h}Content-Length: {}\r\n\r\n", body.len())
                        .and_then(|_| c.write_all(&body)),
                    Framing::ShortByLength => {
                        write!(c, "{h}Content-Length: {}\r\n\r\n", body.len() + 1000)
                            .and_then(|_| c.write_all(&body))
                    }
                    Framing::Close => write!(c, "{h}\r\n").and_then(|_| c.write_all(&body)),
                    Framing::Chunked | Framing::ChunkedCut => {
                        let cut = matches!(b.framing, Framing::ChunkedCut);
                        write!(c, "{h}Transfer-Encoding: chunked\r\n\r\n").and_then(|_| {
                            for part in [&body[..half], &body[half..]] {
                                if part.is_empty() {
                                    continue;
                                }
                                write!(c, "{:x}\r\n", part.len())?;
                                if cut {
                                    c.write_all(&part[..part.len() / 2])?;
                                    return Ok(());
                                }
                                c.write_all(part)?;
                                c.write_all(b"\r\n")?;
                            }
                            c.write_all(b"0\r\n\r\n")
                        })
                    }
                };
                let _ = c.flush();
            }
        });
        Stub {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Every 12-byte piece of the token (the whole token when shorter), looked for the
/// plain way, independently of the collector's own check.
fn leaked(hay: &[u8], token: &[u8]) -> Option<usize> {
    let w = token.len().min(12);
    token
        .windows(w)
        .find_map(|p| hay.windows(w).position(|x| x == p))
}

/// Everything a run leaves: each archive entry decompressed (the manifest included),
/// the archive files as written, stdout and stderr.
fn all_output(out: &Path, o: &Output) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![
        ("stdout".to_string(), o.stdout.clone()),
        ("stderr".to_string(), o.stderr.clone()),
    ];
    for a in archives(out) {
        all.push((a.display().to_string(), std::fs::read(&a).unwrap()));
        all.extend(raw_entries(&a));
    }
    all
}

fn behaviours() -> impl proptest::strategy::Strategy<Value = Behaviour> {
    use proptest::prelude::*;
    let framing = prop_oneof![
        Just(Framing::Exact),
        Just(Framing::ShortByLength),
        Just(Framing::Chunked),
        Just(Framing::ChunkedCut),
        Just(Framing::Close),
    ];
    let body = prop_oneof![
        Just(BodyKind::EchoJson),
        Just(BodyKind::EchoHtml),
        (0usize..2 * SUMMARY_CAP).prop_map(|pad| BodyKind::SummaryThenEcho { pad }),
        (0usize..64).prop_map(|cut| BodyKind::EchoCutInToken { cut }),
        Just(BodyKind::Summary),
    ];
    (
        prop_oneof![Just(200u16), Just(302), Just(500)],
        any::<bool>(),
        framing,
        body,
    )
        .prop_map(|(status, gzip, framing, body)| Behaviour {
            status,
            gzip,
            framing,
            body,
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
    /// Hole 1: no piece of the bearer token ever reaches an archive entry, the manifest,
    /// stdout or stderr, whatever a server on the kubelet's port answers (status,
    /// gzip, length, chunked, cut short, over the cap, echoing the request anywhere).
    #[test]
    fn bearer_token_never_leaves_the_process(
        b in behaviours(),
        token in "[A-Za-z0-9_-]{20,40}\\.[A-Za-z0-9_-]{40,400}\\.[A-Za-z0-9_-]{20,80}",
    ) {
        let d = tempfile::tempdir().unwrap();
        let tok = d.path().join("token");
        std::fs::write(&tok, format!("{token}\n")).unwrap();
        let stub = Stub::start(b.clone(), token.clone());
        let out = d.path().join("out");
        let o = Command::new(bin())
            .args(["snapshot", "--no-nice", "--kernel-log", "none", "--node-name", "t"])
            .arg("-o")
            .arg(&out)
            .arg("--host-root")
            .arg(host("v2-systemd-containerd"))
            .arg("--kubelet")
            .arg(&stub.url)
            .arg("--kubelet-token-file")
            .arg(&tok)
            .args(["--max-snapshot-size", &SUMMARY_CAP.to_string()])
            .output()
            .unwrap();
        drop(stub);
        proptest::prop_assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
        for (what, data) in all_output(&out, &o) {
            proptest::prop_assert!(
                leaked(&data, token.as_bytes()).is_none(),
                "{b:?}: the token is in {what}"
            );
        }
        // The token went over plain http: the operator is told.
        let stderr = String::from_utf8_lossy(&o.stderr);
        proptest::prop_assert!(stderr.contains("plain http://"), "{stderr}");
        // A real summary answered in full is still kept.
        let es = entries(&archives(&out)[0]);
        let kept = entry(&es, "kubelet/summary.json").is_some();
        let whole = b.status == 200
            && matches!(b.framing, Framing::Exact | Framing::Chunked | Framing::Close);
        if whole && matches!(b.body, BodyKind::Summary) {
            proptest::prop_assert!(kept, "{b:?}: the real summary was not kept");
        }
        if !whole {
            proptest::prop_assert!(!kept, "{b:?}: a partial answer was kept");
        }
    }
}

/// Names read from the node (a cgroup directory named with escape sequences and a bidi
/// override, next to a file the kernel would refuse) reach stderr escaped.
#[test]
fn names_from_the_node_reach_stderr_escaped() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("host");
    let o = Command::new("cp")
        .arg("-a")
        .arg(host("v2-systemd-containerd"))
        .arg(&h)
        .output()
        .unwrap();
    assert!(o.status.success());
    let evil = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{202e}gpj.exe";
    let cg = h.join("sys/fs/cgroup/kubepods.slice").join(evil);
    std::fs::create_dir_all(cg.join("memory.stat")).unwrap();
    std::fs::write(cg.join("memory.current"), "1\n").unwrap();
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
        ])
        .args(["--node-name", &format!("n{evil}")])
        .arg("-o")
        .arg(d.path().join("out"))
        .arg("--host-root")
        .arg(&h)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("PWNED"),
        "the crafted directory is not reported: {err}"
    );
    for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !err.contains(c),
            "raw U+{:04X} on stderr: {err:?}",
            c as u32
        );
        assert!(!String::from_utf8_lossy(&o.stdout).contains(c));
    }
}

/// `snapshot -o` takes a directory: a regular file or a FIFO there is refused and left
/// as it was.
#[test]
fn snapshot_output_that_is_not_a_directory_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("file");
    std::fs::write(&f, "keep").unwrap();
    let o = snapshot(&f, &["--node-name", "n"]);
    assert_exit(&o, 2);
    assert_eq!(std::fs::read(&f).unwrap(), b"keep");
    let fifo = d.path().join("fifo");
    mkfifo(&fifo, 0o600);
    let o = snapshot(&fifo, &["--node-name", "n"]);
    assert_exit(&o, 2);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}
