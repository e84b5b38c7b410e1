//! Scale: a day at one capture a minute for a 110-pod node must stay a few MiB.
//! Prints size and render time; only the size is asserted (not a timed test).

mod common;

use std::time::Instant;

#[test]
fn day_of_110_pods_stays_small() {
    // PODMEM_SCALE_SAMPLES=10080 measures a week (about 3.5 GiB for the fixture).
    let samples: usize = std::env::var("PODMEM_SCALE_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1440);
    let report = common::synthetic_report(110, samples);
    let start = Instant::now();
    let html = podmem_reports::render_html(&report).unwrap();
    let took = start.elapsed();
    let mib = html.len() as f64 / (1024.0 * 1024.0);
    println!(
        "110 pods x {samples} samples: {} bytes ({mib:.2} MiB) rendered in {took:.2?}",
        html.len()
    );
    // For measuring load time in a browser: PODMEM_WRITE_SCALE_HTML=path.
    if let Ok(path) = std::env::var("PODMEM_WRITE_SCALE_HTML") {
        std::fs::write(&path, &html).unwrap();
    }
    assert!(mib <= 5.0, "report is {mib:.2} MiB, over 5 MiB");
    let text = String::from_utf8(html).unwrap();
    assert_eq!(text.matches(r#"class="chart""#).count(), 110);
    // Where the bytes go, for whoever tunes this next.
    let section = |open: &str, close: &str| -> usize {
        text.split(open)
            .skip(1)
            .map(|s| s.find(close).unwrap())
            .sum()
    };
    println!(
        "chart data {} bytes, SVG sparklines {} bytes",
        section(r#"<script type="application/json""#, "</script>"),
        section("<svg", "</svg>")
    );
}
