//! The text summary over whole analyses, as insta snapshots (temporary paths replaced):
//! the DESIGN §1 story on cgroup v1 (its OOM given as an event) and a healthy node.

mod common;

use common::*;

fn text_of(snaps: &[Snap]) -> String {
    let (r, dir) = analyze_snaps(snaps);
    podmem_reports::render_text(&r).replace(&dir, "[DIR]")
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
