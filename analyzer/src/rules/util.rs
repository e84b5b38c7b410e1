//! Shared pieces of the rules' evidence and words: labels, times, archive entries.

use jiff::Timestamp;
use podmem_schema::report::{Evidence, NodeReport, PodSample};
use podmem_schema::units::fmt_bytes;

use crate::timeline::PodTimeline;

pub(super) fn pod_label(pt: &PodTimeline) -> String {
    match (&pt.report.namespace, &pt.report.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        (Some(ns), None) => format!("{ns}/pod {}", pt.report.uid),
        (None, None) => format!("pod {}", pt.report.uid),
    }
}

pub(super) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

pub(super) fn ev(label: &str, value: impl Into<String>, source: Option<String>) -> Evidence {
    Evidence {
        label: label.to_string(),
        value: value.into(),
        source,
    }
}

pub(super) fn opt_bytes(v: Option<u64>) -> String {
    v.map(fmt_bytes).unwrap_or_else(|| "unknown".to_string())
}

/// The archive a sample of a pod on `node` came from.
pub(super) fn archive<'a>(node: Option<&'a NodeReport>, s: &PodSample) -> &'a str {
    node.and_then(|n| n.archive(s.snapshot)).unwrap_or_default()
}

pub(super) fn entry(archive: &str, cgroup_path: &str, file: &str) -> Option<String> {
    Some(if cgroup_path.is_empty() {
        format!("{archive}:cgroup/{file}")
    } else {
        format!("{archive}:cgroup/{cgroup_path}/{file}")
    })
}

/// A time as shown in findings: RFC 3339 to the second (captures carry nanoseconds).
pub(super) fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn time_of(s: &PodSample) -> String {
    s.time.map(ts).unwrap_or_else(|| "?".to_string())
}

/// Indices of the samples of the last boot segment.
pub(super) fn last_segment(pt: &PodTimeline) -> std::ops::Range<usize> {
    let n = pt.report.samples.len();
    if n == 0 {
        return 0..0;
    }
    let seg = pt.segment[n - 1];
    let start = pt.segment.iter().position(|s| *s == seg).unwrap_or(0);
    start..n
}
