//! podmem-analyzer as a library: inputs → parsed snapshots → per-pod timelines → OOM
//! events → findings → a [`Report`] (`podmem-report/1`). Data flows one way through the
//! modules in that order; only the binary touches the command line and output files.
//!
//! - [`load`]: reads archives, bundles and directories without trusting them.
//! - [`model`]: one snapshot parsed into pods, containers and node figures.
//! - [`timeline`]: per node and pod over time, unattributed memory, transitions.
//! - [`ooms`]: OOM kills deduplicated across snapshots.
//! - [`findings`]: the rules.

pub mod findings;
pub mod load;
pub mod model;
pub mod ooms;
pub mod timeline;

use std::io::Read;
use std::path::PathBuf;

use jiff::Timestamp;
use podmem_schema::oom::{self, OomEvent};
use podmem_schema::report::{InputReport, Report, REPORT_FORMAT};

use crate::load::{Limits, SinkResult};
use crate::ooms::BootEvent;

/// Version stamped on reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Analyzes every input and assembles the report. Never fails: unusable inputs are
/// listed with their problems.
pub fn analyze(paths: &[PathBuf], limits: &Limits, now: Timestamp) -> Report {
    let parsed: std::sync::Mutex<Vec<model::Snapshot>> = std::sync::Mutex::new(Vec::new());
    let sink = |raw: load::RawSnapshot| {
        let mut problems = Vec::new();
        let snap = model::parse_snapshot(raw, &mut problems);
        let accepted = match parsed.lock() {
            Ok(mut v) => {
                v.push(snap);
                true
            }
            Err(_) => false,
        };
        SinkResult { accepted, problems }
    };
    let loaded = load::load_inputs(paths, limits, &sink);
    let mut inputs = loaded.inputs;
    let mut snapshots = parsed.into_inner().unwrap_or_default();
    // Threads finish in any order; events are taken in archive order so that the
    // report does not depend on scheduling.
    snapshots.sort_by(|a, b| a.archive.cmp(&b.archive));
    let mut events = Vec::new();
    for snap in &mut snapshots {
        for e in std::mem::take(&mut snap.ooms) {
            events.push(BootEvent {
                boot: snap.boot_id.clone(),
                event: e,
            });
        }
    }
    let (by_node, dropped) = timeline::group(snapshots);
    for (archive, problem) in dropped {
        if let Some(input) = inputs
            .iter_mut()
            .find(|i| i.path == archive || archive.starts_with(&format!("{}!", i.path)))
        {
            input.snapshots = input.snapshots.saturating_sub(1);
            input.problems.push(problem);
            input.status = if input.snapshots == 0 {
                "rejected"
            } else {
                "partial"
            }
            .to_string();
        }
    }
    let oom_events = ooms::dedup(events);
    let timelines = timeline::build(by_node, &oom_events);
    let findings = findings::run(&timelines, &oom_events);
    Report {
        format: REPORT_FORMAT.to_string(),
        generated_at: now,
        analyzer_version: VERSION.to_string(),
        inputs,
        nodes: timelines.nodes,
        pods: timelines.pods.into_iter().map(|p| p.report).collect(),
        oom_events,
        findings,
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

/// OOM kills in a kernel log of any form read from `reader` (named `name`), as events
/// stamped with `name` as their source, plus an input report.
pub fn ooms_in_log(mut reader: impl Read, name: &str) -> (Vec<OomEvent>, InputReport) {
    let mut report = InputReport {
        path: name.to_string(),
        kind: "log".to_string(),
        snapshots: 0,
        status: "rejected".to_string(),
        problems: Vec::new(),
    };
    let mut buf = Vec::new();
    if let Err(e) = (&mut reader).take(MAX_LOG_BYTES).read_to_end(&mut buf) {
        report.problems.push(format!("{name}: cannot read: {e}"));
        return (Vec::new(), report);
    }
    if buf.len() as u64 == MAX_LOG_BYTES {
        report.problems.push(format!(
            "{name}: longer than {}; the rest is ignored",
            podmem_schema::units::fmt_bytes(MAX_LOG_BYTES)
        ));
    }
    let text = load::into_text(buf, name, "", &mut report.problems);
    let opts = oom::ParseOptions {
        source: Some(name.to_string()),
        ..oom::ParseOptions::default()
    };
    let events = oom::parse_log(&text, &opts);
    // A log is "accepted" when it could be read, whether or not it holds kills.
    report.snapshots = 1;
    report.status = if report.problems.is_empty() {
        "ok"
    } else {
        "partial"
    }
    .to_string();
    (events, report)
}
