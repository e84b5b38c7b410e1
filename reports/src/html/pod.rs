//! One pod's part of the page: its section (facts, chart data, the moment table,
//! events, containers, volumes, the compare blocks around transitions) and its
//! sparkline. The chart data is downsampled (the crate's `downsample`) and pooled so a
//! day of minutes costs a few KiB per pod.

use std::collections::BTreeSet;

use jiff::Timestamp;
use podmem_schema::oom::OomEvent;
use podmem_schema::report::{MemStats, NodeReport, PodReport, PodSample, Severity, Transition};
use serde::Serialize;

use super::format::{bytes, kib, opt_bytes, opt_time, short_id, time};
use super::{id_view, pod_title, scope_name, severity_name, svg, IdView};
use crate::downsample;

#[derive(Serialize)]
pub(super) struct PodView {
    pub(super) index: usize,
    pub(super) anchor: String,
    pub(super) title: String,
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) uid: String,
    pub(super) node: String,
    pub(super) qos: Option<String>,
    pub(super) cgroup_path: Option<String>,
    pub(super) limit: String,
    pub(super) search: String,
    pub(super) severity: Option<String>,
    pub(super) oom_count: usize,
    pub(super) gone_count: usize,
    pub(super) peak_usage: String,
    pub(super) peak_unattributed_shmem: String,
    pub(super) samples: usize,
    pub(super) points: usize,
    pub(super) containers: Vec<ContainerView>,
    pub(super) volumes: Vec<VolumeView>,
    pub(super) moment: Option<MomentView>,
    pub(super) events: Vec<EventView>,
    pub(super) transitions: Vec<TransitionView>,
    /// Compact JSON of [`ChartData`]; the template embeds it with `tojson`.
    pub(super) data: Option<String>,
    /// False for a pod shown as a row of the pod index only (see
    /// [`HtmlOptions::max_detailed_pods`]): the row carries its anchor.
    pub(super) detailed: bool,
}

#[derive(Serialize)]
pub(super) struct ContainerView {
    pub(super) id: IdView,
    pub(super) runtime: Option<String>,
    pub(super) first_seen: String,
    pub(super) last_seen: String,
    pub(super) gone: bool,
    pub(super) last_usage: String,
    pub(super) last_working_set: String,
    pub(super) last_shmem: String,
}

#[derive(Serialize)]
pub(super) struct VolumeView {
    pub(super) name: String,
    pub(super) plugin: String,
    pub(super) size: String,
    pub(super) max_used: String,
    pub(super) mount_point: String,
}

#[derive(Serialize)]
pub(super) struct MomentView {
    pub(super) time: String,
    pub(super) snapshot: String,
    pub(super) why: String,
    pub(super) point: usize,
    pub(super) rows: Vec<MomentRow>,
}

/// One view of the pod's memory at a moment; columns usage / working set / shmem-tmpfs.
#[derive(Serialize)]
pub(super) struct MomentRow {
    pub(super) kind: &'static str,
    pub(super) label: String,
    pub(super) title: Option<String>,
    pub(super) formula: String,
    pub(super) cells: [Cell; 3],
}

#[derive(Serialize, Default)]
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) exact: Option<String>,
}

pub(super) fn cell(b: Option<u64>) -> Cell {
    match b {
        Some(b) => Cell {
            text: bytes(b),
            exact: Some(format!("{b} bytes")),
        },
        None => Cell::default(),
    }
}

#[derive(Serialize)]
pub(super) struct EventView {
    pub(super) time: String,
    pub(super) kind: &'static str,
    pub(super) label: String,
}

#[derive(Serialize)]
pub(super) struct TransitionView {
    pub(super) reason: String,
    pub(super) before: String,
    pub(super) after: String,
    pub(super) appeared: Vec<IdView>,
    pub(super) disappeared: Vec<IdView>,
    pub(super) rows: Vec<TransitionRowView>,
}

#[derive(Serialize)]
pub(super) struct TransitionRowView {
    pub(super) kind: &'static str,
    pub(super) label: String,
    pub(super) title: Option<String>,
    pub(super) cells: Vec<DeltaCell>,
}

#[derive(Serialize)]
pub(super) struct DeltaCell {
    pub(super) before: String,
    pub(super) after: String,
    pub(super) delta: String,
    pub(super) dir: &'static str,
}

/// What the page's script needs to draw one pod. Sized for a day of minutes × 110
/// pods: times are offsets from `t0` (seconds), values KiB, and every value series
/// lives once in `pool` (identical series shared), delta-encoded against the previous
/// known value so flat and slowly moving series cost a few digits per point. The
/// renderer serializes it compactly and the template passes that text through `tojson`.
#[derive(Serialize)]
pub(super) struct ChartData {
    pub(super) t0: i64,
    /// Delta-encoded offsets from `t0`.
    pub(super) t: Vec<i64>,
    /// Delta-encoded series (`null` = unknown at that point).
    pub(super) pool: Vec<Vec<Option<i64>>>,
    /// Bottom to top: live containers, unattributed other, unattributed shmem.
    pub(super) stack: Vec<Series>,
    pub(super) top: Option<usize>,
    pub(super) limit: Option<usize>,
    pub(super) events: Vec<ChartEvent>,
    /// Moment table rows in the order of the server-rendered table: per column
    /// (usage, working set, shmem/tmpfs) a pool index or `null`.
    pub(super) rows: Vec<[Option<usize>; 3]>,
    pub(super) moment: usize,
}

#[derive(Serialize)]
pub(super) struct Series {
    pub(super) label: String,
    pub(super) kind: &'static str,
    pub(super) v: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct ChartEvent {
    pub(super) t: i64,
    pub(super) kind: &'static str,
    pub(super) label: String,
}

/// Interns value series: all-unknown series become `None`, repeats share an index.
#[derive(Default)]
pub(super) struct Pool {
    pub(super) arrays: Vec<Vec<Option<u64>>>,
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

pub(super) fn secs(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::as_second)
}

/// The label a container gets in tables and the chart legend.
pub(super) fn container_label(p: &PodReport, id: &str) -> String {
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

/// One pod's view; `node` is its node (whose table names the samples' archives);
/// `points` is its chart budget, `None` for a pod shown as an index row only (no chart,
/// moment, containers or compare blocks are built for it).
pub(super) fn pod_view(
    index: usize,
    p: &PodReport,
    node: Option<&NodeReport>,
    ooms: &[&OomEvent],
    worst: Option<Severity>,
    points: Option<usize>,
) -> (PodView, String) {
    let samples = &p.samples;
    let n = samples.len();

    let events = pod_events(p, ooms);

    let times: Vec<Option<Timestamp>> = samples.iter().map(|s| s.time).collect();
    let mut must = must_keep(p, &times, &events);

    let (moment_idx, why) = default_moment(&times, ooms);
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
            snapshot: node
                .and_then(|n| n.archive(s.snapshot))
                .unwrap_or_default()
                .to_string(),
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
                plugin: v.plugin.to_string(),
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

/// A pod's chart markers in time order: its OOM kills, containers that started after
/// the first capture, and containers that went away (marked at the first capture
/// without them).
fn pod_events(p: &PodReport, ooms: &[&OomEvent]) -> Vec<(Timestamp, &'static str, String)> {
    let samples = &p.samples;
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
    events
}

/// Samples that must survive downsampling: both sides of every event and transition,
/// and of every change in the set of live containers.
fn must_keep(
    p: &PodReport,
    times: &[Option<Timestamp>],
    events: &[(Timestamp, &'static str, String)],
) -> BTreeSet<usize> {
    let samples = &p.samples;
    let n = samples.len();
    let mut must = BTreeSet::new();
    let around = |t: Timestamp, must: &mut BTreeSet<usize>| {
        if let Some(i) = times.iter().rposition(|s| s.is_some_and(|s| s <= t)) {
            must.insert(i);
        }
        if let Some(i) = times.iter().position(|s| s.is_some_and(|s| s > t)) {
            must.insert(i);
        }
    };
    for (t, _, _) in events {
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
    must
}

/// The moment the pod's table opens at: the capture just before the last OOM kill,
/// else the latest; and why, in words.
fn default_moment(times: &[Option<Timestamp>], ooms: &[&OomEvent]) -> (Option<usize>, String) {
    let n = times.len();
    let last_oom = ooms.iter().filter_map(|e| e.time).max();
    match last_oom.and_then(|t| {
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
    }
}

/// The container working set the kubelet reports for a container id, by its name.
pub(super) fn kubelet_container_ws(p: &PodReport, s: &PodSample, id: &str) -> Option<u64> {
    // The kubelet names containers, not ids: a restarted container's name belongs to
    // whichever instance is live.
    s.containers.get(id)?;
    let name = p.containers.iter().find(|c| c.id == id)?.name.as_deref()?;
    s.kubelet.as_ref()?.containers.get(name).copied()
}

/// Volume names with a figure at any time, in name order.
pub(super) fn volume_names(p: &PodReport) -> Vec<String> {
    let mut names: BTreeSet<String> = p.volumes.iter().map(|v| v.name.clone()).collect();
    for s in &p.samples {
        names.extend(s.tmpfs_used.keys().cloned());
    }
    names.into_iter().collect()
}

/// Rows of the moment table, in a fixed order the script mirrors (see `chart_data`).
pub(super) fn moment_rows(p: &PodReport, s: &PodSample, order: &[&str]) -> Vec<MomentRow> {
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

pub(super) fn chart_data(
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

pub(super) fn transition_view(p: &PodReport, t: &Transition) -> TransitionView {
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
