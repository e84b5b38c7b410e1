//! HTML renderer: snapshot of the DESIGN §1 story, escaping of hostile archive strings,
//! and the structure the page's script relies on.

mod common;

use common::*;
use podmem_reports::html::{render_html_with, HtmlOptions};
use podmem_reports::render_html;

fn markup_only(r: &podmem_schema::report::Report) -> String {
    let opts = HtmlOptions {
        inline_assets: false,
        ..HtmlOptions::default()
    };
    String::from_utf8(render_html_with(r, &opts).unwrap()).unwrap()
}

#[test]
fn fixture_snapshot() {
    // The vendored uPlot and our CSS/JS are left out so the snapshot reviews markup.
    insta::assert_snapshot!("fixture_report", markup_only(&fixture_report()));
}

#[test]
fn fixture_tells_the_story() {
    let html = String::from_utf8(render_html(&fixture_report()).unwrap()).unwrap();
    let findings = html.find(r#"id="findings""#).unwrap();
    let pods = html.find(r#"id="pods""#).unwrap();
    assert!(findings < pods, "findings come first");
    // Both critical findings, in the given order, with their fixes.
    let a = html.find("OOM kill at the pod limit").unwrap();
    let b = html
        .find("64 MiB of tmpfs held by a removed container")
        .unwrap();
    let info = html.find("Node context").unwrap();
    assert!(a < b && b < info, "most severe first");
    // The moment table defaults to the capture just before the OOM (10:03), where
    // kubectl top shows 30 MiB and the pod cgroup 94 MiB, 64 MiB of it unattributed.
    assert!(html.contains("the capture just before the last OOM kill (2026-11-27 10:03:30 UTC)"));
    assert!(html.contains(r#"<span class="moment-time">2026-11-27 10:03:00 UTC</span>"#));
    assert!(html.contains(r#"title="31457280 bytes">30.0 MiB"#));
    assert!(html.contains(r#"title="98566144 bytes">94.0 MiB"#));
    assert!(html.contains(r#"title="67108864 bytes">64.0 MiB"#));
    // The migration: A disappeared, unattributed shmem rose by 64 MiB.
    assert!(html.contains("▲ +64.0 MiB"));
    assert!(html.contains("▼ −64.0 MiB (gone)"));
    // Container ids shortened with the full id in a title.
    assert!(html.contains(&format!(r#"title="{}">aaaaaaaaaaaa<"#, cid('a'))));
    // The vendored library and its data block are inlined; nothing loads from elsewhere.
    assert!(html.contains("uPlot"));
    assert!(html.contains(r#"<script type="application/json" id="pod-data-0">"#));
    for needle in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(needle), "external reference {needle}");
    }
}

#[test]
fn hostile_strings_stay_text() {
    let r = hostile_report();
    let html = String::from_utf8(render_html(&r).unwrap()).unwrap();
    for bad in [
        "<img",
        "<svg onload",
        "<script>window",
        "__podmemCanary=1</script>",
        "49tmpl",
    ] {
        assert!(!html.contains(bad), "unescaped {bad:?} in the output");
    }
    // Exactly our own script elements: the error hook, uPlot, ours, one data block.
    let pods_with_data = r.pods.iter().filter(|p| !p.samples.is_empty()).count();
    assert_eq!(html.matches("<script").count(), 3 + pods_with_data);
    assert_eq!(html.matches("</script").count(), 3 + pods_with_data);
    // The strings are there, as text.
    assert!(html.contains("&lt;script&gt;window.__podmemCanary=1&lt;&#x2f;script&gt;"));
    assert!(
        html.contains("&quot;&gt;&lt;img src=x onerror=&quot;window.__podmemCanary=1&quot;&gt;")
    );
    assert!(html.contains("&#x27;&gt;&lt;svg onload=window.__podmemCanary=1&gt;"));
    assert!(html.contains("{{ 7*7 }}{% if true %}tmpl{% endif %}"));
    assert!(html.contains("it&#x27;s &quot;quoted&quot; &amp; ünïcødé ✓ 名前"));
    // In the JSON data block, markup characters are \u-escaped.
    // (The chart data is compact JSON passed through `tojson`, so quotes are escaped
    // twice.)
    assert!(html
        .contains(r#"A\\\"\u003e\u003cimg src=x onerror=\\\"window.__podmemCanary=1\\\"\u003e"#));
    assert!(html.contains(r"B\u0027\u003e\u003csvg onload=window.__podmemCanary=1\u003e"));
}

#[test]
fn vendored_assets_cannot_close_their_element() {
    for (name, body) in [
        (
            "uPlot.iife.min.js",
            include_str!("../assets/uplot/uPlot.iife.min.js"),
        ),
        ("report.js", include_str!("../assets/report.js")),
    ] {
        assert!(!body.to_lowercase().contains("</script"), "{name}");
    }
    for (name, body) in [
        (
            "uPlot.min.css",
            include_str!("../assets/uplot/uPlot.min.css"),
        ),
        ("report.css", include_str!("../assets/report.css")),
        ("fleet.css", include_str!("../assets/fleet.css")),
    ] {
        assert!(!body.to_lowercase().contains("</style"), "{name}");
        assert!(!body.contains("url("), "{name} must not load anything");
    }
}

#[test]
fn empty_report_renders() {
    let mut r = fixture_report();
    r.pods.clear();
    r.nodes.clear();
    r.oom_events.clear();
    r.findings.clear();
    r.inputs.clear();
    let html = markup_only(&r);
    assert!(html.contains("No findings"));
    assert!(html.contains("No pods in these snapshots."));
    assert!(html.contains("No OOM kills found"));
}

#[test]
fn sparse_pods_render() {
    let html = String::from_utf8(render_html(&sparse_report()).unwrap()).unwrap();
    assert!(html.contains(r#"id="pod-1""#) && html.contains(r#"id="pod-2""#));
    // The sample-less pod has no chart; the all-unknown one has one with no values.
    assert_eq!(html.matches(r#"class="chart""#).count(), 2);
    assert!(html.contains("none &#x2f; unknown"));
    assert!(html.contains("66666666-2222-3333-4444-555555555555</h3>"));
}

#[test]
fn many_good_inputs_are_counted_and_every_bad_one_listed() {
    use podmem_schema::report::{InputKind, InputReport, InputStatus};
    let mut r = fixture_report();
    let input = |i: usize, status: InputStatus| InputReport {
        path: format!("week/snap-{i:05}.tar.gz"),
        kind: InputKind::Snapshot,
        snapshots: u32::from(status != InputStatus::Rejected),
        status,
        problems: match status {
            InputStatus::Ok => Vec::new(),
            _ => vec![format!("week/snap-{i:05}.tar.gz: truncated")],
        },
    };
    // 250 good inputs with three bad ones among the last.
    r.inputs = (0..253)
        .map(|i| match i {
            200 => input(i, InputStatus::Partial),
            230 | 252 => input(i, InputStatus::Rejected),
            _ => input(i, InputStatus::Ok),
        })
        .collect();
    let html = markup_only(&r);
    let inputs = &html[html.find(r#"<section id="inputs">"#).unwrap()..];
    let rows = inputs.matches(r#"<td class="mono path">"#).count();
    assert_eq!(rows, 100 + 3, "the first 100 good inputs and every bad one");
    for bad in [200, 230, 252] {
        assert!(
            html.contains(&format!("snap-{bad:05}.tar.gz: truncated")),
            "{bad}"
        );
    }
    assert!(
        !html.contains("snap-00101.tar.gz"),
        "good inputs past 100 are counted"
    );
    assert!(html.contains("… and 150 more inputs read without problems"));
}
