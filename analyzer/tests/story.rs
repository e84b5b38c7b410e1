//! The DESIGN §1 case as hand-built v1 and v2 snapshot sequences, and a healthy node:
//! the analyzer must find the orphaned shmem, who left it, the pod-level OOM and its
//! victim, and stay quiet on the healthy node.

mod common;

use common::*;
use podmem_analyzer::{analyze, load::Limits};
use podmem_schema::oom::OomScope;
use podmem_schema::report::{Report, Severity};

fn run(snaps: &[Snap]) -> Report {
    analyze_snaps(snaps).0
}

fn check_story(v2: bool) {
    let r = run(&story(v2));
    assert!(r.inputs.iter().all(|i| i.status == "ok"), "{:#?}", r.inputs);
    assert_eq!(r.nodes.len(), 1);
    assert_eq!(r.nodes[0].snapshots, 3);
    assert_eq!(
        r.nodes[0].cgroup_mode.map(|m| m.as_str()),
        Some(if v2 { "v2" } else { "v1" })
    );
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).expect("story pod");
    assert_eq!(pod.samples.len(), 3);
    assert_eq!(pod.limit, Some(100 * MIB));
    let last = pod.samples.last().unwrap();
    assert_eq!(last.unattributed.shmem, Some(64 * MIB));
    assert_eq!(last.unattributed.usage, Some(64 * MIB));
    assert_eq!(last.kubectl_top, Some(6 * MIB));
    let a = pod
        .containers
        .iter()
        .find(|c| c.id == A_ID)
        .expect("container A");
    assert!(a.gone);
    assert!(pod
        .transitions
        .iter()
        .any(|t| t.disappeared == [A_ID.to_string()]));

    let orphan = r
        .findings
        .iter()
        .find(|f| f.id == "orphaned-shmem")
        .unwrap_or_else(|| panic!("no orphaned-shmem in {:#?}", r.findings));
    assert_eq!(orphan.severity, Severity::Critical);
    assert_eq!(orphan.pod_uid.as_deref(), Some(POD_UID));
    let bytes = orphan.bytes.unwrap() as f64;
    assert!(
        (bytes - (64 * MIB) as f64).abs() <= 0.05 * (64 * MIB) as f64,
        "{bytes}"
    );
    assert_eq!(orphan.container_ids, vec![A_ID.to_string()]);
    assert!(orphan.detail.contains("`cache`"), "{}", orphan.detail);
    assert!(orphan.evidence.iter().any(|e| e
        .source
        .as_deref()
        .is_some_and(|s| s.ends_with(&format!("cgroup/{}/memory.stat", ctr_rel(v2, A_ID))))));

    let ev: Vec<_> = r
        .oom_events
        .iter()
        .filter(|e| e.scope == OomScope::Pod)
        .collect();
    assert_eq!(ev.len(), 1, "{:#?}", r.oom_events);
    assert_eq!(ev[0].pod_uid.as_deref(), Some(POD_UID));
    assert_eq!(ev[0].container_id.as_deref(), Some(B_ID));
    assert_eq!(ev[0].node.as_deref(), Some("node-a"));
    let t = ev[0].time.expect("OOM time");
    assert_eq!(
        t.as_second(),
        "2026-11-28T04:01:30Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    );

    let pl = r
        .findings
        .iter()
        .find(|f| f.id == "pod-limit-oom")
        .expect("pod-limit-oom");
    assert_eq!(pl.severity, Severity::Critical);
    assert_eq!(pl.container_ids, vec![B_ID.to_string()]);
    assert!(r.findings.iter().any(|f| f.id == "hidden-from-kubectl-top"));
    assert!(r
        .findings
        .iter()
        .any(|f| f.id == "memory-emptydir-unbounded"));
    // The OOM happened between t1 and t2: that transition is about the OOM.
    assert!(pod.transitions.iter().any(|t| t.reason == "oom"));
    // Most severe first.
    assert!(r
        .findings
        .windows(2)
        .all(|w| w[0].severity <= w[1].severity));
}

#[test]
fn design_story_cgroup_v1() {
    check_story(false);
}

#[test]
fn design_story_cgroup_v2() {
    check_story(true);
}

#[test]
fn healthy_node_has_no_critical_finding() {
    let r = run(&healthy("node-h", 10));
    assert_eq!(r.pods.len(), 1);
    assert_eq!(r.pods[0].samples.len(), 10);
    assert!(r.oom_events.is_empty());
    assert!(
        r.findings.iter().all(|f| f.severity != Severity::Critical),
        "{:#?}",
        r.findings
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn near_limit_estimates_when_the_limit_is_reached() {
    // Working set grows 1 MiB a minute from 180 MiB under a 200 MiB limit.
    let uid = "0a0b0c0d-0000-4000-8000-000000000002";
    let pod = format!("kubepods/pod{uid}");
    let snaps: Vec<Snap> = (0..10)
        .map(|i| {
            let mut s = Snap::new("node-n", "b", &format!("2026-11-28T06:{i:02}:00Z"), false);
            let ws = (180 + i as u64) * MIB;
            s.cgroups.push(Cg::new(&pod, ws, 0, ws).limit(200 * MIB));
            s.cgroups.push(Cg::new(&format!("{pod}/{A_ID}"), ws, 0, ws));
            s
        })
        .collect();
    let r = run(&snaps);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "near-limit")
        .expect("near-limit");
    // 189 MiB at 06:09, +1 MiB/min → 200 MiB at 06:20.
    assert!(f.detail.contains("2026-11-28T06:20:00"), "{}", f.detail);
    assert!(f.detail.contains("1.0 MiB/min"), "{}", f.detail);
}

#[test]
fn streamed_json_equals_the_rendered_report() {
    let dir = tempfile::tempdir().unwrap();
    for s in healthy("node-h", 5)
        .iter()
        .chain(healthy("node-g", 3).iter())
    {
        s.write(dir.path());
    }
    let paths = [dir.path().to_path_buf()];
    let whole = analyze(&paths, &Limits::default(), jiff::Timestamp::UNIX_EPOCH);
    let mut streamed = Vec::new();
    podmem_analyzer::prepare(&paths, &Limits::default(), jiff::Timestamp::UNIX_EPOCH)
        .write_json(&mut streamed)
        .unwrap();
    assert_eq!(
        String::from_utf8(streamed).unwrap(),
        String::from_utf8(podmem_reports::render_json(&whole)).unwrap()
    );
    assert_eq!(whole.pods.len(), 2);
}

#[test]
fn snapshot_formats_1_and_2_give_the_same_report() {
    // The report as JSON text, with the temporary directory's path taken out.
    let report = |snaps: &[Snap]| {
        let (r, d) = analyze_snaps(snaps);
        let v = serde_json::to_value(&r).unwrap();
        ["pods", "findings", "oom_events"].map(|k| v[k].to_string().replace(&d, "DIR"))
    };
    for v2 in [false, true] {
        let packed = story(v2);
        let mut single = packed.clone();
        for s in &mut single {
            s.format = 1;
        }
        // The archives really differ: one entry per cgroup directory against one per file.
        let names = |s: &Snap| s.entries().into_iter().map(|e| e.0).collect::<Vec<_>>();
        assert!(names(&packed[0])
            .iter()
            .any(|n| n.ends_with("/files.podmem")));
        assert!(names(&single[0])
            .iter()
            .all(|n| !n.ends_with("/files.podmem")));
        assert!(names(&single[0]).len() > names(&packed[0]).len());
        let (a, b) = (report(&packed), report(&single));
        assert!(a[1].contains("orphaned-shmem"), "{}", a[1]);
        assert_eq!(a, b);
    }
}
