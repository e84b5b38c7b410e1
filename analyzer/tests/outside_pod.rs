//! Containers whose cgroups sit outside their pod cgroup: containerd 1.4 placing
//! containers with the cgroupfs driver while the kubelet uses systemd puts them at
//! `/system.slice/containerd.service/<pod slice>:cri-containerd:<id>` (path from
//! fixtures/realworld/cgroup_paths, neuvector's containerd 1.4.4 capture) while the
//! pod's slice stays empty. The analyzer must attribute them to their pod, keep them out
//! of the pod-level arithmetic, and say what is wrong and how to fix it.

mod common;

use common::*;
use podmem_schema::report::{Report, Severity};

const UID: &str = "2105e389-7471-476e-a50f-6074cef29bbd";
const CID: &str = "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e";

fn slice() -> String {
    "kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice".to_string()
}

fn pod_path() -> String {
    format!("kubepods.slice/kubepods-besteffort.slice/{}", slice())
}

fn colon_path() -> String {
    format!(
        "system.slice/containerd.service/{}:cri-containerd:{CID}",
        slice()
    )
}

fn snaps(with_pod_cgroup: bool, v2: bool) -> Vec<Snap> {
    ["2026-11-28T04:00:00Z", "2026-11-28T04:01:00Z"]
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let mut s = Snap::new("node-c", "boot-1", at, v2);
            s.cgroups
                .push(Cg::new("kubepods.slice", 0, 0, 0).limit(7000 * MIB));
            if with_pod_cgroup {
                s.cgroups
                    .push(Cg::new(&pod_path(), 0, 0, 0).limit(100 * MIB));
            }
            s.cgroups.push(Cg::new(
                &colon_path(),
                (150 + i as u64) * MIB,
                40 * MIB,
                (110 + i as u64) * MIB,
            ));
            s
        })
        .collect()
}

fn check(r: &Report, with_pod_cgroup: bool) {
    assert!(r.inputs.iter().all(|i| i.status == "ok"), "{:#?}", r.inputs);
    let pod = r.pods.iter().find(|p| p.uid == UID).expect("the pod");
    assert_eq!(pod.containers.len(), 1, "{:#?}", pod.containers);
    assert_eq!(pod.containers[0].id, CID);
    assert_eq!(pod.containers[0].runtime.as_deref(), Some("containerd"));
    assert!(!pod.containers[0].gone);
    assert_eq!(
        pod.containers[0].outside_pod_cgroup.as_deref(),
        Some(colon_path().as_str())
    );
    let last = pod.samples.last().unwrap();
    // The container's memory is not the pod's: nothing is subtracted from the pod.
    assert_eq!(last.containers[CID].usage, Some(151 * MIB));
    if with_pod_cgroup {
        assert_eq!(last.unattributed.usage, Some(0));
        assert_eq!(last.unattributed.shmem, Some(0));
        assert_eq!(pod.cgroup_path.as_deref(), Some(pod_path().as_str()));
    } else {
        assert_eq!(pod.cgroup_path, None);
    }
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "container-outside-pod-cgroup")
        .unwrap_or_else(|| panic!("no finding in {:#?}", r.findings));
    assert_eq!(f.pod_uid.as_deref(), Some(UID));
    assert_eq!(f.container_ids, [CID]);
    assert_eq!(f.bytes, Some(151 * MIB));
    assert!(f.detail.contains(&colon_path()), "{}", f.detail);
    assert!(f.recommendation.contains("SystemdCgroup = true"));
    assert!(f.recommendation.contains("cgroupDriver: systemd"));
    assert!(f.evidence.iter().any(|e| e
        .source
        .as_deref()
        .is_some_and(|s| s.ends_with(&format!("cgroup/{}/memory.stat", colon_path())))));
    if with_pod_cgroup {
        assert_eq!(
            f.severity,
            Severity::Critical,
            "the pod limit is not enforced"
        );
        assert!(
            f.detail
                .contains(&format!("outside the pod cgroup `{}`", pod_path())),
            "{}",
            f.detail
        );
    } else {
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.detail.contains("outside any pod cgroup"), "{}", f.detail);
    }
    // The pod-level rules see no orphaned memory where there is none.
    assert!(!r.findings.iter().any(|f| f.id == "orphaned-shmem"));
}

#[test]
fn colon_form_container_is_the_pods_and_is_flagged() {
    for v2 in [false, true] {
        check(&analyze_snaps(&snaps(true, v2)).0, true);
    }
}

#[test]
fn colon_form_container_without_a_pod_cgroup_still_makes_a_pod() {
    for v2 in [false, true] {
        check(&analyze_snaps(&snaps(false, v2)).0, false);
    }
}

#[test]
fn text_and_html_render_it() {
    let r = analyze_snaps(&snaps(true, false)).0;
    let text = podmem_reports::render_text(&r);
    assert!(text.contains("container-outside-pod-cgroup"), "{text}");
    assert!(
        text.contains(&format!("outside the pod cgroup at {}", colon_path())),
        "{text}"
    );
    let html = String::from_utf8(podmem_reports::render_html(&r).expect("html")).unwrap();
    assert!(html.contains("container-outside-pod-cgroup"));
}
