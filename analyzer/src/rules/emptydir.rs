//! `memory-emptydir-unbounded`: a memory-backed emptyDir whose tmpfs size is not bounded
//! below the pod limit, node allocatable or node memory.

use podmem_schema::report::{Finding, NodeReport, Severity, VolumePlugin};
use podmem_schema::units::fmt_bytes;

use super::thresholds::*;
use super::util::*;
use super::RuleId;
use crate::timeline::PodTimeline;

pub(super) fn emptydir_unbounded(
    pt: &PodTimeline,
    node: Option<&NodeReport>,
    out: &mut Vec<Finding>,
) {
    let r = &pt.report;
    let Some(last) = r.samples.last() else { return };
    let ns = node.and_then(|n| n.samples.last());
    let allocatable = ns.and_then(|s| s.kubepods_limit);
    let mem_total = ns.and_then(|s| s.mem_total);
    for v in r
        .volumes
        .iter()
        .filter(|v| v.plugin == VolumePlugin::EmptyDir)
    {
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
            id: RuleId::MemoryEmptydirUnbounded.into(),
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
                    Some(format!(
                        "{}:{}",
                        archive(node, last),
                        podmem_schema::snapshot::TMPFS_ENTRY
                    )),
                ),
                ev("pod limit", opt_bytes(r.limit), None),
            ],
            time: last.time,
        });
    }
}
