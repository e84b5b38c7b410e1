//! Headless chromium for the analyzer's end-to-end tests, the same way
//! `reports/tests/browser.rs` drives it: the page's own self-check (see
//! `reports/assets/report.js`) records in `<body>` attributes whether scripts failed
//! and how many charts were drawn. Fails when chromium is missing (install the Debian
//! `chromium` package) unless `PODMEM_NO_BROWSER=1`, which skips it loudly.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or None (after saying so loudly) when it is missing and skipping is
/// allowed.
pub fn chromium(what: &str) -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    if std::env::var("PODMEM_NO_BROWSER").as_deref() == Ok("1") {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! BROWSER CHECK SKIPPED (PODMEM_NO_BROWSER=1): {CHROMIUM} not found.\n\
             !!! {what} was NOT opened in a browser.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    }
    panic!(
        "{CHROMIUM} not found: install the Debian `chromium` package (apt-get install chromium) \
         to open {what} in a browser, or set PODMEM_NO_BROWSER=1 to skip it loudly"
    );
}

/// Loads `file` in headless chromium with every chart drawn (`#draw-all`) and returns
/// the DOM after the page's scripts ran.
pub fn dump_dom(browser: &str, file: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
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
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}#draw-all", file.display()))
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

/// The value of an attribute of the `<body>` element in a dumped DOM.
pub fn body_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_owned())
}

/// Asserts that the page loaded without script errors or foreign elements and drew
/// `charts` charts.
pub fn assert_page_ok(dom: &str, charts: usize) {
    assert_eq!(
        body_attr(dom, "data-checked").as_deref(),
        Some("1"),
        "the page's self-check did not run"
    );
    assert_eq!(
        body_attr(dom, "data-js-errors").as_deref(),
        Some("0"),
        "script errors"
    );
    assert_eq!(
        body_attr(dom, "data-charts-drawn"),
        Some(charts.to_string()),
        "charts drawn"
    );
    assert_eq!(dom.matches(r#"data-drawn="1""#).count(), charts);
    assert!(dom.contains("<canvas"), "no chart canvas");
    assert_eq!(
        body_attr(dom, "data-injected").as_deref(),
        Some("0"),
        "foreign elements"
    );
}
