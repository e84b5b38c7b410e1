//! The streamed JSON writer gives the bytes of the whole-report renderer, with and
//! without the optional fields.

mod common;

use podmem_reports::json::{render_json, write_streaming};
use podmem_schema::report::{OomOmitted, Report};

fn streamed(r: &Report) -> Vec<u8> {
    let head = Report {
        pods: Vec::new(),
        findings: Vec::new(),
        ..r.clone()
    };
    let mut out = Vec::new();
    write_streaming(&mut out, &head, r.pods.clone().into_iter(), || {
        r.findings.clone()
    })
    .unwrap();
    out
}

#[test]
fn streamed_equals_whole() {
    for r in [
        common::fixture_report(),
        common::sparse_report(),
        common::hostile_report(),
    ] {
        assert_eq!(streamed(&r), render_json(&r));
        let mut omitted = r.clone();
        omitted.oom_events_omitted = Some(OomOmitted {
            per_snapshot: 3,
            ..OomOmitted::default()
        });
        assert_eq!(streamed(&omitted), render_json(&omitted));
    }
}
