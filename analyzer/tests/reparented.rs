//! Where a removed container's pages went, told from what the snapshot shows: kernels
//! from Linux 7.1 move them to the parent (the pod cgroup itself) and keep no dying
//! cgroup (`nr_dying_descendants` 0); older kernels keep the removed cgroup alive as a
//! dying one. The same DESIGN §1 story is shown as each kernel shows it; the diagnosis
//! (which rules fire, on which bytes) must not depend on the dying count, only the
//! words about where the memory sits.

mod common;

use common::*;
use podmem_schema::report::{Finding, Report};

/// What Debian unstable's 7.2 kernel shows for the story (cgroup v2): the pod cgroup's
/// `cgroup.stat` counts no dying descendant after each removal, and its hierarchical
/// `memory.stat` still holds the removed container's shmem.
fn story_on_7_2() -> Vec<Snap> {
    let mut snaps = story(true);
    let pod = pod_rel(true);
    for s in &mut snaps {
        s.kernel_release = Some("7.2.0-1-amd64".into());
        for c in &mut s.cgroups {
            if c.rel == pod {
                c.dying = Some(0);
            }
        }
    }
    snaps
}

fn orphan(r: &Report) -> &Finding {
    r.findings
        .iter()
        .find(|f| f.id == "orphaned-shmem")
        .unwrap_or_else(|| panic!("no orphaned-shmem in {:#?}", r.findings))
}

/// (rule, pod, bytes, containers) of a finding.
type Diagnosis = (String, Option<String>, Option<u64>, Vec<String>);

/// Every finding without its words.
fn diagnosis(r: &Report) -> Vec<Diagnosis> {
    let mut v: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.id.to_string(),
                f.pod_uid.clone(),
                f.bytes,
                f.container_ids.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

const MOVED: &str = "the kernel moved their pages to the pod cgroup itself";
const DYING: &str = "dying memory cgroups, invisible in the filesystem";

#[test]
fn on_7_2_the_memory_moved_to_the_pod_cgroup() {
    let r = analyze_snaps(&story_on_7_2()).0;
    let f = orphan(&r);
    assert!(f.detail.contains(MOVED), "{}", f.detail);
    assert!(
        f.detail
            .contains("its cgroup.stat shows no dying descendant, as kernels from 7.1 on"),
        "{}",
        f.detail
    );
    assert!(!f.detail.contains("dying memory cgroups"), "{}", f.detail);
    // The count the words rest on is in the evidence, with its file.
    let d = f
        .evidence
        .iter()
        .find(|e| e.label == "dying descendants of the pod cgroup")
        .expect("dying count evidence");
    assert_eq!(d.value, "0");
    assert!(d
        .source
        .as_deref()
        .is_some_and(|s| s.ends_with(&format!("cgroup/{}/cgroup.stat", pod_rel(true)))));
}

#[test]
fn the_diagnosis_does_not_depend_on_dying_cgroups() {
    let old = analyze_snaps(&story(true)).0;
    let new = analyze_snaps(&story_on_7_2()).0;
    assert_eq!(diagnosis(&old), diagnosis(&new));
    assert!(
        orphan(&old).detail.contains(DYING),
        "{}",
        orphan(&old).detail
    );
    // Nothing else in the report changes its figures.
    assert_eq!(old.pods[0].samples.len(), new.pods[0].samples.len());
    for (a, b) in old.pods[0].samples.iter().zip(&new.pods[0].samples) {
        assert_eq!(a.unattributed, b.unattributed);
        assert_eq!(a.pod, b.pod);
    }
}

#[test]
fn a_dying_count_above_zero_says_dying_cgroups_hold_it() {
    // story(true) has nr_dying_descendants 1 then 2 on a 6.1 kernel.
    let r = analyze_snaps(&story(true)).0;
    let f = orphan(&r);
    assert!(f.detail.contains(DYING), "{}", f.detail);
    assert!(!f.detail.contains(MOVED), "{}", f.detail);
}

#[test]
fn without_a_dying_count_a_7_1_kernel_still_says_moved() {
    let mut snaps = story_on_7_2();
    for s in &mut snaps {
        s.kernel_release = Some("7.1.3".into());
        for c in &mut s.cgroups {
            c.dying = None;
        }
    }
    let r = analyze_snaps(&snaps).0;
    let f = orphan(&r);
    assert!(f.detail.contains(MOVED), "{}", f.detail);
    assert!(
        f.detail
            .contains("kernel 7.1.3 moves a removed cgroup's pages to its parent"),
        "{}",
        f.detail
    );
}

#[test]
fn without_any_sign_the_words_stay_neutral() {
    let mut snaps = story(true);
    for s in &mut snaps {
        for c in &mut s.cgroups {
            c.dying = None;
        }
    }
    let r = analyze_snaps(&snaps).0;
    let f = orphan(&r);
    assert!(!f.detail.contains(MOVED), "{}", f.detail);
    assert!(!f.detail.contains(DYING), "{}", f.detail);
    assert!(
        f.detail.contains("this capture does not show whether"),
        "{}",
        f.detail
    );
    assert_eq!(diagnosis(&r), diagnosis(&analyze_snaps(&story(true)).0));
}

#[test]
fn v1_own_shmem_tells_moved_from_dying() {
    // v1 memory.stat keeps the pod cgroup's own pages (`shmem`) apart from the
    // hierarchical total (`total_shmem`): the story as written has them with the dying
    // child (own 0); a kernel that moves them shows them as the pod's own.
    let r = analyze_snaps(&story(false)).0;
    assert!(orphan(&r).detail.contains(DYING), "{}", orphan(&r).detail);

    let mut snaps = story(false);
    let pod = pod_rel(false);
    for s in snaps.iter_mut().skip(1) {
        for c in &mut s.cgroups {
            if c.rel == pod {
                c.own_shmem = 64 * MIB;
            }
        }
    }
    let moved = analyze_snaps(&snaps).0;
    let f = orphan(&moved);
    assert!(f.detail.contains(MOVED), "{}", f.detail);
    assert!(
        f.detail
            .contains("its own memory.stat shows 64.0 MiB of shmem outside any child"),
        "{}",
        f.detail
    );
    let own = f
        .evidence
        .iter()
        .find(|e| e.label == "pod cgroup's own shmem (children excluded)")
        .expect("own shmem evidence");
    assert_eq!(own.value, "64.0 MiB");
    assert_eq!(diagnosis(&r), diagnosis(&moved));
}
