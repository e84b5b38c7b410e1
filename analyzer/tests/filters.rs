//! `report --node/--since/--until` (issue 16): snapshots outside the filter are left out
//! as they are read (said on stderr), and a filter that matches nothing writes nothing
//! (exit 2). The expected counts come from the demo's archive names, which carry their
//! capture times.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_podmem-analyzer");

/// Capture times of the demo archives, from their names (`...-20261128T104801.555Z`).
fn demo_times() -> Vec<jiff::Timestamp> {
    let mut v: Vec<jiff::Timestamp> = std::fs::read_dir(podmem_testkit::samples::demo())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let stamp = name
                .strip_prefix("podmem-demo-node-")?
                .strip_suffix(".tar.gz")?;
            // 20261128T104801.555Z → 2026-11-28T10:48:01.555Z
            let (d, t) = stamp.split_once('T')?;
            let iso = format!(
                "{}-{}-{}T{}:{}:{}",
                &d[..4],
                &d[4..6],
                &d[6..8],
                &t[..2],
                &t[2..4],
                &t[4..]
            );
            iso.parse().ok()
        })
        .collect();
    v.sort();
    v
}

fn node_snapshots(args: &[&str]) -> (Option<u64>, String, Option<i32>) {
    let demo = podmem_testkit::samples::demo();
    let out = Command::new(BIN)
        .arg("report")
        .arg(&demo)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let n = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|r| r["nodes"][0]["snapshots"].as_u64());
    (n, err, out.status.code())
}

#[test]
fn since_until_and_node_keep_what_they_say() {
    let times = demo_times();
    assert!(times.len() >= 10);
    let mid = times[times.len() / 2];
    let since = mid.to_string();
    let want_since = times.iter().filter(|t| **t >= mid).count() as u64;
    let (n, err, code) = node_snapshots(&["--since", &since]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(n, Some(want_since), "{err}");
    assert!(
        err.contains(&format!(
            "{} of {} snapshots left out",
            times.len() as u64 - want_since,
            times.len()
        )),
        "{err}"
    );
    // Names carry milliseconds; the capture time has more digits, so `until` is the
    // name's time plus one millisecond.
    let until = (mid + jiff::SignedDuration::from_millis(1)).to_string();
    let want_until = times.iter().filter(|t| **t <= mid).count() as u64;
    let (n, err, _) = node_snapshots(&["--until", &until]);
    assert_eq!(n, Some(want_until), "{err}");
    // Both ends: the one snapshot at `mid`.
    let (n, _, _) = node_snapshots(&["--since", &since, "--until", &until]);
    assert_eq!(n, Some(1));
    // The demo's own node keeps everything; another node nothing, and no report.
    let (n, _, code) = node_snapshots(&["--node", "demo-node"]);
    assert_eq!((n, code), (Some(times.len() as u64), Some(0)));
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r.html");
    let o = Command::new(BIN)
        .arg("report")
        .arg(podmem_testkit::samples::demo())
        .args(["--node", "other-node", "--format", "html", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no snapshot matches"));
    assert!(!out.exists());
    // A time that is neither RFC 3339 nor a duration is a usage error.
    let (_, err, code) = node_snapshots(&["--since", "yesterday"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("yesterday"), "{err}");
}
