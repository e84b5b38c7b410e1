//! A real browser opens the report: Debian's `chromium`, headless, loads the fixture
//! report with hostile strings in every position an archive string can reach, and the
//! page's own self-check (see `assets/report.js`) records in `<body>` attributes what
//! happened: script errors, charts drawn, foreign elements, and whether any injected
//! script ran. Without a browser these tests are reported as ignored (see
//! `docs/testing.md`).

mod common;

use podmem_testkit::chromium::{body_attr, dump_dom_of as dump_dom};

fn hostile_report_in_chromium() {
    let report = common::hostile_report();
    let pods_with_samples = report.pods.iter().filter(|p| !p.samples.is_empty()).count();
    let html = podmem_reports::render_html(&report).unwrap();
    if let Ok(path) = std::env::var("PODMEM_WRITE_HOSTILE_HTML") {
        std::fs::write(&path, &html).unwrap();
    }
    let dom = dump_dom(&html, "#draw-all");

    assert_eq!(
        body_attr(&dom, "data-checked").as_deref(),
        Some("1"),
        "self-check did not run"
    );
    assert_eq!(
        body_attr(&dom, "data-js-errors").as_deref(),
        Some("0"),
        "script errors"
    );
    assert_eq!(
        body_attr(&dom, "data-charts-drawn"),
        Some(pods_with_samples.to_string()),
        "charts drawn"
    );
    assert_eq!(dom.matches(r#"data-drawn="1""#).count(), pods_with_samples);
    assert!(dom.contains("<canvas"), "uPlot drew no canvas");
    assert_eq!(
        body_attr(&dom, "data-injected").as_deref(),
        Some("0"),
        "foreign elements"
    );
    assert_eq!(
        body_attr(&dom, "data-canary").as_deref(),
        Some("clean"),
        "injected script ran"
    );
    assert!(!dom.contains("<img"), "an <img> got into the page");
    // The names are there as text (the DOM serializer escapes text nodes).
    // uPlot's legend shows the container names as text too.
    assert!(
        dom.contains(
            r#"<div class="u-label">A"&gt;&lt;img src=x onerror="window.__podmemCanary=1"&gt;"#
        ),
        "chart legend lost the container name"
    );
    for needle in [
        "&lt;script&gt;window.__podmemCanary=1&lt;/script&gt;",
        "\"&gt;&lt;img src=x onerror=\"window.__podmemCanary=1\"&gt;",
        "'&gt;&lt;svg onload=window.__podmemCanary=1&gt;",
        "{{ 7*7 }}{% if true %}tmpl{% endif %}",
        "ünïcødé ✓ 名前",
    ] {
        assert!(dom.contains(needle), "missing as text: {needle}");
    }
}

fn fixture_report_first_screen_drawn() {
    let html = podmem_reports::render_html(&common::fixture_report()).unwrap();
    // For a look or a screenshot (scripts/screenshot.sh): PODMEM_WRITE_FIXTURE_HTML=path.
    if let Ok(path) = std::env::var("PODMEM_WRITE_FIXTURE_HTML") {
        std::fs::write(&path, &html).unwrap();
        eprintln!("wrote {path}");
    }
    // Without #draw-all, the chart in view is drawn by the IntersectionObserver.
    let dom = dump_dom(&html, "");
    assert_eq!(body_attr(&dom, "data-js-errors").as_deref(), Some("0"));
    assert_eq!(body_attr(&dom, "data-injected").as_deref(), Some("0"));
    assert_eq!(body_attr(&dom, "data-canary").as_deref(), Some("clean"));
    assert_eq!(body_attr(&dom, "data-charts-drawn").as_deref(), Some("1"));
    // The pod index's pod row links to the section; the legend shows our series.
    assert!(dom.contains("unattributed shmem"));
    assert!(dom.contains("kubectl top"));
}

/// The page's own moment table logic (delta decoding, shared series, column mapping):
/// opening the link to a moment shows the figures of that capture.
fn moment_link_updates_the_table() {
    let html = podmem_reports::render_html(&common::fixture_report()).unwrap();
    // Point 2 is the capture at 10:02, right after container A was removed.
    let dom = dump_dom(&html, "#draw-all&moment=0:2");
    assert_eq!(body_attr(&dom, "data-js-errors").as_deref(), Some("0"));
    assert!(
        dom.contains(r#"<span class="moment-time">2026-11-27 10:02:00 UTC</span>"#),
        "moment time not updated"
    );
    let row = |class: &str| -> String {
        let start = dom.find(&format!(r#"<tr class="{class}""#)).unwrap();
        let end = start + dom[start..].find("</tr>").unwrap();
        dom[start..end].to_owned()
    };
    let cells = |class: &str| -> Vec<String> {
        row(class)
            .split("data-col=")
            .skip(1)
            .map(|c| {
                let text = &c[c.find('>').unwrap() + 1..];
                text[..text.find('<').unwrap()].to_owned()
            })
            .collect()
    };
    assert_eq!(cells("v-top"), ["", "5.0 MiB", ""]);
    assert_eq!(cells("v-pod"), ["69.0 MiB", "69.0 MiB", "64.0 MiB"]);
    assert_eq!(cells("v-unattr"), ["64.0 MiB", "64.0 MiB", "64.0 MiB"]);
    assert_eq!(cells("v-tmpfs"), ["", "", "64.0 MiB"]);
    assert_eq!(cells("v-limit"), ["100.0 MiB", "", ""]);
}

fn sparse_pods_draw_without_errors() {
    let html = podmem_reports::render_html(&common::sparse_report()).unwrap();
    let dom = dump_dom(&html, "#draw-all&moment=2:0");
    assert_eq!(body_attr(&dom, "data-js-errors").as_deref(), Some("0"));
    assert_eq!(body_attr(&dom, "data-charts-drawn").as_deref(), Some("2"));
}

/// The self-check must notice what it is there to notice: a page with markup and
/// script spliced in raw (as an unescaped name would) reports both.
fn self_check_detects_injection() {
    let html = String::from_utf8(podmem_reports::render_html(&common::fixture_report()).unwrap())
        .unwrap()
        .replacen(
            "<main>",
            r#"<main><img src=x onerror="window.__podmemCanary=1"><script>window.__podmemCanary=1</script>"#,
            1,
        );
    let dom = dump_dom(html.as_bytes(), "#draw-all");
    assert_eq!(body_attr(&dom, "data-canary").as_deref(), Some("tripped"));
    let injected: u32 = body_attr(&dom, "data-injected").unwrap().parse().unwrap();
    assert!(injected >= 2, "injected = {injected}");
}

/// A report of three nodes, one named with a hostile string (and a hostile rule id):
/// the fleet table opens the page, every in-page link (node names, worst pods,
/// findings, row-only pods) finds its target in the loaded DOM, and the page draws
/// without errors or injected markup.
fn fleet_report_in_chromium() {
    let hostile = common::HOSTILE[1];
    let mut report = common::fleet_report(&["node-a", hostile, "node-c"], 4, 100);
    // A rule id heads a column of the fleet table: hostile too.
    report.findings[0].id = common::HOSTILE[0].into();
    let opts = podmem_reports::html::HtmlOptions {
        max_detailed_pods: 6,
        ..Default::default()
    };
    let html = podmem_reports::html::render_html_with(&report, &opts).unwrap();
    if let Ok(path) = std::env::var("PODMEM_WRITE_FLEET_HTML") {
        std::fs::write(&path, &html).unwrap();
    }
    let dom = dump_dom(&html, "#draw-all");
    let charted = String::from_utf8_lossy(&html)
        .matches(r#"<script type="application/json" id="pod-data-"#)
        .count();
    assert_eq!(charted, 6);
    podmem_testkit::chromium::assert_page_ok(&dom, charted);
    assert_eq!(body_attr(&dom, "data-canary").as_deref(), Some("clean"));
    // The fleet table comes first, one row per node, the hostile name as text.
    let fleet = dom.find(r#"<section id="fleet">"#).expect("fleet section");
    assert!(fleet < dom.find(r#"<section id="findings">"#).unwrap());
    assert_eq!(dom.matches(r#"<tr class="fleet-node""#).count(), 3);
    assert!(dom.contains(
        r##"href="#node-1">"&gt;&lt;img src=x onerror="window.__podmemCanary=1"&gt;</a>"##
    ));
    let fleet_table = &dom[fleet..fleet + dom[fleet..].find("</table>").unwrap()];
    assert!(fleet_table.contains(
        r#"<span class="mono">&lt;script&gt;window.__podmemCanary=1&lt;/script&gt;</span>"#
    ));
    // Every in-page link resolves in the DOM the browser built.
    let links = podmem_testkit::chromium::assert_links_resolve(&dom);
    assert!(links > 20, "{links} links");
}

podmem_testkit::main! {
    [Need::Browser] => [
        hostile_report_in_chromium,
        fixture_report_first_screen_drawn,
        moment_link_updates_the_table,
        sparse_pods_draw_without_errors,
        self_check_detects_injection,
        fleet_report_in_chromium,
    ],
}
