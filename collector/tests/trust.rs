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
