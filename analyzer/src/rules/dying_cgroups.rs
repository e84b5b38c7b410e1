//! `dying-cgroups`: many more memory cgroups in the kernel than in the live tree.

use podmem_schema::report::{Finding, NodeReport, Severity};

use super::thresholds::*;
use super::util::*;
use super::RuleId;

pub(super) fn dying_cgroups(n: &NodeReport, archive: &str, out: &mut Vec<Finding>) {
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
        id: RuleId::DyingCgroups.into(),
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
