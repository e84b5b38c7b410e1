//! Stage 3 of the pipeline: per-node and per-pod timelines from parsed snapshots: samples
//! in capture order, unattributed memory (from [`crate::attribution`]), what `kubectl top` shows,
//! container lifecycles, tmpfs volumes, kubelet figures, names, and the snapshot pairs
//! around each OOM kill or container change.
//!
//! Snapshots are folded ([`Fold`]) as they are read, in capture order per node, and
//! dropped: each pod keeps every sample a rule compares and a bounded, extremes-keeping
//! thinning of the rest ([`Budget`]), so memory follows the number of pods, not of
//! snapshots. Duplicates (same node, capture time and boot) are dropped; a boot id
//! change splits a node's timeline into segments, and nothing (lifecycles' "gone" aside)
//! is compared across a reboot.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

use jiff::Timestamp;
use podmem_schema::oom::OomEvent;
use podmem_schema::report::{
    ContainerReport, KubeletView, NodeReport, NodeSample, PodReport, PodSample, Transition,
    TransitionRow, VolumeReport,
};
use podmem_schema::snapshot::CgroupMode;

use crate::model::{PodObs, Snapshot};
use crate::ooms::BootEvent;

/// A pod's timeline plus what the rules need beyond the report.
#[derive(Debug, Clone)]
pub struct PodTimeline {
    /// The report part.
    pub report: PodReport,
    /// Position of each sample in the pod's whole series (parallel to
    /// `report.samples`): samples a long series did not keep leave gaps.
    pub seq: Vec<u64>,
    /// Boot segment index of each sample (parallel to `report.samples`).
    pub segment: Vec<usize>,
    /// v2 `nr_dying_descendants` of the pod cgroup per sample.
    pub dying: Vec<Option<u64>>,
    /// v1 shmem of the pod cgroup itself (children excluded) per sample.
    pub own_shmem: Vec<Option<u64>>,
    /// Kernel release of the node at the pod's last sample.
    pub kernel: Option<String>,
    /// Per sample, the ids of the pod's containers whose cgroups sit outside the pod
    /// cgroup (their paths are in `container_paths`).
    pub outside: Vec<Vec<String>>,
    /// Container id → cgroup path (relative to the root), last seen.
    pub container_paths: BTreeMap<String, String>,
    /// Pod cgroup path per sample (for evidence entries).
    pub pod_paths: Vec<String>,
    /// (capture time, pod working set) of the pod's latest samples of its last boot,
    /// at most [`crate::rules::TREND_SAMPLES`], whether or not they were kept.
    pub trend: Vec<(Option<Timestamp>, Option<u64>)>,
}

/// How much of a long series the analysis keeps. Every sample a rule compares (the
/// first of each boot, both ends of every change of containers, of a rise of
/// unattributed shmem and of an OOM kill, and the latest [`TAIL`]) is kept whole; the
/// rest of each pod's series is bucketed, each bucket keeping its highest and lowest pod
/// usage, so memory follows the number of pods, not the number of snapshots.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bucketed samples kept across every pod of every node; `None` keeps every sample
    /// (the full analysis the bounded one is tested against).
    pub samples: Option<usize>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            samples: Some(DEFAULT_SAMPLE_BUDGET),
        }
    }
}

impl Budget {
    /// Every sample kept.
    pub const ALL: Budget = Budget { samples: None };
}

/// Bucketed samples kept across all pods by default (a few KiB each in memory).
pub const DEFAULT_SAMPLE_BUDGET: usize = 20_000;
/// Latest samples of each pod always kept whole: an OOM kill logged up to this many
/// captures late still marks the samples around it.
pub const TAIL: usize = 8;
/// Buckets per pod at least (both extremes of each are kept) and at most.
const MIN_BUCKETS: usize = 8;
const MAX_BUCKETS: usize = 100;
/// Buckets of a node's own samples.
const NODE_BUCKETS: usize = 600;
/// Snapshots held back (all nodes together) to fold each node's in capture order:
/// inputs arrive in about that order (plain archives are read sorted by their
/// manifests), so only bundles packed out of order need more.
pub const REORDER_WINDOW: usize = 32;
/// A node's archive names are compacted to those its kept samples name once this many
/// (or twice as many as the last compaction kept) are held, so they follow the samples
/// kept, not the snapshots.
const COMPACT_ARCHIVES_AT: usize = 64;
/// OOM kill times kept per pod to mark the samples around them.
const MAX_OOM_TIMES: usize = 4096;
/// Deduplicated OOM events are capped once this many are held.
const COMPACT_OOMS_AT: usize = 4 * crate::ooms::MAX_OOMS_PER_REPORT;

/// One kept item of a series: its position in the series and the key its bucket ranks
/// it by.
struct Kept<T> {
    seq: u64,
    key: Option<u64>,
    item: T,
}

/// A series reduced as it streams in: items marked `must` are kept; the others fall into
/// buckets of `width` consecutive positions, each keeping its highest and lowest key (the
/// earliest of equals, or its first item when no key is known); when there are too many
/// buckets their width doubles and neighbours merge.
struct Reducer<T> {
    keep_all: bool,
    width: u64,
    must: Vec<Kept<T>>,
    buckets: Vec<(u64, Vec<Kept<T>>)>,
}

impl<T> Reducer<T> {
    fn new(keep_all: bool) -> Self {
        Reducer {
            keep_all,
            width: 1,
            must: Vec::new(),
            buckets: Vec::new(),
        }
    }

    fn push(&mut self, k: Kept<T>, must: bool, max_buckets: usize) {
        if must || self.keep_all {
            self.must.push(k);
            return;
        }
        let b = k.seq / self.width;
        match self.buckets.last_mut() {
            Some((n, items)) if *n == b => {
                items.push(k);
                squeeze(items);
            }
            _ => {
                let mut items = Vec::with_capacity(2);
                items.push(k);
                self.buckets.push((b, items));
            }
        }
        while self.buckets.len() > max_buckets.max(1) {
            self.width *= 2;
            for (n, items) in std::mem::take(&mut self.buckets) {
                match self.buckets.last_mut() {
                    Some((m, its)) if *m == n / 2 => {
                        its.extend(items);
                        squeeze(its);
                    }
                    _ => self.buckets.push((n / 2, items)),
                }
            }
        }
    }

    /// Every kept item in series order.
    fn into_sorted(self) -> Vec<Kept<T>> {
        let mut all = self.must;
        all.extend(self.buckets.into_iter().flat_map(|(_, items)| items));
        all.sort_by_key(|k| k.seq);
        all
    }
}

/// Leaves a bucket's highest and lowest known key (one item when they are the same),
/// or its first item when no key is known; items stay in series order.
fn squeeze<T>(items: &mut Vec<Kept<T>>) {
    if items.len() < 2 {
        return;
    }
    let mut hi: Option<(usize, u64)> = None;
    let mut lo: Option<(usize, u64)> = None;
    for (i, k) in items.iter().enumerate() {
        if let Some(v) = k.key {
            if hi.is_none_or(|(_, h)| v > h) {
                hi = Some((i, v));
            }
            if lo.is_none_or(|(_, l)| v < l) {
                lo = Some((i, v));
            }
        }
    }
    let keep = |i: usize| match (hi, lo) {
        (Some((h, _)), Some((l, _))) => i == h || i == l,
        _ => i == 0,
    };
    let mut i = 0;
    items.retain(|_| {
        let k = keep(i);
        i += 1;
        k
    });
}

/// A pod's (namespace, name) as one source gives it.
type NamePair = (Option<String>, Option<String>);

/// One sample of a pod with what the rules read beside it.
struct Obs {
    sample: PodSample,
    segment: usize,
    dying: Option<u64>,
    own_shmem: Option<u64>,
    pod_path: String,
    outside: Vec<String>,
}

/// Whether a rule compares this pair of consecutive samples of one boot: containers
/// came or went (or moved out of the pod cgroup), or the unattributed shmem rose by at
/// least the amount `orphaned-shmem` tells.
fn interesting(a: &Obs, b: &Obs) -> bool {
    let (x, y) = (&a.sample, &b.sample);
    !x.containers.keys().eq(y.containers.keys())
        || a.outside != b.outside
        || y.unattributed.shmem.unwrap_or(0)
            >= x.unattributed
                .shmem
                .unwrap_or(0)
                .saturating_add(crate::rules::ORPHAN_RISE_MIN_BYTES)
}

/// A pod's timeline being folded, one snapshot at a time.
struct PodFold {
    pt: PodTimeline,
    names: BTreeMap<String, String>,
    name_pairs: BTreeSet<NamePair>,
    seen: u64,
    tail: VecDeque<(u64, Box<Obs>, bool)>,
    kept: Reducer<Box<Obs>>,
    /// Capture time of the last sample that left the tail.
    last_exit: Option<Timestamp>,
    /// Times of this pod's OOM kills not yet behind the tail.
    oom_times: BTreeSet<Timestamp>,
    /// (segment, time, working set) of the latest samples, for the near-limit trend.
    trend: VecDeque<(usize, Option<Timestamp>, Option<u64>)>,
}

impl PodFold {
    fn new(node: &str, uid: &str, keep_all: bool) -> Self {
        PodFold {
            pt: PodTimeline {
                report: PodReport {
                    node: node.to_string(),
                    uid: uid.to_string(),
                    namespace: None,
                    name: None,
                    qos: None,
                    cgroup_path: None,
                    limit: None,
                    containers: Vec::new(),
                    volumes: Vec::new(),
                    samples: Vec::new(),
                    transitions: Vec::new(),
                },
                seq: Vec::new(),
                segment: Vec::new(),
                dying: Vec::new(),
                own_shmem: Vec::new(),
                kernel: None,
                outside: Vec::new(),
                container_paths: BTreeMap::new(),
                pod_paths: Vec::new(),
                trend: Vec::new(),
            },
            names: BTreeMap::new(),
            name_pairs: BTreeSet::new(),
            seen: 0,
            tail: VecDeque::new(),
            kept: Reducer::new(keep_all),
            last_exit: None,
            oom_times: BTreeSet::new(),
            trend: VecDeque::new(),
        }
    }

    fn oom_within(&self, after: Option<Timestamp>, upto: Option<Timestamp>) -> bool {
        match (after, upto) {
            (Some(a), Some(b)) if a < b => self
                .oom_times
                .range((Bound::Excluded(a), Bound::Included(b)))
                .next()
                .is_some(),
            _ => false,
        }
    }

    fn add(&mut self, obs: Obs, max_buckets: usize) {
        let must = match self.tail.back_mut() {
            None => self.seen == 0 || self.last_exit.is_none(),
            Some((_, prev, prev_must)) => {
                if prev.segment != obs.segment {
                    true
                } else {
                    let m = interesting(prev, &obs);
                    *prev_must |= m;
                    m
                }
            }
        };
        if self.trend.len() == crate::rules::TREND_SAMPLES {
            self.trend.pop_front();
        }
        self.trend
            .push_back((obs.segment, obs.sample.time, obs.sample.pod.working_set));
        self.tail.push_back((self.seen, Box::new(obs), must));
        self.seen += 1;
        while self.tail.len() > TAIL {
            self.retire(max_buckets);
        }
    }

    /// Moves the oldest sample of the tail into the kept set, marking it when an OOM
    /// kill of the pod falls next to it.
    fn retire(&mut self, max_buckets: usize) {
        let Some((seq, obs, mut must)) = self.tail.pop_front() else {
            return;
        };
        let t = obs.sample.time;
        let next = self.tail.front().and_then(|(_, o, _)| o.sample.time);
        must |= self.oom_within(self.last_exit, t) || self.oom_within(t, next);
        if let Some(t) = t {
            self.oom_times = self.oom_times.split_off(&t);
            self.oom_times.remove(&t);
            self.last_exit = Some(t);
        }
        self.keep(seq, obs, must, max_buckets);
    }

    fn keep(&mut self, seq: u64, obs: Box<Obs>, must: bool, max_buckets: usize) {
        let key = obs.sample.pod.usage;
        self.kept.push(
            Kept {
                seq,
                key,
                item: obs,
            },
            must,
            max_buckets,
        );
    }

    fn note_oom(&mut self, t: Timestamp) {
        if self.last_exit.is_none_or(|e| t > e) {
            self.oom_times.insert(t);
            while self.oom_times.len() > MAX_OOM_TIMES {
                self.oom_times.pop_first();
            }
        }
    }

    /// Calls `f` with the archive index (in its node's table) of every sample kept, to
    /// read or to renumber.
    fn archive_indices(&mut self, mut f: impl FnMut(&mut u32)) {
        let tail = self.tail.iter_mut().map(|(_, o, _)| o);
        let must = self.kept.must.iter_mut().map(|k| &mut k.item);
        let buckets = self
            .kept
            .buckets
            .iter_mut()
            .flat_map(|(_, b)| b.iter_mut().map(|k| &mut k.item));
        for o in tail.chain(must).chain(buckets) {
            f(&mut o.sample.snapshot);
        }
    }

    /// The pod's timeline: every kept sample, the containers' `gone` and names, and
    /// the transitions given the report's OOM kills.
    fn finish(mut self, ooms: &[OomEvent]) -> PodTimeline {
        while let Some((seq, obs, _)) = self.tail.pop_front() {
            self.keep(seq, obs, true, usize::MAX);
        }
        let mut pt = self.pt;
        for k in self.kept.into_sorted() {
            let o = *k.item;
            pt.seq.push(k.seq);
            pt.report.samples.push(o.sample);
            pt.segment.push(o.segment);
            pt.dying.push(o.dying);
            pt.own_shmem.push(o.own_shmem);
            pt.pod_paths.push(o.pod_path);
            pt.outside.push(o.outside);
        }
        let last_segment = self.trend.back().map(|t| t.0);
        pt.trend = self
            .trend
            .into_iter()
            .filter(|t| Some(t.0) == last_segment)
            .map(|(_, t, ws)| (t, ws))
            .collect();
        let last = pt.report.samples.last().and_then(|s| s.time);
        for c in &mut pt.report.containers {
            c.gone = c.last_seen < last;
            if let Some(n) = self.names.get(&c.id) {
                c.name = Some(n.clone());
            }
        }
        pt.report.transitions = transitions(&pt, ooms);
        pt
    }
}

/// Snapshots of one node being folded in capture order.
struct NodeFold {
    name: String,
    /// Snapshots waiting for their turn, by (capture time, archive, arrival).
    waiting: BTreeMap<(Timestamp, String, u64), Snapshot>,
    /// The key of the last snapshot folded.
    folded: Option<(Timestamp, String, u64)>,
    /// (boot, archive) of the folded snapshots captured at the last folded time.
    same_time: Vec<(Option<String>, String)>,
    segment: usize,
    last_boot: Option<Option<String>>,
    count: u32,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    kernel: Option<String>,
    mode: Option<CgroupMode>,
    boots: Vec<String>,
    versions: BTreeSet<String>,
    /// Archives of the folded snapshots that kept samples may name, in capture order;
    /// a pod sample's archive is its index here. Compacted ([`compact_archives`]) when
    /// it reaches `compact_at`.
    archives: Vec<String>,
    compact_at: usize,
    samples: Reducer<NodeSample>,
    last_sample: Option<(u64, NodeSample)>,
    pods: BTreeMap<String, PodFold>,
    /// OOM kill times of pods not seen yet, and how many.
    early_ooms: BTreeMap<String, BTreeSet<Timestamp>>,
    early_oom_count: usize,
    /// (namespace, name) pairs the snapshots gave pods not seen yet.
    early_names: BTreeMap<String, BTreeSet<NamePair>>,
}

/// Every pod sample as it is folded, before any thinning: what a [`Tap`] is given.
pub struct TapSample<'a> {
    /// Archive the sample comes from (`bundle!member` for a bundle member).
    pub archive: &'a str,
    /// The pod as known so far (names, cgroup path, containers with their cgroups
    /// outside the pod's), its node and UID included.
    pub pod: &'a PodReport,
    /// Container names matched so far, by full id.
    pub container_names: &'a BTreeMap<String, String>,
    /// The sample.
    pub sample: &'a PodSample,
}

/// Called with every pod sample folded, in capture order per node, whatever the
/// [`Budget`] keeps: a consumer that wants every sample (the export) streams them from
/// here instead of holding them.
pub type Tap<'t> = Box<dyn FnMut(&TapSample<'_>) + Send + 't>;

/// Folds snapshots, as they are read, into per-node and per-pod timelines of bounded
/// size ([`Budget`]), and gathers the OOM kills. Snapshots may arrive in any order
/// within [`REORDER_WINDOW`] of a node; duplicates and snapshots older than what was
/// already folded are left out with a problem.
pub struct Fold<'t> {
    budget: Budget,
    tap: Option<Tap<'t>>,
    nodes_hint: usize,
    arrivals: u64,
    /// Snapshots waiting, all nodes together.
    waiting: usize,
    nodes: BTreeMap<String, NodeFold>,
    events: Vec<BootEvent>,
    /// Events dropped while capping a flood before the report was built.
    events_dropped: u64,
    /// Events dropped by the per-snapshot cap.
    per_snapshot_dropped: u64,
    /// (archive, problem) of every snapshot left out.
    left_out: Vec<(String, String)>,
}

/// What a finished [`Fold`] gives.
pub struct Folded {
    /// Builds pods one at a time.
    pub builder: Builder,
    /// One report per node.
    pub nodes: Vec<NodeReport>,
    /// Per node, its last snapshot's archive.
    pub last_archive: BTreeMap<String, String>,
    /// OOM events deduplicated in time order (not yet capped per report).
    pub events: Vec<OomEvent>,
    /// Events dropped by the per-report cap while folding.
    pub events_dropped: u64,
    /// Events dropped by the per-snapshot cap.
    pub per_snapshot_dropped: u64,
    /// (archive, problem) of every snapshot left out.
    pub left_out: Vec<(String, String)>,
}

impl<'t> Fold<'t> {
    /// A fold keeping what `budget` allows.
    pub fn new(budget: Budget) -> Self {
        Fold {
            budget,
            tap: None,
            nodes_hint: 1,
            arrivals: 0,
            waiting: 0,
            nodes: BTreeMap::new(),
            events: Vec::new(),
            events_dropped: 0,
            per_snapshot_dropped: 0,
            left_out: Vec::new(),
        }
    }

    /// Hands every pod sample to `tap` as it is folded.
    pub fn with_tap(mut self, tap: Tap<'t>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// How many nodes the inputs hold, as far as known before reading them: the budget
    /// is shared between them.
    pub fn set_nodes_hint(&mut self, n: usize) {
        self.nodes_hint = n.max(1);
    }

    /// Takes one parsed snapshot.
    pub fn push(&mut self, snap: Snapshot) {
        self.arrivals += 1;
        let key = (snap.captured_at, snap.archive.clone(), self.arrivals);
        let keep_all = self.budget.samples.is_none();
        let nf = self
            .nodes
            .entry(snap.node.clone())
            .or_insert_with(|| NodeFold::new(&snap.node, keep_all));
        if nf.folded.as_ref().is_some_and(|f| key < *f) {
            self.left_out.push((
                snap.archive.clone(),
                format!(
                    "{}: captured at {}, before snapshots of node {} already analyzed (the inputs are more than {REORDER_WINDOW} snapshots out of capture order); left out: give its node's archives as files or in capture order",
                    snap.archive, snap.captured_at, snap.node
                ),
            ));
            return;
        }
        nf.waiting.insert(key, snap);
        self.waiting += 1;
        // The window is shared: a node whose snapshots stopped coming (inputs are read
        // node by node) is drained by the next node's.
        while self.waiting > REORDER_WINDOW {
            let Some(name) = self
                .nodes
                .iter()
                .max_by_key(|(_, n)| n.waiting.len())
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.fold_next(&name);
        }
    }

    fn fold_next(&mut self, node: &str) {
        let per_pod = self.budget.samples.map(|b| b / self.nodes_hint);
        let Some(nf) = self.nodes.get_mut(node) else {
            return;
        };
        let Some((key, mut snap)) = nf.waiting.pop_first() else {
            return;
        };
        self.waiting -= 1;
        if nf.folded.as_ref().is_none_or(|f| f.0 != key.0) {
            nf.same_time.clear();
        }
        if let Some((_, first)) = nf.same_time.iter().find(|(b, _)| *b == snap.boot_id) {
            self.left_out.push((
                snap.archive.clone(),
                format!(
                    "{}: duplicate of {first} (same node {}, capture time {} and boot); ignored",
                    snap.archive, snap.node, snap.captured_at
                ),
            ));
            nf.folded = Some(key);
            return;
        }
        nf.same_time
            .push((snap.boot_id.clone(), snap.archive.clone()));
        nf.folded = Some(key);
        self.per_snapshot_dropped += snap.ooms_dropped;
        for e in std::mem::take(&mut snap.ooms) {
            if let (Some(uid), Some(t)) = (&e.pod_uid, e.time) {
                match nf.pods.get_mut(uid) {
                    Some(p) => p.note_oom(t),
                    None => {
                        if nf.early_ooms.entry(uid.clone()).or_default().insert(t) {
                            nf.early_oom_count += 1;
                        }
                        if nf.early_oom_count > MAX_OOM_TIMES {
                            nf.prune_early_ooms();
                        }
                    }
                }
            }
            self.events.push(BootEvent {
                boot: snap.boot_id.clone(),
                archive: snap.archive.clone(),
                event: e,
            });
        }
        nf.fold(snap, per_pod, &mut self.tap);
        if self.events.len() > COMPACT_OOMS_AT {
            let (kept, dropped) = crate::ooms::cap_report_boot(
                crate::ooms::dedup_boot(std::mem::take(&mut self.events)),
                crate::ooms::MAX_OOMS_PER_REPORT,
            );
            self.events = kept;
            self.events_dropped += dropped;
        }
    }

    /// Folds what is still waiting and gives the timelines and the OOM kills.
    pub fn finish(mut self) -> Folded {
        let names: Vec<String> = self.nodes.keys().cloned().collect();
        for n in &names {
            while !self.nodes[n].waiting.is_empty() {
                self.fold_next(n);
            }
        }
        let mut reports = Vec::new();
        let mut last_archive = BTreeMap::new();
        let mut nodes = Vec::new();
        let mut queue = VecDeque::new();
        for (name, nf) in std::mem::take(&mut self.nodes) {
            if nf.count == 0 {
                continue;
            }
            let (report, node) = nf.into_report();
            reports.push(report);
            last_archive.insert(
                name.clone(),
                node.archives.last().cloned().unwrap_or_default(),
            );
            let i = nodes.len();
            queue.extend(node.pods.keys().map(|u| (i, u.clone())));
            nodes.push((name, node));
        }
        let mut builder = Builder { nodes, queue };
        for (report, table) in reports.iter_mut().zip(builder.archive_tables()) {
            report.archives = table;
        }
        Folded {
            builder,
            nodes: reports,
            last_archive,
            events: crate::ooms::dedup_boot(self.events)
                .into_iter()
                .map(|b| b.event)
                .collect(),
            events_dropped: self.events_dropped,
            per_snapshot_dropped: self.per_snapshot_dropped,
            left_out: self.left_out,
        }
    }
}

impl NodeFold {
    fn new(name: &str, keep_all: bool) -> Self {
        NodeFold {
            name: name.to_string(),
            waiting: BTreeMap::new(),
            folded: None,
            same_time: Vec::new(),
            segment: 0,
            last_boot: None,
            count: 0,
            first: None,
            last: None,
            kernel: None,
            mode: None,
            boots: Vec::new(),
            versions: BTreeSet::new(),
            archives: Vec::new(),
            compact_at: COMPACT_ARCHIVES_AT,
            samples: Reducer::new(keep_all),
            last_sample: None,
            pods: BTreeMap::new(),
            early_ooms: BTreeMap::new(),
            early_oom_count: 0,
            early_names: BTreeMap::new(),
        }
    }

    /// Folds the next snapshot in capture order; `per_node` is this node's share of
    /// the budget.
    fn fold(&mut self, mut snap: Snapshot, per_node: Option<usize>, tap: &mut Option<Tap<'_>>) {
        let new_boot = self.last_boot.as_ref().is_some_and(|b| *b != snap.boot_id);
        if new_boot {
            self.segment += 1;
        }
        let b = snap
            .boot_id
            .clone()
            .unwrap_or_else(|| "unknown".to_string());
        if self.boots.last() != Some(&b) {
            self.boots.push(b);
        }
        self.last_boot = Some(snap.boot_id.clone());
        self.versions.insert(snap.collector_version.clone());
        self.first.get_or_insert(snap.captured_at);
        self.last = Some(snap.captured_at);
        self.kernel = snap.kernel.clone();
        self.mode = Some(snap.mode);
        if self.archives.len() >= self.compact_at {
            compact_archives(&mut self.archives, &mut self.pods);
            self.compact_at = (2 * self.archives.len()).max(COMPACT_ARCHIVES_AT);
        }
        let archive = u32::try_from(self.archives.len()).unwrap_or(u32::MAX);
        self.archives.push(snap.archive.clone());
        let seq = u64::from(self.count);
        self.count += 1;
        let ns = std::mem::take(&mut snap.node_sample);
        if let Some((s, prev)) = self.last_sample.replace((seq, ns)) {
            let key = prev.kubepods_usage;
            self.samples.push(
                Kept {
                    seq: s,
                    key,
                    item: prev,
                },
                new_boot || s == 0,
                NODE_BUCKETS,
            );
        }
        for obs in std::mem::take(&mut snap.pods) {
            let uid = obs.uid.clone();
            if !self.pods.contains_key(&uid) {
                let mut p = PodFold::new(&self.name, &uid, self.samples.keep_all);
                for t in self.early_ooms.remove(&uid).unwrap_or_default() {
                    self.early_oom_count -= 1;
                    p.note_oom(t);
                }
                p.name_pairs
                    .extend(self.early_names.remove(&uid).unwrap_or_default());
                self.pods.insert(uid.clone(), p);
            }
            let max_buckets = match per_node {
                None => usize::MAX,
                Some(b) => (b / self.pods.len().max(1) / 2).clamp(MIN_BUCKETS, MAX_BUCKETS),
            };
            let Some(pf) = self.pods.get_mut(&uid) else {
                continue;
            };
            let o = observe(pf, obs, &mut snap, archive, self.segment);
            if let Some(tap) = tap {
                tap(&TapSample {
                    archive: &snap.archive,
                    pod: &pf.pt.report,
                    container_names: &pf.names,
                    sample: &o.sample,
                });
            }
            pf.add(o, max_buckets);
        }
        // Names of pods this snapshot has no cgroup of still select them (`--pod`).
        let kubelet = snap
            .kubelet
            .into_iter()
            .map(|(u, k)| (u, (k.namespace, k.name)));
        let logs = snap
            .log_names
            .into_iter()
            .map(|(u, (ns, n, _))| (u, (Some(ns), Some(n))));
        for (uid, pair) in kubelet.chain(logs) {
            match self.pods.get_mut(&uid) {
                Some(p) => {
                    p.name_pairs.insert(pair);
                }
                None => {
                    self.early_names.entry(uid).or_default().insert(pair);
                }
            }
        }
    }

    /// Keeps the newest half of the kill times of pods not seen yet: a flood of kills
    /// naming pods that never show up must not grow without bound.
    fn prune_early_ooms(&mut self) {
        let mut all: Vec<(Timestamp, String)> = std::mem::take(&mut self.early_ooms)
            .into_iter()
            .flat_map(|(u, ts)| ts.into_iter().map(move |t| (t, u.clone())))
            .collect();
        all.sort();
        let keep = all.split_off(all.len().saturating_sub(MAX_OOM_TIMES / 2));
        self.early_oom_count = keep.len();
        for (t, u) in keep {
            self.early_ooms.entry(u).or_default().insert(t);
        }
    }

    /// The node's report (its archive table still empty) and its pods' folds with the
    /// archives of its snapshots.
    fn into_report(self) -> (NodeReport, BuilderNode) {
        let mut samples = self.samples;
        if let Some((seq, s)) = self.last_sample {
            samples.push(
                Kept {
                    seq,
                    key: s.kubepods_usage,
                    item: s,
                },
                true,
                usize::MAX,
            );
        }
        let report = NodeReport {
            name: self.name,
            snapshots: self.count,
            first: self.first,
            last: self.last,
            kernel: self.kernel,
            cgroup_mode: self.mode,
            collector_versions: self.versions.into_iter().collect(),
            boots: self.boots,
            archives: Vec::new(),
            samples: samples.into_sorted().into_iter().map(|k| k.item).collect(),
        };
        let node = BuilderNode {
            pods: self.pods,
            archives: self.archives,
        };
        (report, node)
    }
}

/// Builds the pods' timelines one at a time from a finished fold; the caller renders
/// (or streams) each pod and drops it.
pub struct Builder {
    nodes: Vec<(String, BuilderNode)>,
    /// (node index, uid), in node then uid order.
    queue: VecDeque<(usize, String)>,
}

/// One node's pods still to build.
struct BuilderNode {
    pods: BTreeMap<String, PodFold>,
    /// The archives their samples index, in capture order (and possibly others until
    /// [`Builder::archive_tables`] compacts it).
    archives: Vec<String>,
}

/// Keeps the archives some kept sample of `pods` names, in order, and renumbers the
/// samples' indices to match.
fn compact_archives(archives: &mut Vec<String>, pods: &mut BTreeMap<String, PodFold>) {
    let mut used = vec![false; archives.len()];
    for p in pods.values_mut() {
        p.archive_indices(|i| {
            if let Some(u) = used.get_mut(*i as usize) {
                *u = true;
            }
        });
    }
    let mut next = 0u32;
    let renumber: Vec<u32> = used
        .iter()
        .map(|u| {
            let n = next;
            next += u32::from(*u);
            n
        })
        .collect();
    for p in pods.values_mut() {
        p.archive_indices(|i| {
            if let Some(n) = renumber.get(*i as usize) {
                *i = *n;
            }
        });
    }
    let mut k = 0;
    archives.retain(|_| {
        k += 1;
        used[k - 1]
    });
}

impl Builder {
    /// Each node's archive table (in the order of [`Folded::nodes`], which already hold
    /// it): the archives the kept samples of the pods still to build come from, in
    /// capture order. Built pods' samples index the last tables given: call again
    /// after [`Builder::retain`], before building a pod.
    pub fn archive_tables(&mut self) -> Vec<Vec<String>> {
        self.nodes
            .iter_mut()
            .map(|(_, n)| {
                compact_archives(&mut n.archives, &mut n.pods);
                n.archives.clone()
            })
            .collect()
    }

    /// Pods still to build.
    pub fn remaining(&self) -> usize {
        self.queue.len()
    }

    /// Drops, before they are built, the pods `keep` refuses; `keep` is given the
    /// node, the dashed UID, and every (namespace, name) the node's snapshots give the
    /// pod (kubelet summary, then `/var/log/pods`). Returns how many were dropped.
    pub fn retain(
        &mut self,
        mut keep: impl FnMut(&str, &str, &[(Option<&str>, Option<&str>)]) -> bool,
    ) -> u64 {
        let before = self.queue.len();
        let nodes = &mut self.nodes;
        self.queue.retain(|(ni, uid)| {
            let (name, node) = &mut nodes[*ni];
            let pods = &mut node.pods;
            let names: Vec<(Option<&str>, Option<&str>)> = pods
                .get(uid)
                .map(|p| {
                    p.name_pairs
                        .iter()
                        .map(|(ns, n)| (ns.as_deref(), n.as_deref()))
                        .collect()
                })
                .unwrap_or_default();
            let k = keep(name, uid, &names);
            if !k {
                pods.remove(uid);
            }
            k
        });
        (before - self.queue.len()) as u64
    }

    /// Builds the next pod's timeline (node by node, uid by uid).
    pub fn next_pod(&mut self, ooms: &[OomEvent]) -> Option<PodTimeline> {
        loop {
            let (ni, uid) = self.queue.pop_front()?;
            if let Some(p) = self.nodes[ni].1.pods.remove(&uid) {
                return Some(p.finish(ooms));
            }
        }
    }
}

/// One pod's observation in one snapshot, folded into the pod's running figures
/// (containers, volumes, names), as the sample the rules and the report read.
fn observe(
    pf: &mut PodFold,
    obs: PodObs,
    snap: &mut Snapshot,
    archive: u32,
    segment: usize,
) -> Obs {
    let uid = obs.uid.as_str();
    let pt = &mut pf.pt;
    let r = &mut pt.report;
    r.qos = obs.qos.or(r.qos);
    // A pod known only by containers outside any pod cgroup has no path.
    if !obs.cgroup_path.is_empty() {
        r.cgroup_path = Some(obs.cgroup_path.clone());
    }
    r.limit = obs.limit;
    pt.kernel = snap.kernel.clone();
    let mut containers = BTreeMap::new();
    let n_inside = obs.children.len();
    let mut outside = Vec::new();
    for (i, c) in obs.children.into_iter().chain(obs.outside).enumerate() {
        if i >= n_inside {
            outside.push(c.id.clone());
        }
        if !pt.container_paths.contains_key(&c.id) {
            let path = if i < n_inside {
                format!("{}/{}", obs.cgroup_path, c.dir)
            } else {
                c.dir.clone()
            };
            pt.container_paths.insert(c.id.clone(), path);
        }
        match r.containers.iter_mut().find(|x| x.id == c.id) {
            Some(x) => {
                x.last_seen = Some(snap.captured_at);
                x.last = c.stats.clone();
            }
            None => r.containers.push(ContainerReport {
                id: c.id.clone(),
                name: None,
                runtime: c.runtime.clone(),
                first_seen: Some(snap.captured_at),
                last_seen: Some(snap.captured_at),
                gone: false,
                last: c.stats.clone(),
                outside_pod_cgroup: (i >= n_inside).then(|| c.dir.clone()),
            }),
        }
        containers.insert(c.id, c.stats);
    }
    // A container outside the pod cgroup is not in the pod's figures: only the
    // children inside are subtracted. `kubectl top` (the runtime's per-container
    // figures) counts them all.
    let unattributed = crate::attribution::unattributed(
        &obs.stats,
        containers
            .iter()
            .filter(|(id, _)| !outside.contains(*id))
            .map(|(_, s)| s),
    );
    let kubectl_top = crate::attribution::sum_opt(containers.values().map(|c| c.working_set));
    let mut tmpfs_used = BTreeMap::new();
    for t in snap.tmpfs.iter().filter(|t| t.pod_uid == uid) {
        if let Some(u) = t.used_bytes {
            tmpfs_used.insert(t.volume.clone(), u);
        }
        let size = t.size_option.or(t.total_bytes);
        match r.volumes.iter_mut().find(|v| v.name == t.volume) {
            Some(v) => {
                v.size_bytes = size.or(v.size_bytes);
                v.max_used = v.max_used.max(t.used_bytes);
            }
            None => r.volumes.push(VolumeReport {
                name: t.volume.clone(),
                plugin: t.plugin.as_str().into(),
                size_bytes: size,
                mount_point: t.mount_point.clone(),
                max_used: t.used_bytes,
            }),
        }
    }
    // Moved, not cloned: each snapshot's summary entry is used once.
    let kubelet = snap.kubelet.remove(uid);
    if let Some(k) = &kubelet {
        pf.name_pairs.insert((k.namespace.clone(), k.name.clone()));
        // Each name on its own: a summary entry with a namespace but no name still
        // says which namespace the pod is in.
        if k.name.is_some() {
            r.name = k.name.clone();
        }
        if k.namespace.is_some() {
            r.namespace = k.namespace.clone();
        }
        // Container names: the summary names containers but gives no ids; match
        // each to the cgroup with the same working set.
        for (cname, ws) in &k.containers {
            let tol = (*ws / 50).max(1 << 20);
            let close: Vec<&String> = containers
                .iter()
                .filter(|(_, s)| s.working_set.is_some_and(|w| w.abs_diff(*ws) <= tol))
                .map(|(id, _)| id)
                .collect();
            if let [id] = close.as_slice() {
                pf.names.insert((*id).clone(), cname.clone());
            }
        }
    }
    if let Some((ns, name, _)) = snap.log_names.get(uid) {
        pf.name_pairs.insert((Some(ns.clone()), Some(name.clone())));
        if r.name.is_none() {
            r.name = Some(name.clone());
        }
        if r.namespace.is_none() {
            r.namespace = Some(ns.clone());
        }
    }
    Obs {
        sample: PodSample {
            time: Some(snap.captured_at),
            snapshot: archive,
            pod: obs.stats,
            limit: obs.limit,
            containers,
            unattributed,
            kubectl_top,
            tmpfs_used,
            kubelet: kubelet.map(|k| KubeletView {
                pod_working_set: k.pod_working_set,
                containers: k.containers.into_iter().collect(),
                volumes: k.volumes.into_iter().collect(),
            }),
        },
        segment,
        dying: obs.dying,
        own_shmem: obs.own_shmem,
        pod_path: obs.cgroup_path,
        outside,
    }
}

impl PodTimeline {
    /// Whether sample `i` directly follows sample `i - 1` in the pod's series (and not
    /// across samples left out of a long series): only such pairs are compared.
    pub fn adjacent(&self, i: usize) -> bool {
        i > 0 && self.seq.get(i) == self.seq.get(i - 1).map(|s| s + 1).as_ref()
    }
}

/// Snapshot pairs (within one boot) where containers came or went, or an OOM of the pod
/// happened in between.
fn transitions(pt: &PodTimeline, ooms: &[OomEvent]) -> Vec<Transition> {
    let r = &pt.report;
    let mut out = Vec::new();
    for i in 1..r.samples.len() {
        if pt.segment[i] != pt.segment[i - 1] || !pt.adjacent(i) {
            continue;
        }
        let (a, b) = (&r.samples[i - 1], &r.samples[i]);
        let appeared: Vec<String> = b
            .containers
            .keys()
            .filter(|k| !a.containers.contains_key(*k))
            .cloned()
            .collect();
        let disappeared: Vec<String> = a
            .containers
            .keys()
            .filter(|k| !b.containers.contains_key(*k))
            .cloned()
            .collect();
        let oom = ooms.iter().any(|e| {
            e.node.as_deref() == Some(r.node.as_str())
                && e.pod_uid.as_deref() == Some(r.uid.as_str())
                && e.time.is_some_and(|t| {
                    a.time.is_some_and(|ta| t > ta) && b.time.is_some_and(|tb| t <= tb)
                })
        });
        if appeared.is_empty() && disappeared.is_empty() && !oom {
            continue;
        }
        let mut rows = vec![
            TransitionRow {
                cgroup: "pod".to_string(),
                before: a.pod.clone(),
                after: b.pod.clone(),
            },
            TransitionRow {
                cgroup: "unattributed".to_string(),
                before: a.unattributed.clone(),
                after: b.unattributed.clone(),
            },
        ];
        let ids: BTreeSet<&String> = a.containers.keys().chain(b.containers.keys()).collect();
        for id in ids {
            rows.push(TransitionRow {
                cgroup: id.clone(),
                before: a.containers.get(id).cloned().unwrap_or_default(),
                after: b.containers.get(id).cloned().unwrap_or_default(),
            });
        }
        out.push(Transition {
            reason: if oom { "oom" } else { "container-restart" }.to_string(),
            before: a.time,
            after: b.time,
            appeared,
            disappeared,
            rows,
        });
    }
    out
}
