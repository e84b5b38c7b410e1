//! One snapshot, parsed: the pod and container cgroups found in the archive with their
//! derived memory figures, node-wide figures, tmpfs usage, the kubelet's view, names,
//! and the OOM kills in its kernel-log entries. Raw texts are dropped once parsed, so a
//! long series stays small.
//!
//! Pods and containers are found from the archive's own `cgroup/` entries (named by
//! [`cgroup_path::identify`]), not from the manifest's list, so a manifest that lies
//! cannot hide or invent a pod; where the two disagree the snapshot gets a problem.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use podmem_schema::cgroup_files;
use podmem_schema::oom::{self, OomEvent};
use podmem_schema::parse::cgroup_path::{self, Level};
use podmem_schema::parse::kubelet_summary::parse_summary;
use podmem_schema::parse::log_pods::parse_log_pods;
use podmem_schema::parse::memory_stat::{parse_limit_or_value, v1_stats, v2_stats, StatKeys};
use podmem_schema::parse::proc_files::{
    parse_flat_keyed, parse_meminfo, parse_pressure, parse_proc_cgroups,
};
use podmem_schema::report::{MemStats, NodeSample};
use podmem_schema::snapshot::{
    CgroupMode, Qos, TmpfsUsage, CGROUP_PREFIX, LOG_PODS_ENTRY, SUMMARY_ENTRY, TMPFS_ENTRY,
};

use crate::load::{CgroupFile, RawSnapshot};

/// A parsed snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Archive display name (path or `bundle!member`).
    pub archive: String,
    /// Node name.
    pub node: String,
    /// Boot id (None when the collector could not read it).
    pub boot_id: Option<String>,
    /// Capture time.
    pub captured_at: Timestamp,
    /// Kernel release.
    pub kernel: Option<String>,
    /// cgroup mode as the files show it (the manifest's when no file decides).
    pub mode: CgroupMode,
    /// Collector version.
    pub collector_version: String,
    /// The cgroup root's own path in the hierarchy (for kernel memcg paths).
    pub root_in_hierarchy: String,
    /// Node-wide figures.
    pub node_sample: NodeSample,
    /// Pods found in the cgroup tree.
    pub pods: Vec<PodObs>,
    /// tmpfs statfs list.
    pub tmpfs: Vec<TmpfsUsage>,
    /// Kubelet summary view by pod UID.
    pub kubelet: BTreeMap<String, KubeletPod>,
    /// Names from `/var/log/pods` by pod UID: (namespace, name, container names).
    pub log_names: BTreeMap<String, (String, String, Vec<String>)>,
    /// OOM kills found in the kernel-log entries (not yet deduplicated), at most
    /// [`crate::ooms::MAX_OOMS_PER_SNAPSHOT`].
    pub ooms: Vec<OomEvent>,
    /// OOM kills beyond that cap, counted.
    pub ooms_dropped: u64,
}

/// A pod cgroup at one capture.
#[derive(Debug, Clone, Default)]
pub struct PodObs {
    /// Dashed UID.
    pub uid: String,
    /// QoS class.
    pub qos: Option<Qos>,
    /// Cgroup path relative to the root (archive `cgroup/<path>`).
    pub cgroup_path: String,
    /// Pod cgroup figures (hierarchical).
    pub stats: MemStats,
    /// Pod limit (None = unlimited or unknown).
    pub limit: Option<u64>,
    /// v2 `cgroup.stat` `nr_dying_descendants` of the pod cgroup.
    pub dying: Option<u64>,
    /// v1 `memory.stat` `shmem` of the pod cgroup itself, children excluded (None on v2,
    /// whose memory.stat is hierarchical only, and on v1 files without both keys).
    pub own_shmem: Option<u64>,
    /// Direct child cgroups.
    pub children: Vec<ChildObs>,
    /// Container cgroups of this pod found outside its pod cgroup (containerd's
    /// `<pod slice>:cri-containerd:<id>` under its own service cgroup): their `dir` is
    /// their whole path relative to the root, and their memory is not in `stats`.
    pub outside: Vec<ChildObs>,
}

/// A direct child cgroup of a pod (a container, or anything else living there).
#[derive(Debug, Clone)]
pub struct ChildObs {
    /// Full container id, or the directory name when it names no container.
    pub id: String,
    /// Runtime from the cgroup name.
    pub runtime: Option<String>,
    /// Directory name under the pod cgroup.
    pub dir: String,
    /// Figures.
    pub stats: MemStats,
}

/// The kubelet summary's view of one pod (vectors rather than maps: a long series holds
/// one per pod per capture until its timeline is built).
#[derive(Debug, Clone, Default)]
pub struct KubeletPod {
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Pod `workingSetBytes`.
    pub pod_working_set: Option<u64>,
    /// Container name → `workingSetBytes`.
    pub containers: Vec<(String, u64)>,
    /// Volume name → `usedBytes`.
    pub volumes: Vec<(String, u64)>,
}

/// The files of one cgroup directory that the analysis uses.
#[derive(Default)]
struct CgFiles<'a> {
    stat: Option<Cow<'a, str>>,
    usage_v1: Option<Cow<'a, str>>,
    current_v2: Option<Cow<'a, str>>,
    limit_v1: Option<Cow<'a, str>>,
    max_v2: Option<Cow<'a, str>>,
    cgroup_stat: Option<Cow<'a, str>>,
    /// Filled from a format-2 `files.podmem` entry (a second one is reported).
    packed: bool,
}

impl<'a> CgFiles<'a> {
    /// The slot of a used file, None for the files the analysis does not read.
    fn slot(&mut self, file: &str) -> Option<&mut Option<Cow<'a, str>>> {
        Some(match CgroupFile::from_name(file)? {
            CgroupFile::Stat => &mut self.stat,
            CgroupFile::UsageV1 => &mut self.usage_v1,
            CgroupFile::CurrentV2 => &mut self.current_v2,
            CgroupFile::LimitV1 => &mut self.limit_v1,
            CgroupFile::MaxV2 => &mut self.max_v2,
            CgroupFile::CgroupStat => &mut self.cgroup_stat,
        })
    }
}

/// Cgroup figures plus what the archive entries were.
struct CgParsed {
    stats: MemStats,
    limit: Option<u64>,
    dying: Option<u64>,
    own_shmem: Option<u64>,
}

/// Parses a raw snapshot; problems (naming archive and entry) go to `problems`.
pub fn parse_snapshot(mut raw: RawSnapshot, problems: &mut Vec<String>) -> Snapshot {
    let archive = raw.archive.clone();
    check_manifest_sizes(&raw, problems);
    let m = &raw.manifest;
    let mut snap = Snapshot {
        archive: archive.clone(),
        node: m.node.clone(),
        boot_id: m.boot_id.clone().filter(|b| !b.trim().is_empty()),
        captured_at: m.captured_at,
        kernel: m.kernel_release.clone(),
        mode: m.cgroup.mode,
        collector_version: m.collector_version.clone(),
        root_in_hierarchy: m.cgroup.root_in_hierarchy.clone(),
        node_sample: NodeSample {
            time: Some(m.captured_at),
            ..NodeSample::default()
        },
        pods: Vec::new(),
        tmpfs: Vec::new(),
        kubelet: BTreeMap::new(),
        log_names: BTreeMap::new(),
        ooms: Vec::new(),
        ooms_dropped: 0,
    };
    let manifest_pods: Vec<(String, String)> = m
        .pods
        .iter()
        .map(|p| (p.uid.clone(), p.cgroup_path.trim_matches('/').to_string()))
        .collect();
    let manifest_mode = m.cgroup.mode;
    let boot_time = m.boot_time;

    // Group cgroup entries by directory, keeping only the files used (one allocation
    // per directory, not per file: a node has thousands of them).
    // A hash map while grouping: the directory names share long prefixes, which made
    // every ordered-map lookup a string of long comparisons; sorted once at the end.
    let mut by_dir: HashMap<String, CgFiles> = HashMap::new();
    // Format 2: one entry per directory, its records read in place (no copy of the
    // kernel's text, no name per file).
    let packs = std::mem::take(&mut raw.cgroup_dirs);
    for (dir, pack) in &packs {
        let entry = || cgroup_files::entry_name(dir);
        let slot = by_dir.entry(dir.clone()).or_default();
        if std::mem::replace(&mut slot.packed, true) {
            raw.problems.push(format!(
                "{archive}:{}: appears twice; the last copy is used",
                entry()
            ));
        }
        for rec in cgroup_files::decode(pack) {
            match rec {
                Ok((file, bytes)) => {
                    if let Some(target) = slot.slot(file) {
                        let name = || file_entry(dir, file);
                        *target = Some(crate::load::as_text(
                            bytes,
                            &archive,
                            &name,
                            &mut raw.problems,
                        ));
                    }
                }
                Err(e) => raw.problems.push(format!(
                    "{archive}:{}: {e}; the cgroup files after it are ignored",
                    entry()
                )),
            }
        }
    }
    // Format 1: one entry per file.
    let all = std::mem::take(&mut raw.files);
    for (entry, bytes) in all {
        let Some(rel) = entry.strip_prefix(CGROUP_PREFIX) else {
            raw.files.insert(entry, bytes);
            continue;
        };
        let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
        if !by_dir.contains_key(dir) {
            by_dir.insert(dir.to_string(), CgFiles::default());
        }
        let Some(target) = by_dir.get_mut(dir).and_then(|slot| slot.slot(file)) else {
            continue;
        };
        *target = Some(Cow::Owned(crate::load::into_text(
            bytes,
            &archive,
            &entry,
            &mut raw.problems,
        )));
    }
    problems.append(&mut raw.problems);
    let mut dirs: Vec<(String, CgFiles)> = by_dir.into_iter().collect();
    dirs.sort_unstable_by(|a, b| a.0.cmp(&b.0));

    // Parse every directory, then classify.
    let mut parsed: Vec<(String, CgParsed)> = Vec::with_capacity(dirs.len());
    let mut saw_v1 = false;
    let mut saw_v2 = false;
    for (dir, files) in &dirs {
        let p = parse_cgroup(&archive, dir, files, manifest_mode, problems);
        if files.usage_v1.is_some() || files.limit_v1.is_some() {
            saw_v1 = true;
        }
        if files.current_v2.is_some() || files.max_v2.is_some() {
            saw_v2 = true;
        }
        parsed.push((dir.clone(), p));
    }
    // Already in order: the map is built in bulk, without a search per insert.
    let parsed: BTreeMap<String, CgParsed> = parsed.into_iter().collect();
    let file_mode = match (saw_v1, saw_v2) {
        (true, false) => Some(CgroupMode::V1),
        (false, true) => Some(CgroupMode::V2),
        _ => None,
    };
    if let Some(fm) = file_mode {
        let manifest_v2 = manifest_mode == CgroupMode::V2;
        if manifest_v2 != (fm == CgroupMode::V2) {
            problems.push(format!(
                "{archive}:manifest.json: says cgroup mode {manifest_mode:?} but the cgroup files are {fm:?}; the files are believed"
            ));
            snap.mode = fm;
        }
    }
    snap.node_sample.live_cgroups = Some(dirs.len() as u64);

    let mut pods: BTreeMap<String, PodObs> = BTreeMap::new();
    let mut children: Vec<(String, ChildObs)> = Vec::new();
    let mut outside: Vec<(String, Option<Qos>, ChildObs)> = Vec::new();
    let mut kubepods: Option<(String, &CgParsed)> = None;
    for (dir, p) in &parsed {
        let ident = cgroup_path::identify(&format!("/{dir}"));
        match ident.level {
            Level::Pod => {
                let Some(uid) = ident.pod_uid.clone() else {
                    continue;
                };
                pods.insert(
                    dir.clone(),
                    PodObs {
                        uid,
                        qos: ident.qos,
                        cgroup_path: dir.clone(),
                        stats: p.stats.clone(),
                        limit: p.limit,
                        dying: p.dying,
                        own_shmem: p.own_shmem,
                        children: Vec::new(),
                        outside: Vec::new(),
                    },
                );
            }
            Level::Kubepods if kubepods.as_ref().is_none_or(|(d, _)| dir.len() < d.len()) => {
                kubepods = Some((dir.clone(), p));
            }
            _ => {}
        }
        // A container whose own name carries its pod (no pod cgroup above it).
        if ident.level == Level::Container && ident.pod_path.is_none() {
            let name = dir.rsplit('/').next().unwrap_or(dir);
            let own = cgroup_path::identify(name);
            if let (Some(uid), Some(id)) = (own.pod_uid, own.container_id) {
                outside.push((
                    uid,
                    own.qos,
                    ChildObs {
                        id,
                        runtime: own.runtime,
                        dir: dir.clone(),
                        stats: p.stats.clone(),
                    },
                ));
            }
            continue;
        }
        if let Some((parent, name)) = dir.rsplit_once('/') {
            // cri-o's conmon scope carries its container's id: it is kept apart (by its
            // directory name) so the container's own figures are not replaced by it.
            let is_container =
                ident.level == Level::Container && ident.runtime.as_deref() != Some("crio-conmon");
            children.push((
                parent.to_string(),
                ChildObs {
                    id: if is_container {
                        ident
                            .container_id
                            .clone()
                            .unwrap_or_else(|| name.to_string())
                    } else {
                        name.to_string()
                    },
                    runtime: ident.runtime.clone(),
                    dir: name.to_string(),
                    stats: p.stats.clone(),
                },
            ));
        }
    }
    for (parent, child) in children {
        if let Some(pod) = pods.get_mut(&parent) {
            pod.children.push(child);
        }
    }
    for (uid, qos, child) in outside {
        match pods.values_mut().find(|p| p.uid == uid) {
            Some(pod) => pod.outside.push(child),
            // No pod cgroup at all: the pod is still there, known by its containers
            // only (keyed so it sorts apart from any directory).
            None => {
                let key = format!("\0{uid}");
                let pod = pods.entry(key).or_insert_with(|| PodObs {
                    uid,
                    qos,
                    ..PodObs::default()
                });
                pod.outside.push(child);
            }
        }
    }
    for (uid, path) in &manifest_pods {
        if !pods.contains_key(path) {
            problems.push(format!(
                "{archive}:manifest.json: lists pod {uid} at cgroup/{path}, but the archive holds no memory files for it"
            ));
        }
    }
    if let Some((_, k)) = kubepods {
        snap.node_sample.kubepods_usage = k.stats.usage;
        snap.node_sample.kubepods_limit = k.limit;
    }
    snap.node_sample.dying_descendants = parsed
        .get("")
        .and_then(|p| p.dying)
        .or_else(|| kubepods.and_then(|(_, k)| k.dying));
    snap.pods = pods.into_values().collect();

    // Node files.
    if let Some(t) = raw.text("proc/meminfo") {
        let mi = parse_meminfo(&t);
        snap.node_sample.mem_total = mi.get("MemTotal").copied();
        snap.node_sample.mem_available = mi.get("MemAvailable").copied();
        snap.node_sample.shmem = mi.get("Shmem").copied();
    }
    if let Some(t) = raw.text("proc/pressure/memory") {
        let p = parse_pressure(&t);
        snap.node_sample.psi_some_avg10 = p.some.map(|l| l.avg10).filter(|v| v.is_finite());
        snap.node_sample.psi_full_avg10 = p.full.map(|l| l.avg10).filter(|v| v.is_finite());
    }
    if let Some(t) = raw.text("proc/cgroups") {
        snap.node_sample.memcg_count = parse_proc_cgroups(&t)
            .into_iter()
            .find(|c| c.subsys == "memory")
            .map(|c| c.num_cgroups);
    }

    if let Some(bytes) = raw.files.remove(TMPFS_ENTRY) {
        match serde_json::from_slice::<Vec<TmpfsUsage>>(&bytes) {
            Ok(list) => snap.tmpfs = list,
            Err(e) => problems.push(format!(
                "{archive}:{TMPFS_ENTRY}: unreadable ({e}); tmpfs usage unknown"
            )),
        }
    }
    if let Some(t) = raw.text(SUMMARY_ENTRY) {
        match parse_summary(&t) {
            Ok(summary) => {
                for pod in summary.pods {
                    let Some(r) = pod.pod_ref else { continue };
                    let Some(uid) = r.uid.as_deref().map(canonical_uid) else {
                        continue;
                    };
                    let named = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
                    let mut view = KubeletPod {
                        namespace: named(r.namespace),
                        name: named(r.name),
                        pod_working_set: pod.memory.as_ref().and_then(|m| m.working_set_bytes),
                        ..KubeletPod::default()
                    };
                    for c in pod.containers {
                        if let (Some(n), Some(ws)) =
                            (c.name, c.memory.and_then(|m| m.working_set_bytes))
                        {
                            view.containers.push((n, ws));
                        }
                    }
                    for v in pod.volumes {
                        if let (Some(n), Some(u)) = (v.name, v.used_bytes) {
                            view.volumes.push((n, u));
                        }
                    }
                    snap.kubelet.insert(uid, view);
                }
            }
            Err(e) => problems.push(format!("{archive}:{SUMMARY_ENTRY}: unreadable ({e})")),
        }
    }
    if let Some(t) = raw.text(LOG_PODS_ENTRY) {
        for p in parse_log_pods(&t) {
            let containers = p.containers.into_iter().map(|(n, _)| n).collect();
            snap.log_names
                .insert(p.uid, (p.namespace, p.name, containers));
        }
    }

    let kernel_entries: Vec<String> = raw
        .files
        .keys()
        .filter(|k| k.starts_with("kernel/") && !k.ends_with("node-events.log"))
        .cloned()
        .collect();
    for entry in kernel_entries {
        let Some(text) = raw.text(&entry) else {
            continue;
        };
        let opts = oom::ParseOptions {
            boot_time,
            year: Some(
                snap.captured_at
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .year(),
            ),
            node: Some(snap.node.clone()),
            source: Some(format!("{archive}:{entry}")),
        };
        for mut e in oom::parse_log(&text, &opts) {
            attribute(&mut e, &snap.root_in_hierarchy);
            snap.ooms.push(e);
        }
        // Capped per entry as well as at the end, so a snapshot of several flooded
        // entries never holds more than two entries' worth of events.
        snap.ooms_dropped += crate::ooms::cap_snapshot(&mut snap.ooms);
    }
    problems.append(&mut raw.problems);
    snap
}

/// Fills in the pod and container of an OOM event the log parser could not place, by
/// mapping its memcg paths into the archive's tree (the kernel prints paths from the
/// hierarchy root; the archive is relative to the captured root).
fn attribute(e: &mut OomEvent, root_in_hierarchy: &str) {
    if e.pod_uid.is_some() {
        return;
    }
    for memcg in [e.task_memcg.as_deref(), e.oom_memcg.as_deref()]
        .into_iter()
        .flatten()
    {
        let Some(rel) = crate::ooms::archive_cgroup_path(memcg, root_in_hierarchy) else {
            continue;
        };
        let ident = cgroup_path::identify(&format!("/{rel}"));
        if ident.pod_uid.is_some() {
            e.pod_uid = ident.pod_uid;
            e.container_id = e.container_id.take().or(ident.container_id);
            return;
        }
    }
}

/// Lowercased dashed form of a UID as the kubelet prints it.
fn canonical_uid(raw: &str) -> String {
    raw.trim().to_ascii_lowercase().replace('_', "-")
}

/// A manifest that claims a byte count for a single entry must match the entry.
fn check_manifest_sizes(raw: &RawSnapshot, problems: &mut Vec<String>) {
    for s in &raw.manifest.sources {
        let Some(entry) = s.entry.as_deref() else {
            continue;
        };
        if entry.ends_with('/') {
            continue;
        }
        if let Some(content) = raw.files.get(entry) {
            if content.len() as u64 != s.bytes {
                problems.push(format!(
                    "{}:manifest.json: says source `{}` wrote {} bytes to {entry}, but the entry holds {} bytes",
                    raw.archive,
                    s.name,
                    s.bytes,
                    content.len()
                ));
            }
        }
    }
}

fn parse_cgroup(
    archive: &str,
    dir: &str,
    f: &CgFiles,
    mode: CgroupMode,
    problems: &mut Vec<String>,
) -> CgParsed {
    let v2 = f.current_v2.is_some() || (f.usage_v1.is_none() && mode == CgroupMode::V2);
    let entry = |file: &str| format!("{archive}:{}", file_entry(dir, file));
    let mut value = |text: &Option<Cow<str>>, file: &str| -> Option<u64> {
        let t = text.as_deref()?;
        match parse_limit_or_value(t) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{}: {}", entry(file), reason_of(&e)));
                None
            }
        }
    };
    let (usage, limit) = if v2 {
        (
            value(&f.current_v2, "memory.current"),
            value(&f.max_v2, "memory.max"),
        )
    } else {
        (
            value(&f.usage_v1, "memory.usage_in_bytes"),
            value(&f.limit_v1, "memory.limit_in_bytes"),
        )
    };
    let stat = f.stat.as_deref().map(used_stat).unwrap_or_default();
    let stats = if v2 {
        v2_stats(&stat, usage)
    } else {
        v1_stats(&stat, usage)
    };
    // v1 keeps a cgroup's own pages apart from its descendants' (`shmem` beside
    // `total_shmem`): what a removed child left is either still its own (held by the
    // dying child, counted only in `total_shmem`) or moved to this cgroup (in `shmem`).
    let own_shmem = if v2 {
        None
    } else {
        stat.stat("total_shmem").and(stat.stat("shmem"))
    };
    let dying = f
        .cgroup_stat
        .as_deref()
        .and_then(|t| parse_flat_keyed(t).get("nr_dying_descendants").copied());
    CgParsed {
        stats,
        limit,
        dying,
        own_shmem,
    }
}

/// How both snapshot formats name one cgroup file: `cgroup/<dir>/<file>` (the entry
/// itself in format 1, a record of `cgroup/<dir>/files.podmem` in format 2).
fn file_entry(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        format!("{CGROUP_PREFIX}{file}")
    } else {
        format!("{CGROUP_PREFIX}{dir}/{file}")
    }
}

/// `memory.stat` keys the derived figures use (v1 totals and locals, v2 names).
const USED_STAT_KEYS: &[&str] = &[
    "total_inactive_file",
    "inactive_file",
    "total_rss",
    "rss",
    "total_shmem",
    "shmem",
    "total_active_anon",
    "active_anon",
    "total_inactive_anon",
    "inactive_anon",
    "total_cache",
    "cache",
    "anon",
    "file",
];

/// The index of a `memory.stat` key in [`USED_STAT_KEYS`], None for the keys the
/// figures do not use (a `match` compiles to a length switch, where a list search
/// compared every key).
fn used_stat_key(key: &str) -> Option<usize> {
    let i = match key {
        "total_inactive_file" => 0,
        "inactive_file" => 1,
        "total_rss" => 2,
        "rss" => 3,
        "total_shmem" => 4,
        "shmem" => 5,
        "total_active_anon" => 6,
        "active_anon" => 7,
        "total_inactive_anon" => 8,
        "inactive_anon" => 9,
        "total_cache" => 10,
        "cache" => 11,
        "anon" => 12,
        "file" => 13,
        _ => return None,
    };
    debug_assert_eq!(USED_STAT_KEYS[i], key);
    Some(i)
}

/// The used keys of one `memory.stat`, in a fixed array: no allocation per key (a
/// series holds millions of these files).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct UsedStat([Option<u64>; USED_STAT_KEYS.len()]);

impl StatKeys for UsedStat {
    fn stat(&self, key: &str) -> Option<u64> {
        self.0[used_stat_key(key)?]
    }
}

impl UsedStat {
    /// The keys present, sorted by name (as a parsed file lists them).
    #[cfg(test)]
    fn entries(&self) -> Vec<(&'static str, u64)> {
        let mut v: Vec<_> = USED_STAT_KEYS
            .iter()
            .zip(self.0)
            .filter_map(|(k, v)| Some((*k, v?)))
            .collect();
        v.sort_unstable();
        v
    }
}

/// The `memory.stat` keys the figures use, parsed straight from the file: a full v1
/// file has about 40 keys and a long series has hundreds of thousands of files, so the
/// other lines are skipped without being copied or allocated. Lines are read as
/// `parse_memory_stat` reads them: exactly two fields, the value a `u64`.
fn used_stat(text: &str) -> UsedStat {
    let mut stat = UsedStat::default();
    for line in text.lines() {
        // The key first, and the rest of the line only for a used key: most lines are
        // not, and this scan runs over every line of every cgroup of every snapshot.
        // Bytes while they are ASCII (every kernel line); chars otherwise, so the
        // result is the same as `split_whitespace` on any text.
        let b = line.as_bytes();
        let stop = b
            .iter()
            .position(|c| c.is_ascii_whitespace() || *c == 0x0b || !c.is_ascii());
        let (line, end) = match stop {
            Some(p) if p > 0 && b[p].is_ascii() => (line, p),
            None => continue, // one field: no value
            _ => {
                let line = line.trim_start();
                (line, line.find(char::is_whitespace).unwrap_or(line.len()))
            }
        };
        let Some(slot) = used_stat_key(&line[..end]) else {
            continue;
        };
        let mut fields = line[end..].split_whitespace();
        let (Some(value), None) = (fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(v) = value.parse::<u64>() {
            stat.0[slot] = Some(v);
        }
    }
    stat
}

fn reason_of(e: &podmem_schema::parse::ParseError) -> String {
    match e {
        podmem_schema::parse::ParseError::BadFile { reason, .. } => reason.clone(),
        podmem_schema::parse::ParseError::BadLine { line, reason, .. } => {
            format!("line {line}: {reason}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_keys_kept_are_the_used_ones() {
        let t = "cache 5\nmapped_file 9\ntotal_shmem 7\nnoise\nanon 1\nrss 1 2\nfile x\n";
        let stat = used_stat(t);
        let got = stat.entries();
        assert_eq!(got, [("anon", 1), ("cache", 5), ("total_shmem", 7)]);
        for k in USED_STAT_KEYS {
            assert_eq!(used_stat_key(k).map(|i| USED_STAT_KEYS[i]), Some(*k));
        }
        assert_eq!(used_stat_key("total_mapped_file"), None);
        assert_eq!(used_stat_key(""), None);
        assert_eq!(used_stat("  rss\t 3 \n").stat("rss"), Some(3));
        assert_eq!(
            used_stat("rss\u{a0}4\nshmem\x0b5\n\u{2003}anon 6\nfile\n")
                .entries()
                .len(),
            3
        );
    }

    proptest::proptest! {
        /// On any text, the fast scan keeps exactly the used keys the schema parser
        /// reads, with the same values (whitespace of every kind, non-ASCII, junk).
        #[test]
        fn used_stat_equals_the_schema_parser_on_any_text(
            lines in proptest::collection::vec(
                (
                    "[ \t\u{b}\u{a0}\u{2003}]{0,2}",
                    proptest::sample::select(vec![
                        "rss", "total_rss", "shmem", "anon", "file", "cache", "x", "ä", "",
                        "inactive_file", "total_inactive_file", "mapped_file",
                    ]),
                    "[ \t\u{b}\u{a0}\u{2003}]{0,2}",
                    "[0-9]{0,3}|-1|x",
                    "[ \t\u{a0}]{0,2}[0-9]{0,1}",
                ),
                0..12,
            )
        ) {
            let text: String = lines
                .iter()
                .map(|(a, k, b, v, c)| format!("{a}{k}{b}{v}{c}\n"))
                .collect();
            let full = podmem_schema::parse::memory_stat::parse_memory_stat(&text);
            let want: Vec<(&str, u64)> = full
                .entries
                .iter()
                .filter(|(k, _)| USED_STAT_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            let got = used_stat(&text).entries();
            proptest::prop_assert_eq!(got, want, "{:?}", text);
        }
    }

    /// The fast scan must give the figures the schema parser gives, on every real file.
    #[test]
    fn used_stat_matches_the_schema_parser_on_real_files() {
        use podmem_schema::parse::memory_stat::parse_memory_stat;
        let root = podmem_testkit::samples::realworld("");
        let mut seen = 0;
        for sub in ["memory_stat_v1", "memory_stat_v2"] {
            for f in std::fs::read_dir(root.join(sub)).unwrap() {
                let path = f.unwrap().path();
                if !path.to_string_lossy().ends_with(".memory.stat") {
                    continue;
                }
                let t = std::fs::read_to_string(&path).unwrap();
                let full = parse_memory_stat(&t);
                let fast = used_stat(&t);
                assert!(!fast.entries().is_empty(), "{}", path.display());
                for usage in [None, Some(1 << 30)] {
                    assert_eq!(
                        v1_stats(&fast, usage),
                        v1_stats(&full, usage),
                        "{}",
                        path.display()
                    );
                    assert_eq!(
                        v2_stats(&fast, usage),
                        v2_stats(&full, usage),
                        "{}",
                        path.display()
                    );
                }
                seen += 1;
            }
        }
        assert!(seen >= 8, "only {seen} memory.stat samples found");
    }

    #[test]
    fn kubelet_uids_are_canonical() {
        assert_eq!(
            canonical_uid(" 8A2B3C4D_5E6F_4A1B_9C2D_3E4F5A6B7C02"),
            "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02"
        );
    }
}
