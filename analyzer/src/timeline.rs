//! Stage 3 of the pipeline: per-node and per-pod timelines from parsed snapshots: samples
//! in capture order, unattributed memory (from [`crate::attribution`]), what `kubectl top` shows,
//! container lifecycles, tmpfs volumes, kubelet figures, names, and the snapshot pairs
//! around each OOM kill or container change.
//!
//! Duplicates (same node, capture time and boot) are dropped; a boot id change splits a
//! node's timeline into segments, and nothing (lifecycles' "gone" aside) is compared
//! across a reboot.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use podmem_schema::oom::OomEvent;
use podmem_schema::report::{
    ContainerReport, KubeletView, NodeReport, PodReport, PodSample, Transition, TransitionRow,
    VolumeReport,
};
use podmem_schema::snapshot::CgroupMode;

use crate::model::Snapshot;

/// A pod's timeline plus what the rules need beyond the report.
#[derive(Debug, Clone)]
pub struct PodTimeline {
    /// The report part.
    pub report: PodReport,
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
}

/// Per node, its snapshots' (archive, capture time, boot id) in capture order.
pub type SnapshotIndex = BTreeMap<String, Vec<(String, Timestamp, Option<String>)>>;

/// Snapshots by node, in capture order.
pub type ByNode = BTreeMap<String, Vec<Snapshot>>;

/// Orders and deduplicates snapshots per node; also returns (archive, problem) for each
/// duplicate dropped.
pub fn group(snapshots: Vec<Snapshot>) -> (ByNode, Vec<(String, String)>) {
    let mut by_node: BTreeMap<String, Vec<Snapshot>> = BTreeMap::new();
    for s in snapshots {
        by_node.entry(s.node.clone()).or_default().push(s);
    }
    let mut dropped = Vec::new();
    for snaps in by_node.values_mut() {
        snaps.sort_by(|a, b| {
            a.captured_at
                .cmp(&b.captured_at)
                .then_with(|| a.archive.cmp(&b.archive))
        });
        let mut kept: Vec<Snapshot> = Vec::with_capacity(snaps.len());
        for s in snaps.drain(..) {
            let dup = kept
                .iter()
                .rev()
                .take_while(|k| k.captured_at == s.captured_at)
                .find(|k| k.boot_id == s.boot_id)
                .map(|k| k.archive.clone());
            match dup {
                Some(first) => dropped.push((
                    s.archive.clone(),
                    format!(
                        "{}: duplicate of {first} (same node {}, capture time {} and boot); ignored",
                        s.archive, s.node, s.captured_at
                    ),
                )),
                None => kept.push(s),
            }
        }
        *snaps = kept;
    }
    (by_node, dropped)
}

/// Builds timelines one pod at a time from the grouped snapshots, so the analysis of a
/// long series never holds every pod's samples at once: each pod's observations are
/// moved out of the snapshots as its timeline is built, and the caller renders (or
/// streams) the pod and drops it.
pub struct Builder {
    nodes: Vec<NodeData>,
    /// (node index, uid), in node then uid order.
    queue: std::collections::VecDeque<(usize, String)>,
}

struct NodeData {
    name: String,
    snaps: Vec<Snapshot>,
    segments: Vec<usize>,
}

impl Builder {
    /// Prepares the builder and returns it with the node reports and, per node, the
    /// snapshots' (archive, capture time, boot id) in order.
    pub fn new(by_node: ByNode) -> (Builder, Vec<NodeReport>, SnapshotIndex) {
        let mut nodes = Vec::new();
        let mut reports = Vec::new();
        let mut index = BTreeMap::new();
        let mut queue = std::collections::VecDeque::new();
        for (name, mut snaps) in by_node {
            reports.push(node_report(&name, &snaps));
            index.insert(
                name.clone(),
                snaps
                    .iter()
                    .map(|s| (s.archive.clone(), s.captured_at, s.boot_id.clone()))
                    .collect(),
            );
            let mut uids = BTreeSet::new();
            for s in &mut snaps {
                s.pods.sort_by(|a, b| a.uid.cmp(&b.uid));
                uids.extend(s.pods.iter().map(|p| p.uid.clone()));
            }
            let i = nodes.len();
            queue.extend(uids.into_iter().map(|u| (i, u)));
            let segments = segments(&snaps);
            nodes.push(NodeData {
                name,
                snaps,
                segments,
            });
        }
        (Builder { nodes, queue }, reports, index)
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
        let nodes = &self.nodes;
        self.queue.retain(|(ni, uid)| {
            let nd = &nodes[*ni];
            let mut names = Vec::new();
            for s in &nd.snaps {
                if let Some(k) = s.kubelet.get(uid) {
                    names.push((k.namespace.as_deref(), k.name.as_deref()));
                }
                if let Some((ns, name, _)) = s.log_names.get(uid) {
                    names.push((Some(ns.as_str()), Some(name.as_str())));
                }
            }
            keep(&nd.name, uid, &names)
        });
        (before - self.queue.len()) as u64
    }

    /// Builds the next pod's timeline (node by node, uid by uid).
    pub fn next_pod(&mut self, ooms: &[OomEvent]) -> Option<PodTimeline> {
        let (ni, uid) = self.queue.pop_front()?;
        let nd = &mut self.nodes[ni];
        Some(build_pod(&nd.name, &uid, &mut nd.snaps, &nd.segments, ooms))
    }
}

/// Builds one pod's timeline, moving its observations out of the snapshots.
fn build_pod(
    node: &str,
    uid: &str,
    snaps: &mut [Snapshot],
    segments: &[usize],
    ooms: &[OomEvent],
) -> PodTimeline {
    let mut pt = PodTimeline {
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
        segment: Vec::new(),
        dying: Vec::new(),
        own_shmem: Vec::new(),
        kernel: None,
        outside: Vec::new(),
        container_paths: BTreeMap::new(),
        pod_paths: Vec::new(),
    };
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut last_snap = None;
    for (i, snap) in snaps.iter_mut().enumerate() {
        let Ok(at) = snap.pods.binary_search_by(|p| p.uid.as_str().cmp(uid)) else {
            continue;
        };
        let obs = std::mem::take(&mut snap.pods[at]);
        // Keep the vector sorted for the next lookups: the emptied slot keeps its uid.
        snap.pods[at].uid = obs.uid.clone();
        let r = &mut pt.report;
        r.qos = obs.qos.or(r.qos);
        // A pod known only by containers outside any pod cgroup has no path.
        if !obs.cgroup_path.is_empty() {
            r.cgroup_path = Some(obs.cgroup_path.clone());
        }
        r.limit = obs.limit;
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
                    plugin: t.plugin.clone(),
                    size_bytes: size,
                    mount_point: t.mount_point.clone(),
                    max_used: t.used_bytes,
                }),
            }
        }
        // Moved, not cloned: each snapshot's summary entry is used once.
        let kubelet = snap.kubelet.remove(uid);
        if let Some(k) = &kubelet {
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
                    names.insert((*id).clone(), cname.clone());
                }
            }
        }
        if let Some((ns, name, _)) = snap.log_names.get(uid) {
            if r.name.is_none() {
                r.name = Some(name.clone());
            }
            if r.namespace.is_none() {
                r.namespace = Some(ns.clone());
            }
        }
        r.samples.push(PodSample {
            time: Some(snap.captured_at),
            snapshot: snap.archive.clone(),
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
        });
        pt.segment.push(segments[i]);
        pt.dying.push(obs.dying);
        pt.own_shmem.push(obs.own_shmem);
        pt.pod_paths.push(obs.cgroup_path);
        pt.outside.push(outside);
        last_snap = Some(i);
    }
    pt.kernel = last_snap.and_then(|i| snaps[i].kernel.clone());
    let last = pt.report.samples.last().and_then(|s| s.time);
    for c in &mut pt.report.containers {
        c.gone = c.last_seen < last;
        if let Some(n) = names.get(&c.id) {
            c.name = Some(n.clone());
        }
    }
    pt.report.transitions = transitions(&pt, ooms);
    pt
}

/// Boot segment index per snapshot: a new segment at every boot id change.
fn segments(snaps: &[Snapshot]) -> Vec<usize> {
    let mut seg = 0;
    let mut out = Vec::with_capacity(snaps.len());
    for (i, s) in snaps.iter().enumerate() {
        if i > 0 && s.boot_id != snaps[i - 1].boot_id {
            seg += 1;
        }
        out.push(seg);
    }
    out
}

fn node_report(node: &str, snaps: &[Snapshot]) -> NodeReport {
    let mut boots: Vec<String> = Vec::new();
    let mut versions: BTreeSet<String> = BTreeSet::new();
    for s in snaps {
        let b = s.boot_id.clone().unwrap_or_else(|| "unknown".to_string());
        if boots.last() != Some(&b) {
            boots.push(b);
        }
        versions.insert(s.collector_version.clone());
    }
    let last = snaps.last();
    NodeReport {
        name: node.to_string(),
        snapshots: snaps.len() as u32,
        first: snaps.first().map(|s| s.captured_at),
        last: last.map(|s| s.captured_at),
        kernel: last.and_then(|s| s.kernel.clone()),
        cgroup_mode: last.map(|s| mode_name(s.mode).to_string()),
        collector_versions: versions.into_iter().collect(),
        boots,
        samples: snaps.iter().map(|s| s.node_sample.clone()).collect(),
    }
}

/// `v1`, `v2` or `hybrid`, as in the manifest.
pub fn mode_name(m: CgroupMode) -> &'static str {
    match m {
        CgroupMode::V1 => "v1",
        CgroupMode::V2 => "v2",
        CgroupMode::Hybrid => "hybrid",
    }
}

/// Snapshot pairs (within one boot) where containers came or went, or an OOM of the pod
/// happened in between.
fn transitions(pt: &PodTimeline, ooms: &[OomEvent]) -> Vec<Transition> {
    let r = &pt.report;
    let mut out = Vec::new();
    for i in 1..r.samples.len() {
        if pt.segment[i] != pt.segment[i - 1] {
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
