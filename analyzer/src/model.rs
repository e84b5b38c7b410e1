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
use podmem_schema::cgroup_files::{self, CgroupFile};
use podmem_schema::oom::{self, OomEvent};
use podmem_schema::parse::cgroup_path::{self, Level};
use podmem_schema::parse::kubelet_summary::parse_summary;
use podmem_schema::parse::log_pods::parse_log_pods;
use podmem_schema::parse::memory_stat::{
    parse_figure_keys, parse_limit_or_value, v1_stats, v2_stats, StatKeys,
};
use podmem_schema::parse::proc_files::{
    parse_flat_keyed, parse_meminfo, parse_pressure, parse_proc_cgroups,
};
use podmem_schema::report::{MemStats, NodeSample};
use podmem_schema::snapshot::{
    CgroupMode, Qos, TmpfsUsage, CGROUP_PREFIX, LOG_PODS_ENTRY, SUMMARY_ENTRY, TMPFS_ENTRY,
};

use crate::load::RawSnapshot;

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
///
/// The steps, in order: the manifest's header, the cgroup files grouped by directory
/// (both formats), each directory's figures, the cgroup mode the files show, the pods
/// and containers, the node figures, tmpfs and the kubelet's and `/var/log/pods`'
/// names, and the OOM kills of the kernel-log entries.
pub fn parse_snapshot(mut raw: RawSnapshot, problems: &mut Vec<String>) -> Snapshot {
    check_manifest_sizes(&raw, problems);
    let mut snap = header(&raw);

    let packs = std::mem::take(&mut raw.cgroup_dirs);
    let dirs = cgroup_dirs(&packs, &mut raw);
    problems.append(&mut raw.problems);
    let manifest_mode = raw.manifest.cgroup.mode;
    let cgroups = parse_cgroups(&raw.archive, &dirs, manifest_mode, problems);
    if let Some(mode) = files_mode(&raw.archive, &dirs, manifest_mode, problems) {
        snap.mode = mode;
    }
    snap.node_sample.live_cgroups = Some(dirs.len() as u64);

    let tree = classify(&cgroups);
    check_manifest_pods(&raw, &tree.pods, problems);
    if let Some(k) = tree.kubepods {
        snap.node_sample.kubepods_usage = k.stats.usage;
        snap.node_sample.kubepods_limit = k.limit;
    }
    snap.node_sample.dying_descendants = cgroups
        .get("")
        .and_then(|p| p.dying)
        .or_else(|| tree.kubepods.and_then(|k| k.dying));
    snap.pods = tree.pods.into_values().collect();

    node_files(&mut raw, &mut snap.node_sample);
    if let Some(list) = tmpfs(&mut raw, problems) {
        snap.tmpfs = list;
    }
    snap.kubelet = kubelet_view(&mut raw, problems);
    snap.log_names = log_names(&mut raw);
    oom_events(&mut raw, &mut snap);
    problems.append(&mut raw.problems);
    snap
}

/// The snapshot's identity and capture from its manifest, with nothing parsed yet.
fn header(raw: &RawSnapshot) -> Snapshot {
    let m = &raw.manifest;
    Snapshot {
        archive: raw.archive.clone(),
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
    }
}

/// The used files of every cgroup directory, sorted by directory: format 2's
/// `files.podmem` records decoded in place (`packs`, no copy of the kernel's text) and
/// format 1's `cgroup/` entries taken out of `raw.files`. Problems go to `raw.problems`.
fn cgroup_dirs<'p>(
    packs: &'p [(String, Vec<u8>)],
    raw: &mut RawSnapshot,
) -> Vec<(Cow<'p, str>, CgFiles<'p>)> {
    let archive = raw.archive.as_str();
    // One allocation per directory, not per file: a node has thousands of them.
    // A hash map while grouping: the directory names share long prefixes, which made
    // every ordered-map lookup a string of long comparisons; sorted once at the end.
    // Keyed by the packs' own names (format 1's names are taken out of `raw.files`).
    // Sized for the packs (one per directory) up front: no rehash while grouping.
    let mut by_dir: HashMap<Cow<'p, str>, CgFiles> = HashMap::with_capacity(packs.len());
    for (dir, pack) in packs {
        let entry = || cgroup_files::entry_name(dir);
        let slot = by_dir.entry(Cow::Borrowed(dir.as_str())).or_default();
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
                            archive,
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
    let all = std::mem::take(&mut raw.files);
    for (entry, bytes) in all {
        let Some(rel) = entry.strip_prefix(CGROUP_PREFIX) else {
            raw.files.insert(entry, bytes);
            continue;
        };
        let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
        if !by_dir.contains_key(dir) {
            by_dir.insert(Cow::Owned(dir.to_string()), CgFiles::default());
        }
        let Some(target) = by_dir.get_mut(dir).and_then(|slot| slot.slot(file)) else {
            continue;
        };
        *target = Some(Cow::Owned(crate::load::into_text(
            bytes,
            archive,
            &entry,
            &mut raw.problems,
        )));
    }
    let mut dirs: Vec<(Cow<str>, CgFiles)> = by_dir.into_iter().collect();
    dirs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    dirs
}

/// The figures of every cgroup directory, by directory.
fn parse_cgroups<'d>(
    archive: &str,
    dirs: &'d [(Cow<str>, CgFiles)],
    mode: CgroupMode,
    problems: &mut Vec<String>,
) -> BTreeMap<&'d str, CgParsed> {
    // Already in order: the map is built in bulk, without a search per insert.
    dirs.iter()
        .map(|(dir, files)| {
            (
                dir.as_ref(),
                parse_cgroup(archive, dir, files, mode, problems),
            )
        })
        .collect()
}

/// The cgroup mode the files show when it is not the manifest's (the files are
/// believed, with a problem); None when they agree or no file decides.
fn files_mode(
    archive: &str,
    dirs: &[(Cow<str>, CgFiles)],
    manifest_mode: CgroupMode,
    problems: &mut Vec<String>,
) -> Option<CgroupMode> {
    let saw_v1 = dirs
        .iter()
        .any(|(_, f)| f.usage_v1.is_some() || f.limit_v1.is_some());
    let saw_v2 = dirs
        .iter()
        .any(|(_, f)| f.current_v2.is_some() || f.max_v2.is_some());
    let fm = match (saw_v1, saw_v2) {
        (true, false) => CgroupMode::V1,
        (false, true) => CgroupMode::V2,
        _ => return None,
    };
    let manifest_v2 = manifest_mode == CgroupMode::V2;
    if manifest_v2 == (fm == CgroupMode::V2) {
        return None;
    }
    problems.push(format!(
        "{archive}:manifest.json: says cgroup mode {manifest_mode:?} but the cgroup files are {fm:?}; the files are believed"
    ));
    Some(fm)
}

/// The pod and container cgroups among the directories, and the node's kubepods cgroup.
struct Tree<'c> {
    /// Pods by pod cgroup directory (`\0<uid>` for a pod known only by containers
    /// outside any pod cgroup, so it sorts apart from every directory).
    pods: BTreeMap<String, PodObs>,
    /// The outermost kubepods cgroup.
    kubepods: Option<&'c CgParsed>,
}

/// Names every directory with [`cgroup_path::identify`]: pods, their direct children
/// (containers or anything else living there), containers placed outside their pod
/// cgroup, and the kubepods cgroup.
fn classify<'c>(cgroups: &'c BTreeMap<&str, CgParsed>) -> Tree<'c> {
    let mut pods: BTreeMap<String, PodObs> = BTreeMap::new();
    let mut children: Vec<(&str, ChildObs)> = Vec::new();
    let mut outside: Vec<(String, Option<Qos>, ChildObs)> = Vec::new();
    let mut kubepods: Option<(&str, &CgParsed)> = None;
    for (&dir, p) in cgroups {
        // Without a copy: the identity read here is the same for `dir` as for `/dir`
        // (only prefixes, not read here, keep the caller's spelling), unless `dir`
        // starts with whitespace, which `identify` trims from the whole path.
        let ident = if dir.starts_with(char::is_whitespace) {
            cgroup_path::identify(&format!("/{dir}"))
        } else {
            cgroup_path::identify(dir)
        };
        match ident.level {
            Level::Pod => {
                let Some(uid) = ident.pod_uid.clone() else {
                    continue;
                };
                pods.insert(
                    dir.to_string(),
                    PodObs {
                        uid,
                        qos: ident.qos,
                        cgroup_path: dir.to_string(),
                        stats: p.stats.clone(),
                        limit: p.limit,
                        dying: p.dying,
                        own_shmem: p.own_shmem,
                        children: Vec::new(),
                        outside: Vec::new(),
                    },
                );
            }
            Level::Kubepods if kubepods.is_none_or(|(d, _)| dir.len() < d.len()) => {
                kubepods = Some((dir, p));
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
                        dir: dir.to_string(),
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
                parent,
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
        if let Some(pod) = pods.get_mut(parent) {
            pod.children.push(child);
        }
    }
    for (uid, qos, child) in outside {
        match pods.values_mut().find(|p| p.uid == uid) {
            Some(pod) => pod.outside.push(child),
            // No pod cgroup at all: the pod is still there, known by its containers only.
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
    Tree {
        pods,
        kubepods: kubepods.map(|(_, k)| k),
    }
}

/// A pod the manifest lists must be in the archive's cgroup tree.
fn check_manifest_pods(
    raw: &RawSnapshot,
    pods: &BTreeMap<String, PodObs>,
    problems: &mut Vec<String>,
) {
    for p in &raw.manifest.pods {
        let path = p.cgroup_path.trim_matches('/');
        if !pods.contains_key(path) {
            problems.push(format!(
                "{}:manifest.json: lists pod {} at cgroup/{path}, but the archive holds no memory files for it",
                raw.archive, p.uid
            ));
        }
    }
}

/// Node-wide figures from `/proc`: meminfo, memory pressure, the memory controller's
/// cgroup count.
fn node_files(raw: &mut RawSnapshot, node: &mut NodeSample) {
    if let Some(t) = raw.text("proc/meminfo") {
        let mi = parse_meminfo(&t);
        node.mem_total = mi.get("MemTotal").copied();
        node.mem_available = mi.get("MemAvailable").copied();
        node.shmem = mi.get("Shmem").copied();
    }
    if let Some(t) = raw.text("proc/pressure/memory") {
        let p = parse_pressure(&t);
        node.psi_some_avg10 = p.some.map(|l| l.avg10).filter(|v| v.is_finite());
        node.psi_full_avg10 = p.full.map(|l| l.avg10).filter(|v| v.is_finite());
    }
    if let Some(t) = raw.text("proc/cgroups") {
        node.memcg_count = parse_proc_cgroups(&t)
            .into_iter()
            .find(|c| c.subsys == "memory")
            .map(|c| c.num_cgroups);
    }
}

/// The collector's tmpfs statfs list; None when absent or unreadable (a problem).
fn tmpfs(raw: &mut RawSnapshot, problems: &mut Vec<String>) -> Option<Vec<TmpfsUsage>> {
    let bytes = raw.files.remove(TMPFS_ENTRY)?;
    match serde_json::from_slice::<Vec<TmpfsUsage>>(&bytes) {
        Ok(list) => Some(list),
        Err(e) => {
            problems.push(format!(
                "{}:{TMPFS_ENTRY}: unreadable ({e}); tmpfs usage unknown",
                raw.archive
            ));
            None
        }
    }
}

/// The kubelet summary's pods by canonical UID: names, working sets, volume usage.
fn kubelet_view(raw: &mut RawSnapshot, problems: &mut Vec<String>) -> BTreeMap<String, KubeletPod> {
    let mut view = BTreeMap::new();
    let Some(t) = raw.text(SUMMARY_ENTRY) else {
        return view;
    };
    let summary = match parse_summary(&t) {
        Ok(summary) => summary,
        Err(e) => {
            problems.push(format!("{}:{SUMMARY_ENTRY}: unreadable ({e})", raw.archive));
            return view;
        }
    };
    for pod in summary.pods {
        let Some(r) = pod.pod_ref else { continue };
        let Some(uid) = r.uid.as_deref().map(canonical_uid) else {
            continue;
        };
        let named = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let mut kp = KubeletPod {
            namespace: named(r.namespace),
            name: named(r.name),
            pod_working_set: pod.memory.as_ref().and_then(|m| m.working_set_bytes),
            ..KubeletPod::default()
        };
        for c in pod.containers {
            if let (Some(n), Some(ws)) = (c.name, c.memory.and_then(|m| m.working_set_bytes)) {
                kp.containers.push((n, ws));
            }
        }
        for v in pod.volumes {
            if let (Some(n), Some(u)) = (v.name, v.used_bytes) {
                kp.volumes.push((n, u));
            }
        }
        view.insert(uid, kp);
    }
    view
}

/// Names from the `/var/log/pods` listing by pod UID.
fn log_names(raw: &mut RawSnapshot) -> BTreeMap<String, (String, String, Vec<String>)> {
    let mut names = BTreeMap::new();
    if let Some(t) = raw.text(LOG_PODS_ENTRY) {
        for p in parse_log_pods(&t) {
            let containers = p.containers.into_iter().map(|(n, _)| n).collect();
            names.insert(p.uid, (p.namespace, p.name, containers));
        }
    }
    names
}

/// The OOM kills of every kernel-log entry, placed in the archive's tree and capped.
fn oom_events(raw: &mut RawSnapshot, snap: &mut Snapshot) {
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
            boot_time: raw.manifest.boot_time,
            year: Some(
                snap.captured_at
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .year(),
            ),
            node: Some(snap.node.clone()),
            source: Some(format!("{}:{entry}", snap.archive)),
        };
        for mut e in oom::parse_log(&text, &opts) {
            attribute(&mut e, &snap.root_in_hierarchy);
            snap.ooms.push(e);
        }
        // Capped per entry as well as at the end, so a snapshot of several flooded
        // entries never holds more than two entries' worth of events.
        snap.ooms_dropped += crate::ooms::cap_snapshot(&mut snap.ooms);
    }
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
    let stat = f.stat.as_deref().map(parse_figure_keys).unwrap_or_default();
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
    fn kubelet_uids_are_canonical() {
        assert_eq!(
            canonical_uid(" 8A2B3C4D_5E6F_4A1B_9C2D_3E4F5A6B7C02"),
            "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02"
        );
    }
}
