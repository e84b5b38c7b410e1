//! What a page of many pods and nodes needs: facts per pod to rank them, which pods
//! get a full section and how many chart points each, and the fleet view that opens a
//! report of more than one node (nodes × findings, the worst pods, each node's
//! findings).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use podmem_schema::oom::OomEvent;
use podmem_schema::report::{Finding, Report, Severity};
use serde::Serialize;

use super::format::{self, bytes, opt_bytes, opt_time};
use super::{pod_matches_oom, pod_title, severity_name, HtmlOptions, NodeView, PodRef, MIN_POINTS};

/// A finding in a node's detail (fleet view), linking to its card.
#[derive(Serialize)]
pub(super) struct NodeFinding {
    pub(super) anchor: String,
    pub(super) severity: &'static str,
    pub(super) id: String,
    pub(super) title: String,
    pub(super) pod: Option<PodRef>,
    pub(super) bytes: String,
}

/// The fleet at a glance: nodes × findings and the worst pods across nodes.
#[derive(Serialize)]
pub(super) struct FleetView {
    /// Rule ids found anywhere, in the order of the findings (most severe first).
    pub(super) rules: Vec<FleetRule>,
    pub(super) nodes: Vec<FleetNode>,
    pub(super) worst_pods: Vec<WorstPod>,
    /// Pods with a finding (the worst list shows at most [`WORST_PODS`]).
    pub(super) pods_with_findings: usize,
    /// Pods shown as a pod-index row only, and the cap that made them so.
    pub(super) compact_pods: usize,
    pub(super) max_detailed_pods: usize,
}

#[derive(Serialize)]
pub(super) struct FleetRule {
    pub(super) id: String,
    pub(super) severity: &'static str,
}

#[derive(Serialize)]
pub(super) struct FleetNode {
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) snapshots: u32,
    pub(super) first: String,
    pub(super) last: String,
    pub(super) span: Option<String>,
    pub(super) pods: usize,
    pub(super) oom_kills: usize,
    pub(super) severity: Option<&'static str>,
    pub(super) critical: usize,
    pub(super) warning: usize,
    pub(super) info: usize,
    /// One per [`FleetView::rules`], in that order.
    pub(super) cells: Vec<FleetCell>,
}

#[derive(Serialize)]
pub(super) struct FleetCell {
    pub(super) count: usize,
    /// Sum of the findings' amounts, when any has one.
    pub(super) bytes: Option<String>,
    pub(super) exact: Option<String>,
}

#[derive(Serialize)]
pub(super) struct WorstPod {
    pub(super) pod: PodRef,
    pub(super) node: String,
    pub(super) node_anchor: Option<String>,
    pub(super) severity: &'static str,
    pub(super) rules: Vec<String>,
    pub(super) bytes: String,
    pub(super) peak_usage: String,
    pub(super) oom_kills: usize,
}

/// Most pods in the fleet view's worst-pods table.
pub(super) const WORST_PODS: usize = 25;

/// What the page needs to know about each pod before building any view: its worst
/// finding, the largest amount its findings name, their rule ids, its OOM kills and its
/// peak usage.
pub(super) struct PodFacts<'a> {
    pub(super) worst: Option<Severity>,
    pub(super) bytes: Option<u64>,
    pub(super) rules: Vec<&'a str>,
    pub(super) ooms: Vec<&'a OomEvent>,
    pub(super) peak: Option<u64>,
}

pub(super) fn pod_facts(report: &Report) -> Vec<PodFacts<'_>> {
    // Findings by pod, once: a fleet has thousands of pods.
    let mut by_pod: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        if let Some(u) = f.pod_uid.as_deref() {
            by_pod.entry((f.node.as_str(), u)).or_default().push(f);
        }
    }
    report
        .pods
        .iter()
        .map(|p| {
            let fs = by_pod
                .get(&(p.node.as_str(), p.uid.as_str()))
                .map_or(&[][..], Vec::as_slice);
            let mut rules: Vec<&str> = Vec::new();
            for f in fs {
                if !rules.contains(&f.id.as_str()) {
                    rules.push(f.id.as_str());
                }
            }
            PodFacts {
                worst: fs.iter().map(|f| f.severity).min(),
                bytes: fs.iter().filter_map(|f| f.bytes).max(),
                rules,
                ooms: report
                    .oom_events
                    .iter()
                    .filter(|e| pod_matches_oom(p, e))
                    .collect(),
                peak: p.samples.iter().filter_map(|s| s.pod.usage).max(),
            }
        })
        .collect()
}

/// Worst first: by severity of the worst finding, then the largest amount a finding
/// names, OOM kills, peak usage.
pub(super) fn worst_first(f: &PodFacts) -> impl Ord {
    (
        f.worst.map_or(3, |s| s as u8),
        Reverse(f.bytes),
        Reverse(f.ooms.len()),
        Reverse(f.peak),
    )
}

/// Which pods get a full section: all of them up to `cap`, else the `cap` worst.
pub(super) fn detailed_pods(facts: &[PodFacts], cap: usize) -> Vec<bool> {
    if facts.len() <= cap {
        return vec![true; facts.len()];
    }
    let mut order: Vec<usize> = (0..facts.len()).collect();
    order.sort_by_key(|&i| (worst_first(&facts[i]), i));
    let mut keep = vec![false; facts.len()];
    for &i in order.iter().take(cap) {
        keep[i] = true;
    }
    keep
}

/// Chart points each of `charted` pods gets out of the page budget.
pub(super) fn points_per_pod(opts: &HtmlOptions, charted: usize) -> usize {
    let share = opts.page_points / charted.max(1);
    share.clamp(MIN_POINTS.min(opts.max_points), opts.max_points)
}

pub(super) fn pod_ref_at(report: &Report, i: usize) -> PodRef {
    PodRef {
        anchor: format!("pod-{i}"),
        label: pod_title(&report.pods[i]),
    }
}

pub(super) fn fleet_view(
    report: &Report,
    findings: &[&Finding],
    facts: &[PodFacts],
    detailed: &[bool],
    max_detailed_pods: usize,
) -> FleetView {
    let mut rules: Vec<FleetRule> = Vec::new();
    for f in findings {
        if !rules.iter().any(|r| f.id == r.id.as_str()) {
            rules.push(FleetRule {
                id: f.id.to_string(),
                severity: severity_name(f.severity),
            });
        }
    }
    let nodes = report
        .nodes
        .iter()
        .enumerate()
        .map(|(index, n)| {
            let mine: Vec<&&Finding> = findings.iter().filter(|f| f.node == n.name).collect();
            let count = |s: Severity| mine.iter().filter(|f| f.severity == s).count();
            let cells = rules
                .iter()
                .map(|r| {
                    let of: Vec<&&&Finding> =
                        mine.iter().filter(|f| f.id == r.id.as_str()).collect();
                    let sum = of
                        .iter()
                        .filter_map(|f| f.bytes)
                        .fold(None, |a: Option<u64>, b| {
                            Some(a.unwrap_or(0).saturating_add(b))
                        });
                    FleetCell {
                        count: of.len(),
                        bytes: sum.map(bytes),
                        exact: sum.map(|b| format!("{b} bytes")),
                    }
                })
                .collect();
            FleetNode {
                index,
                name: n.name.clone(),
                snapshots: n.snapshots,
                first: opt_time(n.first),
                last: opt_time(n.last),
                span: n.first.zip(n.last).map(|(a, b)| format::span(a, b)),
                pods: report.pods.iter().filter(|p| p.node == n.name).count(),
                oom_kills: report
                    .oom_events
                    .iter()
                    .filter(|e| e.node.as_deref() == Some(n.name.as_str()))
                    .count(),
                severity: mine.iter().map(|f| f.severity).min().map(severity_name),
                critical: count(Severity::Critical),
                warning: count(Severity::Warning),
                info: count(Severity::Info),
                cells,
            }
        })
        .collect();
    let mut worst: Vec<usize> = (0..facts.len())
        .filter(|&i| facts[i].worst.is_some())
        .collect();
    let pods_with_findings = worst.len();
    worst.sort_by_key(|&i| (worst_first(&facts[i]), i));
    let worst_pods = worst
        .into_iter()
        .take(WORST_PODS)
        .map(|i| {
            let (p, f) = (&report.pods[i], &facts[i]);
            WorstPod {
                pod: pod_ref_at(report, i),
                node: p.node.clone(),
                node_anchor: report
                    .nodes
                    .iter()
                    .position(|n| n.name == p.node)
                    .map(|k| format!("node-{k}")),
                severity: f.worst.map_or("info", severity_name),
                rules: f.rules.iter().map(|r| (*r).to_owned()).collect(),
                bytes: opt_bytes(f.bytes),
                peak_usage: opt_bytes(f.peak),
                oom_kills: f.ooms.len(),
            }
        })
        .collect();
    FleetView {
        rules,
        nodes,
        worst_pods,
        pods_with_findings,
        compact_pods: detailed.iter().filter(|d| !**d).count(),
        max_detailed_pods,
    }
}

/// A node's detail in the fleet view: its pods and its findings, each linked.
pub(super) fn node_detail(
    report: &Report,
    findings: &[&Finding],
    pod_index: &BTreeMap<(&str, &str), usize>,
    facts: &[PodFacts],
    n: &mut NodeView,
) {
    let on_node = |i: &usize| report.pods[*i].node == n.name;
    n.pods = (0..report.pods.len()).filter(on_node).count();
    n.pods_with_findings = (0..report.pods.len())
        .filter(|i| on_node(i) && facts[*i].worst.is_some())
        .count();
    n.findings = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.node == n.name)
        .map(|(k, f)| NodeFinding {
            anchor: format!("finding-{k}"),
            severity: severity_name(f.severity),
            id: f.id.to_string(),
            title: f.title.clone(),
            pod: f
                .pod_uid
                .as_deref()
                .and_then(|u| pod_index.get(&(f.node.as_str(), u)))
                .map(|&i| pod_ref_at(report, i)),
            bytes: opt_bytes(f.bytes),
        })
        .collect();
}
