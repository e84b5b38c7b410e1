//! Stage 5 of the pipeline, the rules: each rule family turns a pod's timeline (with its
//! attribution) or the deduplicated OOM kills into [`Finding`]s that say what was seen,
//! why the rule fired and what to do, with evidence pointing at `<archive>:<entry>`.
//!
//! One file per rule or family; [`RuleId`] names them all, in the order a reader meets
//! them; every threshold is in [`thresholds`] (documented in `docs/findings.md`). To add
//! a rule: a file here, a [`RuleId`] variant (in `schema::report`, beside the report's
//! other enumerations), a call in [`pod_rules`] or [`fleet_rules`].

mod dying_cgroups;
mod emptydir;
mod hidden_from_top;
mod near_limit;
mod oom;
pub mod orphaned_shmem;
mod outside_pod;
pub mod thresholds;
mod util;

use std::collections::BTreeMap;

use jiff::Timestamp;
use podmem_schema::oom::OomEvent;
pub use podmem_schema::report::RuleId;
use podmem_schema::report::{Finding, NodeReport};

pub use crate::attribution::REPARENT_FROM;
pub use near_limit::slope;
pub use thresholds::*;

use crate::timeline::PodTimeline;
use util::pod_label;

/// The rules about one pod's timeline (its node's report gives node memory and the
/// archive of each sample).
pub fn pod_rules(pt: &PodTimeline, node: Option<&NodeReport>, ooms: &[OomEvent]) -> Vec<Finding> {
    let mut out = Vec::new();
    outside_pod::container_outside_pod(pt, node, &mut out);
    orphaned_shmem::orphaned_shmem(pt, node, &mut out);
    hidden_from_top::hidden_from_top(pt, node, &mut out);
    emptydir::emptydir_unbounded(pt, node, &mut out);
    near_limit::near_limit(pt, node, &mut out);
    oom::oom_restart_loop(pt, node, ooms, &mut out);
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
    oom::oom_rules(infos, ooms, &mut out);
    for n in nodes {
        dying_cgroups::dying_cgroups(
            n,
            last_archive.get(&n.name).map(String::as_str).unwrap_or(""),
            &mut out,
        );
    }
    out
}

/// Most severe first; within a severity by [`RuleId`] order, then the largest amount,
/// then by node and pod.
pub fn sort(f: &mut [Finding]) {
    let rank = |f: &Finding| f.id.rule().map_or(RuleId::ALL.len(), |r| r as usize);
    f.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| rank(a).cmp(&rank(b)))
            .then_with(|| b.bytes.cmp(&a.bytes))
            .then_with(|| a.node.cmp(&b.node))
            .then_with(|| a.pod_uid.cmp(&b.pod_uid))
            .then_with(|| a.id.cmp(&b.id))
    });
}
