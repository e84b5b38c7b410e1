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

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// The `/1` fixture with bytes changed, cut or its values swapped for others of
    /// the same text: never a panic, and a report read writes back as one that reads.
    #[test]
    fn damaged_reports_are_refused_or_read(
        edits in proptest::collection::vec((0usize..1 << 20, proptest::prelude::any::<u8>()), 1..8),
        cut in proptest::option::of(0usize..1 << 20),
        swap in proptest::option::of((0usize..1 << 20, 0usize..1 << 20)),
    ) {
        let (mut bytes, _) = demo_1();
        for (at, b) in edits {
            let at = at % bytes.len();
            bytes[at] = b;
        }
        if let Some((a, b)) = swap {
            // A value of another field, moved over this one: `"snapshot":"…"` over a
            // number, a number over a string.
            let (a, b) = (a % bytes.len(), b % bytes.len());
            let (lo, hi) = (a.min(b), a.max(b));
            bytes[lo..hi].reverse();
        }
        if let Some(c) = cut {
            bytes.truncate(c % (bytes.len() + 1));
        }
        if let Ok(r) = read_json(&bytes) {
            let back = serde_json::to_vec(&r).unwrap();
            read_json(&back).unwrap();
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// The `/1` fixture with values of the wrong kind where the upgrade looks (a
    /// sample's archive, a pod's node, a node's name, the format): refused or read,
    /// never a panic; a report read has every index in its node's table.
    #[test]
    fn odd_values_where_the_upgrade_looks(
        ops in proptest::collection::vec((0usize..7, 0usize..64, 0usize..64), 1..6),
    ) {
        let (_, mut v) = demo_1();
        let odd = [
            Value::Null,
            Value::from(3),
            Value::from(-1),
            Value::from("elsewhere.tar.gz"),
            serde_json::json!({"a": 1}),
            Value::from(1e30),
        ];
        for (op, i, j) in ops {
            let pods = v["pods"].as_array().unwrap().len();
            let pod = &mut v["pods"][i % pods];
            match op {
                0..=2 => {
                    let n = pod["samples"].as_array().map_or(0, Vec::len);
                    if n > 0 {
                        pod["samples"][j % n]["snapshot"] = odd[j % odd.len()].clone();
                    }
                }
                3 => pod["node"] = odd[j % odd.len()].clone(),
                4 => v["nodes"][0]["name"] = odd[j % odd.len()].clone(),
                5 => v["format"] = Value::from(REPORT_FORMAT),
                _ => pod["samples"] = odd[j % odd.len()].clone(),
            }
        }
        if let Ok(r) = read_json(&serde_json::to_vec(&v).unwrap()) {
            for p in r.pods.iter().filter(|p| !p.samples.is_empty()) {
                let node = r.nodes.iter().find(|n| n.name == p.node).unwrap();
                for s in &p.samples {
                    proptest::prop_assert!(node.archive(s.snapshot).is_some());
                }
            }
            let back = serde_json::to_vec(&r).unwrap();
            read_json(&back).unwrap();
        }
    }
}
