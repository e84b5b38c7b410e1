//! The OOM rules: `oom-restart-loop` (repeated kills in one pod) and one finding per
//! (node, scope, pod) of kernel OOM kills: `pod-limit-oom`, `container-limit-oom`,
//! `kubepods-oom`, `global-oom`.

use std::collections::{BTreeMap, BTreeSet};

use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::{Evidence, Finding, NodeReport, PodSample, Severity};
use podmem_schema::units::fmt_bytes;

use super::thresholds::*;
use super::util::*;
use super::{PodInfos, RuleId};
use crate::timeline::PodTimeline;

pub(super) fn oom_restart_loop(
    pt: &PodTimeline,
    node: Option<&NodeReport>,
    ooms: &[OomEvent],
    out: &mut Vec<Finding>,
) {
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
    let victims = victim_ids(events.iter().copied());
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
        entry(
            archive(node, last),
            &pt.pod_paths[range.end - 1],
            "memory.stat",
        ),
    ));
    out.push(Finding {
        id: RuleId::OomRestartLoop.into(),
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

pub(super) fn oom_rules(infos: &PodInfos, ooms: &[OomEvent], out: &mut Vec<Finding>) {
    let mut by_key: BTreeMap<(String, RuleId, Option<String>), Vec<&OomEvent>> = BTreeMap::new();
    for e in ooms {
        let node = e.node.clone().unwrap_or_default();
        let rule = match e.scope {
            OomScope::Pod => RuleId::PodLimitOom,
            OomScope::Container => RuleId::ContainerLimitOom,
            OomScope::Kubepods => RuleId::KubepodsOom,
            OomScope::Global => RuleId::GlobalOom,
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
        let victims = victim_ids(events.iter().copied());
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
            RuleId::PodLimitOom => {
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
            RuleId::ContainerLimitOom => (
                Severity::Warning,
                format!("{label}: {n} OOM kill(s) at the container's own limit"),
                format!(
                    "The kernel killed {list} because the container cgroup reached its own limit{lim}. Fired on every OOM kill whose limit is a container cgroup's.",
                    lim = limit.map(|l| format!(" ({})", fmt_bytes(l))).unwrap_or_default()
                ),
                "Raise the container's memory limit or reduce its use; check whether it writes to a memory-backed volume (that counts too).".to_string(),
            ),
            RuleId::KubepodsOom => (
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
            id: rule.into(),
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

/// The killed containers' ids, sorted and once each.
fn victim_ids<'a>(events: impl Iterator<Item = &'a OomEvent>) -> Vec<String> {
    events
        .filter_map(|e| e.container_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}
