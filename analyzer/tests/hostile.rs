//! Hostile and broken inputs (issue 7): each is analyzed next to a good snapshot and
//! must produce a problem naming the file (and entry) and the reason, while the good
//! snapshot is still analyzed.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use podmem_analyzer::{analyze, exit_status, load::Limits};
use podmem_schema::report::Report;

/// A good healthy-node snapshot in `dir`.
fn good(dir: &Path) -> PathBuf {
    healthy("good-node", 1)[0].write(dir)
}

fn analyze_with(paths: &[PathBuf], limits: &Limits) -> Report {
    analyze(paths, limits, jiff::Timestamp::UNIX_EPOCH)
}

/// Runs a good snapshot and `bad`, checks the good one was analyzed, and returns the
/// problems reported for `bad`.
fn problems_for(bad: &Path, limits: &Limits) -> (Report, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let g = good(dir.path());
    let r = analyze_with(&[g.clone(), bad.to_path_buf()], limits);
    let gi = r
        .inputs
        .iter()
        .find(|i| i.path == g.display().to_string())
        .unwrap();
    assert_eq!(gi.status, "ok", "{gi:#?}");
    assert!(
        r.nodes.iter().any(|n| n.name == "good-node"),
        "good input not analyzed"
    );
    assert!(r.pods.iter().any(|p| p.node == "good-node"));
    let bi = r
        .inputs
        .iter()
        .find(|i| i.path == bad.display().to_string())
        .unwrap_or_else(|| panic!("no input report for {}: {:#?}", bad.display(), r.inputs));
    assert_ne!(bi.status, "ok", "{bi:#?}");
    assert_eq!(exit_status(&r), 1);
    let problems = bi.problems.clone();
    let name = bad.display().to_string();
    assert!(
        problems.iter().all(|p| p.contains(&name)),
        "a problem does not name {name}: {problems:#?}"
    );
    (r, problems)
}

fn has(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "no problem mentions {needle:?}: {problems:#?}"
    );
}

/// The story's first snapshot in format 1, whose entries are single cgroup files that a
/// test can replace by name.
fn story_v1() -> Snap {
    let mut s = story(false)[0].clone();
    s.format = 1;
    s
}

fn snap_with(dir: &Path, name: &str, f: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> PathBuf {
    let mut entries = story_v1().files();
    f(&mut entries);
    let p = dir.join(name);
    std::fs::write(&p, gzip(&tar_of(&entries))).unwrap();
    p
}

/// A tar with one special entry appended after a good snapshot's entries.
fn snap_with_special(
    dir: &Path,
    name: &str,
    kind: tar::EntryType,
    entry: &str,
    link: Option<&str>,
) -> PathBuf {
    let mut b = tar::Builder::new(Vec::new());
    for (n, data) in story_v1().files() {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, n, data.as_slice()).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(0);
    h.set_mode(0o644);
    if let Some(l) = link {
        h.set_link_name(l).unwrap();
    }
    if kind == tar::EntryType::Char {
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
    }
    h.set_path(entry).unwrap();
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, gzip(&b.into_inner().unwrap())).unwrap();
    p
}

/// Raw tar header bytes with an arbitrary (unsafe) name, which `tar::Builder` refuses
/// to write.
fn raw_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    {
        let bytes = h.as_mut_bytes();
        bytes[..name.len()].copy_from_slice(name.as_bytes());
    }
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn snap_with_raw_entry(dir: &Path, name: &str, entry: &str) -> PathBuf {
    let mut tar = Vec::new();
    for (n, data) in story_v1().files() {
        tar.extend(raw_entry(&n, &data));
    }
    tar.extend(raw_entry(entry, b"pwned\n"));
    tar.extend([0u8; 1024]);
    let p = dir.join(name);
    std::fs::write(&p, gzip(&tar)).unwrap();
    p
}

#[test]
fn parent_dir_entry_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = snap_with_raw_entry(d.path(), "dotdot.tar.gz", "cgroup/../../../etc/evil");
    let (r, problems) = problems_for(&p, &Limits::default());
    has(&problems, "cgroup/../../../etc/evil: path contains `..`");
    // The rest of that snapshot is still used.
    assert!(r.pods.iter().any(|p| p.uid == POD_UID));
    assert!(!d.path().join("etc").exists());
}

#[test]
fn absolute_entry_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = snap_with_raw_entry(d.path(), "abs.tar.gz", "/tmp/podmem-evil");
    let (_, problems) = problems_for(&p, &Limits::default());
    has(&problems, "/tmp/podmem-evil: absolute path");
    assert!(!Path::new("/tmp/podmem-evil").exists());
}

#[test]
fn symlink_hardlink_and_device_entries_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for (kind, entry, link, what) in [
        (
            tar::EntryType::Symlink,
            "cgroup/link",
            Some("/etc/shadow"),
            "a symbolic link",
        ),
        (
            tar::EntryType::Link,
            "cgroup/hard",
            Some("manifest.json"),
            "a hard link",
        ),
        (tar::EntryType::Char, "dev/null", None, "a device node"),
        (tar::EntryType::Fifo, "fifo", None, "a FIFO"),
    ] {
        let p = snap_with_special(
            d.path(),
            &format!("{what}.tar.gz").replace(' ', "_"),
            kind,
            entry,
            link,
        );
        let (_, problems) = problems_for(&p, &Limits::default());
        has(
            &problems,
            &format!("{entry}: entry is {what}, not a regular file"),
        );
    }
}

#[test]
fn too_many_entries_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = snap_with(d.path(), "many.tar.gz", |e| {
        for i in 0..1500 {
            e.push((format!("junk/{i}"), b"x".to_vec()));
        }
    });
    let limits = Limits {
        max_entries: 1000,
        ..Limits::default()
    };
    let (_, problems) = problems_for(&p, &limits);
    has(&problems, "more than 1000 entries");
}

#[test]
fn oversized_entry_is_skipped_not_loaded() {
    let d = tempfile::tempdir().unwrap();
    let p = snap_with(d.path(), "big.tar.gz", |e| {
        e.push(("proc/vmstat".into(), vec![b'a'; 2 << 20]))
    });
    let limits = Limits {
        max_entry_bytes: 1 << 20,
        ..Limits::default()
    };
    let (r, problems) = problems_for(&p, &limits);
    has(
        &problems,
        "proc/vmstat: 2.0 MiB exceeds the per-entry cap of 1.0 MiB",
    );
    assert!(r.pods.iter().any(|p| p.uid == POD_UID));
}

#[test]
fn truncated_gzip_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let whole = std::fs::read(story(false)[0].write(d.path())).unwrap();
    let p = d.path().join("cut.tar.gz");
    std::fs::write(&p, &whole[..whole.len() / 2]).unwrap();
    let (_, problems) = problems_for(&p, &Limits::default());
    has(&problems, "truncated");
}

#[test]
fn random_bytes_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("random.tar.gz");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&p, &bytes).unwrap();
    let (_, problems) = problems_for(&p, &Limits::default());
    has(
        &problems,
        "not a podmem snapshot (no gzip header) nor a bundle",
    );
    // Random bytes behind a gzip magic number.
    let p2 = d.path().join("random2.tar.gz");
    let mut b2 = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    b2.extend(&bytes);
    std::fs::write(&p2, &b2).unwrap();
    let (_, problems) = problems_for(&p2, &Limits::default());
    has(&problems, "random2.tar.gz");
}

#[test]
fn empty_file_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("empty.tar.gz");
    std::fs::write(&p, b"").unwrap();
    let (_, problems) = problems_for(&p, &Limits::default());
    has(&problems, "empty file");
}

#[test]
fn newer_and_unknown_format_versions_are_refused() {
    let d = tempfile::tempdir().unwrap();
    for (name, manifest, why) in [
        (
            "newer.tar.gz",
            r#"{"format":"podmem-snapshot","format_version":3,"node":"x"}"#,
            "format version 3 is newer than this analyzer understands (2)",
        ),
        (
            "other.tar.gz",
            r#"{"format":"sosreport","format_version":1}"#,
            "not a podmem snapshot",
        ),
        (
            "nan.tar.gz",
            r#"{"format":"podmem-snapshot","format_version":1,"duration_ms":NaN}"#,
            "manifest.json: not valid JSON",
        ),
    ] {
        let mut s = story(false)[0].clone();
        s.manifest_override = Some(manifest.to_string());
        let p = d.path().join(name);
        std::fs::write(&p, gzip(&tar_of(&s.entries()))).unwrap();
        let (_, problems) = problems_for(&p, &Limits::default());
        has(&problems, why);
    }
}

#[test]
fn absurd_numbers_in_the_manifest_are_refused_clearly() {
    let d = tempfile::tempdir().unwrap();
    let s = story(false)[0].clone();
    let mut m: serde_json::Value = serde_json::from_str(&s.manifest_json()).unwrap();
    m["duration_ms"] = serde_json::json!(-5);
    let mut s2 = s.clone();
    s2.manifest_override = Some(m.to_string());
    let p = d.path().join("negative.tar.gz");
    std::fs::write(&p, gzip(&tar_of(&s2.entries()))).unwrap();
    let (_, problems) = problems_for(&p, &Limits::default());
    has(&problems, "invalid manifest");
    has(&problems, "-5");
}

#[test]
fn absurd_numbers_in_cgroup_files_do_not_break_the_analysis() {
    let d = tempfile::tempdir().unwrap();
    let pod = pod_rel(false);
    let p = snap_with(d.path(), "absurd.tar.gz", |e| {
        for (name, data) in e.iter_mut() {
            if *name == format!("cgroup/{}/memory.usage_in_bytes", ctr_rel(false, A_ID)) {
                *data = b"-5\n".to_vec();
            }
            if *name == format!("cgroup/{pod}/memory.stat") {
                *data =
                    b"total_shmem 18446744073709551615\ntotal_rss NaN\ntotal_cache 1e9\n".to_vec();
            }
        }
        e.push((
            "tmpfs.json".into(),
            br#"[{"pod_uid":"x","volume":"v","used_bytes":-1}]"#.to_vec(),
        ));
    });
    let (r, problems) = problems_for(&p, &Limits::default());
    has(
        &problems,
        &format!("cgroup/{}/memory.usage_in_bytes", ctr_rel(false, A_ID)),
    );
    has(&problems, "tmpfs.json: unreadable");
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).unwrap();
    assert_eq!(pod.samples[0].pod.shmem, Some(u64::MAX));
    assert_eq!(pod.samples[0].pod.rss, None);
}

#[test]
fn manifest_that_lies_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let mut s = story(false)[0].clone();
    s.manifest_pods.push((
        "deadbeef-0000-4000-8000-000000000000".into(),
        "kubepods/besteffort/poddeadbeef-0000-4000-8000-000000000000".into(),
    ));
    let mut m: serde_json::Value = serde_json::from_str(&s.manifest_json()).unwrap();
    m["cgroup"]["mode"] = serde_json::json!("v2");
    m["sources"] = serde_json::json!([{"name":"meminfo","origin":"/proc/meminfo","entry":"proc/meminfo","status":"ok","message":null,"bytes":5,"millis":0}]);
    s.manifest_override = Some(m.to_string());
    let p = d.path().join("liar.tar.gz");
    std::fs::write(&p, gzip(&tar_of(&s.entries()))).unwrap();
    let (r, problems) = problems_for(&p, &Limits::default());
    has(&problems, "lists pod deadbeef-0000-4000-8000-000000000000");
    has(&problems, "says cgroup mode V2 but the cgroup files are V1");
    has(&problems, "wrote 5 bytes to proc/meminfo");
    // The files are believed: v1 figures, the real pod only.
    assert_eq!(r.pods.iter().filter(|p| p.node == "node-a").count(), 1);
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).unwrap();
    assert_eq!(pod.samples[0].pod.shmem, Some(64 * MIB));
}

#[test]
fn non_utf8_text_is_replaced_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let p = snap_with(d.path(), "latin1.tar.gz", |e| {
        e.push((
            "logs/pods.txt".into(),
            b"default_caf\xe9_x/c/0.log\n".to_vec(),
        ));
    });
    let (_, problems) = problems_for(&p, &Limits::default());
    has(&problems, "logs/pods.txt: not valid UTF-8");
}

#[test]
fn crlf_files_give_the_same_numbers() {
    let d = tempfile::tempdir().unwrap();
    let crlf = d.path().join("crlf");
    std::fs::create_dir(&crlf).unwrap();
    let lf = d.path().join("lf");
    std::fs::create_dir(&lf).unwrap();
    // Format 1: each file its own entry, so each can be rewritten with CRLF.
    let mut s = story(false)[1].clone();
    s.format = 1;
    s.write(&lf);
    let entries: Vec<(String, Vec<u8>)> = s
        .files()
        .into_iter()
        .map(|(n, d)| {
            if n.ends_with(".json") {
                (n, d)
            } else {
                (
                    n,
                    String::from_utf8(d)
                        .unwrap()
                        .replace('\n', "\r\n")
                        .into_bytes(),
                )
            }
        })
        .collect();
    std::fs::write(crlf.join("crlf.tar.gz"), gzip(&tar_of(&entries))).unwrap();
    let a = analyze_with(&[lf], &Limits::default());
    let b = analyze_with(&[crlf], &Limits::default());
    assert_eq!(a.pods[0].samples[0].pod, b.pods[0].samples[0].pod);
    assert_eq!(
        a.pods[0].samples[0].unattributed,
        b.pods[0].samples[0].unattributed
    );
    assert_eq!(b.pods[0].samples[0].unattributed.shmem, Some(64 * MIB));
    assert_eq!(a.nodes[0].samples, b.nodes[0].samples);
}

#[test]
fn duplicate_snapshots_are_dropped_with_a_note() {
    let d = tempfile::tempdir().unwrap();
    let s = &story(false)[0];
    let p = s.write(d.path());
    let copy = d.path().join("copy-of-it.tar.gz");
    std::fs::copy(&p, &copy).unwrap();
    let r = analyze_with(&[p.clone(), copy.clone()], &Limits::default());
    assert_eq!(r.nodes[0].snapshots, 1);
    assert_eq!(r.pods[0].samples.len(), 1);
    let dup = r
        .inputs
        .iter()
        .find(|i| !i.problems.is_empty())
        .expect("a duplicate note");
    assert!(dup.problems[0].contains("duplicate of"), "{dup:#?}");
    assert_eq!(exit_status(&r), 1);
}

#[test]
fn out_of_order_and_clock_jumps_are_ordered_by_capture_time() {
    let d = tempfile::tempdir().unwrap();
    let mut snaps = healthy("node-o", 3);
    // Names sort the other way round from capture times.
    let names = ["c.tar.gz", "b.tar.gz", "a.tar.gz"];
    snaps[2].at = "2027-06-01T00:00:00Z".into(); // a clock jump forward
    let mut paths = Vec::new();
    for (s, n) in snaps.iter().zip(names) {
        let p = d.path().join(n);
        std::fs::write(&p, gzip(&tar_of(&s.entries()))).unwrap();
        paths.push(p);
    }
    let r = analyze_with(&[d.path().to_path_buf()], &Limits::default());
    assert!(r.inputs.iter().all(|i| i.status == "ok"), "{:#?}", r.inputs);
    let times: Vec<_> = r.pods[0].samples.iter().map(|s| s.time.unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert_eq!(r.nodes[0].last.unwrap().to_string(), "2027-06-01T00:00:00Z");
}

#[test]
fn reboot_splits_the_timeline() {
    let d = tempfile::tempdir().unwrap();
    let mut snaps = story(false);
    // Reboot between t1 and t2: container C after a reboot is no "restart" of B.
    snaps[2].boot = "boot-2".into();
    snaps[2].kernel.clear();
    for s in &snaps {
        s.write(d.path());
    }
    let r = analyze_with(&[d.path().to_path_buf()], &Limits::default());
    assert_eq!(
        r.nodes[0].boots,
        vec!["boot-1".to_string(), "boot-2".to_string()]
    );
    let pod = r.pods.iter().find(|p| p.uid == POD_UID).unwrap();
    assert_eq!(pod.transitions.len(), 1, "{:#?}", pod.transitions);
    assert_eq!(pod.transitions[0].disappeared, vec![A_ID.to_string()]);
}

#[test]
fn bundles_are_read_member_by_member() {
    let d = tempfile::tempdir().unwrap();
    let snaps = story(false);
    let mut entries = vec![(
        "bundle.json".to_string(),
        br#"{"format":"podmem-bundle","format_version":1}"#.to_vec(),
    )];
    for (i, s) in snaps.iter().enumerate().take(2) {
        entries.push((
            format!("snapshots/s{i}.tar.gz"),
            gzip(&tar_of(&s.entries())),
        ));
    }
    entries.push((
        "snapshots/broken.tar.gz".into(),
        b"\x1f\x8bgarbage".to_vec(),
    ));
    let bundle = d.path().join("bundle.tar");
    std::fs::write(&bundle, tar_of(&entries)).unwrap();
    let r = analyze_with(std::slice::from_ref(&bundle), &Limits::default());
    let bi = &r.inputs[0];
    assert_eq!(bi.kind, "bundle");
    assert_eq!(bi.snapshots, 2);
    assert_eq!(bi.status, "partial");
    assert!(
        bi.problems[0].contains("bundle.tar!snapshots/broken.tar.gz"),
        "{bi:#?}"
    );
    assert_eq!(r.nodes[0].snapshots, 2);
}

#[test]
fn no_usable_input_means_exit_status_two() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("empty.tar.gz");
    std::fs::write(&p, b"").unwrap();
    let missing = d.path().join("missing.tar.gz");
    let empty_dir = d.path().join("nothing");
    std::fs::create_dir(&empty_dir).unwrap();
    let r = analyze_with(&[p, missing, empty_dir], &Limits::default());
    assert_eq!(exit_status(&r), 2);
    assert_eq!(r.inputs.len(), 3);
    assert!(r.inputs[1].problems[0].contains("missing.tar.gz: cannot read"));
    assert!(r.inputs[2].problems[0].contains("no snapshot archives"));
}

#[test]
fn each_problem_is_reported_once() {
    let d = tempfile::tempdir().unwrap();
    let p = snap_with_raw_entry(d.path(), "once.tar.gz", "/etc/once");
    let (_, problems) = problems_for(&p, &Limits::default());
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

#[test]
fn corrupt_cgroup_directory_entries_keep_the_files_before_the_damage() {
    let d = tempfile::tempdir().unwrap();
    let s = story(false)[0].clone();
    assert_eq!(s.format, 2);
    let kp_pack = "cgroup/kubepods/files.podmem".to_string();
    let ctr_pack = format!("cgroup/{}/files.podmem", ctr_rel(false, A_ID));
    let mut entries = s.entries();
    for (name, data) in entries.iter_mut() {
        if *name == ctr_pack {
            // Cut inside the second record: memory.stat survives, the rest is lost.
            let second = data.windows(4).skip(1).position(|w| w == b"--- ").unwrap() + 1;
            data.truncate(second + 30);
        }
        if *name == kp_pack {
            *data = b"\x1f\x8b garbage, not records".to_vec();
        }
    }
    let p = d.path().join("packs.tar.gz");
    std::fs::write(&p, gzip(&tar_of(&entries))).unwrap();
    let (r, problems) = problems_for(&p, &Limits::default());
    has(&problems, &format!("packs.tar.gz:{ctr_pack}: record"));
    has(
        &problems,
        "truncated); the cgroup files after it are ignored",
    );
    has(
        &problems,
        &format!("packs.tar.gz:{kp_pack}: bad record header at byte 0"),
    );
    let pod = r
        .pods
        .iter()
        .find(|p| p.uid == POD_UID && p.node != "good-node")
        .unwrap();
    let a = pod.containers.iter().find(|c| c.id == A_ID).unwrap();
    // The container's memory.stat came before the cut and was read.
    assert!(a.last.shmem.is_some(), "{a:#?}");
}
