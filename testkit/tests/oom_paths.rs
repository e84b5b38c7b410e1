//! The two ways to read a kernel log agree: `podmem-collector snapshot --kernel-log
//! FILE` then `podmem-analyzer report` gives exactly the OOM kills `podmem-analyzer ooms
//! FILE` gives (same pid, comm, memcgs, scope, pod and container), for every real log in
//! `fixtures/realworld/oom_logs`, run through the real binaries.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use podmem_testkit::{bins, samples};
use serde_json::Value;

/// The fields both paths must agree on, as a sortable key.
type Key = (
    Option<u64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

fn key(e: &Value) -> Key {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    (
        e.get("pid").and_then(Value::as_u64),
        s("comm"),
        s("oom_memcg"),
        s("task_memcg"),
        s("scope").unwrap_or_default(),
        s("pod_uid"),
        s("container_id"),
    )
}

fn counted(events: &[Value]) -> BTreeMap<Key, usize> {
    let mut m = BTreeMap::new();
    for e in events {
        *m.entry(key(e)).or_insert(0) += 1;
    }
    m
}

/// `ooms --format json FILE` → events.
fn ooms(file: &Path) -> Vec<Value> {
    let o = Command::new(bins::analyzer())
        .args(["ooms", "--format", "json", "--year", "2020"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "ooms {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// collector snapshot with `--kernel-log FILE`, then `report --format json` → events.
fn through_snapshot(collector: &Path, file: &Path) -> Vec<Value> {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(collector)
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--node-name",
            "paths",
        ])
        .arg("--host-root")
        .arg(samples::host("v2-systemd-containerd"))
        .arg("--kernel-log")
        .arg(file)
        .arg("-o")
        .arg(out.path())
        .env_remove("NODE_NAME")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "snapshot with {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let archive = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let r = Command::new(bins::analyzer())
        .args(["report", "--format", "json"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        r.status.code().is_some_and(|c| c <= 2),
        "report of {}: {}",
        file.display(),
        String::from_utf8_lossy(&r.stderr)
    );
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    v["oom_events"].as_array().cloned().unwrap_or_default()
}

#[test]
fn snapshot_report_and_ooms_agree_on_every_real_log() {
    let collector = bins::collector();
    let files = samples::realworld_files("oom_logs", "");
    assert!(files.len() >= 20, "{} real logs", files.len());
    let mut total = 0;
    let mut failures = Vec::new();
    for f in &files {
        let direct = ooms(f);
        let via = through_snapshot(&collector, f);
        total += direct.len();
        let (a, b) = (counted(&direct), counted(&via));
        if a != b {
            failures.push(format!(
                "{}:\n  ooms:     {a:?}\n  snapshot: {b:?}",
                f.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    eprintln!("{} logs, {total} events", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Mixtures of the real logs as one file each, through both paths: all of them one
/// after the other, and pairs interleaved line by line (blocks cut before their header
/// and after their kill line, with other logs' lines in between).
#[test]
fn snapshot_report_and_ooms_agree_on_mixtures_of_real_logs() {
    let collector = bins::collector();
    let files = samples::realworld_files("oom_logs", "");
    let texts: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut mixtures: Vec<(String, Vec<String>)> = vec![(
        "all, one after the other".into(),
        texts.iter().flatten().cloned().collect(),
    )];
    let mut interleaved = Vec::new();
    for pair in texts.chunks(2).rev() {
        let (a, b) = (&pair[0], pair.get(1).cloned().unwrap_or_default());
        for i in 0..a.len().max(b.len()) {
            interleaved.extend(a.get(i).cloned());
            interleaved.extend(b.get(i).cloned());
        }
    }
    mixtures.push(("pairs interleaved line by line".into(), interleaved));
    for (name, lines) in mixtures {
        let path = dir.path().join("mixture.log");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let (a, b) = (ooms(&path), through_snapshot(&collector, &path));
        assert!(!a.is_empty(), "{name}");
        assert_eq!(counted(&a), counted(&b), "{name}");
    }
}
