//! The snapshot archive format (`podmem-snapshot` version 2): what one collector run
//! writes, and the contract the analyzer reads (versions 1 and 2).
//!
//! One `.tar.gz` per capture named `podmem-<node>-<YYYYMMDDTHHMMSS.mmmZ>.tar.gz`.
//! Entries, in order (raw files verbatim, with their real length):
//!
//! | entry | content |
//! |---|---|
//! | `manifest.json` | [`Manifest`], always the first entry |
//! | `cgroup/<rel>/files.podmem` | the memory cgroup files of one directory, verbatim, in the record layout of [`crate::cgroup_files`]; `<rel>` is the cgroup's path relative to the cgroup root (empty for the root itself, so the root's entry is `cgroup/files.podmem`) |
//! | `proc/meminfo`, `proc/vmstat`, `proc/cgroups`, `proc/pressure/memory`, `proc/mountinfo` | the host's files |
//! | `tmpfs.json` | `Vec<`[`TmpfsUsage`]`>`: statfs of every memory-backed emptyDir (and other pod tmpfs) |
//! | `kubelet/summary.json` | the kubelet `/stats/summary` body, verbatim |
//! | `kernel/kmsg` | raw `/dev/kmsg` records of OOM blocks (`prio,seq,usec,flags;text`), see [`KernelLogInfo`] |
//! | `kernel/journal.log` | journal kernel lines (`journalctl -o short-iso-precise`), OOM blocks only |
//! | `kernel/syslog.log` | lines from a kern.log / messages file, OOM blocks only |
//! | `kernel/node-events.log` | kubelet and container-runtime journal lines about OOM kills, evictions, restarts |
//! | `logs/pods.txt` | `/var/log/pods` listing: one `<namespace>_<name>_<uid>/<container>/<n>.log` per line |
//!
//! Every source gets a [`SourceStatus`] in the manifest; nothing is dropped silently.
//!
//! Version 1 differed in one point: each cgroup file was its own entry,
//! `cgroup/<rel>/<file>`. That cost a tar header per file (5,000 per snapshot of a
//! 110-pod node) and made archives twice the size. Readers name a file of either
//! version `cgroup/<rel>/<file>` (for example in evidence), so both read the same.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The `format` field of every snapshot manifest.
pub const FORMAT_NAME: &str = "podmem-snapshot";
/// The format version this crate writes; the analyzer reads it and every older one, and
/// refuses a higher one.
pub const FORMAT_VERSION: u32 = 2;
/// Archive entry name of the manifest.
pub const MANIFEST_ENTRY: &str = "manifest.json";
/// Prefix of cgroup entries.
pub const CGROUP_PREFIX: &str = "cgroup/";
/// Archive entry of the tmpfs statfs list.
pub const TMPFS_ENTRY: &str = "tmpfs.json";
/// Archive entry of the kubelet summary.
pub const SUMMARY_ENTRY: &str = "kubelet/summary.json";
/// Archive entry of the `/var/log/pods` listing.
pub const LOG_PODS_ENTRY: &str = "logs/pods.txt";
/// Archive entry of the host mountinfo.
pub const MOUNTINFO_ENTRY: &str = "proc/mountinfo";

/// cgroup v1 memory files captured per cgroup (never the expensive ones such as
/// `memory.kmem.slabinfo`).
pub const V1_FILES: &[&str] = &[
    "memory.stat",
    "memory.usage_in_bytes",
    "memory.limit_in_bytes",
    "memory.max_usage_in_bytes",
    "memory.failcnt",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.memsw.max_usage_in_bytes",
    "memory.memsw.failcnt",
    "memory.oom_control",
    "memory.soft_limit_in_bytes",
    "memory.use_hierarchy",
    "cgroup.procs",
];

/// cgroup v2 files captured per cgroup.
pub const V2_FILES: &[&str] = &[
    "memory.stat",
    "memory.current",
    "memory.max",
    "memory.high",
    "memory.low",
    "memory.min",
    "memory.peak",
    "memory.events",
    "memory.events.local",
    "memory.swap.current",
    "memory.swap.max",
    "memory.pressure",
    "memory.oom.group",
    "cgroup.stat",
    "cgroup.procs",
];

/// `manifest.json`: what was captured, where from, and how each source fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] at write time.
    pub format_version: u32,
    /// Version of the collector that wrote it.
    pub collector_version: String,
    /// Kubernetes node name (from `--node-name`, `$NODE_NAME` or the hostname).
    pub node: String,
    /// Kernel hostname.
    pub hostname: String,
    /// `/proc/sys/kernel/random/boot_id`; a change splits a node's timeline.
    pub boot_id: Option<String>,
    /// Boot time (from `btime` in `/proc/stat`), used to convert kmsg timestamps.
    pub boot_time: Option<Timestamp>,
    /// `uname -r`.
    pub kernel_release: Option<String>,
    /// When the capture started (UTC).
    pub captured_at: Timestamp,
    /// How long the capture took, in milliseconds.
    pub duration_ms: u64,
    /// The cgroup hierarchy captured.
    pub cgroup: CgroupInfo,
    /// Per-source outcome, in capture order.
    pub sources: Vec<SourceStatus>,
    /// Pods found in the cgroup tree.
    pub pods: Vec<PodEntry>,
    /// Where the kernel log was read and how far, so the next snapshot continues there.
    pub kernel_log: Option<KernelLogInfo>,
    /// Options the collector ran with that change what was captured (no secrets).
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    /// `Some(true)` when the collector ran with `--redact`: pod, namespace, container,
    /// volume, node and host names are keyed hashes (`r-<12 hex>`) everywhere in the
    /// archive, the same name always giving the same hash under the same key. Pod UIDs
    /// and container ids are kept. Absent in archives written without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<bool>,
}

/// Which memory cgroup hierarchy was captured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupInfo {
    /// `v1`, `v2` or `hybrid` (v1 memory controller with a v2 mount beside it).
    pub mode: CgroupMode,
    /// The directory read on the host (as mounted), e.g. `/sys/fs/cgroup/memory`.
    pub root: String,
    /// The root's own path inside the hierarchy as the kernel names it in OOM logs
    /// (`/` when the whole hierarchy was captured); memcg paths in kernel messages are
    /// relative to the hierarchy, so the analyzer strips this prefix to find the
    /// archive path.
    pub root_in_hierarchy: String,
    /// Number of cgroup directories captured.
    pub cgroups: u64,
    /// The subtrees walked (relative to root): the kubepods subtree(s) found.
    pub kubepods: Vec<String>,
    /// Pod or container cgroups found outside the kubepods subtrees (relative to root),
    /// each walked with its subtree: a container runtime that disagrees with the kubelet
    /// on the cgroup driver puts containers under its own cgroup (containerd's
    /// `system.slice/containerd.service/<pod slice>:cri-containerd:<id>`). Absent when
    /// there are none, and in archives of collectors that did not look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
}

/// cgroup mode of the memory controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    /// Legacy hierarchy with a memory controller mount.
    V1,
    /// Unified hierarchy only.
    V2,
    /// v1 memory controller plus a unified mount (systemd hybrid).
    Hybrid,
}

impl CgroupMode {
    /// `v1`, `v2` or `hybrid`, as in the manifest and the report.
    pub const fn as_str(self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::V2 => "v2",
            CgroupMode::Hybrid => "hybrid",
        }
    }
}

/// Outcome of reading one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// Short source name: `cgroups`, `meminfo`, `mountinfo`, `tmpfs`, `kubelet-summary`,
    /// `kernel-log`, `node-events`, `log-pods`, ...
    pub name: String,
    /// Where it was read from (path or URL without credentials).
    pub origin: String,
    /// Archive entry (or prefix) it was written to, if any.
    pub entry: Option<String>,
    /// ok / partial / missing / error.
    pub status: Status,
    /// Why, when not ok (names the path and the reason); counts for ok.
    pub message: Option<String>,
    /// Bytes written to the archive for it.
    pub bytes: u64,
    /// Time taken, milliseconds.
    pub millis: u64,
}

/// Outcome class of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fully captured.
    Ok,
    /// Captured in part (time budget, size cap, files vanished).
    Partial,
    /// Not present on this node (no kubelet, no journal...).
    Missing,
    /// Present but failed.
    Error,
}

/// QoS class of a pod, from its cgroup placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Qos {
    /// Directly under kubepods.
    Guaranteed,
    /// Under the burstable slice.
    Burstable,
    /// Under the besteffort slice.
    Besteffort,
}

/// A pod found in the cgroup tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodEntry {
    /// Canonical dashed UID (or the 32-hex hash of a static pod).
    pub uid: String,
    /// QoS class.
    pub qos: Option<Qos>,
    /// Pod cgroup path relative to the cgroup root (the archive's `cgroup/<rel>`).
    pub cgroup_path: String,
    /// Container cgroups under it.
    pub containers: Vec<ContainerEntry>,
}

/// A container cgroup under a pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerEntry {
    /// Full container id (64 hex usually).
    pub id: String,
    /// `containerd`, `crio`, `docker`, or None when the name carries no runtime.
    pub runtime: Option<String>,
    /// Cgroup path relative to the cgroup root.
    pub cgroup_path: String,
}

/// How the kernel log was read; the next snapshot continues from `next`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelLogInfo {
    /// `kmsg`, `journal`, or `file`.
    pub source: String,
    /// Archive entry holding the lines.
    pub entry: String,
    /// Window start used (RFC 3339) when chosen by time.
    pub since: Option<Timestamp>,
    /// Continuation point: first kmsg sequence number not yet read, as a string, or the
    /// journal cursor after the last entry read, or the byte offset for files.
    pub next: Option<String>,
    /// The boot the continuation point belongs to (a reboot resets kmsg sequences).
    pub boot_id: Option<String>,
    /// Records read in the window and OOM blocks kept.
    pub records_read: u64,
    /// OOM reports kept: blocks (or lone kill lines) that give at least one kill.
    pub oom_blocks: u64,
    /// Records lost to ring-buffer overwrite (kmsg EPIPE), if any.
    pub lost: u64,
}

/// statfs of one pod tmpfs (memory-backed emptyDir, or a container's /dev/shm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TmpfsUsage {
    /// Pod UID (dashed) parsed from the mount point.
    pub pod_uid: String,
    /// Volume name (the directory under `kubernetes.io~empty-dir/`).
    pub volume: String,
    /// `empty-dir`, or another plugin name (`secret`, `projected`...) for other tmpfs.
    pub plugin: String,
    /// Mount point on the host.
    pub mount_point: String,
    /// `size=` mount option in bytes, if present.
    pub size_option: Option<u64>,
    /// statfs total bytes.
    pub total_bytes: Option<u64>,
    /// statfs used bytes (total − free).
    pub used_bytes: Option<u64>,
    /// Error text when statfs failed.
    pub error: Option<String>,
}

/// The `format` field of a bundle's `bundle.json`.
pub const BUNDLE_FORMAT_NAME: &str = "podmem-bundle";
/// The bundle format version written by the collector's `bundle` command.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;
/// Entry name of the bundle manifest, always a bundle's first entry.
pub const BUNDLE_MANIFEST_ENTRY: &str = "bundle.json";
/// Prefix of the snapshot archives inside a bundle (`snapshots/<archive name>`).
pub const BUNDLE_SNAPSHOT_PREFIX: &str = "snapshots/";

/// `bundle.json`: what a bundle holds. A bundle is an uncompressed tar whose first
/// entry is this manifest, followed by the snapshot `.tar.gz` archives, unchanged,
/// as `snapshots/<archive name>`, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Always [`BUNDLE_FORMAT_NAME`].
    pub format: String,
    /// [`BUNDLE_FORMAT_VERSION`] at write time.
    pub format_version: u32,
    /// Version of the collector that packed it.
    pub collector_version: String,
    /// When the bundle was made.
    pub created_at: Timestamp,
    /// Nodes whose snapshots it holds, sorted.
    pub nodes: Vec<String>,
    /// Number of snapshots.
    pub count: u64,
    /// Capture time of the oldest snapshot.
    pub first: Option<Timestamp>,
    /// Capture time of the newest snapshot.
    pub last: Option<Timestamp>,
    /// The snapshots, in entry order.
    pub snapshots: Vec<BundleSnapshot>,
}

/// One snapshot listed in a bundle manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleSnapshot {
    /// Entry name inside the bundle.
    pub entry: String,
    /// Node.
    pub node: String,
    /// Capture time.
    pub captured_at: Timestamp,
    /// Archive size in bytes.
    pub bytes: u64,
}

/// Why a `manifest.json` was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON at all.
    #[error("not valid JSON ({0})")]
    Json(#[source] serde_json::Error),
    /// Not a podmem snapshot manifest: `found` is the format quoted, or `missing`.
    #[error("format is {found}, expected \"{FORMAT_NAME}\"; not a podmem snapshot")]
    Format {
        /// What the manifest says.
        found: String,
    },
    /// A format version newer than this build reads.
    #[error("format version {version} is newer than this analyzer understands ({FORMAT_VERSION}); upgrade podmem-analyzer")]
    Newer {
        /// The manifest's version.
        version: u64,
    },
    /// A version that is no number or 0: `found` is the JSON value, or `missing`.
    #[error("format version {found} is unknown (expected {FORMAT_VERSION})")]
    UnknownVersion {
        /// What the manifest says.
        found: String,
    },
    /// The right format and version, but not the manifest's shape.
    #[error("invalid manifest ({0})")]
    Invalid(#[source] serde_json::Error),
    /// No node name.
    #[error("manifest has an empty node name")]
    EmptyNode,
}

/// Checks the format name and version before deserializing the rest, so a newer
/// snapshot is refused for being newer rather than for a field it renamed.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    // Fast path for the common case, a good manifest: the typed manifest straight from
    // the bytes in one pass (no intermediate JSON tree of the 100+ pods), believed only
    // when its format fields say it is one this reader knows. Anything unusual takes
    // the checked path below, whose messages are the ones users see.
    if let Ok(m) = serde_json::from_slice::<Manifest>(bytes) {
        let known = m.format_version > 0 && m.format_version <= FORMAT_VERSION;
        if m.format == FORMAT_NAME && known && !m.node.trim().is_empty() {
            return Ok(m);
        }
    }
    parse_manifest_checked(bytes)
}

/// The node and capture time of a manifest, read without the rest of it: for an index
/// that orders many archives before reading them (each is checked whole when read).
/// None when the format fields, the node or the capture time do not read as
/// [`parse_manifest`]'s fast path reads them; a caller wanting its answer then asks it.
pub fn manifest_key(bytes: &[u8]) -> Option<(String, Timestamp)> {
    #[derive(serde::Deserialize)]
    struct Key {
        format: String,
        format_version: u32,
        node: String,
        captured_at: Timestamp,
    }
    let k: Key = serde_json::from_slice(bytes).ok()?;
    let known = k.format_version > 0 && k.format_version <= FORMAT_VERSION;
    (k.format == FORMAT_NAME && known && !k.node.trim().is_empty())
        .then_some((k.node, k.captured_at))
}

fn parse_manifest_checked(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(ManifestError::Json)?;
    let format = value.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT_NAME) {
        return Err(ManifestError::Format {
            found: format
                .map(|f| format!("{f:?}"))
                .unwrap_or_else(|| "missing".to_string()),
        });
    }
    match value.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(ManifestError::Newer { version: v })
        }
        Some(0) | None => {
            return Err(ManifestError::UnknownVersion {
                found: value
                    .get("format_version")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "missing".into()),
            })
        }
        Some(_) => {}
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(ManifestError::Invalid)?;
    if manifest.node.trim().is_empty() {
        return Err(ManifestError::EmptyNode);
    }
    Ok(manifest)
}
