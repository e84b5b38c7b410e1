//! The rules: each turns timelines and OOM events into [`Finding`]s that say what was
//! seen, why the rule fired (its threshold), and what to do, with evidence pointing at
//! `<archive>:<entry>`. Thresholds are the constants below and are documented in
//! `docs/findings.md`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::{Evidence, Finding, NodeReport, PodSample, Severity};
use podmem_schema::units::fmt_bytes;

use crate::timeline::PodTimeline;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// `orphaned-shmem` fires at this much unattributed shmem.
pub const ORPHAN_MIN_BYTES: u64 = 16 * MIB;
/// ... and is critical at this fraction of the pod limit ...
pub const ORPHAN_CRITICAL_OF_LIMIT: f64 = 0.10;
/// ... or, for a pod without a limit, at this many bytes.
pub const ORPHAN_CRITICAL_NO_LIMIT: u64 = GIB;
/// A rise of unattributed shmem between two captures smaller than this is noise.
pub const ORPHAN_RISE_MIN_BYTES: u64 = MIB;
/// `hidden-from-kubectl-top`: pod working set − Σ container working sets at least this ...
pub const HIDDEN_MIN_BYTES: u64 = 32 * MIB;
/// ... and at least this fraction of the pod working set.
pub const HIDDEN_MIN_FRACTION: f64 = 0.20;
/// `memory-emptydir-unbounded`: tmpfs size ≥ this fraction of the pod limit ...
pub const EMPTYDIR_OF_POD_LIMIT: f64 = 0.98;
/// ... or of node allocatable (the kubepods limit) ...
pub const EMPTYDIR_OF_ALLOCATABLE: f64 = 0.90;
/// ... or of node memory (tmpfs defaults to half of RAM without `size=`).
pub const EMPTYDIR_OF_MEMTOTAL: f64 = 0.45;
/// `near-limit`: working set ≥ this fraction of the limit (warning) ...
pub const NEAR_LIMIT_WARNING: f64 = 0.90;
/// ... critical from this fraction.
pub const NEAR_LIMIT_CRITICAL: f64 = 0.97;
/// Samples used for the working-set trend.
pub const TREND_SAMPLES: usize = 30;
/// `dying-cgroups`: memory cgroups in the kernel more than this multiple of the live tree ...
pub const DYING_RATIO: u64 = 2;
/// ... and more than this many above it.
pub const DYING_MIN_EXCESS: u64 = 100;
/// Rises of unattributed shmem (and removed containers) told in a finding's detail; the
/// evidence and `container_ids` keep them all.
pub const MAX_STORY: usize = 3;
/// `oom-restart-loop`: OOM kills in one pod (one boot) ...
pub const LOOP_MIN_OOMS: usize = 2;

/// The rules about one pod's timeline (its node's report gives node memory).
pub fn pod_rules(pt: &PodTimeline, node: Option<&NodeReport>, ooms: &[OomEvent]) -> Vec<Finding> {
    let mut out = Vec::new();
    container_outside_pod(pt, &mut out);
    orphaned_shmem(pt, &mut out);
    hidden_from_top(pt, &mut out);
    emptydir_unbounded(pt, node, &mut out);
    near_limit(pt, &mut out);
    oom_restart_loop(pt, ooms, &mut out);
    out
}

/// What the OOM rules need to know about a pod once its timeline is gone.
#[derive(Debug, Clone, Default)]
pub struct PodInfo {
    /// Display name.
    pub label: String,
    /// Pod limit last seen.
    pub limit: Option<u64>,
    /// (time, unattributed usage, unattributed shmem) per sample; kept only for pods
    /// with OOM kills.
    pub unattributed: Vec<(Option<Timestamp>, Option<u64>, Option<u64>)>,
}

/// Keeps what the OOM rules need from a pod's timeline.
pub fn pod_info(pt: &PodTimeline, ooms: &[OomEvent]) -> PodInfo {
    let r = &pt.report;
    let has_oom = ooms.iter().any(|e| {
        e.node.as_deref() == Some(r.node.as_str()) && e.pod_uid.as_deref() == Some(r.uid.as_str())
    });
    PodInfo {
        label: pod_label(pt),
        limit: r.limit,
        unattributed: if has_oom {
            r.samples
                .iter()
                .map(|s| (s.time, s.unattributed.usage, s.unattributed.shmem))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// Pods by (node, uid).
pub type PodInfos = BTreeMap<(String, String), PodInfo>;

/// The rules about OOM kills and nodes, run once every pod has been seen.
pub fn fleet_rules(
    nodes: &[NodeReport],
    last_archive: &BTreeMap<String, String>,
    infos: &PodInfos,
    ooms: &[OomEvent],
) -> Vec<Finding> {
    let mut out = Vec::new();
    oom_rules(infos, ooms, &mut out);
    for n in nodes {
        dying_cgroups(
            n,
            last_archive.get(&n.name).map(String::as_str).unwrap_or(""),
            &mut out,
        );
    }
    out
}

/// Rules in the order a reader should meet them within one severity: causes before the
/// kills they explain, then context.
pub const RULE_ORDER: &[&str] = &[
    "orphaned-shmem",
    "oom-restart-loop",
    "pod-limit-oom",
    "kubepods-oom",
    "global-oom",
    "container-outside-pod-cgroup",
    "near-limit",
    "hidden-from-kubectl-top",
    "memory-emptydir-unbounded",
    "container-limit-oom",
    "dying-cgroups",
];

/// Most severe first; within a severity by [`RULE_ORDER`], then the largest amount,
/// then by node and pod.
pub fn sort(f: &mut [Finding]) {
    let rank = |id: &str| {
        RULE_ORDER
            .iter()
            .position(|r| *r == id)
            .unwrap_or(RULE_ORDER.len())
    };
    f.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| rank(&a.id).cmp(&rank(&b.id)))
            .then_with(|| b.bytes.cmp(&a.bytes))
            .then_with(|| a.node.cmp(&b.node))
            .then_with(|| a.pod_uid.cmp(&b.pod_uid))
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn pod_label(pt: &PodTimeline) -> String {
    match (&pt.report.namespace, &pt.report.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        (Some(ns), None) => format!("{ns}/pod {}", pt.report.uid),
        (None, None) => format!("pod {}", pt.report.uid),
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn ev(label: &str, value: impl Into<String>, source: Option<String>) -> Evidence {
    Evidence {
        label: label.to_string(),
        value: value.into(),
        source,
    }
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map(fmt_bytes).unwrap_or_else(|| "unknown".to_string())
}

fn entry(archive: &str, cgroup_path: &str, file: &str) -> Option<String> {
    Some(if cgroup_path.is_empty() {
        format!("{archive}:cgroup/{file}")
    } else {
        format!("{archive}:cgroup/{cgroup_path}/{file}")
    })
}

/// A time as shown in findings: RFC 3339 to the second (captures carry nanoseconds).
fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn time_of(s: &PodSample) -> String {
    s.time.map(ts).unwrap_or_else(|| "?".to_string())
}

/// Indices of the samples of the last boot segment.
fn last_segment(pt: &PodTimeline) -> std::ops::Range<usize> {
    let n = pt.report.samples.len();
    if n == 0 {
        return 0..0;
    }
    let seg = pt.segment[n - 1];
    let start = pt.segment.iter().position(|s| *s == seg).unwrap_or(0);
    start..n
}

fn orphaned_shmem(pt: &PodTimeline, out: &mut Vec<Finding>) {
    let r = &pt.report;
    let range = last_segment(pt);
    let Some(last_i) = range.clone().last() else {
        return;
    };
    let last = &r.samples[last_i];
    let Some(orphan) = last.unattributed.shmem else {
        return;
    };
    if orphan < ORPHAN_MIN_BYTES {
        return;
    }
    let limit = last.limit;
    let critical = match limit {
        Some(l) => orphan as f64 >= ORPHAN_CRITICAL_OF_LIMIT * l as f64,
        None => orphan >= ORPHAN_CRITICAL_NO_LIMIT,
    };
    let mut evidence = vec![
        ev(
            "pod cgroup shmem (hierarchical)",
            opt_bytes(last.pod.shmem),
            entry(&last.snapshot, &pt.pod_paths[last_i], "memory.stat"),
        ),
        ev(
            "Σ live containers' shmem",
            opt_bytes(crate::timeline::sum_opt(
                last.containers
                    .iter()
                    .filter(|(id, _)| !pt.outside[last_i].contains(*id))
                    .map(|(_, c)| c.shmem),
            )),
            None,
        ),
        ev(
            "unattributed shmem (pod − Σ live children)",
            fmt_bytes(orphan),
            None,
        ),
    ];
    // Find when it appeared: captures where unattributed shmem rose and containers went.
    let mut removed: Vec<String> = Vec::new();
    let mut since: Option<Timestamp> = None;
    let mut story: Vec<String> = Vec::new();
    let first = &r.samples[range.start];
    if first.unattributed.shmem.unwrap_or(0) >= ORPHAN_MIN_BYTES {
        since = first.time;
        story.push(format!(
            "it was already {} at the first capture ({})",
            opt_bytes(first.unattributed.shmem),
            time_of(first)
        ));
    }
    for i in range.start + 1..=last_i {
        let (a, b) = (&r.samples[i - 1], &r.samples[i]);
        let before = a.unattributed.shmem.unwrap_or(0);
        let after = b.unattributed.shmem.unwrap_or(0);
        if after < before.saturating_add(ORPHAN_RISE_MIN_BYTES) {
            continue;
        }
        let rise = after - before;
        let gone: Vec<(&String, Option<u64>)> = a
            .containers
            .iter()
            .filter(|(id, _)| !b.containers.contains_key(*id))
            .map(|(id, s)| (id, s.shmem))
            .collect();
        if since.is_none() {
            since = b.time;
        }
        let holders: Vec<&(&String, Option<u64>)> = {
            let with_shmem: Vec<_> = gone
                .iter()
                .filter(|(_, s)| s.unwrap_or(0) >= ORPHAN_RISE_MIN_BYTES)
                .collect();
            if with_shmem.is_empty() {
                gone.iter().collect()
            } else {
                with_shmem
            }
        };
        if holders.is_empty() {
            story.push(format!(
                "it rose by {} between {} and {} with no container removed",
                fmt_bytes(rise),
                time_of(a),
                time_of(b)
            ));
            continue;
        }
        for (id, shmem) in holders {
            if !removed.contains(id) {
                removed.push((*id).clone());
            }
            story.push(format!(
                "it rose by {} between {} and {} when container {} was removed (its cgroup last showed {} of shmem)",
                fmt_bytes(rise),
                time_of(a),
                time_of(b),
                short(id),
                opt_bytes(*shmem)
            ));
            evidence.push(ev(
                &format!("removed container {} last seen shmem", short(id)),
                opt_bytes(*shmem),
                pt.container_paths
                    .get(*id)
                    .and_then(|p| entry(&a.snapshot, p, "memory.stat")),
            ));
        }
        evidence.push(ev(
            &format!("unattributed shmem {} → {}", time_of(a), time_of(b)),
            format!("{} → {}", fmt_bytes(before), fmt_bytes(after)),
            entry(&b.snapshot, &pt.pod_paths[i], "memory.stat"),
        ));
    }
    // Which memory volumes hold it.
    let mut volumes: Vec<(String, u64)> = last
        .tmpfs_used
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if volumes.is_empty() {
        if let Some(k) = &last.kubelet {
            let mem_vols: BTreeSet<&String> = r.volumes.iter().map(|v| &v.name).collect();
            volumes = k
                .volumes
                .iter()
                .filter(|(n, _)| mem_vols.contains(n))
                .map(|(n, u)| (n.clone(), *u))
                .collect();
        }
    }
    volumes.retain(|(_, u)| *u > 0);
    let emptydirs: Vec<&(String, u64)> = volumes
        .iter()
        .filter(|(n, _)| {
            r.volumes
                .iter()
                .any(|v| &v.name == n && v.plugin == "empty-dir")
        })
        .collect();
    for (n, u) in &volumes {
        evidence.push(ev(
            &format!("tmpfs volume `{n}` used"),
            fmt_bytes(*u),
            Some(format!(
                "{}:{}",
                last.snapshot,
                podmem_schema::snapshot::TMPFS_ENTRY
            )),
        ));
    }
    if let Some(Some(d)) = pt.dying.get(last_i) {
        evidence.push(ev(
            "dying descendants of the pod cgroup",
            d.to_string(),
            entry(&last.snapshot, &pt.pod_paths[last_i], "cgroup.stat"),
        ));
    }
    let vol_text = if volumes.is_empty() {
        "No pod tmpfs usage was captured to name the volume holding it.".to_string()
    } else {
        format!(
            "The pod's memory-backed volume(s) {} hold it.",
            volumes
                .iter()
                .map(|(n, u)| format!("`{n}` ({} used)", fmt_bytes(*u)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let held = where_held(pt, last_i, orphan);
    if let (Held::Moved(_), Some(own)) = (&held, pt.own_shmem[last_i]) {
        evidence.push(ev(
            "pod cgroup's own shmem (children excluded)",
            fmt_bytes(own),
            entry(&last.snapshot, &pt.pod_paths[last_i], "memory.stat"),
        ));
    }
    let ids = || {
        format!(
            "{}{}",
            removed
                .iter()
                .take(MAX_STORY)
                .map(|s| short(s))
                .collect::<Vec<_>>()
                .join(", "),
            if removed.len() > MAX_STORY {
                ", ..."
            } else {
                ""
            }
        )
    };
    let who = match (&held, removed.is_empty()) {
        (Held::Dying, true) => "No container removal was seen to account for it".to_string(),
        (Held::Dying, false) => format!(
            "It is charged to the removed cgroup(s) of {} container(s) ({}; dying memory cgroups, invisible in the filesystem), and therefore counts only in the pod's hierarchical totals",
            removed.len(),
            ids()
        ),
        (Held::Moved(why), true) => format!(
            "No container removal was seen to account for it; it is charged to the pod cgroup itself ({why})"
        ),
        (Held::Moved(why), false) => format!(
            "It was charged to the removed cgroup(s) of {} container(s) ({}); when they were removed the kernel moved their pages to the pod cgroup itself ({why}), where they count against the pod limit but belong to no container",
            removed.len(),
            ids()
        ),
        (Held::Unknown, true) => "No container removal was seen to account for it".to_string(),
        (Held::Unknown, false) => format!(
            "It was charged to the removed cgroup(s) of {} container(s) ({}) and counts only in the pod's totals (this capture does not show whether the kernel keeps those cgroups as dying cgroups or moved their pages to the pod cgroup itself)",
            removed.len(),
            ids()
        ),
    };
    let limit_text = match limit {
        Some(l) => format!(
            " That is {:.0}% of the pod limit of {}.",
            100.0 * orphan as f64 / l as f64,
            fmt_bytes(l)
        ),
        None => String::new(),
    };
    let detail = format!(
        "`kubectl top` shows {top} for this pod (Σ container working sets), but the pod cgroup holds {usage} (working set {ws}) with {shmem} of shmem, of which {orphan} is held by no live container. {who}; {story}. {vol_text}{limit_text} Fired because unattributed shmem ≥ {min} ({sev}).",
        top = opt_bytes(last.kubectl_top),
        usage = opt_bytes(last.pod.usage),
        ws = opt_bytes(last.pod.working_set),
        shmem = opt_bytes(last.pod.shmem),
        orphan = fmt_bytes(orphan),
        story = if story.is_empty() {
            "it predates the captures".to_string()
        } else if story.len() > MAX_STORY {
            // A restart loop repeats itself: the first rises and the count say it.
            format!(
                "{}; and it rose {} more times",
                story[..MAX_STORY].join("; "),
                story.len() - MAX_STORY
            )
        } else {
            story.join("; ")
        },
        min = fmt_bytes(ORPHAN_MIN_BYTES),
        sev = if critical {
            match limit {
                Some(_) => format!("critical: ≥ {:.0}% of the pod limit", ORPHAN_CRITICAL_OF_LIMIT * 100.0),
                None => format!("critical: ≥ {} with no pod limit", fmt_bytes(ORPHAN_CRITICAL_NO_LIMIT)),
            }
        } else {
            "warning: below the critical share of the limit".to_string()
        },
    );
    let vol_names = if emptydirs.is_empty() {
        "the memory-backed emptyDir".to_string()
    } else {
        emptydirs
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(Finding {
        id: "orphaned-shmem".to_string(),
        severity: if critical { Severity::Critical } else { Severity::Warning },
        node: r.node.clone(),
        pod_uid: Some(r.uid.clone()),
        bytes: Some(orphan),
        container_ids: removed,
        title: format!(
            "{}: {} of tmpfs/shmem charged to the pod is held by no live container",
            pod_label(pt),
            fmt_bytes(orphan)
        ),
        detail,
        recommendation: format!(
            "Set a sizeLimit on {vol_names} well below the container memory limit, clean the directory when the container starts (files left by the previous container keep their charge), or use a disk-backed emptyDir. To release the memory now, delete the files or the pod (a restart of the container does not)."
        ),
        evidence,
        time: since.or(last.time),
    });
}

/// Where the pod's unattributed shmem sits, as far as the capture shows.
enum Held {
    /// In removed ("dying") descendants the kernel still keeps.
    Dying,
    /// Moved to the pod cgroup itself when its children were removed (Linux 7.1+, or
    /// whatever kernel the pod's own figures show doing so); the text says what shows it.
    Moved(String),
    /// The capture does not tell.
    Unknown,
}

/// Kernels from this release on move a removed cgroup's pages to its parent ("eliminate
/// the dying memory cgroup", Linux 7.1).
pub const REPARENT_FROM: (u32, u32) = (7, 1);

/// (major, minor) of a kernel release such as `7.2.0-1-amd64`.
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Decides from the snapshot itself (never from a non-zero dying count alone): v1's
/// own-vs-total shmem of the pod cgroup shows it directly; v2's `nr_dying_descendants`
/// says whether any removed cgroup is still there to hold it; the kernel release backs
/// this up when the count was not captured.
fn where_held(pt: &PodTimeline, i: usize, orphan: u64) -> Held {
    if let Some(own) = pt.own_shmem.get(i).copied().flatten() {
        return if own.saturating_mul(2) >= orphan {
            Held::Moved(format!(
                "its own memory.stat shows {} of shmem outside any child",
                fmt_bytes(own)
            ))
        } else {
            Held::Dying
        };
    }
    let kernel = pt.kernel.as_deref().and_then(kernel_version);
    let reparents = kernel.is_some_and(|k| k >= REPARENT_FROM);
    match pt.dying.get(i).copied().flatten() {
        Some(d) if d > 0 => Held::Dying,
        Some(_) => Held::Moved(format!(
            "its cgroup.stat shows no dying descendant{}",
            if reparents {
                ", as kernels from 7.1 on move a removed cgroup's pages to its parent"
            } else {
                ""
            }
        )),
        None if reparents => Held::Moved(format!(
            "kernel {} moves a removed cgroup's pages to its parent",
            pt.kernel.as_deref().unwrap_or_default().trim()
        )),
        None => Held::Unknown,
    }
}

fn container_outside_pod(pt: &PodTimeline, out: &mut Vec<Finding>) {
    let r = &pt.report;
    let range = last_segment(pt);
    let Some(i) = range.clone().rev().find(|i| !pt.outside[*i].is_empty()) else {
        return;
    };
    let s = &r.samples[i];
    let ids = &pt.outside[i];
    let first = range
        .clone()
        .find(|j| !pt.outside[*j].is_empty())
        .and_then(|j| r.samples[j].time);
    let pod_path = (!pt.pod_paths[i].is_empty()).then_some(pt.pod_paths[i].as_str());
    let mut evidence: Vec<Evidence> = ids
        .iter()
        .map(|id| {
            let path = pt
                .container_paths
                .get(id)
                .map(String::as_str)
                .unwrap_or("?");
            ev(
                &format!("container {} cgroup (usage)", short(id)),
                format!(
                    "{path} ({})",
                    opt_bytes(s.containers.get(id).and_then(|c| c.usage))
                ),
                entry(&s.snapshot, path, "memory.stat"),
            )
        })
        .collect();
    evidence.push(ev(
        "pod cgroup (usage, limit)",
        match pod_path {
            Some(p) => format!(
                "{p} ({}, limit {})",
                opt_bytes(s.pod.usage),
                opt_bytes(s.limit)
            ),
            None => "none captured".to_string(),
        },
        pod_path.and_then(|p| entry(&s.snapshot, p, "memory.stat")),
    ));
    let outside_usage = crate::timeline::sum_opt(
        ids.iter()
            .map(|id| s.containers.get(id).and_then(|c| c.usage)),
    );
    let where_pod = match pod_path {
        Some(p) => format!("outside the pod cgroup `{p}`"),
        None => "outside any pod cgroup (none was captured for this pod)".to_string(),
    };
    let paths = ids
        .iter()
        .take(MAX_STORY)
        .map(|id| {
            format!(
                "`{}`",
                pt.container_paths
                    .get(id)
                    .map(String::as_str)
                    .unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    out.push(Finding {
        id: "container-outside-pod-cgroup".to_string(),
        severity: if s.limit.is_some() { Severity::Critical } else { Severity::Warning },
        node: r.node.clone(),
        pod_uid: Some(r.uid.clone()),
        bytes: outside_usage,
        container_ids: ids.clone(),
        title: format!(
            "{}: {} container cgroup(s) outside the pod cgroup",
            pod_label(pt),
            ids.len()
        ),
        detail: format!(
            "The cgroup(s) of {n} container(s) of this pod sit {where_pod}: {paths}{more}. Their memory ({usage}) is charged there, not to the pod: the pod limit{lim} does not bound them, and the pod's figures leave them out (its usage and working set, the unattributed memory and orphaned-shmem arithmetic, and the scope of an OOM kill), while `kubectl top` counts them. A `<pod slice>:cri-containerd:<id>` name under the runtime's own cgroup is the layout of containerd placing containers with the cgroupfs driver while the kubelet uses the systemd driver: containerd takes the kubelet's systemd-style parent as a literal directory name. Fired because a container cgroup whose name carries this pod's UID was found outside its pod cgroup{since}.",
            n = ids.len(),
            more = if ids.len() > MAX_STORY { ", ..." } else { "" },
            usage = opt_bytes(outside_usage),
            lim = s.limit.map(|l| format!(" ({})", fmt_bytes(l))).unwrap_or_default(),
            since = first
                .map(|t| format!(" (first seen {})", ts(t)))
                .unwrap_or_default(),
        ),
        recommendation: "Make the container runtime and the kubelet agree on the cgroup driver: with the kubelet's `cgroupDriver: systemd`, set `SystemdCgroup = true` in containerd's runc options (`[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]`), or run both with `cgroupfs`; restart containerd and the kubelet, then recreate the pods so their containers start inside the pod cgroup.".to_string(),
        evidence,
        time: first.or(s.time),
    });
}

fn hidden_from_top(pt: &PodTimeline, out: &mut Vec<Finding>) {
    let r = &pt.report;
    let Some(last) = r.samples.last() else { return };
    let (Some(ws), Some(top)) = (last.pod.working_set, last.kubectl_top) else {
        return;
    };
    let gap = ws.saturating_sub(top);
    if gap < HIDDEN_MIN_BYTES || (gap as f64) < HIDDEN_MIN_FRACTION * ws as f64 {
        return;
    }
    let i = r.samples.len() - 1;
    let near = last
        .limit
        .is_some_and(|l| ws as f64 >= NEAR_LIMIT_WARNING * l as f64);
    let mut evidence = vec![
        ev(
            "pod working set",
            fmt_bytes(ws),
            entry(&last.snapshot, &pt.pod_paths[i], "memory.stat"),
        ),
        ev(
            "Σ container working sets (kubectl top)",
            fmt_bytes(top),
            None,
        ),
        ev(
            "unattributed working set",
            opt_bytes(last.unattributed.working_set),
            None,
        ),
    ];
    if let Some(k) = &last.kubelet {
        if let Some(pws) = k.pod_working_set {
            evidence.push(ev(
                "kubelet summary: pod workingSetBytes vs Σ containers",
                format!(
                    "{} vs {}",
                    fmt_bytes(pws),
                    fmt_bytes(k.containers.values().sum())
                ),
                Some(format!(
                    "{}:{}",
                    last.snapshot,
                    podmem_schema::snapshot::SUMMARY_ENTRY
                )),
            ));
        }
    }
    out.push(Finding {
        id: "hidden-from-kubectl-top".to_string(),
        severity: if near { Severity::Critical } else { Severity::Warning },
        node: r.node.clone(),
        pod_uid: Some(r.uid.clone()),
        bytes: Some(gap),
        container_ids: Vec::new(),
        title: format!(
            "{}: {} of the pod's working set is invisible to `kubectl top`",
            pod_label(pt),
            fmt_bytes(gap)
        ),
        detail: format!(
            "`kubectl top` sums container working sets: {top}. The pod cgroup's working set (what the pod limit and the kubelet's eviction see) is {ws}{lim}. The difference, {gap}, is charged to the pod but to no live container (shmem among it: {ushm}). Fired because the gap is ≥ {min} and ≥ {pct:.0}% of the pod working set{crit}.",
            top = fmt_bytes(top),
            ws = fmt_bytes(ws),
            lim = last
                .limit
                .map(|l| format!(" against a limit of {}", fmt_bytes(l)))
                .unwrap_or_default(),
            gap = fmt_bytes(gap),
            ushm = opt_bytes(last.unattributed.shmem),
            min = fmt_bytes(HIDDEN_MIN_BYTES),
            pct = HIDDEN_MIN_FRACTION * 100.0,
            crit = if near {
                format!("; critical because the pod is at ≥ {:.0}% of its limit", NEAR_LIMIT_WARNING * 100.0)
            } else {
                String::new()
            },
        ),
        recommendation: "Watch the pod cgroup (kubelet summary pod memory, or container_memory_working_set_bytes for the pod-level cgroup), not `kubectl top`, for this pod; see the orphaned-shmem finding for where the rest is held.".to_string(),
        evidence,
        time: last.time,
    });
}

fn emptydir_unbounded(pt: &PodTimeline, node: Option<&NodeReport>, out: &mut Vec<Finding>) {
    let r = &pt.report;
    let Some(last) = r.samples.last() else { return };
    let ns = node.and_then(|n| n.samples.last());
    let allocatable = ns.and_then(|s| s.kubepods_limit);
    let mem_total = ns.and_then(|s| s.mem_total);
    for v in r.volumes.iter().filter(|v| v.plugin == "empty-dir") {
        let why = match v.size_bytes {
            None => Some(
                "the tmpfs has no size= option (it may grow to half of the node's memory)"
                    .to_string(),
            ),
            Some(size) => {
                if let Some(l) = r
                    .limit
                    .filter(|l| size as f64 >= EMPTYDIR_OF_POD_LIMIT * *l as f64)
                {
                    Some(format!(
                        "its tmpfs size {} equals the pod limit {} (≥ {:.0}%)",
                        fmt_bytes(size),
                        fmt_bytes(l),
                        EMPTYDIR_OF_POD_LIMIT * 100.0
                    ))
                } else if let Some(a) =
                    allocatable.filter(|a| size as f64 >= EMPTYDIR_OF_ALLOCATABLE * *a as f64)
                {
                    Some(format!(
                        "its tmpfs size {} is node allocatable {} (≥ {:.0}%)",
                        fmt_bytes(size),
                        fmt_bytes(a),
                        EMPTYDIR_OF_ALLOCATABLE * 100.0
                    ))
                } else {
                    mem_total
                        .filter(|m| size as f64 >= EMPTYDIR_OF_MEMTOTAL * *m as f64)
                        .map(|m| {
                            format!(
                                "its tmpfs size {} is ≥ {:.0}% of node memory {}",
                                fmt_bytes(size),
                                EMPTYDIR_OF_MEMTOTAL * 100.0,
                                fmt_bytes(m)
                            )
                        })
                }
            }
        };
        let Some(why) = why else { continue };
        out.push(Finding {
            id: "memory-emptydir-unbounded".to_string(),
            severity: Severity::Warning,
            node: r.node.clone(),
            pod_uid: Some(r.uid.clone()),
            bytes: v.size_bytes,
            container_ids: Vec::new(),
            title: format!(
                "{}: memory emptyDir `{}` has no sizeLimit below the pod limit",
                pod_label(pt),
                v.name
            ),
            detail: format!(
                "Volume `{}` is a tmpfs (emptyDir medium: Memory) at {}; {why}, so files written to it can fill the pod's whole memory limit, and they stay charged after the container that wrote them is gone. Largest use seen: {}. Fired because the tmpfs size is not below the pod limit or node memory.",
                v.name,
                v.mount_point,
                opt_bytes(v.max_used)
            ),
            recommendation: format!(
                "Set emptyDir.sizeLimit on `{}` well below the container's memory limit (the kubelet then mounts the tmpfs with that size), or use a disk-backed emptyDir.",
                v.name
            ),
            evidence: vec![
                ev(
                    &format!("tmpfs `{}` size", v.name),
                    opt_bytes(v.size_bytes),
                    Some(format!("{}:{}", last.snapshot, podmem_schema::snapshot::TMPFS_ENTRY)),
                ),
                ev("pod limit", opt_bytes(r.limit), None),
            ],
            time: last.time,
        });
    }
}

/// Least-squares slope (bytes per second) of (seconds, bytes) points.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let s = sxy / sxx;
    (sxx > 0.0 && s.is_finite()).then_some(s)
}

fn near_limit(pt: &PodTimeline, out: &mut Vec<Finding>) {
    let r = &pt.report;
    let range = last_segment(pt);
    let Some(last_i) = range.clone().last() else {
        return;
    };
    let last = &r.samples[last_i];
    let (Some(ws), Some(limit)) = (last.pod.working_set, last.limit) else {
        return;
    };
    if limit == 0 {
        return;
    }
    let ratio = ws as f64 / limit as f64;
    if ratio < NEAR_LIMIT_WARNING {
        return;
    }
    let from = range.start.max((last_i + 1).saturating_sub(TREND_SAMPLES));
    let t0 = last.time.map(|t| t.as_millisecond()).unwrap_or(0);
    let points: Vec<(f64, f64)> = r.samples[from..=last_i]
        .iter()
        .filter_map(|s| {
            Some((
                (s.time?.as_millisecond() - t0) as f64 / 1000.0,
                s.pod.working_set? as f64,
            ))
        })
        .collect();
    let trend = slope(&points);
    let (trend_text, eta) = match trend {
        Some(s) if s > 0.0 && ws < limit => {
            let secs = (limit - ws) as f64 / s;
            let eta = last.time.and_then(|t| {
                t.checked_add(jiff::SignedDuration::from_secs_f64(secs.min(1e12)))
                    .ok()
            });
            (
                format!(
                    "growing {}/min over the last {} captures; at that rate the limit is reached around {}",
                    fmt_bytes((s * 60.0) as u64),
                    points.len(),
                    eta.map(ts).unwrap_or_else(|| "much later".to_string())
                ),
                eta,
            )
        }
        Some(_) => (
            format!("not growing over the last {} captures", points.len()),
            None,
        ),
        None => ("too few captures for a trend".to_string(), None),
    };
    let critical = ratio >= NEAR_LIMIT_CRITICAL;
    let mut evidence = vec![
        ev(
            "pod working set / limit",
            format!(
                "{} / {} ({:.0}%)",
                fmt_bytes(ws),
                fmt_bytes(limit),
                ratio * 100.0
            ),
            entry(&last.snapshot, &pt.pod_paths[last_i], "memory.stat"),
        ),
        ev(
            "unattributed working set",
            opt_bytes(last.unattributed.working_set),
            None,
        ),
    ];
    if let Some(e) = eta {
        evidence.push(ev("limit reached at (linear fit)", ts(e), None));
    }
    out.push(Finding {
        id: "near-limit".to_string(),
        severity: if critical { Severity::Critical } else { Severity::Warning },
        node: r.node.clone(),
        pod_uid: Some(r.uid.clone()),
        bytes: Some(ws),
        container_ids: Vec::new(),
        title: format!(
            "{}: working set at {:.0}% of the pod limit",
            pod_label(pt),
            ratio * 100.0
        ),
        detail: format!(
            "The pod cgroup's working set is {} of its {} limit ({:.0}%); {}. `kubectl top` shows {}. Fired because the working set is ≥ {:.0}% of the limit (critical from {:.0}%).",
            fmt_bytes(ws),
            fmt_bytes(limit),
            ratio * 100.0,
            trend_text,
            opt_bytes(last.kubectl_top),
            NEAR_LIMIT_WARNING * 100.0,
            NEAR_LIMIT_CRITICAL * 100.0
        ),
        recommendation: "Raise the pod's memory limit or reduce its use; if much of it is unattributed or shmem, free the tmpfs files rather than restart the container.".to_string(),
        evidence,
        time: last.time,
    });
}

fn oom_restart_loop(pt: &PodTimeline, ooms: &[OomEvent], out: &mut Vec<Finding>) {
    let r = &pt.report;
    let range = last_segment(pt);
    if range.is_empty() {
        return;
    }
    let seg_start = r.samples[range.start].time;
    let events: Vec<&OomEvent> = ooms
        .iter()
        .filter(|e| {
            e.node.as_deref() == Some(r.node.as_str())
                && e.pod_uid.as_deref() == Some(r.uid.as_str())
        })
        .filter(|e| match (e.time, seg_start) {
            // Kills shortly before the first capture of this boot still belong to it.
            (Some(t), Some(s)) => t.as_second() >= s.as_second() - 3600,
            _ => true,
        })
        .collect();
    if events.len() < LOOP_MIN_OOMS {
        return;
    }
    // Unattributed memory before the first kill vs now.
    let first_t = events.iter().filter_map(|e| e.time).min();
    let before_i = range
        .clone()
        .rev()
        .find(|i| first_t.is_none_or(|t| r.samples[*i].time.is_some_and(|s| s < t)))
        .unwrap_or(range.start);
    let last = &r.samples[range.end - 1];
    let b = &r.samples[before_i];
    let grew = |get: fn(&PodSample) -> Option<u64>| -> Option<(u64, u64)> {
        let (x, y) = (get(b)?, get(last)?);
        (y >= x.saturating_add(ORPHAN_RISE_MIN_BYTES)).then_some((x, y))
    };
    let growth = grew(|s| s.unattributed.shmem)
        .map(|g| ("shmem", g))
        .or_else(|| grew(|s| s.unattributed.usage).map(|g| ("usage", g)));
    let Some((what, (from, to))) = growth else {
        return;
    };
    let victims: Vec<String> = events
        .iter()
        .filter_map(|e| e.container_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut evidence: Vec<Evidence> = events
        .iter()
        .take(20)
        .map(|e| {
            ev(
                &format!(
                    "OOM kill {} ({})",
                    e.time.map(ts).unwrap_or_default(),
                    format!("{:?}", e.scope).to_lowercase()
                ),
                format!(
                    "{} pid {}",
                    e.comm.as_deref().unwrap_or("?"),
                    e.pid.map(|p| p.to_string()).unwrap_or_default()
                ),
                e.source.clone(),
            )
        })
        .collect();
    evidence.push(ev(
        &format!("unattributed {what} before the first kill → now"),
        format!("{} → {}", fmt_bytes(from), fmt_bytes(to)),
        entry(&last.snapshot, &pt.pod_paths[range.end - 1], "memory.stat"),
    ));
    out.push(Finding {
        id: "oom-restart-loop".to_string(),
        severity: Severity::Critical,
        node: r.node.clone(),
        pod_uid: Some(r.uid.clone()),
        bytes: Some(to),
        container_ids: victims,
        title: format!(
            "{}: {} OOM kills while memory held by no container grows",
            pod_label(pt),
            events.len()
        ),
        detail: format!(
            "{} OOM kills hit this pod, and between the capture before the first ({}) and the latest ({}) the pod's unattributed {what} grew from {} to {}. Each restarted container starts with less room: the memory left by the killed ones stays charged to the pod. Fired because there were ≥ {LOOP_MIN_OOMS} kills in one boot while unattributed memory grew by ≥ {}.",
            events.len(),
            time_of(b),
            time_of(last),
            fmt_bytes(from),
            fmt_bytes(to),
            fmt_bytes(ORPHAN_RISE_MIN_BYTES)
        ),
        recommendation: "Break the loop by releasing the orphaned memory (delete the tmpfs files or the pod), then bound the memory volume with sizeLimit or clean it at container start.".to_string(),
        evidence,
        time: first_t,
    });
}

fn oom_rules(infos: &PodInfos, ooms: &[OomEvent], out: &mut Vec<Finding>) {
    let mut by_key: BTreeMap<(String, &'static str, Option<String>), Vec<&OomEvent>> =
        BTreeMap::new();
    for e in ooms {
        let node = e.node.clone().unwrap_or_default();
        let rule = match e.scope {
            OomScope::Pod => "pod-limit-oom",
            OomScope::Container => "container-limit-oom",
            OomScope::Kubepods => "kubepods-oom",
            OomScope::Global => "global-oom",
            OomScope::Other => continue,
        };
        let pod = match e.scope {
            OomScope::Pod | OomScope::Container => e.pod_uid.clone(),
            _ => None,
        };
        by_key.entry((node, rule, pod)).or_default().push(e);
    }
    for ((node, rule, pod), events) in by_key {
        let pt = pod
            .as_ref()
            .and_then(|p| infos.get(&(node.clone(), p.clone())));
        let label = pt
            .map(|p| p.label.clone())
            .or_else(|| pod.as_ref().map(|p| format!("pod {p}")))
            .unwrap_or_else(|| format!("node {node}"));
        let victims: Vec<String> = events
            .iter()
            .filter_map(|e| e.container_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let n = events.len();
        let first = events.iter().filter_map(|e| e.time).min();
        let lastev = events.last().copied();
        let limit = lastev
            .and_then(|e| e.memcg_limit)
            .or_else(|| pt.and_then(|p| p.limit));
        let list = events
            .iter()
            .take(10)
            .map(|e| {
                format!(
                    "{} ({}) at {}",
                    e.comm.as_deref().unwrap_or("?"),
                    e.pid
                        .map(|p| format!("pid {p}"))
                        .unwrap_or_else(|| "pid ?".into()),
                    e.time.map(ts).unwrap_or_else(|| "an unknown time".into())
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let memcgs = |e: &OomEvent| {
            format!(
                "oom_memcg={}, task_memcg={}",
                e.oom_memcg.as_deref().unwrap_or("?"),
                e.task_memcg.as_deref().unwrap_or("?")
            )
        };
        let evidence: Vec<Evidence> = events
            .iter()
            .take(20)
            .map(|e| {
                ev(
                    &format!(
                        "{} {} killed{}",
                        e.time.map(ts).unwrap_or_default(),
                        e.comm.as_deref().unwrap_or("?"),
                        e.pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                    ),
                    format!(
                        "{}; victim anon {} file {} shmem {}",
                        memcgs(e),
                        opt_bytes(e.anon_rss),
                        opt_bytes(e.file_rss),
                        opt_bytes(e.shmem_rss)
                    ),
                    e.source.clone(),
                )
            })
            .collect();
        let (severity, title, detail, rec) = match rule {
            "pod-limit-oom" => {
                let unattributed = pt.and_then(|p| {
                    let t0 = first?;
                    p.unattributed.iter().rev().find(|s| s.0.is_some_and(|x| x < t0))
                });
                (
                    Severity::Critical,
                    format!("{label}: {n} OOM kill(s) by the pod limit, not the container's"),
                    format!(
                        "The kernel killed {list} because the pod cgroup reached its limit{lim}: the OOM report names the pod cgroup as oom_memcg while the victim's task_memcg is a container, so the container's own limit was not what was hit. Everything charged to the pod counts toward that limit, including memory of removed containers (unattributed at the capture before: {un}). Fired on every OOM kill whose limit is the pod cgroup's.",
                        lim = limit.map(|l| format!(" ({})", fmt_bytes(l))).unwrap_or_default(),
                        un = unattributed
                            .map(|s| format!("{} total, {} shmem", opt_bytes(s.1), opt_bytes(s.2)))
                            .unwrap_or_else(|| "not captured".to_string()),
                    ),
                    "Find what the pod holds beyond its live containers (see orphaned-shmem); raising the container limit alone does not help when the pod limit is hit.".to_string(),
                )
            }
            "container-limit-oom" => (
                Severity::Warning,
                format!("{label}: {n} OOM kill(s) at the container's own limit"),
                format!(
                    "The kernel killed {list} because the container cgroup reached its own limit{lim}. Fired on every OOM kill whose limit is a container cgroup's.",
                    lim = limit.map(|l| format!(" ({})", fmt_bytes(l))).unwrap_or_default()
                ),
                "Raise the container's memory limit or reduce its use; check whether it writes to a memory-backed volume (that counts too).".to_string(),
            ),
            "kubepods-oom" => (
                Severity::Critical,
                format!("{label}: {n} OOM kill(s) at node allocatable (kubepods)"),
                format!(
                    "The kernel killed {list} because the kubepods cgroup (node allocatable, or a QoS class) reached its limit{lim}, not a pod's. Fired on every OOM kill whose limit is the kubepods or QoS cgroup.",
                    lim = limit.map(|l| format!(" ({})", fmt_bytes(l))).unwrap_or_default()
                ),
                "Pods on this node together use more than allocatable: set memory limits on unbounded pods, check for orphaned memory in pod cgroups, or reserve less for the system.".to_string(),
            ),
            _ => (
                Severity::Critical,
                format!("{label}: {n} system-wide OOM kill(s)"),
                format!(
                    "The whole machine ran out of memory (no memory cgroup limit involved) and the kernel killed {list}. Fired on every OOM kill without a memcg constraint."
                ),
                "Check node memory: tmpfs and shmem (meminfo Shmem), pods without limits, and system daemons; set kube-reserved/system-reserved and eviction thresholds.".to_string(),
            ),
        };
        out.push(Finding {
            id: rule.to_string(),
            severity,
            node,
            pod_uid: pod,
            bytes: limit,
            container_ids: victims,
            title,
            detail,
            recommendation: rec,
            evidence,
            time: first,
        });
    }
}

fn dying_cgroups(n: &NodeReport, archive: &str, out: &mut Vec<Finding>) {
    let Some(s) = n.samples.last() else { return };
    let Some(live) = s.live_cgroups else { return };
    // cgroup.stat counts dying cgroups exactly; /proc/cgroups counts every memory cgroup
    // on the node while the live count covers only the captured subtrees, so it is
    // context (info) rather than a warning.
    let (count, what, source, exact) = if let Some(d) = s.dying_descendants {
        (
            live.saturating_add(d),
            format!("{d} dying memory cgroups (cgroup.stat nr_dying_descendants) beside {live} live ones captured"),
            format!("{archive}:cgroup/cgroup.stat"),
            true,
        )
    } else if let Some(c) = s.memcg_count {
        (
            c,
            format!("{c} memory cgroups in /proc/cgroups for {live} live ones captured"),
            format!("{archive}:proc/cgroups"),
            false,
        )
    } else {
        return;
    };
    if count <= live.saturating_mul(DYING_RATIO) || count - live <= DYING_MIN_EXCESS {
        return;
    }
    let excess = count - live;
    out.push(Finding {
        id: "dying-cgroups".to_string(),
        severity: if exact { Severity::Warning } else { Severity::Info },
        node: n.name.clone(),
        pod_uid: None,
        bytes: None,
        container_ids: Vec::new(),
        title: format!("node {}: about {excess} removed memory cgroups still alive in the kernel", n.name),
        detail: format!(
            "The kernel holds {what}. A removed cgroup stays (\"dying\") while pages are still charged to it — tmpfs files written by a dead container, page cache — and its charge counts in its parent's totals. Fired because the kernel's count is more than {DYING_RATIO}× the live tree and more than {DYING_MIN_EXCESS} above it (on cgroup v1 the live count covers only the captured subtrees, so this is an upper bound)."
        ),
        recommendation: "Look for pods with orphaned shmem or large unattributed memory; deleting the files (or pods) that hold the pages lets the kernel free the dying cgroups.".to_string(),
        evidence: vec![ev("memory cgroups (kernel) vs live captured", format!("{count} vs {live}"), Some(source))],
        time: s.time,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("7.2.0-1-amd64"), Some((7, 2)));
        assert_eq!(kernel_version("6.18.44-fc-v669\n"), Some((6, 18)));
        assert_eq!(kernel_version("7.1"), Some((7, 1)));
        assert_eq!(kernel_version("10.0.1"), Some((10, 0)));
        assert!(kernel_version("6.12.48+deb13-amd64") < Some(REPARENT_FROM));
        assert_eq!(kernel_version("7"), None);
        assert_eq!(kernel_version("v7.2"), None);
        assert_eq!(kernel_version(""), None);
    }

    #[test]
    fn slope_fits_a_line() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64 * 60.0, 1000.0 + i as f64 * 600.0))
            .collect();
        assert!((slope(&pts).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(slope(&[(0.0, 1.0)]), None);
        assert_eq!(slope(&[(5.0, 1.0), (5.0, 2.0)]), None);
    }
}
