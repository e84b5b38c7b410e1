//! Scale: a day at one capture a minute for a 110-pod node must stay a few MiB.
//! Prints size and render time; only the size is asserted (not a timed test).

mod common;

use std::time::Instant;

#[test]
fn day_of_110_pods_stays_small() {
    let report = common::synthetic_report(110, 1440);
    let start = Instant::now();
    let html = podmem_reports::render_html(&report).unwrap();
    let took = start.elapsed();
    let mib = html.len() as f64 / (1024.0 * 1024.0);
    println!(
        "110 pods x 1440 samples: {} bytes ({mib:.2} MiB) rendered in {took:.2?}",
        html.len()
    );
    assert!(mib <= 5.0, "report is {mib:.2} MiB, over 5 MiB");
    let text = String::from_utf8(html).unwrap();
    assert_eq!(text.matches(r#"class="chart""#).count(), 110);
}

#[test]
#[ignore = "diagnostic: prints where the bytes go"]
fn size_breakdown() {
    let report = common::synthetic_report(110, 1440);
    let html = String::from_utf8(podmem_reports::render_html(&report).unwrap()).unwrap();
    let data: usize = html
        .split(r#"<script type="application/json""#)
        .skip(1)
        .map(|s| s.find("</script>").unwrap())
        .sum();
    let svg: usize = html
        .split("<svg")
        .skip(1)
        .map(|s| s.find("</svg>").unwrap())
        .sum();
    println!("total {} data {data} svg {svg}", html.len());
    let one = html.split(r#"id="pod-data-5">"#).nth(1).unwrap();
    println!("{}", &one[..3000]);
}
