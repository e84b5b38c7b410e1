//! The bounded analysis of a long series gives the same findings and OOM kills as the
//! analysis that keeps every sample: random series of restarts, orphaned shmem rises,
//! reboots, limits approached and OOM kills logged late, folded with the smallest
//! budget and with none.

mod common;

use common::*;
use podmem_analyzer::timeline::Budget;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Step {
    reboot: bool,
    restart: bool,
    orphan_mib: u64,
    usage_mib: u64,
    /// An OOM kill of the pod since the previous capture, logged this many captures late
    /// (within the tail the fold keeps whole).
    oom_lag: Option<usize>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop::bool::weighted(0.02),
        prop::bool::weighted(0.06),
        prop_oneof![8 => Just(0u64), 1 => 4u64..80],
        prop_oneof![6 => 20u64..200, 1 => 380u64..500],
        prop_oneof![12 => Just(None), 1 => (0usize..podmem_analyzer::timeline::TAIL - 1).prop_map(Some)],
    )
        .prop_map(|(reboot, restart, orphan_mib, usage_mib, oom_lag)| Step {
            reboot,
            restart,
            orphan_mib,
            usage_mib,
            oom_lag,
        })
}

fn at(i: usize) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_795_000_000 + 60 * i as i64).unwrap()
}

/// The series as archives, and (snapshot index, event) of the kills.
fn series(steps: &[Step]) -> (Vec<Snap>, Vec<(usize, podmem_schema::oom::OomEvent)>) {
    let pod = pod_rel(false);
    let (mut boot, mut ctr, mut orphan) = (0, 1u64, 0u64);
    let mut snaps = Vec::new();
    let mut events = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if s.reboot {
            boot += 1;
            orphan = 0;
        }
        if s.restart {
            ctr += 1;
        }
        orphan += s.orphan_mib * MIB;
        let id = format!("{ctr:064x}");
        let mut snap = Snap::new("node-a", &format!("boot-{boot}"), &at(i).to_string(), false);
        let used = s.usage_mib * MIB;
        snap.cgroups
            .push(Cg::new("kubepods", 2000 * MIB, orphan, 900 * MIB).limit(7000 * MIB));
        snap.cgroups
            .push(Cg::new(&pod, used + orphan + MIB, orphan, used).limit(512 * MIB));
        snap.cgroups
            .push(Cg::new(&ctr_rel(false, PAUSE_ID), MIB, 0, MIB));
        snap.cgroups
            .push(Cg::new(&ctr_rel(false, &id), used, 0, used));
        snap.manifest_pods.push((POD_UID.to_string(), pod.clone()));
        if let Some(lag) = s.oom_lag {
            let t = at(i) - jiff::SignedDuration::from_secs(20);
            let mut e = kill(4000 + i as u32, &t.to_string(), &id, &format!("s{i}"));
            e.node = Some("node-a".into());
            events.push(((i + lag).min(steps.len() - 1), e));
        }
        snaps.push(snap);
    }
    (snaps, events)
}

type Parsed = (
    Vec<podmem_analyzer::model::Snapshot>,
    Vec<podmem_schema::report::InputReport>,
);

fn analyze((parsed, inputs): Parsed, budget: Budget) -> podmem_schema::report::Report {
    podmem_analyzer::complete(podmem_analyzer::prepare_snapshots_with(
        parsed,
        inputs,
        jiff::Timestamp::UNIX_EPOCH,
        budget,
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn bounded_analysis_finds_what_the_full_one_finds(
        steps in prop::collection::vec(step(), 60..220)
    ) {
        let (snaps, events) = series(&steps);
        let parsed = parse_snaps(&snaps, &events, |i| format!("s{i:04}.tar.gz"));
        let full = analyze(parsed.clone(), Budget::ALL);
        let small = analyze(parsed, Budget { samples: Some(1) });
        prop_assert_eq!(js(&full.findings), js(&small.findings));
        prop_assert_eq!(js(&full.oom_events), js(&small.oom_events));
        prop_assert_eq!(js(&full.nodes[0].boots), js(&small.nodes[0].boots));
        prop_assert_eq!(full.pods.len(), small.pods.len());
        let (f, s) = (&full.pods[0], &small.pods[0]);
        prop_assert_eq!(f.samples.len(), steps.len());
        prop_assert_eq!(js(&f.containers), js(&s.containers));
        // Every kept sample is one of the full series, unchanged (its archive too, each
        // report indexing its own table).
        for k in &s.samples {
            let same = f.samples.iter().find(|x| x.time == k.time).map(|x| with_archive(&full, x));
            prop_assert_eq!(same, Some(with_archive(&small, k)));
        }
        let tables = |r: &podmem_schema::report::Report| r.nodes[0].archives.len();
        prop_assert_eq!(tables(&full), f.samples.len());
        prop_assert_eq!(tables(&small), s.samples.len());
        // The transitions are the full analysis's, and the series is bounded: the
        // tail, 8 buckets' extremes, and both ends of each change.
        prop_assert_eq!(js(&f.transitions), js(&s.transitions));
        let changes = f.transitions.len() + steps.iter().filter(|s| s.reboot || s.orphan_mib > 0 || s.oom_lag.is_some()).count();
        prop_assert!(s.samples.len() <= podmem_analyzer::timeline::TAIL + 16 + 1 + 2 * changes, "{} samples kept", s.samples.len());
    }
}

/// A sample of the report's first node with its archive's name, for comparisons.
fn with_archive(
    r: &podmem_schema::report::Report,
    s: &podmem_schema::report::PodSample,
) -> (String, Option<String>) {
    let archive = r.nodes[0].archive(s.snapshot).map(str::to_string);
    let s = podmem_schema::report::PodSample {
        snapshot: 0,
        ..s.clone()
    };
    (js(&s), archive)
}

/// Serialization for comparisons.
fn js<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap()
}
