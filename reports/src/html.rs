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

mod format;
mod svg;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use minijinja::value::{Serde, Value};
use minijinja::{context, Environment, UndefinedBehavior};
use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::{
    Finding, MemStats, NodeReport, PodReport, PodSample, Report, Severity, Transition,
};
use serde::Serialize;

use crate::downsample;
use format::{bytes, kib, opt_bytes, opt_time, short_id, time};

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
    findings: Vec<FindingView>,
    pods: Vec<PodView>,
    ooms: Vec<OomView>,
    nodes: Vec<NodeView>,
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
struct PodView {
    index: usize,
    anchor: String,
    title: String,
    name: Option<String>,
    namespace: Option<String>,
    uid: String,
    node: String,
    qos: Option<String>,
    cgroup_path: Option<String>,
    limit: String,
    search: String,
    severity: Option<String>,
    oom_count: usize,
    gone_count: usize,
    peak_usage: String,
    peak_unattributed_shmem: String,
    samples: usize,
    points: usize,
    containers: Vec<ContainerView>,
    volumes: Vec<VolumeView>,
    moment: Option<MomentView>,
    events: Vec<EventView>,
    transitions: Vec<TransitionView>,
    /// Compact JSON of [`ChartData`]; the template embeds it with `tojson`.
    data: Option<String>,
    /// False for a pod shown as a row of the pod index only (see
    /// [`HtmlOptions::max_detailed_pods`]): the row carries its anchor.
    detailed: bool,
}

#[derive(Serialize)]
struct ContainerView {
    id: IdView,
    runtime: Option<String>,
    first_seen: String,
    last_seen: String,
    gone: bool,
    last_usage: String,
    last_working_set: String,
    last_shmem: String,
}

#[derive(Serialize)]
struct VolumeView {
    name: String,
    plugin: String,
    size: String,
    max_used: String,
    mount_point: String,
}

#[derive(Serialize)]
struct MomentView {
    time: String,
    snapshot: String,
    why: String,
    point: usize,
    rows: Vec<MomentRow>,
}

/// One view of the pod's memory at a moment; columns usage / working set / shmem-tmpfs.
#[derive(Serialize)]
struct MomentRow {
    kind: &'static str,
    label: String,
    title: Option<String>,
    formula: String,
    cells: [Cell; 3],
}

#[derive(Serialize, Default)]
struct Cell {
    text: String,
    exact: Option<String>,
}

fn cell(b: Option<u64>) -> Cell {
    match b {
        Some(b) => Cell {
            text: bytes(b),
            exact: Some(format!("{b} bytes")),
        },
        None => Cell::default(),
    }
}

#[derive(Serialize)]
struct EventView {
    time: String,
    kind: &'static str,
    label: String,
}

#[derive(Serialize)]
struct TransitionView {
    reason: String,
    before: String,
    after: String,
    appeared: Vec<IdView>,
    disappeared: Vec<IdView>,
    rows: Vec<TransitionRowView>,
}

#[derive(Serialize)]
struct TransitionRowView {
    kind: &'static str,
    label: String,
    title: Option<String>,
    cells: Vec<DeltaCell>,
}

#[derive(Serialize)]
struct DeltaCell {
    before: String,
    after: String,
    delta: String,
    dir: &'static str,
}

/// What the page's script needs to draw one pod. Sized for a day of minutes × 110
/// pods: times are offsets from `t0` (seconds), values KiB, and every value series
/// lives once in `pool` (identical series shared), delta-encoded against the previous
/// known value so flat and slowly moving series cost a few digits per point. The
/// renderer serializes it compactly and the template passes that text through `tojson`.
#[derive(Serialize)]
struct ChartData {
    t0: i64,
    /// Delta-encoded offsets from `t0`.
    t: Vec<i64>,
    /// Delta-encoded series (`null` = unknown at that point).
    pool: Vec<Vec<Option<i64>>>,
    /// Bottom to top: live containers, unattributed other, unattributed shmem.
    stack: Vec<Series>,
    top: Option<usize>,
    limit: Option<usize>,
    events: Vec<ChartEvent>,
    /// Moment table rows in the order of the server-rendered table: per column
    /// (usage, working set, shmem/tmpfs) a pool index or `null`.
    rows: Vec<[Option<usize>; 3]>,
    moment: usize,
}

#[derive(Serialize)]
struct Series {
    label: String,
    kind: &'static str,
    v: Option<usize>,
}

#[derive(Serialize)]
struct ChartEvent {
    t: i64,
    kind: &'static str,
    label: String,
}

/// Interns value series: all-unknown series become `None`, repeats share an index.
#[derive(Default)]
struct Pool {
    arrays: Vec<Vec<Option<u64>>>,
}

impl Pool {
    fn add(&mut self, v: Vec<Option<u64>>) -> Option<usize> {
        if v.iter().all(Option::is_none) {
            return None;
        }
        if let Some(i) = self.arrays.iter().position(|a| *a == v) {
            return Some(i);
        }
        self.arrays.push(v);
        Some(self.arrays.len() - 1)
    }

    fn encode(self) -> Vec<Vec<Option<i64>>> {
        self.arrays
            .into_iter()
            .map(|a| {
                let mut last = 0i64;
                a.into_iter()
                    .map(|v| {
                        v.map(|v| {
                            let v = i64::try_from(v).unwrap_or(i64::MAX);
                            let d = v.wrapping_sub(last);
                            last = v;
                            d
                        })
                    })
                    .collect()
            })
            .collect()
    }
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

/// A finding in a node's detail (fleet view), linking to its card.
#[derive(Serialize)]
struct NodeFinding {
    anchor: String,
    severity: &'static str,
    id: String,
    title: String,
    pod: Option<PodRef>,
    bytes: String,
}

/// The fleet at a glance: nodes × findings and the worst pods across nodes.
#[derive(Serialize)]
struct FleetView {
    /// Rule ids found anywhere, in the order of the findings (most severe first).
    rules: Vec<FleetRule>,
    nodes: Vec<FleetNode>,
    worst_pods: Vec<WorstPod>,
    /// Pods with a finding (the worst list shows at most [`WORST_PODS`]).
    pods_with_findings: usize,
    /// Pods shown as a pod-index row only, and the cap that made them so.
    compact_pods: usize,
    max_detailed_pods: usize,
}

#[derive(Serialize)]
struct FleetRule {
    id: String,
    severity: &'static str,
}

#[derive(Serialize)]
struct FleetNode {
    index: usize,
    name: String,
    snapshots: u32,
    first: String,
    last: String,
    span: Option<String>,
    pods: usize,
    oom_kills: usize,
    severity: Option<&'static str>,
    critical: usize,
    warning: usize,
    info: usize,
    /// One per [`FleetView::rules`], in that order.
    cells: Vec<FleetCell>,
}

#[derive(Serialize)]
struct FleetCell {
    count: usize,
    /// Sum of the findings' amounts, when any has one.
    bytes: Option<String>,
    exact: Option<String>,
}

#[derive(Serialize)]
struct WorstPod {
    pod: PodRef,
    node: String,
    node_anchor: Option<String>,
    severity: &'static str,
    rules: Vec<String>,
    bytes: String,
    peak_usage: String,
    oom_kills: usize,
}

/// Most pods in the fleet view's worst-pods table.
const WORST_PODS: usize = 25;

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

fn build_page(report: &Report, opts: &HtmlOptions) -> Built {
    let pod_index: BTreeMap<(&str, &str), usize> = report
        .pods
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.node.as_str(), p.uid.as_str()), i))
        .collect();
    let pod_ref = |node: Option<&str>, uid: &str| -> Option<(PodRef, &PodReport)> {
        let i = match node {
            Some(n) => pod_index.get(&(n, uid)).copied(),
            None => report.pods.iter().position(|p| p.uid == uid),
        }?;
        let p = &report.pods[i];
        Some((
            PodRef {
                anchor: format!("pod-{i}"),
                label: pod_title(p),
            },
            p,
        ))
    };

    let facts = pod_facts(report);
    let detailed = detailed_pods(&facts, opts.max_detailed_pods);
    let charted = report
        .pods
        .iter()
        .zip(&detailed)
        .filter(|(p, d)| **d && !p.samples.is_empty())
        .count();
    let points = points_per_pod(opts, charted);

    let mut findings: Vec<_> = report.findings.iter().collect();
    findings.sort_by_key(|f| f.severity);
    let sorted_findings = findings.clone();
    let findings: Vec<FindingView> = findings
        .into_iter()
        .enumerate()
        .map(|(k, f)| {
            let found = f.pod_uid.as_deref().and_then(|u| pod_ref(Some(&f.node), u));
            let pod = found.as_ref().map(|(_, p)| *p);
            let chart = f
                .pod_uid
                .as_deref()
                .and_then(|u| pod_index.get(&(f.node.as_str(), u)).copied())
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
                id: f.id.clone(),
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
        .collect();

    let mut ooms: Vec<&OomEvent> = report.oom_events.iter().collect();
    ooms.sort_by_key(|e| (e.time.is_none(), e.time));
    let excerpts = excerpts_shown(&ooms);
    let ooms: Vec<OomView> = ooms
        .into_iter()
        .zip(&excerpts)
        .map(|(e, &shown)| {
            let found = e
                .pod_uid
                .as_deref()
                .and_then(|u| pod_ref(e.node.as_deref(), u));
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
        .collect();

    let mut pods = Vec::new();
    let mut pod_sparks = Vec::new();
    for (i, p) in report.pods.iter().enumerate() {
        let f = &facts[i];
        let (view, spark) = pod_view(i, p, &f.ooms, f.worst, detailed[i].then_some(points));
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

    let mut node_sparks = Vec::new();
    let nodes: Vec<NodeView> = report
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
    let fleet = (report.nodes.len() > 1).then(|| {
        fleet_view(
            report,
            &sorted_findings,
            &facts,
            &detailed,
            opts.max_detailed_pods,
        )
    });
    let mut nodes = nodes;
    if fleet.is_some() {
        for n in &mut nodes {
            node_detail(report, &sorted_findings, &pod_index, &facts, n);
        }
    }

    let firsts = report.nodes.iter().filter_map(|n| n.first).min();
    let lasts = report.nodes.iter().filter_map(|n| n.last).max();
    let mut versions: BTreeSet<String> = BTreeSet::new();
    for n in &report.nodes {
        versions.extend(n.collector_versions.iter().cloned());
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let summary = Summary {
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
    };
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
        inputs: report
            .inputs
            .iter()
            .map(|i| InputView {
                path: i.path.clone(),
                kind: i.kind.clone(),
                snapshots: i.snapshots,
                status: i.status.clone(),
                problems: i.problems.clone(),
            })
            .collect(),
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
        cgroup_mode: n.cgroup_mode.clone(),
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

/// What the page needs to know about each pod before building any view: its worst
/// finding, the largest amount its findings name, their rule ids, its OOM kills and its
/// peak usage.
struct PodFacts<'a> {
    worst: Option<Severity>,
    bytes: Option<u64>,
    rules: Vec<&'a str>,
    ooms: Vec<&'a OomEvent>,
    peak: Option<u64>,
}

fn pod_facts(report: &Report) -> Vec<PodFacts<'_>> {
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
fn worst_first(f: &PodFacts) -> impl Ord {
    (
        f.worst.map_or(3, |s| s as u8),
        Reverse(f.bytes),
        Reverse(f.ooms.len()),
        Reverse(f.peak),
    )
}

/// Which pods get a full section: all of them up to `cap`, else the `cap` worst.
fn detailed_pods(facts: &[PodFacts], cap: usize) -> Vec<bool> {
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
fn points_per_pod(opts: &HtmlOptions, charted: usize) -> usize {
    let share = opts.page_points / charted.max(1);
    share.clamp(MIN_POINTS.min(opts.max_points), opts.max_points)
}

fn pod_ref_at(report: &Report, i: usize) -> PodRef {
    PodRef {
        anchor: format!("pod-{i}"),
        label: pod_title(&report.pods[i]),
    }
}

fn fleet_view(
    report: &Report,
    findings: &[&Finding],
    facts: &[PodFacts],
    detailed: &[bool],
    max_detailed_pods: usize,
) -> FleetView {
    let mut rules: Vec<FleetRule> = Vec::new();
    for f in findings {
        if !rules.iter().any(|r| r.id == f.id) {
            rules.push(FleetRule {
                id: f.id.clone(),
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
                    let of: Vec<&&&Finding> = mine.iter().filter(|f| f.id == r.id).collect();
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
fn node_detail(
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
            id: f.id.clone(),
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

fn secs(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::as_second)
}

/// The label a container gets in tables and the chart legend.
fn container_label(p: &PodReport, id: &str) -> String {
    match p
        .containers
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.name.as_deref())
    {
        Some(name) => format!("{name} ({})", short_id(id)),
        None => short_id(id),
    }
}

/// One pod's view; `points` is its chart budget, `None` for a pod shown as an index
/// row only (no chart, moment, containers or compare blocks are built for it).
fn pod_view(
    index: usize,
    p: &PodReport,
    ooms: &[&OomEvent],
    worst: Option<Severity>,
    points: Option<usize>,
) -> (PodView, String) {
    let samples = &p.samples;
    let n = samples.len();

    // Events: OOM kills of this pod, containers that started after the first capture,
    // and containers that went away (marked at the first capture without them).
    let first_time = samples.first().and_then(|s| s.time);
    let mut events: Vec<(Timestamp, &'static str, String)> = Vec::new();
    for e in ooms {
        if let Some(t) = e.time {
            let who = match (&e.comm, e.pid) {
                (Some(c), Some(pid)) => format!("{c} (pid {pid})"),
                (Some(c), None) => c.clone(),
                (None, Some(pid)) => format!("pid {pid}"),
                (None, None) => "a process".to_owned(),
            };
            events.push((
                t,
                "oom",
                format!("OOM kill of {who}: {} limit hit", scope_name(e.scope)),
            ));
        }
    }
    for c in &p.containers {
        let label = container_label(p, &c.id);
        if let (Some(t), Some(f)) = (c.first_seen, first_time) {
            if t > f {
                events.push((t, "start", format!("container {label} appeared")));
            }
        }
        if c.gone {
            let after = c.last_seen.and_then(|ls| {
                samples
                    .iter()
                    .filter_map(|s| s.time)
                    .find(|&t| t > ls)
                    .or(Some(ls))
            });
            if let Some(t) = after {
                events.push((t, "gone", format!("container {label} gone")));
            }
        }
    }
    events.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));

    // Samples that must survive downsampling: both sides of every event and transition.
    let times: Vec<Option<Timestamp>> = samples.iter().map(|s| s.time).collect();
    let mut must = BTreeSet::new();
    let around = |t: Timestamp, must: &mut BTreeSet<usize>| {
        if let Some(i) = times.iter().rposition(|s| s.is_some_and(|s| s <= t)) {
            must.insert(i);
        }
        if let Some(i) = times.iter().position(|s| s.is_some_and(|s| s > t)) {
            must.insert(i);
        }
    };
    for (t, _, _) in &events {
        around(*t, &mut must);
    }
    for tr in &p.transitions {
        for t in [tr.before, tr.after].into_iter().flatten() {
            around(t, &mut must);
        }
    }
    for i in 1..n {
        if samples[i]
            .containers
            .keys()
            .ne(samples[i - 1].containers.keys())
        {
            must.insert(i - 1);
            must.insert(i);
        }
    }

    // Default moment: the capture just before the last OOM kill, else the latest.
    let last_oom = ooms.iter().filter_map(|e| e.time).max();
    let (moment_idx, why) = match last_oom.and_then(|t| {
        times
            .iter()
            .rposition(|s| s.is_some_and(|s| s < t))
            .map(|i| (i, t))
    }) {
        Some((i, t)) => (
            Some(i),
            format!("the capture just before the last OOM kill ({})", time(t)),
        ),
        None if n > 0 => (Some(n - 1), "the latest capture".to_owned()),
        None => (None, String::new()),
    };
    if let Some(i) = moment_idx {
        must.insert(i);
    }

    let usage: Vec<Option<u64>> = samples.iter().map(|s| s.pod.usage).collect();
    let picked = match points {
        Some(max) => downsample::pick(&usage, &must, max),
        None => Vec::new(),
    };
    let moment_point = moment_idx
        .and_then(|m| picked.iter().position(|&i| i == m))
        .unwrap_or(0);

    // Live containers in order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    for s in samples {
        for id in s.containers.keys() {
            if !order.contains(&id.as_str()) {
                order.push(id);
            }
        }
    }

    // Containers outside the pod cgroup are not part of the pod's memory: the chart
    // stacks only the ones inside, under the pod's own figures.
    let inside: Vec<&str> = order
        .iter()
        .copied()
        .filter(|id| {
            !p.containers
                .iter()
                .any(|c| c.id == *id && c.outside_pod_cgroup.is_some())
        })
        .collect();
    let data = (n > 0 && points.is_some()).then(|| {
        let d = chart_data(
            p,
            &picked,
            &inside,
            &events,
            moment_point,
            samples.iter().find_map(|s| s.time),
        );
        serde_json::to_string(&d).expect("chart data serializes")
    });

    let moment = moment_idx.filter(|_| points.is_some()).map(|i| {
        let s = &samples[i];
        MomentView {
            time: opt_time(s.time),
            snapshot: s.snapshot.clone(),
            why,
            point: moment_point,
            rows: moment_rows(p, s, &order),
        }
    });

    // An index row is all a row-only pod has, but a thousand of them must stay small:
    // half the sparkline points.
    let spark_points = if points.is_some() { 80 } else { 40 };
    let thin_usage = svg::thin(&usage, spark_points);
    let unattr_shmem: Vec<Option<u64>> = samples.iter().map(|s| s.unattributed.shmem).collect();
    let limits: Vec<Option<u64>> = samples.iter().map(|s| s.limit).collect();
    let spark = svg::sparkline(
        &thin_usage,
        &svg::thin(&unattr_shmem, spark_points),
        &svg::thin(&limits, spark_points),
    );

    let search = format!(
        "{} {} {} {}",
        p.namespace.as_deref().unwrap_or(""),
        p.name.as_deref().unwrap_or(""),
        p.uid,
        p.node
    )
    .to_lowercase();

    let mut view = PodView {
        index,
        anchor: format!("pod-{index}"),
        title: pod_title(p),
        name: p.name.clone(),
        namespace: p.namespace.clone(),
        uid: p.uid.clone(),
        node: p.node.clone(),
        qos: p.qos.and_then(|q| {
            serde_json::to_value(q)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        }),
        cgroup_path: p.cgroup_path.clone(),
        limit: p
            .limit
            .map(bytes)
            .unwrap_or_else(|| "none / unknown".to_owned()),
        search,
        severity: worst.map(|s| severity_name(s).to_owned()),
        oom_count: ooms.len(),
        gone_count: p.containers.iter().filter(|c| c.gone).count(),
        peak_usage: opt_bytes(usage.iter().flatten().copied().max()),
        peak_unattributed_shmem: opt_bytes(unattr_shmem.iter().flatten().copied().max()),
        samples: n,
        points: picked.len(),
        containers: p
            .containers
            .iter()
            .map(|c| ContainerView {
                id: id_view(Some(p), &c.id),
                runtime: c.runtime.clone(),
                first_seen: opt_time(c.first_seen),
                last_seen: opt_time(c.last_seen),
                gone: c.gone,
                last_usage: opt_bytes(c.last.usage),
                last_working_set: opt_bytes(c.last.working_set),
                last_shmem: opt_bytes(c.last.shmem),
            })
            .collect(),
        volumes: p
            .volumes
            .iter()
            .map(|v| VolumeView {
                name: v.name.clone(),
                plugin: v.plugin.clone(),
                size: opt_bytes(v.size_bytes),
                max_used: opt_bytes(v.max_used),
                mount_point: v.mount_point.clone(),
            })
            .collect(),
        moment,
        events: events
            .iter()
            .map(|(t, kind, label)| EventView {
                time: time(*t),
                kind,
                label: label.clone(),
            })
            .collect(),
        transitions: p
            .transitions
            .iter()
            .map(|t| transition_view(p, t))
            .collect(),
        data,
        detailed: points.is_some(),
    };
    if !view.detailed {
        // An index row shows none of these; they would only cost page bytes.
        view.containers.clear();
        view.volumes.clear();
        view.events.clear();
        view.transitions.clear();
    }
    (view, spark)
}

/// The container working set the kubelet reports for a container id, by its name.
fn kubelet_container_ws(p: &PodReport, s: &PodSample, id: &str) -> Option<u64> {
    // The kubelet names containers, not ids: a restarted container's name belongs to
    // whichever instance is live.
    s.containers.get(id)?;
    let name = p.containers.iter().find(|c| c.id == id)?.name.as_deref()?;
    s.kubelet.as_ref()?.containers.get(name).copied()
}

/// Volume names with a figure at any time, in name order.
fn volume_names(p: &PodReport) -> Vec<String> {
    let mut names: BTreeSet<String> = p.volumes.iter().map(|v| v.name.clone()).collect();
    for s in &p.samples {
        names.extend(s.tmpfs_used.keys().cloned());
    }
    names.into_iter().collect()
}

/// Rows of the moment table, in a fixed order the script mirrors (see `chart_data`).
fn moment_rows(p: &PodReport, s: &PodSample, order: &[&str]) -> Vec<MomentRow> {
    let mut rows = vec![
        MomentRow {
            kind: "top",
            label: "kubectl top pod".into(),
            title: None,
            formula: "Σ container working sets".into(),
            cells: [Cell::default(), cell(s.kubectl_top), Cell::default()],
        },
        MomentRow {
            kind: "kubelet",
            label: "kubelet summary: pod".into(),
            title: None,
            formula: "pod workingSetBytes (from the pod cgroup)".into(),
            cells: [
                Cell::default(),
                cell(s.kubelet.as_ref().and_then(|k| k.pod_working_set)),
                Cell::default(),
            ],
        },
    ];
    for id in order {
        rows.push(MomentRow {
            kind: "kubelet",
            label: format!("kubelet summary: {}", container_label(p, id)),
            title: Some((*id).to_owned()),
            formula: "container workingSetBytes".into(),
            cells: [
                Cell::default(),
                cell(kubelet_container_ws(p, s, id)),
                Cell::default(),
            ],
        });
    }
    for id in order {
        let m = s.containers.get(*id);
        rows.push(MomentRow {
            kind: "container",
            label: format!("container cgroup {}", container_label(p, id)),
            title: Some((*id).to_owned()),
            formula: if m.is_some() {
                "live".into()
            } else {
                "not live at this moment".into()
            },
            cells: [
                cell(m.and_then(|m| m.usage)),
                cell(m.and_then(|m| m.working_set)),
                cell(m.and_then(|m| m.shmem)),
            ],
        });
    }
    rows.push(MomentRow {
        kind: "pod",
        label: "pod cgroup".into(),
        title: p.cgroup_path.clone(),
        formula: "hierarchical: includes removed containers' charges".into(),
        cells: [
            cell(s.pod.usage),
            cell(s.pod.working_set),
            cell(s.pod.shmem),
        ],
    });
    rows.push(MomentRow {
        kind: "unattr",
        label: "unattributed".into(),
        title: None,
        formula: "pod − Σ live containers".into(),
        cells: [
            cell(s.unattributed.usage),
            cell(s.unattributed.working_set),
            cell(s.unattributed.shmem),
        ],
    });
    for v in volume_names(p) {
        rows.push(MomentRow {
            kind: "tmpfs",
            label: format!("tmpfs used: {v}"),
            title: None,
            formula: "statfs of the emptyDir mount".into(),
            cells: [
                Cell::default(),
                Cell::default(),
                cell(s.tmpfs_used.get(&v).copied()),
            ],
        });
    }
    rows.push(MomentRow {
        kind: "limit",
        label: "pod limit".into(),
        title: None,
        formula: "memory limit of the pod cgroup".into(),
        cells: [cell(s.limit), Cell::default(), Cell::default()],
    });
    rows
}

fn chart_data(
    p: &PodReport,
    picked: &[usize],
    order: &[&str],
    events: &[(Timestamp, &'static str, String)],
    moment: usize,
    t0: Option<Timestamp>,
) -> ChartData {
    let pts: Vec<&PodSample> = picked.iter().map(|&i| &p.samples[i]).collect();
    let t0s = secs(t0).unwrap_or(0);
    let mut pool = Pool::default();
    let mut col = |f: &dyn Fn(&PodSample) -> Option<u64>| -> Option<usize> {
        pool.add(pts.iter().map(|s| f(s).map(kib)).collect())
    };
    let other = |m: &MemStats| match (m.usage, m.shmem) {
        (Some(u), Some(s)) => Some(u.saturating_sub(s)),
        (u, None) => u,
        (None, Some(_)) => None,
    };
    let mut stack: Vec<Series> = Vec::new();
    let mut rows: Vec<[Option<usize>; 3]> = Vec::new();
    let usage_of: Vec<Option<usize>> = order
        .iter()
        .map(|id| col(&|s| s.containers.get(*id).and_then(|m| m.usage)))
        .collect();
    for (id, v) in order.iter().zip(&usage_of) {
        stack.push(Series {
            label: container_label(p, id),
            kind: "container",
            v: *v,
        });
    }
    stack.push(Series {
        label: "unattributed other".into(),
        kind: "unattr-other",
        v: col(&|s| other(&s.unattributed)),
    });
    let unattr_shmem = col(&|s| s.unattributed.shmem);
    stack.push(Series {
        label: "unattributed shmem".into(),
        kind: "unattr-shmem",
        v: unattr_shmem,
    });
    let top = col(&|s| s.kubectl_top);
    rows.push([None, top, None]);
    rows.push([
        None,
        col(&|s| s.kubelet.as_ref().and_then(|k| k.pod_working_set)),
        None,
    ]);
    for id in order {
        rows.push([None, col(&|s| kubelet_container_ws(p, s, id)), None]);
    }
    for (id, usage) in order.iter().zip(&usage_of) {
        rows.push([
            *usage,
            col(&|s| s.containers.get(*id).and_then(|m| m.working_set)),
            col(&|s| s.containers.get(*id).and_then(|m| m.shmem)),
        ]);
    }
    rows.push([
        col(&|s| s.pod.usage),
        col(&|s| s.pod.working_set),
        col(&|s| s.pod.shmem),
    ]);
    rows.push([
        col(&|s| s.unattributed.usage),
        col(&|s| s.unattributed.working_set),
        unattr_shmem,
    ]);
    for v in volume_names(p) {
        rows.push([None, None, col(&|s| s.tmpfs_used.get(&v).copied())]);
    }
    let limit = col(&|s| s.limit);
    rows.push([limit, None, None]);
    let mut last = 0;
    let t = pts
        .iter()
        .map(|s| {
            let off = secs(s.time).map_or(last, |t| t - t0s);
            let d = off - last;
            last = off;
            d
        })
        .collect();
    ChartData {
        t0: t0s,
        t,
        pool: pool.encode(),
        top,
        limit,
        stack,
        events: events
            .iter()
            .map(|(t, kind, label)| ChartEvent {
                t: t.as_second(),
                kind,
                label: label.clone(),
            })
            .collect(),
        rows,
        moment,
    }
}

fn transition_view(p: &PodReport, t: &Transition) -> TransitionView {
    let delta = |b: Option<u64>, a: Option<u64>| -> DeltaCell {
        let (dir, d) = match (b, a) {
            (Some(b), Some(a)) if a > b => ("up", format!("▲ +{}", bytes(a - b))),
            (Some(b), Some(a)) if a < b => ("down", format!("▼ −{}", bytes(b - a))),
            (Some(_), Some(_)) => ("same", "=".to_owned()),
            // Absent on one side: the cgroup disappeared or appeared with this much.
            (Some(b), None) if b > 0 => ("down", format!("▼ −{} (gone)", bytes(b))),
            (None, Some(a)) if a > 0 => ("up", format!("▲ +{} (new)", bytes(a))),
            _ => ("na", String::new()),
        };
        DeltaCell {
            before: opt_bytes(b),
            after: opt_bytes(a),
            delta: d,
            dir,
        }
    };
    TransitionView {
        reason: t.reason.clone(),
        before: opt_time(t.before),
        after: opt_time(t.after),
        appeared: t.appeared.iter().map(|c| id_view(Some(p), c)).collect(),
        disappeared: t.disappeared.iter().map(|c| id_view(Some(p), c)).collect(),
        rows: t
            .rows
            .iter()
            .map(|r| {
                let (kind, label, title) = match r.cgroup.as_str() {
                    "pod" => ("pod", "pod cgroup".to_owned(), None),
                    "unattributed" => ("unattr", "unattributed".to_owned(), None),
                    id => (
                        "container",
                        format!("container {}", container_label(p, id)),
                        Some(id.to_owned()),
                    ),
                };
                let (b, a) = (&r.before, &r.after);
                TransitionRowView {
                    kind,
                    label,
                    title,
                    cells: vec![
                        delta(b.usage, a.usage),
                        delta(b.shmem, a.shmem),
                        delta(b.cache, a.cache),
                        delta(b.rss, a.rss),
                    ],
                }
            })
            .collect(),
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
