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

/// Streaming filter the collector uses to keep only what the OOM parser needs from a
/// kernel log, so that [`parse_log`] on the kept text finds exactly the events it finds
/// on the whole log.
///
/// It runs the parser itself: raw lines are grouped into records (a prefixed line and
/// its continuation lines) and a record is kept when one of its lines changes the
/// parser's state (starts, extends or ends an OOM report). A run of dropped records is
/// replaced by one empty line, which keeps the next record's reading unchanged. A block
/// without a kill line takes at most [`LogFilter::MAX_BLOCK_LINES`] lines.
#[derive(Default)]
pub struct LogFilter {
    asm: logparse::Assembler,
    parser: Option<logparse::Parser>,
    /// Raw bytes of the record being read.
    pending: Vec<u8>,
    /// Records were dropped since the last kept one.
    dropped: bool,
    /// A record was kept (the separator is needed only after one: `out` may be a
    /// fresh buffer on each call).
    kept_any: bool,
}

impl std::fmt::Debug for LogFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFilter")
            .field("blocks", &self.blocks())
            .finish_non_exhaustive()
    }
}

impl LogFilter {
    /// Longest block without a kill line (a full global OOM task table on a big node is
    /// long).
    pub const MAX_BLOCK_LINES: usize = logparse::MAX_BLOCK_LINES;

    /// Feeds one raw line (with or without its `\n`), appending to `out` what is kept
    /// (whole lines, each ending in `\n`).
    pub fn push(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        let parser = self
            .parser
            .get_or_insert_with(|| logparse::Parser::new(ParseOptions::default()));
        if let Some(done) = self.asm.push(&text, &ParseOptions::default()) {
            let mut keep = false;
            for l in done {
                keep |= parser.line(l);
            }
            // Events are counted, not needed here.
            parser.events.clear();
            self.settle(keep, out);
        }
        self.pending.extend_from_slice(raw);
        self.pending.push(b'\n');
    }

    /// Ends the input: decides on the last record.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let parser = self
            .parser
            .get_or_insert_with(|| logparse::Parser::new(ParseOptions::default()));
        let mut keep = false;
        for l in self.asm.finish() {
            keep |= parser.line(l);
        }
        parser.flush();
        parser.events.clear();
        self.settle(keep, out);
    }

    fn settle(&mut self, keep: bool, out: &mut Vec<u8>) {
        if self.pending.is_empty() {
            return;
        }
        if keep {
            if self.dropped && self.kept_any {
                out.push(b'\n');
            }
            out.extend_from_slice(&self.pending);
            self.dropped = false;
            self.kept_any = true;
        } else {
            self.dropped = true;
        }
        self.pending.clear();
    }

    /// Number of OOM reports (blocks giving at least one event) seen so far.
    pub fn blocks(&self) -> u64 {
        self.parser.as_ref().map_or(0, |p| p.blocks)
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
    if container_id.is_none() && pod_uid.is_none() {
        container_id = [task.as_deref(), oom.as_deref()]
            .into_iter()
            .flatten()
            .find_map(docker_container_id);
    }
    (scope, pod_uid, container_id)
}

/// The container id of a plain docker memcg outside any pod (docker hosts, and
/// Kubernetes before 1.6 with the cgroupfs driver): `/docker/<64 hex>` or systemd's
/// `/system.slice/docker-<64 hex>.scope`, the last such component.
fn docker_container_id(path: &str) -> Option<String> {
    let is_id = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    comps.iter().enumerate().rev().find_map(|(i, c)| {
        let id = if i > 0 && comps[i - 1] == "docker" && is_id(c) {
            *c
        } else {
            c.strip_prefix("docker-")
                .and_then(|r| r.strip_suffix(".scope"))
                .filter(|r| is_id(r))?
        };
        Some(id.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_keeps_whole_block_and_nothing_else() {
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
        let mut f = LogFilter::default();
        let mut out = Vec::new();
        for l in lines {
            f.push(l.as_bytes(), &mut out);
        }
        f.finish(&mut out);
        let want: String = lines[1..7].iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), want);
        assert_eq!(f.blocks(), 1);
    }
}
