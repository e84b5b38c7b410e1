//! Pod names from the kubelet summary: each of namespace and name is kept on its own, so
//! a summary entry with a namespace but no name still says which namespace the pod is in.

mod common;

use common::*;

fn summary(pod_ref: &str) -> (String, Vec<u8>) {
    (
        "kubelet/summary.json".to_string(),
        format!(r#"{{"pods":[{{"podRef":{pod_ref},"memory":{{"workingSetBytes":1048576}}}}]}}"#)
            .into_bytes(),
    )
}

#[test]
fn a_namespace_without_a_name_is_kept() {
    let mut snaps = story(false);
    for s in &mut snaps {
        s.extra.push(summary(&format!(
            r#"{{"namespace":"shop","uid":"{POD_UID}"}}"#
        )));
    }
    let r = analyze_snaps(&snaps).0;
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).expect("pod");
    assert_eq!(pod.namespace.as_deref(), Some("shop"));
    assert_eq!(pod.name, None);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "orphaned-shmem")
        .expect("orphaned-shmem");
    assert!(
        f.title.starts_with(&format!("shop/pod {POD_UID}:")),
        "{}",
        f.title
    );
    let text = podmem_reports::render_text(&r);
    assert!(text.contains(&format!("shop/pod {POD_UID}")), "{text}");
}

#[test]
fn the_name_from_var_log_pods_joins_a_summary_namespace() {
    let mut snaps = story(false);
    for s in &mut snaps {
        // An empty name is no name.
        s.extra.push(summary(&format!(
            r#"{{"name":"","namespace":"shop","uid":"{POD_UID}"}}"#
        )));
        s.extra.push((
            "logs/pods.txt".to_string(),
            format!("shop_cache-0_{POD_UID}/app/0.log\n").into_bytes(),
        ));
    }
    let r = analyze_snaps(&snaps).0;
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).expect("pod");
    assert_eq!(pod.namespace.as_deref(), Some("shop"));
    assert_eq!(pod.name.as_deref(), Some("cache-0"));
}
