//! Headless chromium for the report tests: found through `PODMEM_CHROMIUM` or on `PATH`
//! (`chromium`, `chromium-browser`, `google-chrome`), and driven with `--dump-dom`. The
//! report's own self-check (`reports/assets/report.js`) records in `<body>` attributes
//! whether scripts failed, how many charts were drawn and whether foreign elements or
//! scripts appeared.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The variable naming the browser binary to use.
pub const CHROMIUM_VAR: &str = "PODMEM_CHROMIUM";

const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The browser, or why there is none. Checked once per process.
pub fn find() -> Result<&'static Path, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if let Some(p) = std::env::var_os(CHROMIUM_VAR) {
                let p = PathBuf::from(p);
                return if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("{CHROMIUM_VAR}={} does not exist", p.display()))
                };
            }
            let path = std::env::var_os("PATH").unwrap_or_default();
            NAMES
                .iter()
                .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    format!(
                        "no {} on PATH and {CHROMIUM_VAR} unset (Debian: apt-get install chromium)",
                        NAMES.join(", ")
                    )
                })
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// The browser, for a test registered with [`crate::Need::Browser`].
pub fn browser() -> &'static Path {
    find().unwrap_or_else(|why| panic!("browser needed: {why}"))
}

/// Loads `file` (with URL fragment `fragment`, such as `#draw-all`) in headless
/// chromium and returns the DOM after the page's scripts ran.
pub fn dump_dom(file: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser())
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

/// [`dump_dom`] of a page given as bytes (written to a temporary `report.html`).
pub fn dump_dom_of(html: &[u8], fragment: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, html).unwrap();
    dump_dom(&file, fragment)
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

/// Asserts that every in-page link (`href="#X"`) of a page or dumped DOM has an element
/// with `id="X"`, and returns how many links there were.
pub fn assert_links_resolve(html: &str) -> usize {
    let ids: std::collections::BTreeSet<&str> = html
        .split(" id=\"")
        .skip(1)
        .filter_map(|s| s.find('"').map(|e| &s[..e]))
        .collect();
    let mut links = 0;
    for s in html.split("href=\"#").skip(1) {
        let target = &s[..s.find('"').expect("an attribute ends")];
        assert!(ids.contains(target), "the link to #{target} goes nowhere");
        links += 1;
    }
    links
}
