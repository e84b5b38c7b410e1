//! The analysis the analyzer produces and every renderer consumes: the JSON report
//! format `podmem-report/2`. The JSON output is this structure serialized as is; HTML
//! and text are pure functions of it. [`read_json`] reads a saved report of either
//! format, `/1` upgraded in memory.
//!
//! Conventions: byte amounts are `u64` bytes; absent values are `null` (never 0 or -1);
//! times are RFC 3339 UTC; pod UIDs are dashed; container ids are full ids. A pod
//! sample names its archive by index into its node's [`NodeReport::archives`] (`/1`
//! repeated the archive's path in every sample).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::oom::OomEvent;
use crate::snapshot::{CgroupMode, Qos};

/// The `format` field of every report this version writes.
pub const REPORT_FORMAT: &str = "podmem-report/2";
/// The previous format, still read by [`read_json`]: each pod sample carried its
/// archive's path instead of an index.
pub const REPORT_FORMAT_1: &str = "podmem-report/1";

/// A whole analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// When the analysis ran.
    pub generated_at: Timestamp,
    /// Version of the analyzer.
    pub analyzer_version: String,
    /// Every input given, with its problems.
    pub inputs: Vec<InputReport>,
    /// Nodes seen.
    pub nodes: Vec<NodeReport>,
    /// Pods seen, grouped by node then uid.
    pub pods: Vec<PodReport>,
    /// OOM kills, deduplicated, ordered by time.
    pub oom_events: Vec<OomEvent>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// OOM events left out by the caps (a log flooded with OOM reports must not take
    /// unbounded memory or an unbounded page); absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_events_omitted: Option<OomOmitted>,
}

/// How many OOM events the caps left out of a report, and the caps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomOmitted {
    /// Events dropped from snapshots holding more than `per_snapshot_cap` (the
    /// newest of each snapshot are kept).
    pub per_snapshot: u64,
    /// Events dropped after deduplication because the report holds at most
    /// `per_report_cap` (the newest few of every pod and then the newest overall are
    /// kept, so every pod's findings keep their evidence).
    pub per_report: u64,
    /// Most events kept per snapshot.
    pub per_snapshot_cap: u64,
    /// Most events kept per report.
    pub per_report_cap: u64,
}

impl OomOmitted {
    /// One sentence saying what was left out, for the text and HTML reports.
    pub fn sentence(&self) -> String {
        format!(
            "{} OOM event(s) not shown: {} beyond the newest {} of a snapshot, {} beyond the {} kept in a report (the newest of every pod first); they are counted, not listed",
            self.per_snapshot + self.per_report,
            self.per_snapshot,
            self.per_snapshot_cap,
            self.per_report,
            self.per_report_cap
        )
    }
}

/// One input path (archive, bundle or directory member) and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputReport {
    /// Path as given (or `bundle!member` for a snapshot inside a bundle).
    pub path: String,
    /// What the input is.
    pub kind: InputKind,
    /// Snapshots accepted from it.
    pub snapshots: u32,
    /// What became of it.
    pub status: InputStatus,
    /// Problems, each naming the file and the reason.
    pub problems: Vec<String>,
}

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// A snapshot archive (or a path that was to be one).
    Snapshot,
    /// A bundle of snapshot archives (tar or zip).
    Bundle,
    /// A directory searched for archives.
    Directory,
    /// A kernel log given beside the snapshots.
    Log,
}

/// What became of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStatus {
    /// Accepted without problems.
    Ok,
    /// Accepted with problems.
    Partial,
    /// Nothing usable in it.
    Rejected,
}

/// `Display` and comparison with a name, from an enumeration's `as_str` (shared by
/// `named!` and `open_named!`).
macro_rules! name_impls {
    ($ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

/// The names these enumerations have in the JSON report, for the text and HTML ones
/// and for comparisons with a name (`status == "ok"`).
macro_rules! named {
    ($ty:ty { $($variant:path => $name:literal,)* }) => {
        impl $ty {
            /// The name in the JSON report.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $($variant => $name,)*
                }
            }
        }
        name_impls!($ty);
    };
}

named!(InputKind {
    InputKind::Snapshot => "snapshot",
    InputKind::Bundle => "bundle",
    InputKind::Directory => "directory",
    InputKind::Log => "log",
});

named!(InputStatus {
    InputStatus::Ok => "ok",
    InputStatus::Partial => "partial",
    InputStatus::Rejected => "rejected",
});

/// One node's capture history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Node name.
    pub name: String,
    /// Snapshots used (after dropping duplicates).
    pub snapshots: u32,
    /// First capture time.
    pub first: Option<Timestamp>,
    /// Last capture time.
    pub last: Option<Timestamp>,
    /// Kernel release (last seen).
    pub kernel: Option<String>,
    /// cgroup mode (last seen).
    pub cgroup_mode: Option<CgroupMode>,
    /// Distinct collector versions.
    pub collector_versions: Vec<String>,
    /// Boot ids in order; more than one means the timeline was split by a reboot.
    pub boots: Vec<String>,
    /// The archives this node's reported pod samples come from, each once, in capture
    /// order (a path as given, or `bundle!member`); a [`PodSample::snapshot`] is an index
    /// into it. Only archives some reported sample comes from are listed.
    pub archives: Vec<String>,
    /// Node-level figures over time.
    pub samples: Vec<NodeSample>,
}

impl NodeReport {
    /// The archive of index `i` ([`PodSample::snapshot`] of this node's pods).
    pub fn archive(&self, i: u32) -> Option<&str> {
        self.archives.get(i as usize).map(String::as_str)
    }
}

/// Node-wide memory at one capture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSample {
    /// Capture time.
    pub time: Option<Timestamp>,
    /// `MemTotal` from meminfo.
    pub mem_total: Option<u64>,
    /// `MemAvailable`.
    pub mem_available: Option<u64>,
    /// `Shmem` (all tmpfs and shared memory on the node).
    pub shmem: Option<u64>,
    /// kubepods cgroup usage.
    pub kubepods_usage: Option<u64>,
    /// kubepods cgroup limit (node allocatable).
    pub kubepods_limit: Option<u64>,
    /// `/proc/pressure/memory` `some avg10`.
    pub psi_some_avg10: Option<f64>,
    /// `/proc/pressure/memory` `full avg10`.
    pub psi_full_avg10: Option<f64>,
    /// memory controller `num_cgroups` from `/proc/cgroups` (includes dying ones).
    pub memcg_count: Option<u64>,
    /// Live memory cgroups seen in the capture.
    pub live_cgroups: Option<u64>,
    /// `nr_dying_descendants` of the root (v2 `cgroup.stat`).
    pub dying_descendants: Option<u64>,
}

/// Memory figures of one cgroup (or a derived view) at one capture; `None` = not known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemStats {
    /// v1 `usage_in_bytes` / v2 `memory.current`.
    pub usage: Option<u64>,
    /// usage − inactive_file, floored at 0 (the cAdvisor/kubelet formula).
    pub working_set: Option<u64>,
    /// Hierarchical shmem (tmpfs, shared memory).
    pub shmem: Option<u64>,
    /// v1 `total_cache` / v2 `file` (includes shmem).
    pub cache: Option<u64>,
    /// v1 `total_rss` / v2 `anon`.
    pub rss: Option<u64>,
    /// Hierarchical inactive_file.
    pub inactive_file: Option<u64>,
}

/// One pod on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodReport {
    /// Node name.
    pub node: String,
    /// Dashed UID.
    pub uid: String,
    /// Namespace, from the kubelet summary or `/var/log/pods`.
    pub namespace: Option<String>,
    /// Pod name.
    pub name: Option<String>,
    /// QoS class.
    pub qos: Option<Qos>,
    /// Pod cgroup path (relative to the cgroup root) last seen.
    pub cgroup_path: Option<String>,
    /// Pod memory limit last seen (None = unlimited or unknown).
    pub limit: Option<u64>,
    /// Every container cgroup seen over time.
    pub containers: Vec<ContainerReport>,
    /// tmpfs volumes of the pod.
    pub volumes: Vec<VolumeReport>,
    /// One sample per capture in which the pod existed.
    pub samples: Vec<PodSample>,
    /// Snapshot pairs around each OOM or container restart, with what moved.
    pub transitions: Vec<Transition>,
}

/// A container (cgroup) of a pod over its observed life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerReport {
    /// Full id.
    pub id: String,
    /// Container name (summary or `/var/log/pods`), when known.
    pub name: Option<String>,
    /// Runtime from the cgroup name.
    pub runtime: Option<String>,
    /// First capture that saw it.
    pub first_seen: Option<Timestamp>,
    /// Last capture that saw it.
    pub last_seen: Option<Timestamp>,
    /// True when a later capture of the pod no longer had it.
    pub gone: bool,
    /// Last figures seen for it.
    pub last: MemStats,
    /// Its cgroup (relative to the cgroup root) when it sits outside the pod cgroup
    /// (containerd's `<pod slice>:cri-containerd:<id>` under its own service cgroup): its
    /// memory is not in the pod's figures. Absent for a container inside the pod cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_pod_cgroup: Option<String>,
}

/// A kubelet volume plugin (the `kubernetes.io~<plugin>` directory of the volume's
/// mount point). Any other plugin name is kept as it was found, so a report naming one
/// reads back as it was written. Compared, ordered and hashed by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "String")]
pub enum VolumePlugin {
    /// `empty-dir`: an emptyDir (a tmpfs one is `medium: Memory`).
    EmptyDir,
    /// `secret`.
    Secret,
    /// `projected`.
    Projected,
    /// Another plugin, by its name.
    Other(String),
}

impl VolumePlugin {
    /// The plugin's name as in the mount point.
    pub fn as_str(&self) -> &str {
        match self {
            VolumePlugin::EmptyDir => "empty-dir",
            VolumePlugin::Secret => "secret",
            VolumePlugin::Projected => "projected",
            VolumePlugin::Other(name) => name,
        }
    }
}

impl From<&str> for VolumePlugin {
    fn from(name: &str) -> Self {
        match name {
            "empty-dir" => VolumePlugin::EmptyDir,
            "secret" => VolumePlugin::Secret,
            "projected" => VolumePlugin::Projected,
            other => VolumePlugin::Other(other.to_string()),
        }
    }
}

/// A tmpfs volume of a pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeReport {
    /// Volume name.
    pub name: String,
    /// The kubelet's volume plugin.
    pub plugin: VolumePlugin,
    /// tmpfs `size=` in bytes.
    pub size_bytes: Option<u64>,
    /// Mount point on the host.
    pub mount_point: String,
    /// Largest used bytes seen.
    pub max_used: Option<u64>,
}

/// A pod at one capture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodSample {
    /// Capture time.
    pub time: Option<Timestamp>,
    /// Archive the sample came from: an index into its node's
    /// [`NodeReport::archives`] ([`NodeReport::archive`] gives the path).
    pub snapshot: u32,
    /// Pod cgroup figures (hierarchical: includes dead containers' charges).
    pub pod: MemStats,
    /// Pod limit at this capture.
    pub limit: Option<u64>,
    /// Live container cgroups, by full id.
    pub containers: BTreeMap<String, MemStats>,
    /// Pod − Σ live children, per stat (floored at 0): charge held by no live container.
    pub unattributed: MemStats,
    /// Σ container working sets: what `kubectl top` shows.
    pub kubectl_top: Option<u64>,
    /// tmpfs used bytes by volume name.
    pub tmpfs_used: BTreeMap<String, u64>,
    /// Kubelet summary view at this capture, when captured.
    pub kubelet: Option<KubeletView>,
}

/// What the kubelet summary said about a pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubeletView {
    /// Pod `memory.workingSetBytes` (from the pod cgroup).
    pub pod_working_set: Option<u64>,
    /// Container `memory.workingSetBytes` by container name.
    pub containers: BTreeMap<String, u64>,
    /// Volume `usedBytes` by volume name.
    pub volumes: BTreeMap<String, u64>,
}

/// Two consecutive captures of a pod around an event, and what moved between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Why this pair was chosen: `oom`, `container-restart`.
    pub reason: String,
    /// Capture before.
    pub before: Option<Timestamp>,
    /// Capture after.
    pub after: Option<Timestamp>,
    /// Container ids that appeared.
    pub appeared: Vec<String>,
    /// Container ids that disappeared.
    pub disappeared: Vec<String>,
    /// Per cgroup view: `pod`, `unattributed`, or a container id.
    pub rows: Vec<TransitionRow>,
}

/// One cgroup (or derived view) before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionRow {
    /// `pod`, `unattributed`, or a container id.
    pub cgroup: String,
    /// Figures before (default when absent before).
    pub before: MemStats,
    /// Figures after (default when absent after).
    pub after: MemStats,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Causes or will cause OOM kills.
    Critical,
    /// Worth acting on.
    Warning,
    /// Context.
    Info,
}

/// Every rule of the analyzer, in the order a reader should meet them within one
/// severity (the report's findings are in this order): causes before the kills they
/// explain, then context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// `orphaned-shmem`: shmem charged to a pod that no live container holds.
    OrphanedShmem,
    /// `oom-restart-loop`: repeated OOM kills while unattributed memory grows.
    OomRestartLoop,
    /// `pod-limit-oom`: an OOM kill at the pod cgroup's limit.
    PodLimitOom,
    /// `kubepods-oom`: an OOM kill at the node allocatable (kubepods) limit.
    KubepodsOom,
    /// `global-oom`: a system-wide OOM kill.
    GlobalOom,
    /// `container-outside-pod-cgroup`: container cgroups placed outside their pod's.
    ContainerOutsidePodCgroup,
    /// `near-limit`: a pod close to or trending towards its limit.
    NearLimit,
    /// `hidden-from-kubectl-top`: pod memory that `kubectl top` does not show.
    HiddenFromKubectlTop,
    /// `memory-emptydir-unbounded`: a memory emptyDir as large as the pod limit.
    MemoryEmptydirUnbounded,
    /// `container-limit-oom`: an OOM kill at the container's own limit.
    ContainerLimitOom,
    /// `dying-cgroups`: many dying memory cgroups on the node.
    DyingCgroups,
}

impl RuleId {
    /// Every rule in reading order.
    pub const ALL: [RuleId; 11] = [
        RuleId::OrphanedShmem,
        RuleId::OomRestartLoop,
        RuleId::PodLimitOom,
        RuleId::KubepodsOom,
        RuleId::GlobalOom,
        RuleId::ContainerOutsidePodCgroup,
        RuleId::NearLimit,
        RuleId::HiddenFromKubectlTop,
        RuleId::MemoryEmptydirUnbounded,
        RuleId::ContainerLimitOom,
        RuleId::DyingCgroups,
    ];

    /// The id as it appears in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleId::OrphanedShmem => "orphaned-shmem",
            RuleId::OomRestartLoop => "oom-restart-loop",
            RuleId::PodLimitOom => "pod-limit-oom",
            RuleId::KubepodsOom => "kubepods-oom",
            RuleId::GlobalOom => "global-oom",
            RuleId::ContainerOutsidePodCgroup => "container-outside-pod-cgroup",
            RuleId::NearLimit => "near-limit",
            RuleId::HiddenFromKubectlTop => "hidden-from-kubectl-top",
            RuleId::MemoryEmptydirUnbounded => "memory-emptydir-unbounded",
            RuleId::ContainerLimitOom => "container-limit-oom",
            RuleId::DyingCgroups => "dying-cgroups",
        }
    }

    /// The rule of a report's id.
    pub fn from_id(id: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == id)
    }
}

/// A finding's id: one of this version's rules, or the id of a rule it does not know
/// (a report written by a newer analyzer must still be read, and written back as is).
/// Compared, ordered and hashed by id.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "String")]
pub enum FindingId {
    /// A rule of this version.
    Rule(RuleId),
    /// Any other id, as it was read.
    Other(String),
}

impl FindingId {
    /// The id as it appears in reports.
    pub fn as_str(&self) -> &str {
        match self {
            FindingId::Rule(r) => r.as_str(),
            FindingId::Other(id) => id,
        }
    }

    /// The rule, when this version has it.
    pub fn rule(&self) -> Option<RuleId> {
        match self {
            FindingId::Rule(r) => Some(*r),
            FindingId::Other(id) => RuleId::from_id(id),
        }
    }
}

impl From<RuleId> for FindingId {
    fn from(rule: RuleId) -> Self {
        FindingId::Rule(rule)
    }
}

impl From<&str> for FindingId {
    fn from(id: &str) -> Self {
        match RuleId::from_id(id) {
            Some(rule) => FindingId::Rule(rule),
            None => FindingId::Other(id.to_string()),
        }
    }
}

/// Serialization, display, comparison, order and hash for the open enumerations (a
/// known value or any string), all through their name (`as_str`), so a known value
/// built as `Other` is still the same value.
macro_rules! open_named {
    ($($ty:ty),*) => {$(
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }
        impl Eq for $ty {}
        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for $ty {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }
        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }
        impl From<String> for $ty {
            fn from(name: String) -> Self {
                Self::from(name.as_str())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        name_impls!($ty);
        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
    )*};
}

open_named!(VolumePlugin, FindingId);

/// A diagnosis with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that decided it.
    pub id: FindingId,
    /// Severity.
    pub severity: Severity,
    /// Node.
    pub node: String,
    /// Pod, when about one.
    pub pod_uid: Option<String>,
    /// The amount the finding is about.
    pub bytes: Option<u64>,
    /// Full container ids involved.
    pub container_ids: Vec<String>,
    /// One line.
    pub title: String,
    /// Plain words tying the numbers together, including why the rule fired.
    pub detail: String,
    /// What to do.
    pub recommendation: String,
    /// Numbers, times and archive files behind it.
    pub evidence: Vec<Evidence>,
    /// When it was (first) observed.
    pub time: Option<Timestamp>,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What it is.
    pub label: String,
    /// The value as shown.
    pub value: String,
    /// Archive and entry it came from (`<archive>:<entry>`), when from one.
    pub source: Option<String>,
}

/// Why a saved report cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not a report of the format it names.
    #[error("not a podmem report: {0}")]
    Json(#[from] serde_json::Error),
    /// A `format` this version does not read.
    #[error("report format {0:?} is not one this version reads ({f1} or {f2}): written by a newer analyzer?", f1 = REPORT_FORMAT_1, f2 = REPORT_FORMAT)]
    Format(String),
    /// A pod with samples on a node the report does not list.
    #[error("pod {pod} is on node {node:?}, which is not among the report's nodes")]
    NoNode {
        /// The pod's UID.
        pod: String,
        /// Its node.
        node: String,
    },
    /// A sample naming an archive its node's table does not have.
    #[error("pod {pod}: sample {sample} names archive {index}, but node {node:?} lists {len}")]
    Index {
        /// The pod's UID.
        pod: String,
        /// Its node.
        node: String,
        /// Position of the sample in the pod's samples.
        sample: usize,
        /// The archive index it gives.
        index: u32,
        /// Archives the node lists.
        len: usize,
    },
}

/// Reads a saved JSON report of format `podmem-report/2` or `podmem-report/1`; a `/1`
/// report is upgraded in memory (each node's [`NodeReport::archives`] built from its
/// pods' samples in capture order, each sample's path replaced by its index), so the
/// result is always in this version's shape. Every sample's index is checked against
/// its node's table.
pub fn read_json(bytes: &[u8]) -> Result<Report, ReadError> {
    #[derive(Deserialize)]
    struct Head {
        format: String,
    }
    let head: Head = serde_json::from_slice(bytes)?;
    let report: Report = match head.format.as_str() {
        REPORT_FORMAT => serde_json::from_slice(bytes)?,
        REPORT_FORMAT_1 => upgrade_1(serde_json::from_slice(bytes)?)?,
        other => return Err(ReadError::Format(other.to_string())),
    };
    check_archives(&report)?;
    Ok(report)
}

/// A `podmem-report/1` document in the shape of `/2`. Each node's table lists the
/// archives of its pods' samples by the earliest capture time a sample of each has,
/// then by first appearance in the report (the order the analyzer writes).
fn upgrade_1(mut v: serde_json::Value) -> Result<Report, ReadError> {
    use serde_json::Value;
    type Seen = BTreeMap<String, (Option<Timestamp>, usize)>;
    let nodes: std::collections::BTreeSet<String> = v["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str().map(str::to_string))
        .collect();
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut position = 0usize;
    for pod in v["pods"].as_array().into_iter().flatten() {
        let node = pod["node"].as_str().unwrap_or_default();
        let samples = pod["samples"].as_array().map_or(&[][..], Vec::as_slice);
        if samples.is_empty() {
            continue;
        }
        if !nodes.contains(node) {
            return Err(ReadError::NoNode {
                pod: pod["uid"].as_str().unwrap_or_default().to_string(),
                node: node.to_string(),
            });
        }
        let table = seen.entry(node.to_string()).or_default();
        for s in samples {
            let Some(archive) = s["snapshot"].as_str() else {
                continue;
            };
            let time = s["time"].as_str().and_then(|t| t.parse::<Timestamp>().ok());
            let e = table.entry(archive.to_string()).or_insert((time, position));
            position += 1;
            if time.is_some() && (e.0.is_none() || time < e.0) {
                e.0 = time;
            }
        }
    }
    // Archive → index, and the table, per node.
    let mut index: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (node, archives) in seen {
        let mut order: Vec<(String, (Option<Timestamp>, usize))> = archives.into_iter().collect();
        order.sort_by_key(|a| a.1);
        let map = index.entry(node.clone()).or_default();
        for (i, (a, _)) in order.iter().enumerate() {
            map.insert(a.clone(), i as u32);
        }
        tables.insert(node, order.into_iter().map(|(a, _)| a).collect());
    }
    // `get_mut`, not `[]`: indexing a mutable value that is not an object panics.
    let arrays = |v: &mut Value, key: &str| -> Option<Vec<Value>> {
        match v.get_mut(key)? {
            Value::Array(a) => Some(std::mem::take(a)),
            _ => None,
        }
    };
    let mut pods = arrays(&mut v, "pods");
    for pod in pods.iter_mut().flatten() {
        let node = pod["node"].as_str().unwrap_or_default().to_string();
        let samples = pod.get_mut("samples").and_then(Value::as_array_mut);
        for s in samples.into_iter().flatten() {
            let i = s["snapshot"]
                .as_str()
                .and_then(|a| index.get(&node)?.get(a).copied());
            if let (Some(i), Some(obj)) = (i, s.as_object_mut()) {
                obj.insert("snapshot".to_string(), Value::from(i));
            }
        }
    }
    let mut nodes = arrays(&mut v, "nodes");
    for n in nodes.iter_mut().flatten() {
        let name = n["name"].as_str().unwrap_or_default().to_string();
        if let Some(obj) = n.as_object_mut() {
            let table = tables.remove(&name).unwrap_or_default();
            obj.insert("archives".to_string(), Value::from(table));
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("format".to_string(), Value::from(REPORT_FORMAT));
        for (key, a) in [("pods", pods), ("nodes", nodes)] {
            if let Some(a) = a {
                obj.insert(key.to_string(), Value::Array(a));
            }
        }
    }
    Ok(serde_json::from_value(v)?)
}

/// Every sample's archive index is in its node's table.
fn check_archives(r: &Report) -> Result<(), ReadError> {
    let lens: BTreeMap<&str, usize> = r
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.archives.len()))
        .collect();
    for p in r.pods.iter().filter(|p| !p.samples.is_empty()) {
        let Some(&len) = lens.get(p.node.as_str()) else {
            return Err(ReadError::NoNode {
                pod: p.uid.clone(),
                node: p.node.clone(),
            });
        };
        if let Some((sample, s)) = p
            .samples
            .iter()
            .enumerate()
            .find(|(_, s)| s.snapshot as usize >= len)
        {
            return Err(ReadError::Index {
                pod: p.uid.clone(),
                node: p.node.clone(),
                sample,
                index: s.snapshot,
                len,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    fn back<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn closed_enumerations_are_their_names() {
        for (k, name) in [
            (InputKind::Snapshot, "snapshot"),
            (InputKind::Bundle, "bundle"),
            (InputKind::Directory, "directory"),
            (InputKind::Log, "log"),
        ] {
            assert_eq!(json(&k), format!("\"{name}\""));
            assert_eq!(back::<InputKind>(&json(&k)), k);
            assert_eq!(k.as_str(), name);
        }
        for (st, name) in [
            (InputStatus::Ok, "ok"),
            (InputStatus::Partial, "partial"),
            (InputStatus::Rejected, "rejected"),
        ] {
            assert_eq!(json(&st), format!("\"{name}\""));
            assert_eq!(back::<InputStatus>(&json(&st)), st);
            assert!(st == name);
        }
        for (m, name) in [
            (CgroupMode::V1, "v1"),
            (CgroupMode::V2, "v2"),
            (CgroupMode::Hybrid, "hybrid"),
        ] {
            assert_eq!(json(&m), format!("\"{name}\""));
            assert_eq!(m.as_str(), name);
        }
        assert!(serde_json::from_str::<InputStatus>("\"fine\"").is_err());
    }

    #[test]
    fn finding_ids_round_trip_known_or_not() {
        for rule in RuleId::ALL {
            let id = FindingId::from(rule);
            assert_eq!(json(&id), format!("\"{}\"", rule.as_str()));
            let read: FindingId = back(&json(&id));
            assert!(matches!(read, FindingId::Rule(r) if r == rule));
            assert_eq!(RuleId::from_id(rule.as_str()), Some(rule));
        }
        // An id of a newer analyzer is kept as read, and written back the same.
        for text in ["\"swap-pressure\"", "\"\"", "\"<img src=x>\\u0000é\""] {
            let read: FindingId = back(text);
            assert!(matches!(read, FindingId::Other(_)), "{text}");
            assert_eq!(read.rule(), None);
            assert_eq!(json(&read), serde_json::to_string(read.as_str()).unwrap());
        }
        // Known ids compare equal however they were built.
        let built = FindingId::Other("near-limit".into());
        assert_eq!(built, FindingId::Rule(RuleId::NearLimit));
        assert_eq!(built.rule(), Some(RuleId::NearLimit));
        assert!(built == "near-limit");
    }

    #[test]
    fn volume_plugins_round_trip_known_or_not() {
        for name in [
            "empty-dir",
            "secret",
            "projected",
            "csi",
            "configmap",
            "x y",
        ] {
            let p = VolumePlugin::from(name);
            assert_eq!(json(&p), format!("\"{name}\""));
            assert_eq!(back::<VolumePlugin>(&json(&p)), p);
            assert_eq!(p.to_string(), name);
        }
        assert_eq!(VolumePlugin::from("empty-dir"), VolumePlugin::EmptyDir);
        assert!(matches!(VolumePlugin::from("csi"), VolumePlugin::Other(_)));
    }
}
