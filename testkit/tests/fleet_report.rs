//! A fleet through the whole pipeline: the analyzer's `gen_series` example writes the
//! snapshots of three nodes (each its own name, pods and containers), `podmem-analyzer
//! report` makes one HTML report of all of them, and headless chromium loads it. The
//! page opens with the fleet table, one row per node with that node's snapshot and pod
//! counts, every in-page link (node names, worst pods, findings) lands on its target,
//! every pod's chart draws, and no script error or foreign element shows up.

use std::process::Command;

use podmem_testkit::{bins, chromium};

const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];
const SNAPSHOTS: usize = 30;
const PODS: usize = 6;

fn three_nodes_in_one_report() {
    let tmp = tempfile::tempdir().unwrap();
    for node in NODES {
        let st = Command::new(bins::gen_series())
            .arg(tmp.path().join(node))
            .args([
                SNAPSHOTS.to_string(),
                PODS.to_string(),
                "2".into(),
                node.into(),
            ])
            .status()
            .unwrap();
        assert!(st.success(), "gen_series {node}");
    }
    let html = tmp.path().join("report.html");
    let out = Command::new(bins::analyzer())
        .args([
            "report".as_ref(),
            tmp.path().as_os_str(),
            "--format".as_ref(),
        ])
        .args(["html".as_ref(), "-o".as_ref(), html.as_os_str()])
        .output()
        .unwrap();
    podmem_testkit::exit::assert_exit(&out, 0);
    let dom = chromium::dump_dom(&html, "#draw-all");
    chromium::assert_page_ok(&dom, NODES.len() * PODS);
    assert_eq!(
        chromium::body_attr(&dom, "data-canary").as_deref(),
        Some("clean")
    );

    let fleet = dom.find(r#"<section id="fleet">"#).expect("a fleet view");
    assert!(fleet < dom.find(r#"<section id="findings">"#).unwrap());
    let rows: Vec<&str> = dom
        .split(r#"<tr class="fleet-node""#)
        .skip(1)
        .map(|r| &r[..r.find("</tr>").unwrap()])
        .collect();
    assert_eq!(rows.len(), NODES.len());
    for (i, node) in NODES.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| r.contains(&format!(">{node}</a>")))
            .unwrap_or_else(|| panic!("no fleet row for {node}"));
        assert!(row.contains(&format!(r##"href="#node-{i}""##)), "{row}");
        assert!(
            row.contains(&format!(r#"<td class="num">{SNAPSHOTS}</td>"#))
                && row.contains(&format!(r#"<td class="num">{PODS}</td>"#)),
            "{node}: {row}"
        );
        assert!(dom.contains(&format!(r#"<div class="node" id="node-{i}">"#)));
    }
    let links = chromium::assert_links_resolve(&dom);
    assert!(links > NODES.len() * PODS, "{links} links");
}

podmem_testkit::main! {
    [Need::Browser] => [three_nodes_in_one_report],
}
