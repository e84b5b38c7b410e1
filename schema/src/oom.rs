//! Kernel OOM-kill reports in any kernel log text (dmesg, `dmesg -T`, journalctl short /
//! iso / json, syslog and kern.log, raw `/dev/kmsg` records, pasted and wrapped text)
//! → [`OomEvent`]s, classified by where the limit was hit.
//!
//! Conventions of [`parse_log`]: sizes are bytes (the kernel prints kB); `dmesg -T` and
//! syslog times carry no zone and are taken as UTC; syslog times without a year get
//! [`ParseOptions::year`] (no year → `time` None); an event whose kill line says
//! `Memory cgroup out of memory` but whose memcg was cut from the excerpt is
//! [`OomScope::Other`], not global; when the scope line is missing the first `Memory
//! cgroup stats for` path stands in for `task_memcg` (pod and container, never scope).

mod logparse;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where the memory limit that triggered an OOM kill sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OomScope {
    /// The container's own cgroup limit.
    Container,
    /// The pod cgroup's limit (Σ of containers, including dead containers' charges).
    Pod,
    /// The kubepods cgroup (node allocatable) or a QoS cgroup.
    Kubepods,
    /// No memcg: the whole machine ran out.
    Global,
    /// A memcg outside the Kubernetes tree, or unknown.
    Other,
}

/// One OOM kill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OomEvent {
    /// Node it happened on (from the snapshot; None for bare logs).
    pub node: Option<String>,
    /// Wall-clock time, when the log gives one (or kmsg + boot time).
    pub time: Option<Timestamp>,
    /// Seconds since boot, when printed (`[12345.678901]`).
    pub uptime_secs: Option<f64>,
    /// Killed pid.
    pub pid: Option<u32>,
    /// Killed process name.
    pub comm: Option<String>,
    /// Process that invoked the OOM killer.
    pub invoker: Option<String>,
    /// Victim anon-rss, bytes.
    pub anon_rss: Option<u64>,
    /// Victim file-rss, bytes.
    pub file_rss: Option<u64>,
    /// Victim shmem-rss, bytes.
    pub shmem_rss: Option<u64>,
    /// Victim total-vm, bytes.
    pub total_vm: Option<u64>,
    /// Victim oom_score_adj.
    pub oom_score_adj: Option<i64>,
    /// `CONSTRAINT_MEMCG`, `CONSTRAINT_NONE`...
    pub constraint: Option<String>,
    /// Cgroup whose limit was hit (kernel path, as printed).
    pub oom_memcg: Option<String>,
    /// Victim's cgroup (kernel path, as printed).
    pub task_memcg: Option<String>,
    /// Classification of `oom_memcg`.
    pub scope: OomScope,
    /// Pod of the victim (dashed UID).
    pub pod_uid: Option<String>,
    /// Container of the victim (full id).
    pub container_id: Option<String>,
    /// memcg usage printed in the report (`memory: usage X kB`), bytes.
    pub memcg_usage: Option<u64>,
    /// memcg limit printed in the report, bytes.
    pub memcg_limit: Option<u64>,
    /// The kernel lines of this OOM block, as found (prefixes stripped).
    pub excerpt: Vec<String>,
    /// Where it was read (file, or `archive:entry`).
    pub source: Option<String>,
}

/// Streaming filter the collector uses to keep only OOM blocks from a kernel log: every
/// line from `invoked oom-killer` to the kill line (`Killed process`, `oom_reaper`)
/// inclusive, plus stray kill lines outside a block. Bounded: a block longer than
/// [`BlockFilter::MAX_BLOCK_LINES`] stops being kept.
#[derive(Debug, Default)]
pub struct BlockFilter {
    in_block: bool,
    lines: usize,
    blocks: u64,
}

impl BlockFilter {
    /// Longest block kept (a full global OOM task table on a big node is long).
    pub const MAX_BLOCK_LINES: usize = 5000;

    /// Whether to keep this line (message text without timestamp prefixes).
    pub fn keep(&mut self, text: &str) -> bool {
        if text.contains("invoked oom-killer") {
            self.in_block = true;
            self.lines = 1;
            self.blocks += 1;
            return true;
        }
        let kill_line = text.contains("Killed process")
            || text.contains("oom_reaper: reaped process")
            || text.contains("oom-kill:constraint=")
            || text.contains("Memory cgroup out of memory")
            || text.contains("Out of memory")
            || text.contains("are going to be killed due to memory.oom.group");
        if self.in_block {
            self.lines += 1;
            if text.contains("oom_reaper: reaped process") || text.contains("Killed process") {
                // The kill ends the block; oom_reaper follows on its own line anyway.
                self.in_block = false;
                return true;
            }
            if self.lines > Self::MAX_BLOCK_LINES {
                self.in_block = false;
                return kill_line;
            }
            return true;
        }
        kill_line
    }

    /// Number of blocks started so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }
}

/// Context for turning log text into events.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Boot time, to turn kmsg microseconds or dmesg uptime into wall time.
    pub boot_time: Option<Timestamp>,
    /// Year for syslog timestamps that carry none (`Dec  7 00:05:14`).
    pub year: Option<i16>,
    /// Node to stamp on events.
    pub node: Option<String>,
    /// Source name to stamp on events.
    pub source: Option<String>,
}

/// Finds every OOM kill in kernel log text of any supported form.
///
/// One event per killed process (a `memory.oom.group` kill yields one per member, all
/// sharing `oom_memcg`); a kill line printed twice, or re-quoted by another program
/// (only kernel lines count), yields one event. A block whose kill line is missing
/// (cut excerpt) still yields an event when it names the victim or its cgroup (`Kill
/// process`, `oom-kill:`, `Task in … killed`). Never panics; linear in the input.
pub fn parse_log(text: &str, opts: &ParseOptions) -> Vec<OomEvent> {
    logparse::parse(text, opts)
}

/// Classifies an OOM by its `oom_memcg` (and `task_memcg`) and finds the victim's pod
/// UID and container id; `constraint` `CONSTRAINT_NONE` or no memcg means global.
///
/// Whitespace inside the paths is ignored for the classification (a paste artifact:
/// Kubernetes cgroup names never contain spaces). Pod and container come from
/// `task_memcg`, falling back to `oom_memcg`.
pub fn classify(
    oom_memcg: Option<&str>,
    task_memcg: Option<&str>,
    constraint: Option<&str>,
) -> (OomScope, Option<String>, Option<String>) {
    use crate::parse::cgroup_path::{identify, Level};
    let squash = |p: &str| -> String { p.chars().filter(|c| !c.is_whitespace()).collect() };
    let oom = oom_memcg.map(squash).filter(|p| !p.is_empty());
    let task = task_memcg.map(squash).filter(|p| !p.is_empty());
    let global = constraint.is_some_and(|c| c.trim() == "CONSTRAINT_NONE");
    let scope = match (&oom, global) {
        (_, true) | (None, _) => OomScope::Global,
        (Some(o), false) => match identify(o).level {
            Level::Container => OomScope::Container,
            Level::Pod => OomScope::Pod,
            Level::Kubepods | Level::QosClass => OomScope::Kubepods,
            Level::Other => OomScope::Other,
        },
    };
    let mut pod_uid = None;
    let mut container_id = None;
    for p in [task.as_deref(), oom.as_deref()].into_iter().flatten() {
        let id = identify(p);
        if pod_uid.is_none() {
            pod_uid = id.pod_uid.clone();
        }
        if container_id.is_none() && id.pod_uid == pod_uid {
            container_id = id.container_id;
        }
    }
    (scope, pod_uid, container_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_filter_keeps_whole_block_and_nothing_else() {
        let lines = [
            "eth0: link up",
            "java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=985",
            "CPU: 1 PID: 42 Comm: java",
            "memory: usage 102400kB, limit 102400kB, failcnt 12",
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/p,task_memcg=/p/c,task=java,pid=42,uid=0",
            "Memory cgroup out of memory: Killed process 42 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB",
            "oom_reaper: reaped process 42 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
            "eth0: link down",
        ];
        let mut f = BlockFilter::default();
        let kept: Vec<bool> = lines.iter().map(|l| f.keep(l)).collect();
        assert_eq!(kept, [false, true, true, true, true, true, true, false]);
        assert_eq!(f.blocks(), 1);
    }
}
