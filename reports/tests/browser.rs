//! A real browser opens the report: Debian's `chromium`, headless, loads the fixture
//! report with hostile strings in every position an archive string can reach, and the
//! page's own self-check (see `assets/report.js`) records in `<body>` attributes what
//! happened: script errors, charts drawn, foreign elements, and whether any injected
//! script ran. Fails when chromium is missing (install the `chromium` package) unless
//! `PODMEM_NO_BROWSER=1`, in which case it says loudly that it was skipped.

mod common;

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if std::env::var("PODMEM_NO_BROWSER").as_deref() == Ok("1") {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! BROWSER TEST SKIPPED (PODMEM_NO_BROWSER=1): {CHROMIUM} not found.\n\
             !!! The HTML report was NOT checked in a real browser.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    }
    panic!(
        "{CHROMIUM} not found: install the Debian `chromium` package (apt-get install chromium) \
         to run the browser test, or set PODMEM_NO_BROWSER=1 to skip it loudly"
    );
}

/// Loads `html` in headless chromium and returns the DOM after scripts ran.
fn dump_dom(browser: &str, html: &[u8], fragment: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, html).unwrap();
    let profile = dir.path().join("profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,2400",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", file.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("</body>"),
        "chromium failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// The value of an attribute on the `<body>` element of a dumped DOM.
fn body_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_owned())
}

#[test]
fn hostile_report_in_chromium() {
    let Some(browser) = chromium() else { return };
    let report = common::hostile_report();
    let pods_with_samples = report.pods.iter().filter(|p| !p.samples.is_empty()).count();
    let html = podmem_reports::render_html(&report).unwrap();
    if let Ok(path) = std::env::var("PODMEM_WRITE_HOSTILE_HTML") {
        std::fs::write(&path, &html).unwrap();
    }
    let dom = dump_dom(browser, &html, "#draw-all");

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

#[test]
fn fixture_report_first_screen_drawn() {
    let Some(browser) = chromium() else { return };
    let html = podmem_reports::render_html(&common::fixture_report()).unwrap();
    // For a look or a screenshot (scripts/screenshot.sh): PODMEM_WRITE_FIXTURE_HTML=path.
    if let Ok(path) = std::env::var("PODMEM_WRITE_FIXTURE_HTML") {
        std::fs::write(&path, &html).unwrap();
        eprintln!("wrote {path}");
    }
    // Without #draw-all, the chart in view is drawn by the IntersectionObserver.
    let dom = dump_dom(browser, &html, "");
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
#[test]
fn moment_link_updates_the_table() {
    let Some(browser) = chromium() else { return };
    let html = podmem_reports::render_html(&common::fixture_report()).unwrap();
    // Point 2 is the capture at 10:02, right after container A was removed.
    let dom = dump_dom(browser, &html, "#draw-all&moment=0:2");
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

#[test]
fn sparse_pods_draw_without_errors() {
    let Some(browser) = chromium() else { return };
    let html = podmem_reports::render_html(&common::sparse_report()).unwrap();
    let dom = dump_dom(browser, &html, "#draw-all&moment=2:0");
    assert_eq!(body_attr(&dom, "data-js-errors").as_deref(), Some("0"));
    assert_eq!(body_attr(&dom, "data-charts-drawn").as_deref(), Some("2"));
}

/// The self-check must notice what it is there to notice: a page with markup and
/// script spliced in raw (as an unescaped name would) reports both.
#[test]
fn self_check_detects_injection() {
    let Some(browser) = chromium() else { return };
    let html = String::from_utf8(podmem_reports::render_html(&common::fixture_report()).unwrap())
        .unwrap()
        .replacen(
            "<main>",
            r#"<main><img src=x onerror="window.__podmemCanary=1"><script>window.__podmemCanary=1</script>"#,
            1,
        );
    let dom = dump_dom(browser, html.as_bytes(), "#draw-all");
    assert_eq!(body_attr(&dom, "data-canary").as_deref(), Some("tripped"));
    let injected: u32 = body_attr(&dom, "data-injected").unwrap().parse().unwrap();
    assert!(injected >= 2, "injected = {injected}");
}
