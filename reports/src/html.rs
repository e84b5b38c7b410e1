//! The HTML report: one self-contained, offline file. [`render_html`] turns a
//! [`Report`] into a view model of display strings and compact chart data, then renders
//! the embedded minijinja template `report.html` with HTML autoescape.
//!
//! Safety rule: every string that came from an archive (names, paths, commands, kernel
//! lines) reaches the page only through autoescaped `{{ }}` or through `|tojson` inside
//! `<script type="application/json">`. The only safe strings are our own: the vendored
//! uPlot, our CSS/JS, and the SVG sparklines, which are built from numbers alone.
//!
//! Charts: uPlot (vendored, MIT, in `reports/assets/uplot/`) draws the interactive
//! per-pod charts (hover values, drag to zoom, click to choose a moment); server-side SVG
//! sparklines and a server-rendered moment table keep the page readable without script
//! and on paper. Series are downsampled in Rust (the crate's `downsample`, which the
//! text report shares), keeping the samples next to events.
//!
//! Here: the page, the findings, the OOM timeline, the nodes and the header; `pod`
//! builds each pod's section and chart data; `fleet` ranks the pods (which get a full
//! section, how many chart points each) and builds the fleet view of a report of more
//! than one node.

mod fleet;
mod format;
mod pod;
mod svg;

use std::collections::{BTreeMap, BTreeSet};

use minijinja::value::{Serde, Value};
use minijinja::{context, Environment, UndefinedBehavior};
use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::{
    Finding, InputReport, InputStatus, NodeReport, PodReport, Report, Severity,
};
use serde::Serialize;

use fleet::{
    detailed_pods, fleet_view, node_detail, pod_facts, points_per_pod, FleetView, NodeFinding,
};
use format::{bytes, opt_bytes, opt_time, short_id, time};
use pod::{pod_view, PodView};

const TEMPLATE: &str = include_str!("../templates/report.html");
const UPLOT_JS: &str = include_str!("../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/uplot/uPlot.min.css");
const REPORT_JS: &str = include_str!("../assets/report.js");
const REPORT_CSS: &str = include_str!("../assets/report.css");
const FLEET_CSS: &str = include_str!("../assets/fleet.css");

/// Why rendering failed. Only a template bug can cause it: the input is data.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// The embedded template failed to load or render.
    #[error("HTML template report.html: {0}")]
    Template(#[from] minijinja::Error),
}

/// Rendering knobs; [`HtmlOptions::default`] is what the analyzer uses.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// Inline the vendored chart library and our CSS/JS. Off only for snapshot tests,
    /// which review the markup, not minified library code.
    pub inline_assets: bool,
    /// Most chart points per pod (samples next to events are kept beyond it).
    pub max_points: usize,
    /// Chart points for the whole page: each charted pod gets this divided by the
    /// number of charted pods, between [`MIN_POINTS`] and `max_points`, so a fleet of
    /// a thousand pods costs about what one full node does.
    pub page_points: usize,
    /// Most pods given a full section (chart, moment table, containers, compare);
    /// beyond it the pods with the worst findings, then the most OOM kills and the
    /// highest usage get one, and the others a row in the pod index only.
    pub max_detailed_pods: usize,
    /// Most findings shown as full cards (detail, evidence, fix); the less severe rest
    /// are a table row each (severity, title, rule, node, pod, amount, time).
    pub max_finding_cards: usize,
}

/// Fewest chart points a charted pod gets however many pods share the page budget.
pub const MIN_POINTS: usize = 60;

impl Default for HtmlOptions {
    fn default() -> Self {
        Self {
            inline_assets: true,
            max_points: 300,
            // A full node (110 pods) at `max_points` each.
            page_points: 110 * 300,
            max_detailed_pods: 150,
            max_finding_cards: 200,
        }
    }
}

/// Renders the report as one self-contained HTML file.
pub fn render_html(report: &Report) -> Result<Vec<u8>, HtmlError> {
    render_html_with(report, &HtmlOptions::default())
}

/// Escaped text with line-break opportunities after each `/` and `,`: a long memcg
/// path (or a kernel line of them) wraps at its components, not in the middle of a
/// name.
fn wrap_path(s: &str) -> Value {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("/<wbr>"),
            ',' => out.push_str(",<wbr>"),
            c => out.push(c),
        }
    }
    Value::from_safe_string(out)
}

/// [`render_html`] with explicit options.
pub fn render_html_with(report: &Report, opts: &HtmlOptions) -> Result<Vec<u8>, HtmlError> {
    let built = build_page(report, opts);
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("report.html", TEMPLATE)?;
    env.add_filter("wrap_path", wrap_path);
    let asset = |name: &str, body: &str| {
        if opts.inline_assets {
            Value::from_safe_string(body.to_owned())
        } else {
            Value::from_safe_string(format!("/* {name} not inlined */"))
        }
    };
    let sparks: Vec<Value> = built
        .pod_sparks
        .into_iter()
        .map(Value::from_safe_string)
        .collect();
    let node_sparks: Vec<Value> = built
        .node_sparks
        .into_iter()
        .map(|s| {
            Value::from(
                s.into_iter()
                    .map(Value::from_safe_string)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let html = env.get_template("report.html")?.render(context! {
        page => Value::from(Serde(&built.page)),
        sparks => sparks,
        node_sparks => node_sparks,
        uplot_js => asset("uPlot.iife.min.js", UPLOT_JS),
        uplot_css => asset("uPlot.min.css", UPLOT_CSS),
        report_js => asset("report.js", REPORT_JS),
        report_css => asset("report.css", REPORT_CSS),
        fleet_css => asset("fleet.css", FLEET_CSS),
    })?;
    Ok(mark_unsafe(html).into_bytes())
}

/// Bidi control characters from input (names can hold them: a right-to-left override
/// makes `gpj.exe` display as `exe.jpg`) and control characters (a page printed to a
/// terminal must not drive it) shown as a visible `⟦U+202E⟧` mark wherever they are on
/// the page, in text and in the embedded JSON alike (the mark needs no escaping in
/// either). The template and its assets hold none but line ends and tabs.
fn mark_unsafe(html: String) -> String {
    use std::fmt::Write as _;
    let marked = podmem_schema::display::replace_unsafe(
        &html,
        |c| matches!(c, '\n' | '\r' | '\t'),
        |c, o| {
            let _ = write!(o, "⟦U+{:04X}⟧", c as u32);
        },
    );
    match marked {
        std::borrow::Cow::Borrowed(_) => html,
        std::borrow::Cow::Owned(o) => o,
    }
}

struct Built {
    page: Page,
    /// Per pod (by index), SVG markup built from numbers only.
    pod_sparks: Vec<String>,
    /// Per node: available memory, dying cgroups.
    node_sparks: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct Page {
    title: String,
    generated_at: String,
    analyzer_version: String,
    format: String,
    summary: Summary,
    /// Present when the report holds more than one node: the page opens with it.
    fleet: Option<FleetView>,
    /// Findings shown as a brief table row rather than a card.
    findings_brief: usize,
    inputs: Vec<InputView>,
    /// Inputs read without problems beyond the first [`OK_INPUTS`], not listed.
    inputs_ok_omitted: usize,
    findings: Vec<FindingView>,
    pods: Vec<PodView>,
    ooms: Vec<OomView>,
    nodes: Vec<NodeView>,
}

/// Inputs read without problems listed in the inputs table; every input with a
/// problem is listed. A week of one-a-minute archives would otherwise make this table
/// 10,080 rows, 40 % of the page (the JSON report lists every input).
const OK_INPUTS: usize = 100;

/// The inputs the table lists, in the report's order: every one with problems, and the
/// first [`OK_INPUTS`] read without.
fn listed_inputs(inputs: &[InputReport]) -> impl Iterator<Item = &InputReport> {
    let mut ok = 0;
    inputs.iter().filter(move |i| {
        if i.status != InputStatus::Ok {
            return true;
        }
        ok += 1;
        ok <= OK_INPUTS
    })
}

/// Most OOM kills listed with their kernel excerpt before only the first and the last
/// kill of each pod (or each node's kills outside pods) keep theirs.
const OOM_EXCERPTS: usize = 100;

/// Which kills (in `ooms` order, by time) the timeline shows with their kernel
/// excerpt: all of them up to [`OOM_EXCERPTS`]. Beyond it, a restart loop of a week
/// would repeat the same forty lines hundreds of times, so only the first and the last
/// kill of each pod keep theirs.
fn excerpts_shown(ooms: &[&OomEvent]) -> Vec<bool> {
    if ooms.len() <= OOM_EXCERPTS {
        return vec![true; ooms.len()];
    }
    let mut first: BTreeMap<(Option<&str>, Option<&str>), usize> = BTreeMap::new();
    let mut last = first.clone();
    for (i, e) in ooms.iter().enumerate() {
        let key = (e.node.as_deref(), e.pod_uid.as_deref());
        first.entry(key).or_insert(i);
        last.insert(key, i);
    }
    let mut shown = vec![false; ooms.len()];
    for i in first.into_values().chain(last.into_values()) {
        shown[i] = true;
    }
    shown
}

#[derive(Serialize)]
struct Summary {
    nodes: Vec<String>,
    first: String,
    last: String,
    span: Option<String>,
    snapshots: u32,
    collector_versions: Vec<String>,
    pods: usize,
    oom_kills: usize,
    /// What the OOM caps left out, when anything.
    oom_omitted: Option<String>,
    /// Kills listed without their kernel excerpt (see [`excerpts_shown`]).
    oom_excerpts_omitted: usize,
    critical: usize,
    warning: usize,
    info: usize,
    problems: usize,
}

#[derive(Serialize)]
struct InputView {
    path: String,
    kind: String,
    snapshots: u32,
    status: String,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct IdView {
    short: String,
    full: String,
    name: Option<String>,
}

#[derive(Serialize)]
struct PodRef {
    anchor: String,
    label: String,
}

#[derive(Serialize)]
struct FindingView {
    /// `finding-K`, K its position on the page; the fleet view links to it.
    anchor: String,
    /// A full card; otherwise a row of the brief table (see
    /// [`HtmlOptions::max_finding_cards`]).
    card: bool,
    id: String,
    severity: String,
    title: String,
    detail: String,
    recommendation: String,
    node: String,
    pod: Option<PodRef>,
    pod_uid: Option<String>,
    bytes: Option<String>,
    time: Option<String>,
    containers: Vec<IdView>,
    evidence: Vec<EvidenceView>,
    /// For a critical finding about a pod with samples: that pod's index, whose chart
    /// data (`pod-data-N`) the card's small chart draws from. The card references the
    /// series; it carries no copy of them.
    chart: Option<usize>,
}

#[derive(Serialize)]
struct EvidenceView {
    label: String,
    value: String,
    source: Option<String>,
}

#[derive(Serialize)]
struct OomView {
    time: String,
    node: String,
    scope: String,
    pod: Option<PodRef>,
    pod_uid: Option<String>,
    container: Option<IdView>,
    comm: Option<String>,
    pid: Option<u32>,
    invoker: Option<String>,
    memcg_usage: String,
    memcg_limit: String,
    anon_rss: String,
    shmem_rss: String,
    file_rss: String,
    oom_memcg: Option<String>,
    task_memcg: Option<String>,
    constraint: Option<String>,
    excerpt: String,
    /// False when [`excerpts_shown`] leaves this kill's excerpt to the JSON report.
    excerpt_shown: bool,
    source: Option<String>,
}

#[derive(Serialize)]
struct NodeView {
    index: usize,
    name: String,
    kernel: Option<String>,
    cgroup_mode: Option<String>,
    snapshots: u32,
    first: String,
    last: String,
    boots: Vec<String>,
    collector_versions: Vec<String>,
    latest_time: String,
    mem_total: String,
    mem_available: String,
    min_available: String,
    shmem: String,
    kubepods_usage: String,
    kubepods_limit: String,
    psi_some: String,
    psi_full: String,
    max_psi_some: String,
    memcg_count: String,
    live_cgroups: String,
    dying: String,
    max_dying: String,
    /// Fleet view only: pods on the node, how many have a finding, and its findings.
    pods: usize,
    pods_with_findings: usize,
    findings: Vec<NodeFinding>,
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

fn scope_name(s: OomScope) -> &'static str {
    match s {
        OomScope::Container => "container",
        OomScope::Pod => "pod",
        OomScope::Kubepods => "kubepods",
        OomScope::Global => "global",
        OomScope::Other => "other",
    }
}

fn pod_title(p: &PodReport) -> String {
    match (&p.namespace, &p.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        (Some(ns), None) => format!("{ns}/{}", p.uid),
        (None, None) => p.uid.clone(),
    }
}

fn id_view(pod: Option<&PodReport>, id: &str) -> IdView {
    let name = pod
        .and_then(|p| p.containers.iter().find(|c| c.id == id))
        .and_then(|c| c.name.clone());
    IdView {
        short: short_id(id),
        full: id.to_owned(),
        name,
    }
}

fn pod_matches_oom(p: &PodReport, e: &OomEvent) -> bool {
    e.pod_uid.as_deref() == Some(p.uid.as_str()) && e.node.as_ref().is_none_or(|n| *n == p.node)
}

/// Pods by node and UID, for the links from findings, OOM kills and node details.
struct PodIndex<'a> {
    report: &'a Report,
    by_key: BTreeMap<(&'a str, &'a str), usize>,
}

impl<'a> PodIndex<'a> {
    fn new(report: &'a Report) -> Self {
        let by_key = report
            .pods
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.node.as_str(), p.uid.as_str()), i))
            .collect();
        PodIndex { report, by_key }
    }

    /// The pod's position; without a node, the first pod with that UID.
    fn position(&self, node: Option<&str>, uid: &str) -> Option<usize> {
        match node {
            Some(n) => self.by_key.get(&(n, uid)).copied(),
            None => self.report.pods.iter().position(|p| p.uid == uid),
        }
    }

    fn pod_ref(&self, node: Option<&str>, uid: &str) -> Option<(PodRef, &'a PodReport)> {
        let i = self.position(node, uid)?;
        let p = &self.report.pods[i];
        Some((
            PodRef {
                anchor: format!("pod-{i}"),
                label: pod_title(p),
            },
            p,
        ))
    }
}

fn build_page(report: &Report, opts: &HtmlOptions) -> Built {
    let index = PodIndex::new(report);
    let facts = pod_facts(report);
    let detailed = detailed_pods(&facts, opts.max_detailed_pods);
    let charted = report
        .pods
        .iter()
        .zip(&detailed)
        .filter(|(p, d)| **d && !p.samples.is_empty())
        .count();
    let points = points_per_pod(opts, charted);

    let mut sorted_findings: Vec<&Finding> = report.findings.iter().collect();
    sorted_findings.sort_by_key(|f| f.severity);
    let findings = finding_views(&index, &sorted_findings, &detailed, opts);
    let ooms = oom_views(&index);

    let mut pods = Vec::new();
    let mut pod_sparks = Vec::new();
    for (i, p) in report.pods.iter().enumerate() {
        let f = &facts[i];
        let node = report.nodes.iter().find(|n| n.name == p.node);
        let (view, spark) = pod_view(i, p, node, &f.ooms, f.worst, detailed[i].then_some(points));
        pods.push((f.worst, view));
        pod_sparks.push(spark);
    }
    // Pods with findings first (worst first), then by OOM kills; sparks stay indexed by
    // the pod's position in the report, which is also its anchor.
    pods.sort_by(|(wa, a), (wb, b)| {
        let rank = |w: &Option<Severity>| w.map_or(3, |s| s as u8);
        rank(wa)
            .cmp(&rank(wb))
            .then(b.oom_count.cmp(&a.oom_count))
            .then(a.index.cmp(&b.index))
    });
    let pods: Vec<PodView> = pods.into_iter().map(|(_, v)| v).collect();

    let (mut nodes, node_sparks) = node_views(report);
    let fleet = (report.nodes.len() > 1).then(|| {
        fleet_view(
            report,
            &sorted_findings,
            &facts,
            &detailed,
            opts.max_detailed_pods,
        )
    });
    if fleet.is_some() {
        for n in &mut nodes {
            node_detail(report, &sorted_findings, &index.by_key, &facts, n);
        }
    }

    let summary = summary(report, &ooms);
    let title = match summary.nodes.as_slice() {
        [] => "podmem report".to_owned(),
        [one] => format!("podmem report — {one}"),
        [one, rest @ ..] => format!("podmem report — {one} and {} more nodes", rest.len()),
    };
    let page = Page {
        title,
        generated_at: time(report.generated_at),
        analyzer_version: report.analyzer_version.clone(),
        format: report.format.clone(),
        summary,
        inputs: listed_inputs(&report.inputs)
            .map(|i| InputView {
                path: i.path.clone(),
                kind: i.kind.to_string(),
                snapshots: i.snapshots,
                status: i.status.to_string(),
                problems: i.problems.clone(),
            })
            .collect(),
        inputs_ok_omitted: report
            .inputs
            .iter()
            .filter(|i| i.status == InputStatus::Ok)
            .count()
            .saturating_sub(OK_INPUTS),
        fleet,
        findings_brief: findings.iter().filter(|f| !f.card).count(),
        findings,
        pods,
        ooms,
        nodes,
    };
    Built {
        page,
        pod_sparks,
        node_sparks,
    }
}

/// The findings in page order (most severe first): the first
/// [`HtmlOptions::max_finding_cards`] as cards, a critical one about a pod with a
/// chart drawing that pod's series.
fn finding_views(
    index: &PodIndex,
    findings: &[&Finding],
    detailed: &[bool],
    opts: &HtmlOptions,
) -> Vec<FindingView> {
    let report = index.report;
    findings
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let found = f
                .pod_uid
                .as_deref()
                .and_then(|u| index.pod_ref(Some(&f.node), u));
            let pod = found.as_ref().map(|(_, p)| *p);
            let chart = f
                .pod_uid
                .as_deref()
                .and_then(|u| index.position(Some(&f.node), u))
                .filter(|&i| {
                    f.severity == Severity::Critical
                        && !report.pods[i].samples.is_empty()
                        && detailed[i]
                        && k < opts.max_finding_cards
                });
            FindingView {
                card: k < opts.max_finding_cards.max(1),
                anchor: format!("finding-{k}"),
                chart,
                id: f.id.to_string(),
                severity: severity_name(f.severity).to_owned(),
                title: f.title.clone(),
                detail: f.detail.clone(),
                recommendation: f.recommendation.clone(),
                node: f.node.clone(),
                pod_uid: f.pod_uid.clone(),
                bytes: f.bytes.map(bytes),
                time: f.time.map(time),
                containers: f.container_ids.iter().map(|c| id_view(pod, c)).collect(),
                evidence: f
                    .evidence
                    .iter()
                    .map(|e| EvidenceView {
                        label: e.label.clone(),
                        value: e.value.clone(),
                        source: e.source.clone(),
                    })
                    .collect(),
                pod: found.map(|(r, _)| r),
            }
        })
        .collect()
}

/// Every OOM kill in time order, with its kernel excerpt where [`excerpts_shown`] says.
fn oom_views(index: &PodIndex) -> Vec<OomView> {
    let mut ooms: Vec<&OomEvent> = index.report.oom_events.iter().collect();
    ooms.sort_by_key(|e| (e.time.is_none(), e.time));
    let excerpts = excerpts_shown(&ooms);
    ooms.into_iter()
        .zip(&excerpts)
        .map(|(e, &shown)| {
            let found = e
                .pod_uid
                .as_deref()
                .and_then(|u| index.pod_ref(e.node.as_deref(), u));
            let pod = found.as_ref().map(|(_, p)| *p);
            OomView {
                time: opt_time(e.time),
                node: e.node.clone().unwrap_or_else(|| "—".to_owned()),
                scope: scope_name(e.scope).to_owned(),
                pod_uid: e.pod_uid.clone(),
                container: e.container_id.as_deref().map(|c| id_view(pod, c)),
                comm: e.comm.clone(),
                pid: e.pid,
                invoker: e.invoker.clone(),
                memcg_usage: opt_bytes(e.memcg_usage),
                memcg_limit: opt_bytes(e.memcg_limit),
                anon_rss: opt_bytes(e.anon_rss),
                shmem_rss: opt_bytes(e.shmem_rss),
                file_rss: opt_bytes(e.file_rss),
                oom_memcg: e.oom_memcg.clone(),
                task_memcg: e.task_memcg.clone(),
                constraint: e.constraint.clone(),
                excerpt: if shown {
                    e.excerpt.join("\n")
                } else {
                    String::new()
                },
                excerpt_shown: shown,
                source: e.source.clone(),
                pod: found.map(|(r, _)| r),
            }
        })
        .collect()
}

/// Each node's view and its two sparklines (available memory, dying cgroups).
fn node_views(report: &Report) -> (Vec<NodeView>, Vec<Vec<String>>) {
    let mut node_sparks = Vec::new();
    let nodes = report
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let avail: Vec<Option<u64>> = n.samples.iter().map(|s| s.mem_available).collect();
            let total: Vec<Option<u64>> = n.samples.iter().map(|s| s.mem_total).collect();
            let dying: Vec<Option<u64>> = n
                .samples
                .iter()
                .map(|s| {
                    s.dying_descendants
                        .or(match (s.memcg_count, s.live_cgroups) {
                            (Some(a), Some(b)) => Some(a.saturating_sub(b)),
                            _ => None,
                        })
                })
                .collect();
            node_sparks.push(vec![
                svg::sparkline(&svg::thin(&avail, 80), &[], &svg::thin(&total, 80)),
                svg::sparkline(&svg::thin(&dying, 80), &[], &[]),
            ]);
            node_view(i, n, &avail, &dying)
        })
        .collect();
    (nodes, node_sparks)
}

/// The header's facts.
fn summary(report: &Report, ooms: &[OomView]) -> Summary {
    let firsts = report.nodes.iter().filter_map(|n| n.first).min();
    let lasts = report.nodes.iter().filter_map(|n| n.last).max();
    let mut versions: BTreeSet<String> = BTreeSet::new();
    for n in &report.nodes {
        versions.extend(n.collector_versions.iter().cloned());
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    Summary {
        nodes: report.nodes.iter().map(|n| n.name.clone()).collect(),
        first: opt_time(firsts),
        last: opt_time(lasts),
        span: firsts.zip(lasts).map(|(a, b)| format::span(a, b)),
        snapshots: report.nodes.iter().map(|n| n.snapshots).sum(),
        collector_versions: versions.into_iter().collect(),
        pods: report.pods.len(),
        oom_kills: report.oom_events.len(),
        oom_omitted: report.oom_events_omitted.as_ref().map(|o| o.sentence()),
        oom_excerpts_omitted: ooms.iter().filter(|o| !o.excerpt_shown).count(),
        critical: count(Severity::Critical),
        warning: count(Severity::Warning),
        info: count(Severity::Info),
        problems: report.inputs.iter().map(|i| i.problems.len()).sum(),
    }
}

fn node_view(i: usize, n: &NodeReport, avail: &[Option<u64>], dying: &[Option<u64>]) -> NodeView {
    let latest = n.samples.last().cloned().unwrap_or_default();
    let psi = |v: Option<f64>| v.map(|v| format!("{v:.2} %")).unwrap_or_else(|| "—".into());
    let count = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
    let max_psi = n
        .samples
        .iter()
        .filter_map(|s| s.psi_some_avg10)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    NodeView {
        index: i,
        name: n.name.clone(),
        kernel: n.kernel.clone(),
        cgroup_mode: n.cgroup_mode.map(|m| m.as_str().to_string()),
        snapshots: n.snapshots,
        first: opt_time(n.first),
        last: opt_time(n.last),
        boots: n.boots.clone(),
        collector_versions: n.collector_versions.clone(),
        latest_time: opt_time(latest.time),
        mem_total: opt_bytes(latest.mem_total),
        mem_available: opt_bytes(latest.mem_available),
        min_available: opt_bytes(avail.iter().flatten().copied().min()),
        shmem: opt_bytes(latest.shmem),
        kubepods_usage: opt_bytes(latest.kubepods_usage),
        kubepods_limit: opt_bytes(latest.kubepods_limit),
        psi_some: psi(latest.psi_some_avg10),
        psi_full: psi(latest.psi_full_avg10),
        max_psi_some: psi(max_psi),
        memcg_count: count(latest.memcg_count),
        live_cgroups: count(latest.live_cgroups),
        dying: count(dying.last().copied().flatten().or(latest.dying_descendants)),
        max_dying: count(dying.iter().flatten().copied().max()),
        pods: 0,
        pods_with_findings: 0,
        findings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_budget_shared_between_charted_pods() {
        let o = HtmlOptions::default();
        assert_eq!(points_per_pod(&o, 1), 300);
        assert_eq!(points_per_pod(&o, 110), 300);
        assert_eq!(points_per_pod(&o, 150), 220);
        assert_eq!(points_per_pod(&o, 10_000), MIN_POINTS);
        let small = HtmlOptions {
            max_points: 10,
            ..o
        };
        assert_eq!(points_per_pod(&small, 10_000), 10);
    }

    #[test]
    fn excerpts_first_and_last_per_pod_beyond_the_cap() {
        let kill = |pod: &str| OomEvent {
            node: Some("n".into()),
            pod_uid: Some(pod.into()),
            ..serde_json::from_str(r#"{"scope":"pod","excerpt":[]}"#).unwrap()
        };
        let few: Vec<OomEvent> = (0..OOM_EXCERPTS).map(|_| kill("a")).collect();
        let few: Vec<&OomEvent> = few.iter().collect();
        assert!(excerpts_shown(&few).iter().all(|s| *s));
        let many: Vec<OomEvent> = (0..300)
            .map(|i| kill(if i % 3 == 0 { "a" } else { "b" }))
            .collect();
        let many: Vec<&OomEvent> = many.iter().collect();
        let shown: Vec<usize> = excerpts_shown(&many)
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(shown, [0, 1, 297, 299]);
    }
}
