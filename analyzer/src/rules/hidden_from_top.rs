//! `hidden-from-kubectl-top`: pod working set well above the sum of its containers'
//! (what `kubectl top pod --containers` shows).

use podmem_schema::report::{Finding, NodeReport, Severity};
use podmem_schema::units::fmt_bytes;

use super::thresholds::*;
use super::util::*;
use super::RuleId;
use crate::timeline::PodTimeline;

pub(super) fn hidden_from_top(pt: &PodTimeline, node: Option<&NodeReport>, out: &mut Vec<Finding>) {
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
            entry(archive(node, last), &pt.pod_paths[i], "memory.stat"),
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
                    archive(node, last),
                    podmem_schema::snapshot::SUMMARY_ENTRY
                )),
            ));
        }
    }
    out.push(Finding {
        id: RuleId::HiddenFromKubectlTop.into(),
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
