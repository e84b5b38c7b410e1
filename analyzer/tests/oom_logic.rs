//! The OOM side of the analysis with events given directly (not parsed from kernel log
//! text), so the transitions, de-duplication and OOM rules are checked on their own:
//! the DESIGN §1 story with its pod-level kill reported by two overlapping snapshots,
//! and a second kill that makes it a restart loop.

mod common;

use common::*;
use podmem_schema::oom::OomScope;
use podmem_schema::report::Severity;

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
