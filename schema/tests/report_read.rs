//! Reading saved JSON reports: a real `podmem-report/1` report (written by the analyzer
//! before `/2`, from `fixtures/demo`) is upgraded to the `/2` shape sample for sample,
//! and reports that are not ours are refused with a reason.

use podmem_schema::report::{read_json, ReadError, Report, REPORT_FORMAT, REPORT_FORMAT_1};
use serde_json::Value;

const DEMO_1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/reports/demo-report-1.json"
);

fn demo_1() -> (Vec<u8>, Value) {
    let bytes = std::fs::read(DEMO_1).unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["format"], REPORT_FORMAT_1);
    (bytes, v)
}

/// Each pod's (node, sample archive strings) as the `/1` file gives them.
fn archives_of_1(v: &Value) -> Vec<(String, Vec<String>)> {
    v["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let node = p["node"].as_str().unwrap().to_string();
            let samples = p["samples"].as_array().unwrap();
            let archives = samples
                .iter()
                .map(|s| s["snapshot"].as_str().unwrap().to_string())
                .collect();
            (node, archives)
        })
        .collect()
}

fn archives_of(r: &Report) -> Vec<(String, Vec<String>)> {
    r.pods
        .iter()
        .map(|p| {
            let node = r.nodes.iter().find(|n| n.name == p.node).unwrap();
            let archives = p
                .samples
                .iter()
                .map(|s| node.archive(s.snapshot).unwrap().to_string())
                .collect();
            (p.node.clone(), archives)
        })
        .collect()
}

#[test]
fn report_1_is_upgraded_sample_for_sample() {
    let (bytes, v) = demo_1();
    let r = read_json(&bytes).unwrap();
    assert_eq!(r.format, REPORT_FORMAT);
    let expected = archives_of_1(&v);
    let samples: usize = expected.iter().map(|(_, a)| a.len()).sum();
    assert!(samples > 20, "the fixture has samples to map: {samples}");
    assert_eq!(archives_of(&r), expected);

    // Each node's table lists every archive its samples name once, in capture order.
    for n in &r.nodes {
        let mut named: Vec<&String> = expected
            .iter()
            .filter(|(node, _)| *node == n.name)
            .flat_map(|(_, a)| a)
            .collect();
        named.sort();
        named.dedup();
        assert_eq!(n.archives.len(), named.len(), "{}", n.name);
        let times: Vec<_> = n
            .archives
            .iter()
            .map(|a| {
                r.pods
                    .iter()
                    .flat_map(|p| &p.samples)
                    .filter(|s| n.archive(s.snapshot) == Some(a.as_str()))
                    .filter_map(|s| s.time)
                    .min()
            })
            .collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    }

    // Everything but the samples' archives and the format reads as it was written.
    let upgraded = serde_json::to_value(&r).unwrap();
    for key in ["inputs", "oom_events", "findings", "generated_at"] {
        assert_eq!(upgraded[key], v[key], "{key}");
    }

    // Written back, it is a `/2` report that reads as the same report.
    let written = serde_json::to_vec(&r).unwrap();
    let again: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(again["format"], REPORT_FORMAT);
    assert!(again["pods"][0]["samples"][0]["snapshot"].is_u64());
    assert!(again["nodes"][0]["archives"].is_array());
    assert_eq!(read_json(&written).unwrap(), r);
}

#[test]
fn other_formats_and_bad_indices_are_refused() {
    let (bytes, mut v) = demo_1();
    let r = read_json(&bytes).unwrap();

    v["format"] = "podmem-report/3".into();
    let e = read_json(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(matches!(e, ReadError::Format(ref f) if f == "podmem-report/3"));
    assert!(e.to_string().contains("\"podmem-report/3\""), "{e}");

    let mut bad = r.clone();
    let len = bad.nodes[0].archives.len();
    let p = bad.pods.iter().position(|p| !p.samples.is_empty()).unwrap();
    bad.pods[p].samples[0].snapshot = len as u32;
    let e = read_json(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
    assert!(
        matches!(e, ReadError::Index { index, .. } if index as usize == len),
        "{e}"
    );

    let mut orphan = r;
    orphan.nodes.clear();
    let e = read_json(&serde_json::to_vec(&orphan).unwrap()).unwrap_err();
    assert!(matches!(e, ReadError::NoNode { .. }), "{e}");

    // Not a report: refused, never a panic, whatever the shape.
    for text in [
        "",
        "[]",
        "{}",
        "{\"format\":7}",
        "{\"format\":\"podmem-report/1\"}",
        "{\"format\":\"podmem-report/1\",\"pods\":5,\"nodes\":\"x\"}",
        "{\"format\":\"podmem-report/1\",\"pods\":[5,{\"samples\":[1,{\"snapshot\":\"a\"}]}]}",
        "{\"format\":\"podmem-report/2\",\"pods\":[]}",
    ] {
        assert!(read_json(text.as_bytes()).is_err(), "{text}");
    }
}
