//! `report --node/--since/--until/--pod/--namespace` (issue 16): snapshots and pods
//! outside the filter are left out (said on stderr), and a filter that matches nothing
//! writes nothing (exit 2). The expected counts come from the demo's archive names, which
//! carry their capture times, and the pods from the kubelet summaries in its archives.

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

/// (namespace, name, uid) of every pod in the demo archives' kubelet summaries.
fn demo_pods() -> std::collections::BTreeSet<(String, String, String)> {
    let mut pods = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(podmem_testkit::samples::demo()).unwrap() {
        let path = e.unwrap().path();
        if !path.to_string_lossy().ends_with(".tar.gz") {
            continue;
        }
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
        let mut tar = tar::Archive::new(gz);
        for entry in tar.entries().unwrap() {
            let entry = entry.unwrap();
            if entry.path().unwrap().to_str() != Some("kubelet/summary.json") {
                continue;
            }
            let v: serde_json::Value = serde_json::from_reader(entry).unwrap();
            for p in v["pods"].as_array().unwrap() {
                let r = &p["podRef"];
                let s = |k: &str| r[k].as_str().unwrap().to_string();
                pods.insert((s("namespace"), s("name"), s("uid")));
            }
        }
    }
    pods
}

/// `report --format json` of the demo with `args`: the report (None when none was
/// written), stderr and exit status.
fn demo_json(args: &[&str]) -> (Option<serde_json::Value>, String, Option<i32>) {
    let out = Command::new(BIN)
        .arg("report")
        .arg(podmem_testkit::samples::demo())
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        serde_json::from_slice(&out.stdout).ok(),
        err,
        out.status.code(),
    )
}

#[test]
fn pod_and_namespace_keep_what_they_say() {
    let pods = demo_pods();
    assert!(pods.len() >= 2, "{pods:?}");
    let total = pods.len();
    let (ns, name, uid) = pods.iter().next().unwrap().clone();
    let others: Vec<&String> = pods.iter().filter(|p| p.2 != uid).map(|p| &p.2).collect();
    let by_ns_name = format!("{ns}/{name}");
    let underscored = uid.replace('-', "_");
    for sel in [name.as_str(), uid.as_str(), &underscored, &by_ns_name] {
        let (r, err, code) = demo_json(&["--pod", sel]);
        assert_eq!(code, Some(0), "{sel}: {err}");
        let r = r.unwrap();
        let uids: Vec<&str> = r["pods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["uid"].as_str().unwrap())
            .collect();
        assert_eq!(uids, [uid.as_str()], "{sel}");
        assert!(
            err.contains(&format!(
                "{} of {total} pods left out by --pod/--namespace",
                total - 1
            )),
            "{sel}: {err}"
        );
        // The other pods' findings and OOM kills are gone with them; the node stays.
        for list in ["findings", "oom_events"] {
            for item in r[list].as_array().unwrap() {
                let pod = item["pod_uid"].as_str();
                assert!(
                    pod.is_none_or(|p| !others.iter().any(|o| *o == p)),
                    "{sel}: {list}: {item}"
                );
            }
        }
        assert_eq!(r["nodes"].as_array().unwrap().len(), 1);
    }
    // The other pods' names appear nowhere in the text or HTML report of this one.
    let other_name = &pods.iter().find(|p| p.2 != uid).unwrap().1;
    for format in ["text", "html"] {
        let out = Command::new(BIN)
            .arg("report")
            .arg(podmem_testkit::samples::demo())
            .args(["--format", format, "--pod", &uid])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(body.contains(&name), "{format}");
        assert!(!body.contains(other_name.as_str()), "{format}");
    }
    // The namespace of every pod keeps them all, and says nothing.
    let namespaces: std::collections::BTreeSet<&String> = pods.iter().map(|p| &p.0).collect();
    let ns_args: Vec<&str> = namespaces
        .iter()
        .flat_map(|n| ["--namespace", n.as_str()])
        .collect();
    let (r, err, code) = demo_json(&ns_args);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r.unwrap()["pods"].as_array().unwrap().len(), total);
    assert!(!err.contains("pods left out"), "{err}");
    // --pod and --namespace together: both must match.
    let (r, _, _) = demo_json(&["--namespace", &ns, "--pod", &name]);
    assert_eq!(r.unwrap()["pods"].as_array().unwrap().len(), 1);
    // Nothing matches: no report, exit 2, as --node.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r.html");
    let o = Command::new(BIN)
        .arg("report")
        .arg(podmem_testkit::samples::demo())
        .args(["--namespace", "no-such-namespace", "--format", "html", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no pod matches"), "{err}");
    assert!(
        err.contains(&format!("{total} of {total} pods left out")),
        "{err}"
    );
    assert!(!out.exists());
}
