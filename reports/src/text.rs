//! The terminal summary a support engineer reads first: a header (nodes, span,
//! snapshots, for several nodes each node's findings by rule, input problems), the
//! findings by severity with their explanation and key numbers, then per pod (pods
//! with findings first) a compact table over time of at most [`MAX_ROWS`] rows, picked
//! by the downsampler the HTML charts use: the captures around events, the first and
//! the last, and between them each stretch's highest and lowest pod usage, so a peak
//! or a dip is never skipped.
//!
//! Pure functions of the report; names from snapshots go through the shared escaper
//! (`podmem_schema::display`) so a hostile name cannot drive the terminal or reorder
//! what is shown.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::{Finding, PodReport, PodSample, Report, Severity};
use podmem_schema::units::fmt_bytes;

/// Most rows of a pod's table.
pub const MAX_ROWS: usize = 20;
/// Pods shown with a full table when they have no finding.
pub const MAX_QUIET_POD_TABLES: usize = 10;
/// Width text paragraphs are wrapped at.
const WIDTH: usize = 100;

/// Renders the text summary.
pub fn render_text(r: &Report) -> String {
    let mut o = String::new();
    header(r, &mut o);
    findings(r, &mut o);
    pods(r, &mut o);
    o
}

/// Untrusted strings through the shared escaper: control characters (escape
/// sequences) and bidi overrides shown as `\u{..}`.
fn clean(s: &str) -> String {
    podmem_schema::display::escape(s).into_owned()
}

fn opt(v: Option<u64>) -> String {
    v.map(fmt_bytes).unwrap_or_else(|| "-".to_string())
}

fn short(id: &str) -> String {
    clean(&id[..id.len().min(12)])
}

fn time(t: Option<jiff::Timestamp>) -> String {
    match t {
        Some(t) => {
            let s = t.strftime("%Y-%m-%d %H:%M:%S").to_string();
            s
        }
        None => "-".to_string(),
    }
}

fn pod_name(p: &PodReport) -> String {
    match (&p.namespace, &p.name) {
        (Some(ns), Some(n)) => clean(&format!("{ns}/{n}")),
        (None, Some(n)) => clean(n),
        (Some(ns), None) => clean(&format!("{ns}/pod {}", p.uid)),
        (None, None) => format!("pod {}", clean(&p.uid)),
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

/// Wraps `text` at [`WIDTH`] with `indent` before every line.
fn wrap(text: &str, indent: &str, o: &mut String) {
    let mut line = String::new();
    for word in clean(text).split_whitespace() {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > WIDTH
        {
            let _ = writeln!(o, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(o, "{indent}{line}");
    }
}

fn header(r: &Report, o: &mut String) {
    let _ = writeln!(
        o,
        "podmem report ({}, analyzer {}, generated {})",
        r.format,
        clean(&r.analyzer_version),
        time(Some(r.generated_at))
    );
    let snaps: u32 = r.nodes.iter().map(|n| n.snapshots).sum();
    let first = r.nodes.iter().filter_map(|n| n.first).min();
    let last = r.nodes.iter().filter_map(|n| n.last).max();
    let _ = writeln!(
        o,
        "{} node(s), {} snapshot(s), {} → {}, {} pod(s), {} OOM kill(s)",
        r.nodes.len(),
        snaps,
        time(first),
        time(last),
        r.pods.len(),
        r.oom_events.len()
    );
    if let Some(om) = &r.oom_events_omitted {
        let _ = writeln!(o, "  {}", om.sentence());
    }
    for n in &r.nodes {
        let _ = writeln!(
            o,
            "  node {}: {} snapshot(s) {} → {}, kernel {}, cgroup {}{}",
            clean(&n.name),
            n.snapshots,
            time(n.first),
            time(n.last),
            clean(n.kernel.as_deref().unwrap_or("?")),
            clean(n.cgroup_mode.map_or("?", |m| m.as_str())),
            if n.boots.len() > 1 {
                format!(", {} boots (timeline split at each reboot)", n.boots.len())
            } else {
                String::new()
            }
        );
        if r.nodes.len() > 1 {
            node_findings(r, &n.name, o);
        }
    }
    let bad: Vec<_> = r.inputs.iter().filter(|i| i.status != "ok").collect();
    let rejected = bad.iter().filter(|i| i.status == "rejected").count();
    let _ = writeln!(
        o,
        "inputs: {} read, {} with problems, {} rejected",
        r.inputs.len(),
        bad.len() - rejected,
        rejected
    );
    let mut shown = 0;
    let total: usize = bad.iter().map(|i| i.problems.len()).sum();
    for i in &bad {
        for p in &i.problems {
            if shown < 10 {
                wrap(p, "  ! ", o);
                shown += 1;
            }
        }
    }
    if total > shown {
        let _ = writeln!(
            o,
            "  ! ... {} more problem(s), see the JSON report",
            total - shown
        );
    }
    o.push('\n');
}

/// In a report of several nodes, one line under each node: its findings by severity
/// and per rule id, with the memory they name (summed), so which nodes hold orphaned
/// memory or loop on OOM kills reads down the list.
fn node_findings(r: &Report, node: &str, o: &mut String) {
    let mine: Vec<&Finding> = r.findings.iter().filter(|f| f.node == node).collect();
    if mine.is_empty() {
        let _ = writeln!(o, "    no findings");
        return;
    }
    let count = |s: Severity| mine.iter().filter(|f| f.severity == s).count();
    let mut rules: Vec<(&str, usize, Option<u64>)> = Vec::new();
    for f in &mine {
        match rules.iter_mut().find(|(id, _, _)| f.id == *id) {
            Some((_, n, b)) => {
                *n += 1;
                if let Some(x) = f.bytes {
                    *b = Some(b.unwrap_or(0).saturating_add(x));
                }
            }
            None => rules.push((f.id.as_str(), 1, f.bytes)),
        }
    }
    let rules: Vec<String> = rules
        .into_iter()
        .map(|(id, n, b)| match b {
            Some(b) => format!("{id} ×{n} ({})", fmt_bytes(b)),
            None => format!("{id} ×{n}"),
        })
        .collect();
    wrap(
        &format!(
            "{} critical, {} warning, {} info: {}",
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Info),
            rules.join(", ")
        ),
        "    ",
        o,
    );
}

fn findings(r: &Report, o: &mut String) {
    let count = |s: Severity| r.findings.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        o,
        "FINDINGS: {} critical, {} warning, {} info",
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info)
    );
    if r.findings.is_empty() {
        let _ = writeln!(o, "  none: no rule fired.");
    }
    for f in &r.findings {
        finding(f, o);
    }
    o.push('\n');
}

fn finding(f: &Finding, o: &mut String) {
    let _ = writeln!(
        o,
        "\n{} {} [{}]{}",
        severity_word(f.severity),
        clean(f.id.as_str()),
        clean(&f.node),
        f.bytes
            .map(|b| format!(" {}", fmt_bytes(b)))
            .unwrap_or_default()
    );
    wrap(&f.title, "  ", o);
    wrap(&f.detail, "    ", o);
    if !f.container_ids.is_empty() {
        let ids: Vec<String> = f.container_ids.iter().map(|c| clean(c)).collect();
        wrap(&format!("containers: {}", ids.join(", ")), "    ", o);
    }
    wrap(&format!("→ {}", f.recommendation), "    ", o);
    for e in f.evidence.iter().take(8) {
        let src = e
            .source
            .as_deref()
            .map(|s| format!("  ({})", clean(s)))
            .unwrap_or_default();
        let _ = writeln!(o, "      · {}: {}{}", clean(&e.label), clean(&e.value), src);
    }
    if f.evidence.len() > 8 {
        let _ = writeln!(o, "      · ... {} more", f.evidence.len() - 8);
    }
}

fn pods(r: &Report, o: &mut String) {
    let flagged: BTreeSet<(&str, &str)> = r
        .findings
        .iter()
        .filter_map(|f| Some((f.node.as_str(), f.pod_uid.as_deref()?)))
        .collect();
    let (mut with, mut without): (Vec<&PodReport>, Vec<&PodReport>) = r
        .pods
        .iter()
        .partition(|p| flagged.contains(&(p.node.as_str(), p.uid.as_str())));
    let worst = |p: &PodReport| {
        r.findings
            .iter()
            .filter(|f| f.node == p.node && f.pod_uid.as_deref() == Some(p.uid.as_str()))
            .map(|f| f.severity)
            .min()
    };
    with.sort_by_key(|p| worst(p));
    without.sort_by_key(|p| std::cmp::Reverse(p.samples.last().and_then(|s| s.pod.working_set)));
    let _ = writeln!(o, "PODS");
    for p in &with {
        let ids: Vec<&str> = r
            .findings
            .iter()
            .filter(|f| f.node == p.node && f.pod_uid.as_deref() == Some(p.uid.as_str()))
            .map(|f| f.id.as_str())
            .collect();
        pod_table(r, p, &ids, o);
    }
    for p in without.iter().take(MAX_QUIET_POD_TABLES) {
        pod_table(r, p, &[], o);
    }
    if without.len() > MAX_QUIET_POD_TABLES {
        let _ = writeln!(
            o,
            "\n{} more pod(s) without findings (latest working set / limit):",
            without.len() - MAX_QUIET_POD_TABLES
        );
        for p in &without[MAX_QUIET_POD_TABLES..] {
            let last = p.samples.last();
            let _ = writeln!(
                o,
                "  {} [{}] {} / {}",
                pod_name(p),
                clean(&p.node),
                opt(last.and_then(|s| s.pod.working_set)),
                opt(p.limit)
            );
        }
    }
}

fn pod_table(r: &Report, p: &PodReport, ids: &[&str], o: &mut String) {
    let _ = writeln!(
        o,
        "\n{} [{}]{}, {}, limit {}{}",
        pod_name(p),
        clean(&p.node),
        if p.name.is_some() {
            format!(" uid {}", clean(&p.uid))
        } else {
            String::new()
        },
        p.qos
            .map(|q| format!("{q:?}").to_lowercase())
            .unwrap_or_else(|| "qos ?".to_string()),
        opt(p.limit),
        if ids.is_empty() {
            String::new()
        } else {
            format!(" — findings: {}", ids.join(", "))
        }
    );
    for c in &p.containers {
        let _ = writeln!(
            o,
            "  container {} {}{} seen {} → {}{}{}",
            short(&c.id),
            c.name.as_deref().map(clean).unwrap_or_else(|| "-".into()),
            c.runtime
                .as_deref()
                .map(|r| format!(" ({})", clean(r)))
                .unwrap_or_default(),
            time(c.first_seen),
            time(c.last_seen),
            if c.gone { " (gone)" } else { "" },
            c.outside_pod_cgroup
                .as_deref()
                .map(|p| format!(", outside the pod cgroup at {}", clean(p)))
                .unwrap_or_default()
        );
    }
    for v in &p.volumes {
        let _ = writeln!(
            o,
            "  volume {} ({}) size {} max used {}",
            clean(&v.name),
            clean(v.plugin.as_str()),
            opt(v.size_bytes),
            opt(v.max_used)
        );
    }
    let mut events: BTreeSet<usize> = BTreeSet::new();
    let mut oom_rows: BTreeSet<usize> = BTreeSet::new();
    for t in &p.transitions {
        for (i, s) in p.samples.iter().enumerate() {
            if s.time == t.before || s.time == t.after {
                events.insert(i);
                if t.reason == "oom" && s.time == t.after {
                    oom_rows.insert(i);
                }
            }
        }
    }
    let ooms = r
        .oom_events
        .iter()
        .filter(|e| {
            e.node.as_deref() == Some(p.node.as_str())
                && e.pod_uid.as_deref() == Some(p.uid.as_str())
        })
        .count();
    let usage: Vec<Option<u64>> = p.samples.iter().map(|s| s.pod.usage).collect();
    let rows = crate::downsample::pick_at_most(&usage, &events, MAX_ROWS);
    if rows.len() < p.samples.len() {
        let _ = writeln!(
            o,
            "  ({} of {} captures shown; * = container change, ! = OOM kill before it; {} OOM kill(s))",
            rows.len(),
            p.samples.len(),
            ooms
        );
    } else if !events.is_empty() || ooms > 0 {
        let _ = writeln!(
            o,
            "  (* = container change, ! = OOM kill before it; {ooms} OOM kill(s))"
        );
    }
    let _ = writeln!(
        o,
        "  {:<19}  {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>4}",
        "time",
        "usage",
        "workingset",
        "kubect.top",
        "shmem",
        "unattrib.",
        "unattr.shm",
        "tmpfs",
        "limit",
        "ctrs"
    );
    for i in rows {
        let s: &PodSample = &p.samples[i];
        let mark = if oom_rows.contains(&i) {
            '!'
        } else if events.contains(&i) {
            '*'
        } else {
            ' '
        };
        let tmpfs = if s.tmpfs_used.is_empty() {
            None
        } else {
            Some(
                s.tmpfs_used
                    .values()
                    .fold(0u64, |a, b| a.saturating_add(*b)),
            )
        };
        let _ = writeln!(
            o,
            "{mark} {:<19}  {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>4}",
            time(s.time),
            opt(s.pod.usage),
            opt(s.pod.working_set),
            opt(s.kubectl_top),
            opt(s.pod.shmem),
            opt(s.unattributed.usage),
            opt(s.unattributed.shmem),
            opt(tmpfs),
            opt(s.limit),
            s.containers.len()
        );
    }
}

/// Renders OOM events as a table plus one paragraph per kill (the `ooms` command).
pub fn render_oom_events(events: &[OomEvent]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} OOM kill(s)", events.len());
    for e in events {
        let scope = match e.scope {
            OomScope::Container => "container limit",
            OomScope::Pod => "POD limit",
            OomScope::Kubepods => "kubepods (node allocatable)",
            OomScope::Global => "GLOBAL (whole node)",
            OomScope::Other => "other memcg",
        };
        let when = match (e.time, e.uptime_secs) {
            (Some(t), _) => time(Some(t)),
            (None, Some(u)) => format!("{u:.3}s after boot"),
            _ => "time unknown".to_string(),
        };
        let _ = writeln!(
            o,
            "\n{when}  {} (pid {})  scope: {scope}",
            clean(e.comm.as_deref().unwrap_or("?")),
            e.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
        );
        if e.pod_uid.is_some() || e.container_id.is_some() {
            let _ = writeln!(
                o,
                "  pod {}  container {}",
                clean(e.pod_uid.as_deref().unwrap_or("-")),
                clean(e.container_id.as_deref().unwrap_or("-"))
            );
        }
        if e.oom_memcg.is_some() || e.task_memcg.is_some() {
            let _ = writeln!(
                o,
                "  oom_memcg  {}",
                clean(e.oom_memcg.as_deref().unwrap_or("-"))
            );
            let _ = writeln!(
                o,
                "  task_memcg {}",
                clean(e.task_memcg.as_deref().unwrap_or("-"))
            );
        }
        if e.memcg_usage.is_some() || e.memcg_limit.is_some() {
            let _ = writeln!(
                o,
                "  memcg usage {} limit {}",
                opt(e.memcg_usage),
                opt(e.memcg_limit)
            );
        }
        if e.anon_rss.is_some() || e.file_rss.is_some() || e.shmem_rss.is_some() {
            let _ = writeln!(
                o,
                "  victim anon-rss {} file-rss {} shmem-rss {}",
                opt(e.anon_rss),
                opt(e.file_rss),
                opt(e.shmem_rss)
            );
        }
        if let Some(s) = &e.source {
            let _ = writeln!(o, "  source {}", clean(s));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(min: i64, pod: u64, shmem: u64, ctrs: &[(&str, u64)]) -> PodSample {
        let mib = 1u64 << 20;
        let ms = |u: u64, s: u64| podmem_schema::report::MemStats {
            usage: Some(u * mib),
            working_set: Some(u * mib),
            shmem: Some(s * mib),
            cache: Some(s * mib),
            rss: Some(u.saturating_sub(s) * mib),
            inactive_file: Some(0),
        };
        let live: u64 = ctrs.iter().map(|c| c.1).sum();
        PodSample {
            time: Some(jiff::Timestamp::from_second(1_795_000_000 + min * 60).unwrap()),
            snapshot: u32::try_from(min).unwrap(),
            pod: ms(pod, shmem),
            limit: Some(100 * mib),
            containers: ctrs
                .iter()
                .map(|(id, u)| (id.to_string(), ms(*u, 0)))
                .collect(),
            unattributed: ms(pod - live, shmem),
            kubectl_top: Some(live * mib),
            tmpfs_used: [("cache".to_string(), shmem * mib)].into_iter().collect(),
            kubelet: None,
        }
    }

    /// A hand-made report: one pod that lost a container holding 64 MiB of tmpfs, a
    /// pod-level OOM, a hostile pod name, and an input problem.
    #[test]
    fn text_summary_snapshot() {
        use podmem_schema::report::*;
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let samples = vec![
            sample(0, 85, 64, &[(&a, 84)]),
            sample(1, 75, 64, &[(&b, 10)]),
            sample(2, 99, 64, &[(&b, 34)]),
        ];
        let report = Report {
            format: podmem_schema::report::REPORT_FORMAT.to_string(),
            generated_at: jiff::Timestamp::UNIX_EPOCH,
            analyzer_version: "0.1.0".to_string(),
            inputs: vec![InputReport {
                path: "bad.tar.gz".into(),
                kind: InputKind::Snapshot,
                snapshots: 0,
                status: InputStatus::Rejected,
                problems: vec!["bad.tar.gz: empty file".into()],
            }],
            nodes: vec![NodeReport {
                name: "node-a".into(),
                snapshots: 3,
                first: samples[0].time,
                last: samples[2].time,
                kernel: Some("5.4.0".into()),
                cgroup_mode: Some(podmem_schema::snapshot::CgroupMode::V1),
                collector_versions: vec!["0.1.0".into()],
                boots: vec!["b1".into()],
                archives: (0..3).map(|m| format!("snap-{m}.tar.gz")).collect(),
                samples: vec![],
            }],
            pods: vec![PodReport {
                node: "node-a".into(),
                uid: "5f1c2d3e-1111-4222-8333-944445555666".into(),
                namespace: Some("shop".into()),
                name: Some("java\x1b[31m-0".into()),
                qos: Some(podmem_schema::snapshot::Qos::Burstable),
                cgroup_path: None,
                limit: Some(100 << 20),
                containers: vec![],
                volumes: vec![VolumeReport {
                    name: "cache".into(),
                    plugin: VolumePlugin::EmptyDir,
                    size_bytes: Some(100 << 20),
                    mount_point: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~empty-dir/cache".into(),
                    max_used: Some(64 << 20),
                }],
                transitions: vec![Transition {
                    reason: "oom".into(),
                    before: samples[1].time,
                    after: samples[2].time,
                    appeared: vec![],
                    disappeared: vec![],
                    rows: vec![],
                }],
                samples,
            }],
            oom_events: vec![],
            findings: vec![Finding {
                id: RuleId::OrphanedShmem.into(),
                severity: Severity::Critical,
                node: "node-a".into(),
                pod_uid: Some("5f1c2d3e-1111-4222-8333-944445555666".into()),
                bytes: Some(64 << 20),
                container_ids: vec![a.clone()],
                title: "shop/java-0: 64.0 MiB of tmpfs/shmem charged to the pod is held by no live container".into(),
                detail: "`kubectl top` shows 34.0 MiB; the pod cgroup holds 99.0 MiB.".into(),
                recommendation: "Set a sizeLimit.".into(),
                evidence: vec![Evidence {
                    label: "unattributed shmem".into(),
                    value: "64.0 MiB".into(),
                    source: Some("snap-2.tar.gz:cgroup/kubepods/pod/memory.stat".into()),
                }],
                time: None,
            }],
            oom_events_omitted: None,
        };
        insta::assert_snapshot!(render_text(&report));
    }

    #[test]
    fn control_characters_are_neutralized() {
        assert_eq!(clean("a\x1b[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(clean("x\u{202e}y"), "x\\u{202e}y");
    }
}
