//! `container-outside-pod-cgroup`: a pod's container whose cgroup is not under the pod's
//! cgroup, so the pod limit does not bound it.

use podmem_schema::report::{Evidence, Finding, NodeReport, Severity};
use podmem_schema::units::fmt_bytes;

use super::thresholds::*;
use super::util::*;
use super::RuleId;
use crate::timeline::PodTimeline;

pub(super) fn container_outside_pod(
    pt: &PodTimeline,
    node: Option<&NodeReport>,
    out: &mut Vec<Finding>,
) {
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
                entry(archive(node, s), path, "memory.stat"),
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
        pod_path.and_then(|p| entry(archive(node, s), p, "memory.stat")),
    ));
    let outside_usage = crate::attribution::sum_opt(
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
        id: RuleId::ContainerOutsidePodCgroup.into(),
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
