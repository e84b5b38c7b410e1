//! The HTML report of several nodes: the fleet view at the top (nodes × findings, the
//! worst pods), each node's detail one link away, and a page that stays small for ten
//! full nodes.

mod common;

use podmem_reports::html::{render_html_with, HtmlOptions};
use podmem_testkit::chromium::assert_links_resolve;

fn markup_only(r: &podmem_schema::report::Report, max_detailed_pods: usize) -> String {
    let opts = HtmlOptions {
        inline_assets: false,
        max_detailed_pods,
        ..HtmlOptions::default()
    };
    String::from_utf8(render_html_with(r, &opts).unwrap()).unwrap()
}

/// The text from `open` up to the end of the first `close` after it.
fn part<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html.find(open).unwrap_or_else(|| panic!("no {open}"));
    let end = start + html[start..].find(close).unwrap() + close.len();
    &html[start..end]
}

#[test]
fn fleet_snapshot() {
    // Three nodes of four pods over 100 captures (an OOM kill at the 90th in the first
    // pod of each), at most six pods in full: the rest are index rows.
    let r = common::fleet_report(&["node-a", "node-b", "node-c"], 4, 100);
    let html = markup_only(&r, 6);
    insta::assert_snapshot!(
        "fleet_view",
        part(&html, r#"<section id="fleet">"#, "</section>")
    );
    insta::assert_snapshot!(
        "fleet_pod_index",
        part(&html, r#"<table class="pod-index">"#, "</table>")
    );
    insta::assert_snapshot!(
        "fleet_nodes",
        part(&html, r#"<section id="nodes">"#, "</section>")
    );
}

#[test]
fn fleet_opens_the_page_and_links_resolve() {
    let r = common::fleet_report(&["node-a", "node-b", "node-c"], 4, 100);
    let html = markup_only(&r, 6);
    let fleet = html.find(r#"<section id="fleet">"#).unwrap();
    assert!(fleet < html.find(r#"<section id="findings">"#).unwrap());
    assert!(html.contains(r##"<a href="#fleet">Fleet</a>"##));
    for i in 0..3 {
        assert!(html.contains(&format!(r##"href="#node-{i}""##)));
        assert!(html.contains(&format!(r#"<div class="node" id="node-{i}">"#)));
    }
    assert_links_resolve(&html);
    // Six full sections and six index rows; every pod keeps its anchor.
    assert_eq!(html.matches(r#"<section class="pod""#).count(), 6);
    assert_eq!(html.matches(r#"class="pod-row compact""#).count(), 6);
    for i in 0..12 {
        assert!(html.contains(&format!(r#"id="pod-{i}""#)), "pod-{i}");
    }
    // Critical findings draw their chart only from a pod that has one.
    for s in html.split(r#"class="fchart" data-pod=""#).skip(1) {
        let i = &s[..s.find('"').unwrap()];
        assert!(
            html.contains(&format!(r#"id="pod-data-{i}""#)),
            "finding chart of pod {i}"
        );
    }
}

#[test]
fn single_node_has_no_fleet_view() {
    let html = markup_only(&common::fleet_report(&["only"], 4, 100), 150);
    assert!(!html.contains(r#"id="fleet""#));
    assert!(!html.contains("compact"));
    assert_links_resolve(&html);
}

#[test]
fn ten_nodes_of_110_pods_stay_under_10_mib() {
    // More samples than a pod's chart gets points here (220): beyond that the page's
    // size barely depends on them. PODMEM_FLEET_SAMPLES=1008 measures a week at one
    // capture every 10 min (about 3.5 GiB for the fixture).
    let samples: usize = std::env::var("PODMEM_FLEET_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(240);
    let names: Vec<String> = (0..10).map(|n| format!("node-{n:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = common::fleet_report(&names, 110, samples);
    let start = std::time::Instant::now();
    let html = podmem_reports::render_html(&r).unwrap();
    let took = start.elapsed();
    let mib = html.len() as f64 / (1024.0 * 1024.0);
    println!(
        "10 nodes x 110 pods x {samples} samples: {} bytes ({mib:.2} MiB) rendered in {took:.2?}",
        html.len()
    );
    if let Ok(path) = std::env::var("PODMEM_WRITE_FLEET_HTML") {
        std::fs::write(&path, &html).unwrap();
    }
    assert!(mib <= 10.0, "report is {mib:.2} MiB, over 10 MiB");
    let text = String::from_utf8(html).unwrap();
    assert_links_resolve(&text);
    let section = |open: &str, close: &str| -> usize {
        text.split(open)
            .skip(1)
            .map(|s| s.find(close).unwrap())
            .sum()
    };
    println!(
        "sections {}, chart data {} bytes, SVG sparklines {} bytes",
        text.matches(r#"<section class="pod""#).count(),
        section(r#"<script type="application/json""#, "</script>"),
        section("<svg", "</svg>")
    );
}

#[test]
fn findings_beyond_the_cards_are_brief_rows() {
    let r = common::fleet_report(&["node-a", "node-b", "node-c"], 12, 100);
    let opts = HtmlOptions {
        inline_assets: false,
        max_finding_cards: 4,
        ..HtmlOptions::default()
    };
    let html = String::from_utf8(render_html_with(&r, &opts).unwrap()).unwrap();
    let findings = part(&html, r#"<section id="findings">"#, "</section>");
    assert_eq!(findings.matches("<article class=\"finding").count(), 4);
    let brief = r.findings.len() - 4;
    assert!(brief > 0);
    assert!(findings.contains(&format!(
        r#"<h3 id="findings-brief">{brief} more findings, in brief</h3>"#
    )));
    // Every finding keeps its anchor, in page order, so node details link to it.
    for k in 0..r.findings.len() {
        assert!(
            findings.contains(&format!(r#"id="finding-{k}""#)),
            "finding-{k}"
        );
    }
    // Brief rows draw no chart.
    assert!(findings.matches(r#"class="fchart""#).count() <= 4);
    assert_links_resolve(&html);
}

#[test]
fn text_says_each_nodes_findings() {
    let r = common::fleet_report(&["node-a", "node-b", "node-c"], 4, 100);
    let text = podmem_reports::render_text(&r);
    let head = &text[..text.find("inputs:").unwrap()];
    insta::assert_snapshot!("fleet_text_header", head);
    // One node alone: the header is as it was, with no findings line.
    let one = podmem_reports::render_text(&common::fleet_report(&["only"], 4, 100));
    let head = &one[..one.find("inputs:").unwrap()];
    assert!(head.ends_with("cgroup v1\n"), "{head}");
}
