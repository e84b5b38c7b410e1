//! OOM kills across snapshots: deduplicated (consecutive snapshots' kernel-log windows
//! overlap), ordered by time, and tied to the archive's cgroup paths.
//!
//! Two events are the same kill when node, boot, pid and process name agree and their
//! uptimes agree within a second (a wall-clock jump does not move them), or, without
//! uptimes, their times are within [`SAME_KILL_WINDOW_SECS`] (journal and kmsg clocks
//! differ a little; pids are not reused that fast).

use podmem_schema::oom::OomEvent;

/// Most OOM events kept from one snapshot: the newest. A node in an OOM loop logs
/// hundreds of kills a day; thousands in one snapshot are a flood, and each event holds
/// its kernel excerpt.
pub const MAX_OOMS_PER_SNAPSHOT: usize = 500;
/// Most OOM events in one report.
pub const MAX_OOMS_PER_REPORT: usize = 1000;
/// Newest events of every pod kept before the newest overall fill the report, so a
/// pod's findings keep their evidence however many kills other pods had.
pub const KEEP_PER_POD: usize = 5;

/// Keeps the newest [`MAX_OOMS_PER_SNAPSHOT`] of one snapshot's events (in log order:
/// within an entry the log is chronological); returns how many were dropped.
pub fn cap_snapshot(events: &mut Vec<OomEvent>) -> u64 {
    if events.len() <= MAX_OOMS_PER_SNAPSHOT {
        return 0;
    }
    // Timed events by time (stable, so log order breaks ties), the time-less ones
    // count as the oldest.
    events.sort_by_key(|e| e.time);
    let drop = events.len() - MAX_OOMS_PER_SNAPSHOT;
    events.drain(..drop);
    // The flood's capacity would stay with the snapshot until the report is built.
    events.shrink_to_fit();
    drop as u64
}

/// Caps deduplicated events (ordered as [`dedup`] leaves them) at `max`: first the
/// [`KEEP_PER_POD`] newest of every pod (by node and pod UID; events of no pod count
/// as one pod per node), newest first, then the newest of the rest. Order is kept.
/// Returns the kept events and how many were dropped.
pub fn cap_report(events: Vec<OomEvent>, max: usize) -> (Vec<OomEvent>, u64) {
    cap_by(events, max, |e| e)
}

/// [`cap_report`] of events with their boots.
pub fn cap_report_boot(events: Vec<BootEvent>, max: usize) -> (Vec<BootEvent>, u64) {
    cap_by(events, max, |b| &b.event)
}

fn cap_by<T>(events: Vec<T>, max: usize, ev: impl Fn(&T) -> &OomEvent) -> (Vec<T>, u64) {
    if events.len() <= max {
        return (events, 0);
    }
    let mut per_pod: std::collections::HashMap<(Option<&str>, Option<&str>), usize> =
        std::collections::HashMap::new();
    let mut pinned = vec![false; events.len()];
    for (i, e) in events.iter().map(&ev).enumerate().rev() {
        let n = per_pod
            .entry((e.node.as_deref(), e.pod_uid.as_deref()))
            .or_default();
        if *n < KEEP_PER_POD {
            *n += 1;
            pinned[i] = true;
        }
    }
    let mut keep = vec![false; events.len()];
    let mut left = max;
    for pass in [true, false] {
        for i in (0..events.len()).rev() {
            if left == 0 {
                break;
            }
            if !keep[i] && pinned[i] == pass {
                keep[i] = true;
                left -= 1;
            }
        }
    }
    let dropped = keep.iter().filter(|k| !**k).count() as u64;
    let kept = events
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect();
    (kept, dropped)
}

/// Seconds within which two reports of one pid/comm are one kill.
pub const SAME_KILL_WINDOW_SECS: i64 = 5;

/// An OOM event with the boot it belongs to.
#[derive(Debug, Clone)]
pub struct BootEvent {
    /// Boot id of the snapshot it was read from.
    pub boot: Option<String>,
    /// The archive it was read from: of two reports of one kill, the one from the first
    /// archive (by name) is kept.
    pub archive: String,
    /// The event.
    pub event: OomEvent,
}

/// Deduplicates and orders events (time-less ones last, in reading order).
pub fn dedup(events: Vec<BootEvent>) -> Vec<OomEvent> {
    dedup_boot(events).into_iter().map(|k| k.event).collect()
}

/// [`dedup`] keeping each event's boot and archive; events are read in archive order
/// (stable: one archive's events stay in log order) whatever order they came in.
pub fn dedup_boot(mut events: Vec<BootEvent>) -> Vec<BootEvent> {
    events.sort_by(|a, b| a.archive.cmp(&b.archive));
    events.sort_by(|a, b| match (a.event.time, b.event.time) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let mut kept: Vec<BootEvent> = Vec::new();
    for e in events {
        let same = kept.iter().rev().take(64).any(|k| same_kill(k, &e));
        if !same {
            kept.push(e);
        }
    }
    kept
}

fn same_kill(a: &BootEvent, b: &BootEvent) -> bool {
    let (x, y) = (&a.event, &b.event);
    if a.boot != b.boot || x.node != y.node || x.pid != y.pid || x.comm != y.comm {
        return false;
    }
    // A report cut before its kill line names no victim: only its memcgs tell two apart.
    if x.pid.is_none() && (x.oom_memcg != y.oom_memcg || x.task_memcg != y.task_memcg) {
        return false;
    }
    // Uptime first: within one boot it does not move when the wall clock jumps (and
    // kmsg wall times are derived from the boot time each snapshot read).
    if let (Some(u1), Some(u2)) = (x.uptime_secs, y.uptime_secs) {
        return (u1 - u2).abs() < 1.0;
    }
    match (x.time, y.time) {
        (Some(t1), Some(t2)) => (t1.as_second() - t2.as_second()).abs() <= SAME_KILL_WINDOW_SECS,
        // Nothing to tell them apart by: one report of the same kill, as overlapping
        // windows would produce.
        _ => x.oom_memcg == y.oom_memcg && x.task_memcg == y.task_memcg,
    }
}

/// The archive path (`<rel>`, relative to the captured cgroup root) of a memcg path as
/// the kernel prints it, given the root's own path in the hierarchy; None when the memcg
/// lies outside the captured root.
pub fn archive_cgroup_path(memcg: &str, root_in_hierarchy: &str) -> Option<String> {
    let root = root_in_hierarchy.trim_end_matches('/');
    let rest = if root.is_empty() {
        memcg
    } else {
        let r = memcg.strip_prefix(root)?;
        if !(r.is_empty() || r.starts_with('/')) {
            return None;
        }
        r
    };
    Some(rest.trim_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use podmem_schema::oom::OomScope;

    fn ev(pid: u32, secs: i64) -> BootEvent {
        BootEvent {
            boot: Some("b".into()),
            archive: String::new(),
            event: OomEvent {
                node: Some("n".into()),
                time: Some(jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()),
                uptime_secs: None,
                pid: Some(pid),
                comm: Some("java".into()),
                invoker: None,
                anon_rss: None,
                file_rss: None,
                shmem_rss: None,
                total_vm: None,
                oom_score_adj: None,
                constraint: None,
                oom_memcg: None,
                task_memcg: None,
                scope: OomScope::Pod,
                pod_uid: None,
                container_id: None,
                memcg_usage: None,
                memcg_limit: None,
                excerpt: vec![],
                source: None,
            },
        }
    }

    #[test]
    fn overlapping_reports_are_one_kill() {
        let mut other_boot = ev(1, 0);
        other_boot.boot = Some("c".into());
        let out = dedup(vec![ev(1, 2), ev(1, 0), ev(2, 0), ev(1, 600), other_boot]);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].pid, Some(1));
    }

    #[test]
    fn a_clock_jump_does_not_double_a_kill() {
        let mut a = ev(7, 0);
        a.event.uptime_secs = Some(100.5);
        let mut b = ev(7, 3600);
        b.event.uptime_secs = Some(100.5);
        assert_eq!(dedup(vec![a, b]).len(), 1);
    }

    #[test]
    fn reports_without_a_victim_differ_by_their_memcgs() {
        let cut = |memcg: &str| {
            let mut e = ev(0, 0);
            e.event.pid = None;
            e.event.comm = None;
            e.event.uptime_secs = Some(62279.4);
            e.event.oom_memcg = Some(memcg.into());
            e.event.task_memcg = Some(memcg.into());
            e
        };
        assert_eq!(dedup(vec![cut("/docker/a"), cut("/docker/b")]).len(), 2);
        assert_eq!(dedup(vec![cut("/docker/a"), cut("/docker/a")]).len(), 1);
    }

    #[test]
    fn paths() {
        assert_eq!(
            archive_cgroup_path("/kubepods/pod1/c", "/").as_deref(),
            Some("kubepods/pod1/c")
        );
        assert_eq!(
            archive_cgroup_path("/a/b/kubepods/x", "/a/b").as_deref(),
            Some("kubepods/x")
        );
        assert_eq!(archive_cgroup_path("/a/bc/kubepods", "/a/b"), None);
        assert_eq!(archive_cgroup_path("/a/b", "/a/b").as_deref(), Some(""));
    }
}
