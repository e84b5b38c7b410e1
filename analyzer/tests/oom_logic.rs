//! The OOM side of the analysis with events given directly (not parsed from kernel log
//! text), so the transitions, de-duplication and OOM rules are checked on their own:
//! the DESIGN §1 story with its pod-level kill reported by two overlapping snapshots,
//! and a second kill that makes it a restart loop.

mod common;

use common::*;
use podmem_analyzer::{complete, load, model, prepare_snapshots};
use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::{Report, Severity};

fn kill(pid: u32, at: &str, victim: &str, source: &str) -> OomEvent {
    OomEvent {
        node: Some("node-a".into()),
        time: Some(at.parse().unwrap()),
        uptime_secs: None,
        pid: Some(pid),
        comm: Some("java".into()),
        invoker: Some("java".into()),
        anon_rss: Some(37 * MIB),
        file_rss: Some(0),
        shmem_rss: Some(0),
        total_vm: None,
        oom_score_adj: Some(985),
        constraint: Some("CONSTRAINT_MEMCG".into()),
        oom_memcg: Some(format!("/{}", pod_rel(false))),
        task_memcg: Some(format!("/{}", ctr_rel(false, victim))),
        scope: OomScope::Pod,
        pod_uid: Some(POD_UID.into()),
        container_id: Some(victim.into()),
        memcg_usage: Some(100 * MIB),
        memcg_limit: Some(100 * MIB),
        excerpt: vec![],
        source: Some(source.into()),
    }
}

/// Parses the story's snapshots (without their kernel logs) and adds `events` to the
/// snapshot at each index.
fn analyze_with_events(events: Vec<(usize, OomEvent)>, extra_shmem_at_t2: u64) -> Report {
    let mut snaps = story(false);
    for s in &mut snaps {
        s.kernel.clear();
    }
    // Optionally the orphaned charge grows again by t2 (a second container's leftovers).
    if extra_shmem_at_t2 > 0 {
        let pod = pod_rel(false);
        for c in &mut snaps[2].cgroups {
            if c.rel == pod {
                c.shmem += extra_shmem_at_t2;
                c.usage += extra_shmem_at_t2;
            }
        }
    }
    let mut parsed = Vec::new();
    let mut inputs = Vec::new();
    for (i, s) in snaps.iter().enumerate() {
        let bytes = gzip(&tar_of(&s.entries()));
        let name = format!("s{i}.tar.gz");
        let raw = load::read_snapshot(bytes.as_slice(), &name, &load::Limits::default()).unwrap();
        let mut problems = Vec::new();
        parsed.push(model::parse_snapshot(raw, &mut problems));
        assert!(problems.is_empty(), "{problems:?}");
        inputs.push(podmem_schema::report::InputReport {
            path: name,
            kind: "snapshot".into(),
            snapshots: 1,
            status: "ok".into(),
            problems,
        });
    }
    for (i, e) in events {
        parsed[i].ooms.push(e);
    }
    complete(prepare_snapshots(
        parsed,
        inputs,
        jiff::Timestamp::UNIX_EPOCH,
    ))
}

#[test]
fn overlapping_reports_of_one_pod_kill() {
    // The same kill seen by the t1→t2 window twice (journal and kmsg clocks a second
    // apart).
    let r = analyze_with_events(
        vec![
            (
                2,
                kill(4242, "2026-11-28T04:01:30Z", B_ID, "s2.tar.gz:kernel/kmsg"),
            ),
            (
                2,
                kill(
                    4242,
                    "2026-11-28T04:01:31Z",
                    B_ID,
                    "s2.tar.gz:kernel/journal.log",
                ),
            ),
        ],
        0,
    );
    assert_eq!(r.oom_events.len(), 1);
    let pl = r
        .findings
        .iter()
        .find(|f| f.id == "pod-limit-oom")
        .expect("pod-limit-oom");
    assert_eq!(pl.severity, Severity::Critical);
    assert_eq!(pl.container_ids, vec![B_ID.to_string()]);
    assert_eq!(pl.bytes, Some(100 * MIB));
    assert!(
        pl.detail
            .contains("unattributed at the capture before: 64.0 MiB total, 64.0 MiB shmem"),
        "{}",
        pl.detail
    );
    assert_eq!(pl.time.unwrap().to_string(), "2026-11-28T04:01:30Z");
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).unwrap();
    let oom_t: Vec<_> = pod
        .transitions
        .iter()
        .filter(|t| t.reason == "oom")
        .collect();
    assert_eq!(oom_t.len(), 1);
    assert_eq!(oom_t[0].disappeared, vec![B_ID.to_string()]);
    assert_eq!(oom_t[0].appeared, vec![C_ID.to_string()]);
    // pod, unattributed, then each container seen in either capture.
    assert_eq!(oom_t[0].rows[0].cgroup, "pod");
    assert_eq!(oom_t[0].rows[1].cgroup, "unattributed");
    assert_eq!(oom_t[0].rows[1].after.shmem, Some(64 * MIB));
    // One kill is no loop.
    assert!(!r.findings.iter().any(|f| f.id == "oom-restart-loop"));
}

#[test]
fn repeated_kills_while_orphaned_memory_grows_are_a_loop() {
    let r = analyze_with_events(
        vec![
            (
                1,
                kill(4000, "2026-11-28T04:00:30Z", A_ID, "s1.tar.gz:kernel/kmsg"),
            ),
            (
                2,
                kill(4242, "2026-11-28T04:01:30Z", B_ID, "s2.tar.gz:kernel/kmsg"),
            ),
        ],
        8 * MIB,
    );
    let l = r
        .findings
        .iter()
        .find(|f| f.id == "oom-restart-loop")
        .expect("oom-restart-loop");
    assert_eq!(l.severity, Severity::Critical);
    assert_eq!(l.container_ids, vec![A_ID.to_string(), B_ID.to_string()]);
    assert_eq!(l.bytes, Some(72 * MIB));
    assert!(l.detail.contains("from 0 B to 72.0 MiB"), "{}", l.detail);
    let o = r
        .findings
        .iter()
        .find(|f| f.id == "orphaned-shmem")
        .unwrap();
    assert_eq!(o.bytes, Some(72 * MIB));
    // The extra 8 MiB appeared when B went: both removed containers are named.
    assert_eq!(o.container_ids, vec![A_ID.to_string(), B_ID.to_string()]);
}

#[test]
fn global_and_kubepods_kills_are_node_findings() {
    let mut g = kill(1, "2026-11-28T04:01:10Z", B_ID, "s2.tar.gz:kernel/kmsg");
    g.scope = OomScope::Global;
    g.constraint = Some("CONSTRAINT_NONE".into());
    g.oom_memcg = None;
    g.comm = Some("rsyslogd".into());
    let mut k = kill(2, "2026-11-28T04:01:20Z", B_ID, "s2.tar.gz:kernel/kmsg");
    k.scope = OomScope::Kubepods;
    k.oom_memcg = Some("/kubepods".into());
    let r = analyze_with_events(vec![(2, g), (2, k)], 0);
    let gf = r
        .findings
        .iter()
        .find(|f| f.id == "global-oom")
        .expect("global-oom");
    assert_eq!(gf.pod_uid, None);
    assert!(gf.detail.contains("rsyslogd (pid 1)"), "{}", gf.detail);
    assert!(r.findings.iter().any(|f| f.id == "kubepods-oom"));
}
