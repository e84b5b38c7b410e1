//! `orphaned-shmem`: shmem charged to the pod cgroup that no live container holds
//! (the pod's unattributed shmem), above a threshold in the
//! last boot; which removed containers held it and where the kernel keeps it now.

use std::collections::BTreeSet;

use jiff::Timestamp;
use podmem_schema::report::{Finding, NodeReport, Severity, VolumePlugin};
use podmem_schema::units::fmt_bytes;

use super::thresholds::*;
use super::util::*;
use super::RuleId;
use crate::attribution::{where_held, Held};
use crate::timeline::PodTimeline;

pub(super) fn orphaned_shmem(pt: &PodTimeline, node: Option<&NodeReport>, out: &mut Vec<Finding>) {
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
            entry(archive(node, last), &pt.pod_paths[last_i], "memory.stat"),
        ),
        ev(
            "Σ live containers' shmem",
            opt_bytes(crate::attribution::sum_opt(
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
        // A pair around samples a long series left out was never consecutive.
        if !pt.adjacent(i) {
            continue;
        }
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
                    .and_then(|p| entry(archive(node, a), p, "memory.stat")),
            ));
        }
        evidence.push(ev(
            &format!("unattributed shmem {} → {}", time_of(a), time_of(b)),
            format!("{} → {}", fmt_bytes(before), fmt_bytes(after)),
            entry(archive(node, b), &pt.pod_paths[i], "memory.stat"),
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
                .any(|v| &v.name == n && v.plugin == VolumePlugin::EmptyDir)
        })
        .collect();
    for (n, u) in &volumes {
        evidence.push(ev(
            &format!("tmpfs volume `{n}` used"),
            fmt_bytes(*u),
            Some(format!(
                "{}:{}",
                archive(node, last),
                podmem_schema::snapshot::TMPFS_ENTRY
            )),
        ));
    }
    if let Some(Some(d)) = pt.dying.get(last_i) {
        evidence.push(ev(
            "dying descendants of the pod cgroup",
            d.to_string(),
            entry(archive(node, last), &pt.pod_paths[last_i], "cgroup.stat"),
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
            entry(archive(node, last), &pt.pod_paths[last_i], "memory.stat"),
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
        id: RuleId::OrphanedShmem.into(),
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
