//! The bundled demo (`fixtures/demo/`, recorded on a real kernel by
//! `scripts/record-demo.py`) keeps telling its story: the README's first command runs
//! on it, and its report holds the findings the README promises, with the pod and
//! container names, and opens in a browser without errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use podmem_analyzer::{analyze, load::Limits};
use podmem_schema::oom::OomScope;
use podmem_schema::report::{Finding, Report, Severity};

const MIB: u64 = 1 << 20;
const POD_UID: &str = "5b0e8a7c-3d1f-4c6e-9a2b-7f4d1e8c6a90";
const WEB_UID: &str = "0c6a2f91-8e4b-4d7a-b1c3-52e9d0f7a6b4";

use podmem_testkit::chromium;
use podmem_testkit::samples::{demo, workspace};

fn report() -> Report {
    analyze(&[demo()], &Limits::default(), jiff::Timestamp::UNIX_EPOCH)
}

fn finding<'a>(r: &'a Report, id: &str, uid: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.id == id && f.pod_uid.as_deref() == Some(uid))
        .unwrap_or_else(|| {
            let ids: Vec<_> = r.findings.iter().map(|f| (&f.id, &f.pod_uid)).collect();
            panic!("no {id} finding for {uid}; findings: {ids:?}")
        })
}

fn demo_report_tells_the_story() {
    let r = report();
    assert!(r.inputs.iter().all(|i| i.status == "ok"), "{:#?}", r.inputs);
    assert_eq!(r.nodes.len(), 1);
    assert_eq!(r.nodes[0].name, "demo-node");
    assert!(
        (10..=30).contains(&r.nodes[0].snapshots),
        "{} snapshots",
        r.nodes[0].snapshots
    );

    let pod = r.pods.iter().find(|p| p.uid == POD_UID).expect("cache pod");
    assert_eq!(pod.namespace.as_deref(), Some("default"));
    assert_eq!(pod.name.as_deref(), Some("cache-worker-7d9f"));
    assert_eq!(pod.limit, Some(160 * MIB));
    let gone: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| c.gone)
        .map(|c| c.id.as_str())
        .collect();
    assert!(!gone.is_empty(), "a removed cache-writer container");
    for c in &pod.containers {
        let want = if c.gone { "cache-writer" } else { "app" };
        assert_eq!(c.name.as_deref(), Some(want), "container {}", c.id);
    }
    let last = pod.samples.last().unwrap();
    let tmpfs = *last.tmpfs_used.get("cache").expect("tmpfs `cache` used");

    // The tmpfs pages of the removed writers, held by no live container.
    let orphan = finding(&r, "orphaned-shmem", POD_UID);
    assert_eq!(orphan.severity, Severity::Critical);
    let bytes = orphan.bytes.unwrap();
    assert!(bytes >= 64 * MIB, "orphaned {bytes}");
    assert!(
        bytes.abs_diff(tmpfs) as f64 <= 0.05 * tmpfs as f64,
        "orphaned {bytes} vs tmpfs used {tmpfs}"
    );
    assert!(!orphan.container_ids.is_empty());
    assert!(orphan
        .container_ids
        .iter()
        .all(|id| gone.contains(&id.as_str())));
    assert!(orphan.detail.contains("`cache`"), "{}", orphan.detail);

    // The first writer dies at its own limit, the next ones at the pod's.
    let kills: Vec<_> = r
        .oom_events
        .iter()
        .filter(|e| e.pod_uid.as_deref() == Some(POD_UID))
        .collect();
    assert_eq!(kills[0].scope, OomScope::Container, "{kills:#?}");
    let pod_kills: Vec<_> = kills.iter().filter(|e| e.scope == OomScope::Pod).collect();
    assert!(pod_kills.len() >= 2, "{kills:#?}");
    assert!(pod_kills.iter().all(|e| e.container_id.is_some()));
    assert_eq!(
        finding(&r, "pod-limit-oom", POD_UID).severity,
        Severity::Critical
    );
    assert_eq!(
        finding(&r, "oom-restart-loop", POD_UID).severity,
        Severity::Critical
    );
    finding(&r, "container-limit-oom", POD_UID);
    let hidden = finding(&r, "hidden-from-kubectl-top", POD_UID);
    assert!(hidden.bytes.unwrap() >= 64 * MIB);
    assert_eq!(
        finding(&r, "memory-emptydir-unbounded", POD_UID).bytes,
        Some(160 * MIB)
    );
    // The OOM of this machine's other cgroups are not in the recording.
    assert!(
        r.oom_events.iter().all(|e| e.pod_uid.is_some()),
        "{:#?}",
        r.oom_events
    );

    // The neighbour is healthy.
    let web = r.pods.iter().find(|p| p.uid == WEB_UID).expect("web pod");
    assert_eq!(web.name.as_deref(), Some("web-6b8f5"));
    assert!(
        r.findings
            .iter()
            .all(|f| f.pod_uid.as_deref() != Some(WEB_UID)),
        "web has findings"
    );
}

/// The README's first command, from the workspace root: the HTML page it writes into
/// `dir`.
fn readme_command(dir: &Path) -> PathBuf {
    let html = dir.join("podmem-demo.html");
    let o = Command::new(env!("CARGO_BIN_EXE_podmem-analyzer"))
        .current_dir(workspace())
        .args(["report", "fixtures/demo", "--format", "html", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    html
}

fn readme_command_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read_to_string(readme_command(dir.path())).unwrap();
    for needle in [
        "cache-worker-7d9f",
        "orphaned-shmem",
        "pod-limit-oom",
        "oom-restart-loop",
        "hidden-from-kubectl-top",
    ] {
        assert!(page.contains(needle), "{needle} not in the page");
    }
}

/// The README command's page in a real browser.
fn readme_command_page_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let dom = chromium::dump_dom(&readme_command(dir.path()), "#draw-all");
    chromium::assert_page_ok(&dom, 2);
    assert!(dom.contains("cache-writer"), "container names in the page");
}

/// The value of attribute `name` in one tag's markup.
fn tag_attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_owned())
}

/// The report shows before it tells: every critical finding's card opens with its own
/// chart of the pod, drawn on load (no `#draw-all`, no scrolling) with ink in the plot
/// and the OOM kills and container removals marked; the first is on a laptop's first
/// screen, and each sits at the top of its card, above the text.
fn critical_findings_open_with_a_chart() {
    let r = report();
    let critical = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    assert!(critical >= 2, "the demo has {critical} critical findings");
    let dir = tempfile::tempdir().unwrap();
    let dom = chromium::dump_dom(&readme_command(dir.path()), "");
    assert_eq!(
        chromium::body_attr(&dom, "data-js-errors").as_deref(),
        Some("0"),
        "script or console errors"
    );
    assert_eq!(
        chromium::body_attr(&dom, "data-injected").as_deref(),
        Some("0")
    );
    assert_eq!(
        chromium::body_attr(&dom, "data-finding-charts-drawn"),
        Some(critical.to_string())
    );
    let cards: Vec<&str> = dom
        .split(r#"<article class="finding sev-critical">"#)
        .skip(1)
        .map(|c| &c[..c.find("</article>").unwrap()])
        .collect();
    assert_eq!(cards.len(), critical);
    for (i, card) in cards.iter().enumerate() {
        let start = card
            .find(r#"<div class="fchart""#)
            .unwrap_or_else(|| panic!("critical card {i} has no chart"));
        let tag = &card[start..start + card[start..].find('>').unwrap()];
        let num = |name: &str| -> i64 {
            tag_attr(tag, name)
                .unwrap_or_else(|| panic!("card {i}: no {name} in {tag}"))
                .parse()
                .unwrap()
        };
        assert_eq!(num("data-finding-drawn"), 1);
        assert!(card[start..].contains("<canvas"), "card {i}: no canvas");
        // Both bands and the limit cover far more than 2% of the plot.
        assert!(num("data-ink") >= 20, "card {i}: blank chart ({tag})");
        // The demo's pod had OOM kills and removed containers in the recording.
        assert!(num("data-marks") >= 1, "card {i}: no marks ({tag})");
        assert!(
            num("data-in-card") < 60,
            "card {i}: chart not at the top ({tag})"
        );
        assert!(
            card.find(r#"<p class="detail">"#).unwrap() > start,
            "card {i}: text before the chart"
        );
        if i == 0 {
            assert!(
                num("data-top") + 170 < 800,
                "first chart below the first screen ({tag})"
            );
        }
    }
}

podmem_testkit::main! {
    [] => [demo_report_tells_the_story, readme_command_on_the_demo],
    [Need::Browser] => [readme_command_page_in_chromium, critical_findings_open_with_a_chart],
}
