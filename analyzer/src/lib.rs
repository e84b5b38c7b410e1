//! podmem-analyzer as a library: the pipeline from snapshot archives to a [`Report`]
//! (`podmem-report/2`), one module per stage, data flowing one way (`docs/architecture.md`
//! draws it); only the binary touches the command line and output files.
//!
//! 1. read, [`load`] (with `podmem_schema::tar`): archives, bundles and directories,
//!    untrusted.
//! 2. model, [`model`]: one snapshot parsed into pods, containers and node figures.
//! 3. timeline, [`timeline`]: snapshots folded per node and pod as they are read, in
//!    bounded memory; [`ooms`]: OOM kills deduplicated across snapshots.
//! 4. attribution, [`attribution`]: pod − Σ live children per stat, and where the rest
//!    is held.
//! 5. rules and their words, [`rules`]: one file per rule family; the orphaned pod
//!    memory podmem started from is [`rules::orphaned_shmem`].
//! 6. render: `podmem_reports` (JSON streamed by [`Prepared::write_json`]).
//!
//! [`export`] writes the report's data as Parquet tables for DuckDB, Spark and other
//! engines. [`names`] puts real names back into a report of redacted snapshots (`--names`).

pub mod attribution;
mod bundles;
pub mod export;
pub mod load;
pub mod model;
pub mod names;
pub mod ooms;
pub mod rules;
pub mod timeline;

use std::io::Read;
use std::path::PathBuf;

use jiff::Timestamp;
use podmem_schema::oom::{self, OomEvent};
use podmem_schema::report::{
    InputKind, InputReport, InputStatus, OomOmitted, Report, REPORT_FORMAT,
};

use crate::load::{Limits, SinkResult};

/// Version stamped on reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Analyzes every input and assembles the whole report in memory (for the text and HTML
/// renderers). Never fails: unusable inputs are listed with their problems.
pub fn analyze(paths: &[PathBuf], limits: &Limits, now: Timestamp) -> Report {
    complete(prepare(paths, limits, now))
}

/// Builds every pod of a prepared analysis and returns the whole report.
pub fn complete(mut p: Prepared) -> Report {
    let mut pods = Vec::with_capacity(p.builder.remaining());
    while let Some(pod) = p.next_pod() {
        pods.push(pod);
    }
    let findings = p.finish();
    let mut report = p.head;
    report.pods = pods;
    report.findings = findings;
    report
}

/// An analysis under way: everything but the pods and the findings is in `head`; pods
/// are built one at a time by [`Prepared::next_pod`], and [`Prepared::finish`] gives
/// the findings once every pod was seen.
pub struct Prepared {
    /// The report without pods and findings.
    pub head: Report,
    builder: timeline::Builder,
    last_archive: std::collections::BTreeMap<String, String>,
    infos: rules::PodInfos,
    findings: Vec<podmem_schema::report::Finding>,
    /// Pods left out by [`Prepared::keep_pods`], and how many there were before.
    pub pods_left_out: (u64, u64),
}

/// Which snapshots a report covers: its nodes and capture times. Applied as each
/// snapshot is read, before it is parsed.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Node names kept (empty: every node).
    pub nodes: Vec<String>,
    /// Snapshots captured at or after this time.
    pub since: Option<Timestamp>,
    /// Snapshots captured at or before this time.
    pub until: Option<Timestamp>,
    /// Pods kept, by name, UID (dashed or underscored) or `namespace/name` (empty:
    /// every pod).
    pub pods: Vec<String>,
    /// Namespaces whose pods are kept (empty: every namespace).
    pub namespaces: Vec<String>,
}

impl Filter {
    /// Whether a snapshot with this manifest is in the report.
    pub fn keeps(&self, m: &podmem_schema::snapshot::Manifest) -> bool {
        (self.nodes.is_empty() || self.nodes.contains(&m.node))
            && self.since.is_none_or(|t| m.captured_at >= t)
            && self.until.is_none_or(|t| m.captured_at <= t)
    }

    /// Whether a pod is in the report, from its dashed UID and every (namespace, name)
    /// the snapshots give it: one of `pods` and one of `namespaces` must match.
    pub fn keeps_pod(&self, uid: &str, names: &[(Option<&str>, Option<&str>)]) -> bool {
        let pod_ok = self.pods.is_empty()
            || self.pods.iter().any(|want| {
                *want == uid
                    || want.replace('_', "-") == uid
                    || names.iter().any(|(ns, name)| match (ns, name) {
                        (_, Some(n)) if n == want => true,
                        (Some(ns), Some(n)) => want
                            .split_once('/')
                            .is_some_and(|(wns, wn)| wns == *ns && wn == *n),
                        _ => false,
                    })
            });
        let ns_ok = self.namespaces.is_empty()
            || names
                .iter()
                .any(|(ns, _)| ns.is_some_and(|ns| self.namespaces.iter().any(|w| w == ns)));
        pod_ok && ns_ok
    }

    /// Whether any pod filter is set.
    pub fn filters_pods(&self) -> bool {
        !self.pods.is_empty() || !self.namespaces.is_empty()
    }
}

/// Loads and parses every input, folds the snapshots by node, and finds the OOM kills.
pub fn prepare(paths: &[PathBuf], limits: &Limits, now: Timestamp) -> Prepared {
    prepare_filtered(paths, limits, now, &Filter::default()).0
}

/// [`prepare`] of the snapshots and pods `filter` keeps; also says how many snapshots
/// it left out (read and valid, but outside the filter). The pods left out are counted
/// in [`Prepared::pods_left_out`].
pub fn prepare_filtered(
    paths: &[PathBuf],
    limits: &Limits,
    now: Timestamp,
    filter: &Filter,
) -> (Prepared, u64) {
    prepare_with(paths, limits, now, filter, timeline::Budget::default())
}

/// [`prepare_filtered`] keeping what `budget` allows of long series
/// ([`timeline::Budget::ALL`]: every sample).
pub fn prepare_with(
    paths: &[PathBuf],
    limits: &Limits,
    now: Timestamp,
    filter: &Filter,
    budget: timeline::Budget,
) -> (Prepared, u64) {
    prepare_tapped(paths, limits, now, filter, timeline::Fold::new(budget))
}

/// [`prepare_with`] into `fold`, which may hand every pod sample to a
/// [`timeline::Tap`] as it is folded (the tap is dropped once every input is read).
pub fn prepare_tapped(
    paths: &[PathBuf],
    limits: &Limits,
    now: Timestamp,
    filter: &Filter,
    fold: timeline::Fold<'_>,
) -> (Prepared, u64) {
    let order = InOrder::new(fold);
    let left_out = std::sync::atomic::AtomicU64::new(0);
    let sink = |raw: load::RawSnapshot| {
        if !filter.keeps(&raw.manifest) {
            // Read and valid: the input is not at fault, it is only outside the filter.
            left_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            order.offer(raw.seq, None);
            return SinkResult {
                accepted: true,
                problems: Vec::new(),
            };
        }
        let seq = raw.seq;
        let mut problems = Vec::new();
        let snap = model::parse_snapshot(raw, &mut problems);
        order.offer(seq, Some(snap));
        SinkResult {
            accepted: true,
            problems,
        }
    };
    let on_index = |nodes: usize| order.with(|f| f.set_nodes_hint(nodes));
    let on_skip = |seq: u64| order.offer(seq, None);
    let loaded = load::load_inputs_indexed(paths, limits, &on_index, &on_skip, &sink);
    let folded = order.finish().finish();
    let mut prepared = prepare_folded(folded, loaded.inputs, now);
    if filter.filters_pods() {
        prepared.keep_pods(|_, uid, names| filter.keeps_pod(uid, names));
    }
    (prepared, left_out.into_inner())
}

/// Parsed snapshots handed to the fold in the order the loader queued them (its
/// threads finish in any order): a thread more than [`IN_ORDER_AHEAD`] ahead waits, so
/// at most that many parsed snapshots are held, and the result does not depend on
/// scheduling.
struct InOrder<'t> {
    state: std::sync::Mutex<InOrderState<'t>>,
    turn: std::sync::Condvar,
}

struct InOrderState<'t> {
    next: u64,
    ready: std::collections::BTreeMap<u64, Option<model::Snapshot>>,
    fold: timeline::Fold<'t>,
}

/// Parsed snapshots a reading thread may be ahead of the oldest one still being read.
const IN_ORDER_AHEAD: u64 = 16;

impl<'t> InOrder<'t> {
    fn new(fold: timeline::Fold<'t>) -> Self {
        InOrder {
            state: std::sync::Mutex::new(InOrderState {
                next: 1,
                ready: std::collections::BTreeMap::new(),
                fold,
            }),
            turn: std::sync::Condvar::new(),
        }
    }

    fn with(&self, f: impl FnOnce(&mut timeline::Fold<'t>)) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut st.fold);
    }

    /// Takes the snapshot queued `seq`-th (`None`: it gave none), and folds every
    /// snapshot whose turn has come.
    fn offer(&self, seq: u64, snap: Option<model::Snapshot>) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if snap.is_some() {
            while seq > st.next + IN_ORDER_AHEAD {
                st = self.turn.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
        if seq < st.next {
            return;
        }
        st.ready.insert(seq, snap);
        let mut moved = false;
        loop {
            let next = st.next;
            let Some(s) = st.ready.remove(&next) else {
                break;
            };
            if let Some(s) = s {
                st.fold.push(s);
            }
            st.next += 1;
            moved = true;
        }
        if moved {
            self.turn.notify_all();
        }
    }

    /// The fold, with whatever is still waiting (after every archive was read, only
    /// snapshots after a gap the loader never filled) folded in queue order.
    fn finish(self) -> timeline::Fold<'t> {
        let st = self.state.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut fold = st.fold;
        for s in st.ready.into_values().flatten() {
            fold.push(s);
        }
        fold
    }
}

/// [`prepare`] from snapshots already parsed (their OOM events included), with the
/// input reports they came from.
pub fn prepare_snapshots(
    snapshots: Vec<model::Snapshot>,
    inputs: Vec<InputReport>,
    now: Timestamp,
) -> Prepared {
    prepare_snapshots_with(snapshots, inputs, now, timeline::Budget::default())
}

/// [`prepare_snapshots`] keeping what `budget` allows of long series.
pub fn prepare_snapshots_with(
    mut snapshots: Vec<model::Snapshot>,
    inputs: Vec<InputReport>,
    now: Timestamp,
    budget: timeline::Budget,
) -> Prepared {
    snapshots.sort_by(|a, b| a.archive.cmp(&b.archive));
    let mut fold = timeline::Fold::new(budget);
    for s in snapshots {
        fold.push(s);
    }
    prepare_folded(fold.finish(), inputs, now)
}

/// [`prepare`] from a finished fold, with the input reports its snapshots came from.
fn prepare_folded(
    folded: timeline::Folded,
    mut inputs: Vec<InputReport>,
    now: Timestamp,
) -> Prepared {
    for (archive, problem) in folded.left_out {
        if let Some(input) = inputs
            .iter_mut()
            .find(|i| i.path == archive || archive.starts_with(&format!("{}!", i.path)))
        {
            input.snapshots = input.snapshots.saturating_sub(1);
            input.problems.push(problem);
            input.status = if input.snapshots == 0 {
                InputStatus::Rejected
            } else {
                InputStatus::Partial
            };
        }
    }
    let per_snapshot = folded.per_snapshot_dropped;
    let (oom_events, capped) = ooms::cap_report(folded.events, ooms::MAX_OOMS_PER_REPORT);
    let per_report = capped + folded.events_dropped;
    let oom_events_omitted = (per_snapshot + per_report > 0).then_some(OomOmitted {
        per_snapshot,
        per_report,
        per_snapshot_cap: ooms::MAX_OOMS_PER_SNAPSHOT as u64,
        per_report_cap: ooms::MAX_OOMS_PER_REPORT as u64,
    });
    Prepared {
        head: Report {
            format: REPORT_FORMAT.to_string(),
            generated_at: now,
            analyzer_version: VERSION.to_string(),
            inputs,
            nodes: folded.nodes,
            pods: Vec::new(),
            oom_events,
            findings: Vec::new(),
            oom_events_omitted,
        },
        builder: folded.builder,
        last_archive: folded.last_archive,
        infos: rules::PodInfos::new(),
        findings: Vec::new(),
        pods_left_out: (0, 0),
    }
}

impl Prepared {
    /// Leaves out, before they are built and their rules run, the pods `keep` refuses
    /// (given node, dashed UID and the (namespace, name) pairs the snapshots give), with
    /// the OOM kills in them; node-level figures and kills outside pods stay.
    pub fn keep_pods(
        &mut self,
        keep: impl Fn(&str, &str, &[(Option<&str>, Option<&str>)]) -> bool,
    ) {
        let total = self.builder.remaining() as u64;
        let mut kept = std::collections::BTreeSet::new();
        let dropped = self.builder.retain(|node, uid, names| {
            let k = keep(node, uid, names);
            if k {
                kept.insert(uid.to_string());
            }
            k
        });
        if dropped > 0 {
            // The tables list only archives of samples still in the report.
            for (n, table) in self
                .head
                .nodes
                .iter_mut()
                .zip(self.builder.archive_tables())
            {
                n.archives = table;
            }
            self.head.oom_events.retain(|e| {
                e.pod_uid
                    .as_ref()
                    .is_none_or(|u| kept.contains(u) || keep("", u, &[]))
            });
        }
        self.pods_left_out = (dropped, total);
    }

    /// Builds the next pod (node by node, uid by uid) and runs the per-pod rules on it.
    pub fn next_pod(&mut self) -> Option<podmem_schema::report::PodReport> {
        let pt = self.builder.next_pod(&self.head.oom_events)?;
        let node = self.head.nodes.iter().find(|n| n.name == pt.report.node);
        self.findings
            .extend(rules::pod_rules(&pt, node, &self.head.oom_events));
        self.infos.insert(
            (pt.report.node.clone(), pt.report.uid.clone()),
            rules::pod_info(&pt, &self.head.oom_events),
        );
        Some(pt.report)
    }

    /// Every finding, most severe first (call after the last pod).
    pub fn finish(&mut self) -> Vec<podmem_schema::report::Finding> {
        let mut all = std::mem::take(&mut self.findings);
        all.extend(rules::fleet_rules(
            &self.head.nodes,
            &self.last_archive,
            &self.infos,
            &self.head.oom_events,
        ));
        rules::sort(&mut all);
        all
    }

    /// Writes the report as compact JSON with `podmem_reports::json::write_streaming`
    /// (the same bytes as `podmem_reports::render_json` of [`analyze`]'s report),
    /// building one pod at a time so a long series is never held whole. Pods are built on
    /// a second thread while this one serializes the previous ones: both are a large share
    /// of a long series, and neither can start before every snapshot is read.
    pub fn write_json(mut self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let head = self.head.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<podmem_schema::report::PodReport>(16);
        let (tx_findings, rx_findings) = std::sync::mpsc::sync_channel(1);
        let prepared = &mut self;
        std::thread::scope(|s| {
            s.spawn(move || {
                while let Some(pod) = prepared.next_pod() {
                    // The writer stopped (an error dropped `rx`): stop building.
                    if tx.send(pod).is_err() {
                        return;
                    }
                }
                drop(tx);
                let _ = tx_findings.send(prepared.finish());
            });
            podmem_reports::json::write_streaming(w, &head, rx.into_iter(), move || {
                rx_findings.recv().unwrap_or_default()
            })
        })
    }
}

/// Exit status for a report: 0 when every input was fully usable, 1 when some input was
/// refused or had problems but a report was produced, 2 when no snapshot was usable.
pub fn exit_status(report: &Report) -> u8 {
    exit_status_of(&report.inputs)
}

/// [`exit_status`] over input reports.
pub fn exit_status_of(inputs: &[InputReport]) -> u8 {
    if inputs.iter().all(|i| i.snapshots == 0) {
        2
    } else if inputs.iter().all(|i| i.status == "ok") {
        0
    } else {
        1
    }
}

/// Largest kernel log read by `ooms` (bytes); longer input is cut with a problem.
pub const MAX_LOG_BYTES: u64 = 512 << 20;
/// Most OOM-report text `ooms` keeps from one log (bytes): the log is streamed through
/// the OOM parser's own filter and only the lines of OOM reports are held, so memory
/// follows this bound, not the log's size.
pub const MAX_OOM_TEXT_BYTES: usize = 32 << 20;
/// Longest line `ooms` reads (bytes); the rest of a longer line is skipped (a kernel
/// line is at most a few KiB; `/dev/zero` is one endless line).
pub const MAX_LOG_LINE_BYTES: usize = 64 << 10;

/// OOM kills in a kernel log of any form read from `reader` (named `name`), as events
/// stamped with `name` as their source, plus an input report; `year` dates syslog
/// times that carry none. The log is streamed: at most [`MAX_LOG_BYTES`] are read, in
/// lines of at most [`MAX_LOG_LINE_BYTES`], and at most [`MAX_OOM_TEXT_BYTES`] of OOM
/// report lines are kept.
pub fn ooms_in_log(
    reader: impl Read,
    name: &str,
    year: Option<i16>,
) -> (Vec<OomEvent>, InputReport) {
    let mut report = InputReport {
        path: name.to_string(),
        kind: InputKind::Log,
        snapshots: 0,
        status: InputStatus::Rejected,
        problems: Vec::new(),
    };
    let mut r = std::io::BufReader::with_capacity(64 << 10, reader.take(MAX_LOG_BYTES));
    let mut filter = oom::LogFilter::default();
    let mut buf = Vec::new();
    let mut line = Vec::new();
    let (mut read, mut long_lines) = (0u64, 0u64);
    loop {
        line.clear();
        match read_line_bounded(&mut r, &mut line, MAX_LOG_LINE_BYTES) {
            Ok((0, _)) => break,
            Ok((n, cut)) => {
                read += n as u64;
                long_lines += u64::from(cut);
            }
            Err(e) => {
                report.problems.push(format!("{name}: cannot read: {e}"));
                return (Vec::new(), report);
            }
        }
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        filter.push(l, &mut buf);
        if buf.len() > MAX_OOM_TEXT_BYTES {
            report.problems.push(format!(
                "{name}: more than {} of OOM reports; the rest of the log is ignored",
                podmem_schema::units::fmt_bytes(MAX_OOM_TEXT_BYTES as u64)
            ));
            break;
        }
    }
    filter.finish(&mut buf);
    if read == MAX_LOG_BYTES {
        report.problems.push(format!(
            "{name}: longer than {}; the rest is ignored",
            podmem_schema::units::fmt_bytes(MAX_LOG_BYTES)
        ));
    }
    if long_lines > 0 {
        report.problems.push(format!(
            "{name}: {long_lines} lines longer than {} cut (not kernel log lines?)",
            podmem_schema::units::fmt_bytes(MAX_LOG_LINE_BYTES as u64)
        ));
    }
    let text = load::into_text(buf, name, "", &mut report.problems);
    let opts = oom::ParseOptions {
        source: Some(name.to_string()),
        year,
        ..oom::ParseOptions::default()
    };
    let events = oom::parse_log(&text, &opts);
    // A log is "accepted" when it could be read, whether or not it holds kills.
    report.snapshots = 1;
    report.status = if report.problems.is_empty() {
        InputStatus::Ok
    } else {
        InputStatus::Partial
    };
    (events, report)
}

/// Reads one line (through `\n`) into `out`, keeping at most `max` bytes of it and
/// skipping the rest: (bytes consumed, whether it was cut).
fn read_line_bounded(
    r: &mut impl std::io::BufRead,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let (mut consumed, mut cut) = (0usize, false);
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok((consumed, cut));
        }
        let (chunk, done) = match avail.iter().position(|b| *b == b'\n') {
            Some(i) => (&avail[..=i], true),
            None => (avail, false),
        };
        let room = max.saturating_sub(out.len());
        if chunk.len() > room {
            cut = true;
        }
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        r.consume(n);
        consumed += n;
        if done {
            return Ok((consumed, cut));
        }
    }
}
