//! The text summary over whole analyses, as insta snapshots (temporary paths replaced):
//! the DESIGN §1 story on cgroup v1 (its OOM given as an event) and a healthy node.

mod common;

use common::*;
use podmem_analyzer::{analyze, load::Limits};

fn text_of(snaps: &[Snap]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for s in snaps {
        s.write(dir.path());
    }
    let r = analyze(
        &[dir.path().to_path_buf()],
        &Limits::default(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    podmem_reports::render_text(&r).replace(&dir.path().display().to_string(), "[DIR]")
}

#[test]
fn story_text_summary() {
    // The OOM is given as an event, so the summary does not depend on the log parser's
    // excerpt details.
    let r = analyze_with_events(
        vec![(
            2,
            kill(4242, "2026-11-28T04:01:30Z", B_ID, "s2.tar.gz:kernel/kmsg"),
        )],
        0,
    );
    insta::assert_snapshot!(podmem_reports::render_text(&r));
}

#[test]
fn healthy_text_summary() {
    insta::assert_snapshot!(text_of(&healthy("node-h", 30)));
}
