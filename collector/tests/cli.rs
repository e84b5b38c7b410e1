//! The `snapshot` and `bundle` commands end to end against the fixture host trees in
//! `fixtures/hosts/` (cgroup v2 systemd, v1 cgroupfs docker, v1 hybrid systemd).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::*;
use podmem_schema::snapshot::{CgroupMode, Qos, Status, TmpfsUsage};

const UID_G: &str = "6f1c2a4e-1b2c-4d5e-8f90-0a1b2c3d4e01";
const UID_B: &str = "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02";
const UID_E: &str = "9b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d03";
const STATIC: &str = "5795d0c442cb997ff93c49feeb9f6386";

fn snapshot(
    host_name: &str,
    out: &Path,
    extra: &[&str],
) -> (std::process::Output, std::path::PathBuf) {
    let o = Command::new(bin())
        .args(["snapshot", "--no-nice", "-o"])
        .arg(out)
        .arg("--host-root")
        .arg(host(host_name))
        .args(extra)
        .env_remove("NODE_NAME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (o, stdout.into())
}

/// A snapshot of the containerd fixture host into `out` (no kubelet, no kernel log):
/// its archive and manifest.
fn containerd_archive(out: &Path) -> (std::path::PathBuf, podmem_schema::snapshot::Manifest) {
    let (_, path) = snapshot(
        "v2-systemd-containerd",
        out,
        &["--no-kubelet", "--kernel-log", "none"],
    );
    let m = manifest(&entries(&path));
    (path, m)
}

fn check_fixture(
    name: &str,
    mode: CgroupMode,
    node: &str,
    pods: &[(&str, Qos, usize)],
    cgroups: u64,
) {
    let out = tempfile::tempdir().unwrap();
    let (o, path) = snapshot(name, out.path(), &["--no-kubelet", "--kernel-log", "none"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{name}: stderr: {stderr}");
    assert_eq!(
        archives(out.path()),
        vec![path.clone()],
        "stdout names the only archive"
    );
    let fname = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        fname.starts_with(&format!("podmem-{node}-")) && fname.ends_with("Z.tar.gz"),
        "{fname}"
    );

    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(m.format, "podmem-snapshot");
    assert_eq!(m.node, node);
    assert_eq!(
        m.boot_id.as_deref(),
        Some("0b8f4a52-3f5e-4c0e-9d8a-5f2e7c1a9b10")
    );
    assert_eq!(m.boot_time.unwrap().as_second(), 1795000000);
    assert_eq!(m.cgroup.mode, mode);
    assert_eq!(m.cgroup.root_in_hierarchy, "/");
    assert_eq!(m.cgroup.cgroups, cgroups, "{name}: {:?}", m.cgroup);
    let mut got: Vec<(String, Qos, usize)> = m
        .pods
        .iter()
        .map(|p| (p.uid.clone(), p.qos.unwrap(), p.containers.len()))
        .collect();
    got.sort();
    let mut want: Vec<(String, Qos, usize)> = pods
        .iter()
        .map(|(u, q, n)| (u.to_string(), *q, *n))
        .collect();
    want.sort();
    assert_eq!(got, want, "{name}: pods");
    for s in &m.sources {
        assert!(
            matches!(s.status, Status::Ok | Status::Missing),
            "{name}: {s:?}"
        );
    }

    // Every file of every captured cgroup, verbatim with its real length.
    let root = Path::new(&m.cgroup.root);
    let mut stats = 0;
    for (n, data) in &es {
        let Some(rel) = n.strip_prefix("cgroup/") else {
            continue;
        };
        assert!(!rel.contains("slabinfo"), "expensive file captured: {n}");
        let on_disk = std::fs::read(root.join(rel)).unwrap();
        assert_eq!(&on_disk, data, "{n} differs");
        if rel.ends_with("memory.stat") {
            assert!(!data.is_empty());
            stats += 1;
        }
    }
    assert_eq!(stats as u64, cgroups, "one memory.stat per cgroup");
    for p in &m.pods {
        assert!(
            entry(&es, &format!("cgroup/{}/memory.stat", p.cgroup_path)).is_some(),
            "{}",
            p.cgroup_path
        );
        for c in &p.containers {
            assert_eq!(c.id.len(), 64);
            assert!(entry(&es, &format!("cgroup/{}/memory.stat", c.cgroup_path)).is_some());
        }
    }
    for f in [
        "proc/meminfo",
        "proc/vmstat",
        "proc/cgroups",
        "proc/pressure/memory",
        "proc/mountinfo",
    ] {
        assert_eq!(
            entry(&es, f).unwrap(),
            std::fs::read(host(name).join(if f == "proc/mountinfo" {
                "proc/self/mountinfo"
            } else {
                f
            }))
            .unwrap(),
            "{f}"
        );
    }
    let tmpfs: Vec<TmpfsUsage> = serde_json::from_slice(entry(&es, "tmpfs.json").unwrap()).unwrap();
    let cache = tmpfs
        .iter()
        .find(|t| t.plugin == "empty-dir")
        .expect("emptyDir tmpfs listed");
    assert_eq!(
        (
            cache.pod_uid.as_str(),
            cache.volume.as_str(),
            cache.size_option
        ),
        (UID_B, "cache", Some(64 << 20))
    );
    assert!(cache.total_bytes.is_some() && cache.error.is_none());
    let pods_txt = String::from_utf8(entry(&es, "logs/pods.txt").unwrap().to_vec()).unwrap();
    assert!(
        pods_txt.contains(&format!("shop_cache-7d9f8b6c5-x2x4q_{UID_B}/app/1.log\n")),
        "{pods_txt}"
    );
    assert_eq!(pods_txt.lines().count(), 6);
}

#[test]
fn v2_systemd_containerd_fixture() {
    check_fixture(
        "v2-systemd-containerd",
        CgroupMode::V2,
        "node-v2",
        &[
            (UID_G, Qos::Guaranteed, 2),
            (UID_B, Qos::Burstable, 2),
            (STATIC, Qos::Burstable, 1),
            (UID_E, Qos::Besteffort, 1),
        ],
        // root, system.slice, kubepods.slice + 2 QoS + 4 pods + 6 containers
        15,
    );
}

#[test]
fn v1_cgroupfs_docker_fixture() {
    check_fixture(
        "v1-cgroupfs-docker",
        CgroupMode::V1,
        "node-v1-docker",
        &[
            (UID_G, Qos::Guaranteed, 2),
            (UID_B, Qos::Burstable, 2),
            (UID_E, Qos::Besteffort, 1),
        ],
        // root, docker, user.slice, kubepods + 2 QoS + 3 pods + 5 containers
        14,
    );
}

#[test]
fn v1_hybrid_systemd_containerd_fixture() {
    check_fixture(
        "v1-systemd-containerd",
        CgroupMode::Hybrid,
        "node-v1-systemd",
        &[
            (UID_G, Qos::Guaranteed, 1),
            (UID_B, Qos::Burstable, 2),
            (UID_E, Qos::Besteffort, 1),
        ],
        // root, system.slice, kubepods.slice + 2 QoS + 3 pods + 4 containers
        12,
    );
}

#[test]
fn summary_file_and_kernel_log_file_are_captured() {
    let out = tempfile::tempdir().unwrap();
    let summary = host("kubelet-summary.json");
    let klog = host("kernel.log");
    let (o, path) = snapshot(
        "v2-systemd-containerd",
        out.path(),
        &[
            "--kubelet-summary-file",
            summary.to_str().unwrap(),
            "--kernel-log",
            klog.to_str().unwrap(),
            "--node-name",
            "n1",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(m.node, "n1");
    assert_eq!(
        entry(&es, "kubelet/summary.json").unwrap(),
        std::fs::read(&summary).unwrap()
    );
    let k = m.kernel_log.as_ref().unwrap();
    assert_eq!(
        (
            k.source.as_str(),
            k.entry.as_str(),
            k.oom_blocks,
            k.records_read
        ),
        ("file", "kernel/syslog.log", 1, 12)
    );
    assert_eq!(
        k.next.as_deref(),
        Some(std::fs::metadata(&klog).unwrap().len().to_string().as_str())
    );
    let kept = String::from_utf8(entry(&es, "kernel/syslog.log").unwrap().to_vec()).unwrap();
    assert_eq!(
        kept.lines().count(),
        10,
        "the whole OOM block and nothing else:\n{kept}"
    );
    assert!(kept.contains("invoked oom-killer") && kept.contains("Killed process 3001"));
    assert!(!kept.contains("systemd[1]") && !kept.contains("kubelet[901]"));
    let src = m
        .sources
        .iter()
        .find(|s| s.name == "kubelet-summary")
        .unwrap();
    assert_eq!(src.status, Status::Ok);
}

/// A copy of the host fixture's kernel log in `dir`, for runs that append to it.
fn kernel_log_copy(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("kern.log");
    std::fs::copy(host("kernel.log"), &log).unwrap();
    log
}

/// Snapshot arguments reading the kernel log from `log`, as node `n`.
fn kernel_log_args(log: &Path) -> [&str; 5] {
    [
        "--no-kubelet",
        "--kernel-log",
        log.to_str().unwrap(),
        "--node-name",
        "n",
    ]
}

/// Appends the kill of pid 4242 `(between)`, logged after a first snapshot.
fn append_kill_between(log: &Path) {
    let line = "Nov 28 05:00:00 node-v2 kernel: Memory cgroup out of memory: Killed process 4242 (between) total-vm:1kB";
    writeln!(
        std::fs::OpenOptions::new().append(true).open(log).unwrap(),
        "{line}"
    )
    .unwrap();
}

#[test]
fn kernel_log_continues_without_loss_or_repeat() {
    let out = tempfile::tempdir().unwrap();
    let log = kernel_log_copy(out.path());
    let args = kernel_log_args(&log);
    let (_, first) = snapshot("v1-cgroupfs-docker", &out.path().join("s"), &args);
    append_kill_between(&log);
    let (_, second) = snapshot("v1-cgroupfs-docker", &out.path().join("s"), &args);
    let (_, third) = snapshot("v1-cgroupfs-docker", &out.path().join("s"), &args);
    let count = |p: &Path| {
        let es = entries(p);
        String::from_utf8_lossy(entry(&es, "kernel/syslog.log").unwrap())
            .matches("Killed process")
            .count()
    };
    assert_eq!((count(&first), count(&second), count(&third)), (1, 1, 0));
    let es = entries(&second);
    assert!(
        String::from_utf8_lossy(entry(&es, "kernel/syslog.log").unwrap())
            .contains("4242 (between)")
    );
    assert_eq!(
        manifest(&es).kernel_log.unwrap().since,
        None,
        "continued, not by time"
    );
}

/// An archive stamped after this capture (a clock that ran ahead) is not the previous
/// snapshot the kernel log continues from: its continuation point would skip what
/// happened since the real previous one.
#[test]
fn kernel_log_continuation_passes_over_archives_from_the_future() {
    let out = tempfile::tempdir().unwrap();
    let log = kernel_log_copy(out.path());
    let args = kernel_log_args(&log);
    let dir = out.path().join("s");
    let (_, first) = snapshot("v1-cgroupfs-docker", &dir, &args);
    // The same archive as captured by a clock a century ahead, having read far more.
    let mut raw = podmem_testkit::archive::raw_entries(&first);
    let mut m: serde_json::Value = serde_json::from_slice(&raw[0].1).unwrap();
    m["captured_at"] = "2099-01-01T00:00:00Z".into();
    m["kernel_log"]["next"] = "999999999".into();
    raw[0].1 = serde_json::to_vec(&m).unwrap();
    podmem_testkit::archive::write_raw_entries(
        &dir.join("podmem-n-20990101T000000.000Z.tar.gz"),
        &raw,
    );
    append_kill_between(&log);
    let (_, second) = snapshot("v1-cgroupfs-docker", &dir, &args);
    let es = entries(&second);
    let text = String::from_utf8_lossy(entry(&es, "kernel/syslog.log").unwrap()).into_owned();
    assert_eq!(text.matches("Killed process").count(), 1, "{text}");
    assert!(text.contains("4242 (between)"), "{text}");
}

#[test]
fn no_kubernetes_says_where_it_looked() {
    let h = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(h.path().join("proc/self")).unwrap();
    std::fs::create_dir_all(h.path().join("sys/fs/cgroup/system.slice")).unwrap();
    std::fs::write(h.path().join("sys/fs/cgroup/cgroup.procs"), "1\n").unwrap();
    std::fs::write(
        h.path().join("sys/fs/cgroup/system.slice/memory.stat"),
        "anon 1\n",
    )
    .unwrap();
    std::fs::write(
        h.path().join("proc/self/mountinfo"),
        "27 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--node-name",
            "plain",
            "-o",
        ])
        .arg(out.path())
        .arg("--host-root")
        .arg(h.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("no pods found (looked for kubepods under"),
        "{stderr}"
    );
    assert!(stderr.contains("sys/fs/cgroup"), "{stderr}");
    let a = archives(out.path());
    assert_eq!(a.len(), 1);
    let m = manifest(&entries(&a[0]));
    assert!(m.pods.is_empty());
    assert_eq!(m.cgroup.cgroups, 2);
    // Missing procfs files are "missing", not errors: exit 0.
    assert_eq!(o.status.code(), Some(0), "{stderr}");
}

#[test]
fn explicit_cgroup_root_subdirectory_is_the_node_root() {
    let out = tempfile::tempdir().unwrap();
    let h = host("v1-cgroupfs-docker");
    let sub = h.join("sys/fs/cgroup/memory/kubepods/burstable");
    let (o, path) = snapshot(
        "v1-cgroupfs-docker",
        out.path(),
        &[
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--cgroup-root",
            sub.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = manifest(&entries(&path));
    assert_eq!(m.cgroup.root_in_hierarchy, "/kubepods/burstable");
    assert_eq!(m.cgroup.mode, CgroupMode::V1);
    // The root is inside kubepods: its whole subtree (QoS, pod, 2 containers).
    assert_eq!(m.cgroup.cgroups, 4);
    assert_eq!(m.pods.len(), 1);
    assert_eq!(m.pods[0].uid, UID_B);
    assert_eq!(m.pods[0].cgroup_path, format!("pod{UID_B}"));
    assert_eq!(m.pods[0].containers.len(), 2);
}

#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let o = Command::new(bin())
        .args(["snapshot", "--budget", "5x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown unit"));
    let o = Command::new(bin())
        .args(["bundle", "/nonexistent-podmem", "-o", "/tmp/x.tar"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no snapshots"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn unwritable_output_is_fatal_with_the_path() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("plainfile");
    std::fs::write(&file, "x").unwrap();
    let (o, _) = snapshot(
        "v2-systemd-containerd",
        &file.join("sub"),
        &["--no-kubelet", "--kernel-log", "none"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("plainfile"));
}

#[test]
fn same_millisecond_archives_do_not_collide() {
    use podmem_collector::archive::{write_archive, Entries};
    let out = tempfile::tempdir().unwrap();
    let (path, m) = containerd_archive(out.path());
    let e = Entries::new(1 << 20);
    let p2 = write_archive(out.path(), &m.node, &m, &e).unwrap();
    let p3 = write_archive(out.path(), &m.node, &m, &e).unwrap();
    assert_ne!(p2, path);
    assert!(
        p2.to_string_lossy().ends_with("Z-1.tar.gz")
            && p3.to_string_lossy().ends_with("Z-2.tar.gz"),
        "{p2:?} {p3:?}"
    );
    assert_eq!(archives(out.path()).len(), 3);
    let list = podmem_collector::archive::list_archives(out.path(), Some(&m.node)).unwrap();
    assert_eq!(list.iter().map(|a| a.seq).collect::<Vec<_>>(), [0, 1, 2]);
}

/// Every tar entry of an archive as `podmem_schema::tar` (the analyzer's reader) reads
/// it: name and bytes, in order; every entry must be a regular file.
fn entries_by_schema_reader(path: &Path) -> Vec<(String, Vec<u8>)> {
    use podmem_schema::tar::TarStream;
    let f = std::fs::File::open(path).unwrap();
    let gz = flate2::read::GzDecoder::new(f);
    let mut t = TarStream::new(std::io::BufReader::new(gz));
    let mut out = Vec::new();
    while let Some(e) = t.next_entry().unwrap() {
        let name = String::from_utf8(t.name().to_vec()).unwrap();
        assert!(e.is_file(), "{name}: {}", e.kind_words());
        let data = t.read_data(e.size).unwrap();
        out.push((name, data));
    }
    out
}

/// The collector's archives read back by the schema's tar reader, entry for entry: a
/// real snapshot, and one written with long names, binary and empty entries; the `tar`
/// crate reads the same.
#[test]
fn archives_round_trip_through_the_schema_reader() {
    use podmem_collector::archive::{write_archive, Entries};
    use podmem_schema::cgroup_files;
    use podmem_schema::snapshot::MANIFEST_ENTRY;
    let out = tempfile::tempdir().unwrap();
    let (path, m) = containerd_archive(out.path());
    let deep = "kubepods.slice/kubepods-burstable.slice/".repeat(4);
    let deep = deep.trim_end_matches('/');
    let written: Vec<(String, Vec<u8>)> = vec![
        (
            cgroup_files::entry_name(deep),
            cgroup_files::encode([
                ("memory.stat", &b"anon 4096\nfile 0\n"[..]),
                ("memory.current", &b"4096\n"[..]),
            ]),
        ),
        ("proc/meminfo".into(), b"MemTotal: 1024 kB\n".to_vec()),
        ("kernel/kmsg".into(), (0..=255u8).collect()),
        ("logs/pods.txt".into(), Vec::new()),
    ];
    assert!(written[0].0.len() > 100, "a name beyond ustar's 100 bytes");
    let mut e = Entries::new(1 << 20);
    for (name, data) in &written {
        assert!(e.push(name.clone(), data.clone()));
    }
    let out2 = tempfile::tempdir().unwrap();
    let p = write_archive(out2.path(), &m.node, &m, &e).unwrap();
    for archive in [&path, &p] {
        assert_eq!(
            entries_by_schema_reader(archive),
            raw_entries(archive),
            "{}",
            archive.display()
        );
    }
    let got = entries_by_schema_reader(&p);
    assert_eq!(got[0].0, MANIFEST_ENTRY);
    assert_eq!(got[1..], written[..]);
}

#[test]
fn keep_applies_to_one_shot_runs() {
    let out = tempfile::tempdir().unwrap();
    for _ in 0..4 {
        snapshot(
            "v2-systemd-containerd",
            out.path(),
            &["--no-kubelet", "--kernel-log", "none", "--keep", "2"],
        );
    }
    assert_eq!(archives(out.path()).len(), 2);
}

#[test]
fn bundle_packs_snapshots_of_two_nodes() {
    let out = tempfile::tempdir().unwrap();
    for node in ["node-a", "node-b", "node-a"] {
        snapshot(
            "v2-systemd-containerd",
            out.path(),
            &["--no-kubelet", "--kernel-log", "none", "--node-name", node],
        );
    }
    let b = out.path().join("send/bundle.tar");
    let o = Command::new(bin())
        .args(["bundle"])
        .arg(out.path())
        .arg("-o")
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut ar = tar::Archive::new(std::fs::File::open(&b).unwrap());
    let mut names = Vec::new();
    let mut bm = None;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let n = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if n == "bundle.json" {
            assert!(names.is_empty(), "bundle.json first");
            bm = Some(
                serde_json::from_slice::<podmem_schema::snapshot::BundleManifest>(&data).unwrap(),
            );
        } else {
            // Each member is a complete snapshot, byte for byte.
            let orig = out.path().join(n.strip_prefix("snapshots/").unwrap());
            assert_eq!(std::fs::read(orig).unwrap(), data);
        }
        names.push(n);
    }
    let bm = bm.unwrap();
    assert_eq!(
        (bm.format.as_str(), bm.format_version, bm.count),
        ("podmem-bundle", 1, 3)
    );
    assert_eq!(bm.nodes, ["node-a", "node-b"]);
    assert!(bm.first <= bm.last);
    assert_eq!(names.len(), 4);
    assert!(names.iter().all(|n| !n.ends_with(".tmp")));
    assert!(!common::names(out.path().join("send").as_path())
        .iter()
        .any(|n| n.ends_with(".tmp")));

    // A window that excludes everything is an error, not an empty bundle.
    let o = Command::new(bin())
        .args(["bundle"])
        .arg(out.path())
        .arg("-o")
        .arg(&b)
        .args(["--until", "2000-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// A regular-file tree shaped like a 110-pod cgroupfs node (about 390 cgroups).
fn big_tree(root: &Path) {
    let mi = "27 1 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    std::fs::create_dir_all(root.join("proc/self")).unwrap();
    std::fs::write(root.join("proc/self/mountinfo"), mi).unwrap();
    let stat = "cache 0\nrss 0\nshmem 0\ntotal_cache 0\ntotal_rss 0\ntotal_shmem 0\n".repeat(6);
    let mk = |rel: &str| {
        let d = root.join("sys/fs/cgroup/memory").join(rel);
        std::fs::create_dir_all(&d).unwrap();
        for f in [
            "memory.stat",
            "memory.usage_in_bytes",
            "memory.limit_in_bytes",
            "cgroup.procs",
        ] {
            std::fs::write(d.join(f), &stat).unwrap();
        }
    };
    mk("");
    mk("kubepods");
    for i in 0..110u32 {
        let qos = ["burstable/", "besteffort/", ""][i as usize % 3];
        let pod = format!("kubepods/{qos}pod{:08x}-0000-4000-8000-{:012x}", i, i);
        mk(&pod);
        for c in 0..(2 + i % 2) {
            mk(&format!("{pod}/{:064x}", (i as u128) << 8 | c as u128));
        }
    }
}

#[test]
fn kill_9_never_leaves_a_broken_archive() {
    let h = tempfile::tempdir().unwrap();
    big_tree(h.path());
    let out = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(bin())
            .args([
                "snapshot",
                "--no-nice",
                "--no-kubelet",
                "--kernel-log",
                "none",
                "--node-name",
                "k",
                "-o",
            ])
            .arg(out.path())
            .arg("--host-root")
            .arg(h.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Kill at spread-out moments across the run (a full run takes a few tens of ms).
    for i in 0..40u64 {
        let mut c = run();
        std::thread::sleep(std::time::Duration::from_micros(i * 1500));
        let _ = c.kill();
        let _ = c.wait();
    }
    for a in archives(out.path()) {
        let es = entries(&a);
        let m = manifest(&es);
        assert_eq!(m.pods.len(), 110, "{}", a.display());
    }
    // A later run clears the temporary files the killed runs left.
    let status = run().wait().unwrap();
    assert!(status.code() == Some(0), "{status:?}");
    let left: Vec<String> = names(out.path())
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "stale temporary files: {left:?}");
    let full = archives(out.path());
    let m = manifest(&entries(full.last().unwrap()));
    // root, kubepods, 110 pods, 275 containers (the QoS dirs hold no files here).
    assert_eq!(m.cgroup.cgroups, 2 + 110 + 110 * 2 + 55);
    eprintln!(
        "110-pod file tree: {} cgroups in {} ms",
        m.cgroup.cgroups, m.duration_ms
    );
}

#[test]
fn closed_stdout_is_not_an_error() {
    let out = tempfile::tempdir().unwrap();
    let mut c = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "-o",
        ])
        .arg(out.path())
        .arg("--host-root")
        .arg(host("v2-systemd-containerd"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(c.stdout.take());
    let o = c.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(archives(out.path()).len(), 1);
}

#[test]
fn exhausted_budget_writes_what_it_has_marked_partial_exit_1() {
    let out = tempfile::tempdir().unwrap();
    let (o, path) = snapshot(
        "v1-cgroupfs-docker",
        out.path(),
        &["--no-kubelet", "--kernel-log", "none", "--budget", "0s"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = manifest(&entries(&path));
    let cg = m.sources.iter().find(|s| s.name == "cgroups").unwrap();
    assert_eq!(cg.status, Status::Partial);
    assert!(
        cg.message
            .as_deref()
            .unwrap()
            .contains("time budget exhausted"),
        "{cg:?}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("cgroups partial"));
    // The cheap host files are still there.
    assert_eq!(
        m.sources
            .iter()
            .find(|s| s.name == "meminfo")
            .unwrap()
            .status,
        Status::Ok
    );
}

#[test]
fn file_cap_cuts_and_marks_partial() {
    let out = tempfile::tempdir().unwrap();
    let (o, path) = snapshot(
        "v1-cgroupfs-docker",
        out.path(),
        &[
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--max-file-size",
            "100",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(
        m.sources
            .iter()
            .find(|s| s.name == "cgroups")
            .unwrap()
            .status,
        Status::Partial
    );
    assert!(es
        .iter()
        .filter(|e| e.0.starts_with("cgroup/"))
        .all(|e| e.1.len() <= 100));
}

#[test]
fn total_cap_counts_only_the_cgroups_in_the_archive() {
    let out = tempfile::tempdir().unwrap();
    let (o, path) = snapshot(
        "v1-cgroupfs-docker",
        out.path(),
        &[
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--max-snapshot-size",
            "8000",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = manifest(&entries(&path));
    let cgroups = m.sources.iter().find(|s| s.name == "cgroups").unwrap();
    assert_eq!(cgroups.status, Status::Partial);
    assert!(cgroups
        .message
        .as_deref()
        .unwrap_or("")
        .contains("total size cap"));
    let in_archive = raw_entries(&path)
        .iter()
        .filter(|e| e.0.ends_with("files.podmem"))
        .count() as u64;
    assert!(in_archive > 0);
    assert_eq!(m.cgroup.cgroups, in_archive);
}

#[test]
fn cgroup_root_at_kubepods_captures_the_whole_subtree() {
    let out = tempfile::tempdir().unwrap();
    let h = host("v2-systemd-containerd");
    let kp = h.join("sys/fs/cgroup/kubepods.slice");
    let (o, path) = snapshot(
        "v2-systemd-containerd",
        out.path(),
        &[
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--cgroup-root",
            kp.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(m.cgroup.root_in_hierarchy, "/kubepods.slice");
    // kubepods.slice, 2 QoS slices, 4 pods, 6 containers
    assert_eq!(m.cgroup.cgroups, 13);
    assert_eq!(m.pods.len(), 4);
    let b = m.pods.iter().find(|p| p.uid == UID_B).unwrap();
    assert_eq!(
        b.cgroup_path,
        "kubepods-burstable.slice/kubepods-burstable-pod8a2b3c4d_5e6f_4a1b_9c2d_3e4f5a6b7c02.slice"
    );
    for c in &b.containers {
        assert!(
            entry(&es, &format!("cgroup/{}/memory.stat", c.cgroup_path)).is_some(),
            "{}",
            c.cgroup_path
        );
        assert_eq!(c.runtime.as_deref(), Some("containerd"));
    }
}

#[test]
fn sandbox_dev_shm_is_attributed_to_its_pod() {
    let out = tempfile::tempdir().unwrap();
    let (o, path) = snapshot(
        "v2-systemd-containerd",
        out.path(),
        &["--no-kubelet", "--kernel-log", "none"],
    );
    assert_eq!(o.status.code(), Some(0));
    let es = entries(&path);
    let tmpfs: Vec<TmpfsUsage> = serde_json::from_slice(entry(&es, "tmpfs.json").unwrap()).unwrap();
    let shm = tmpfs
        .iter()
        .find(|t| t.plugin == "shm")
        .expect("sandbox /dev/shm listed");
    assert_eq!(
        (shm.pod_uid.as_str(), shm.volume.as_str(), shm.size_option),
        (UID_G, "dev-shm", Some(64 << 20))
    );
    assert!(shm.mount_point.ends_with("/shm"));
}

#[test]
fn cgroup_root_missing_is_a_usage_error_and_not_cgroupfs_is_warned() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("snaps");
    let missing = out.path().join("no-such-cgroup-root");
    let (o, _) = snapshot(
        "v1-cgroupfs-docker",
        &target,
        &["--no-kubelet", "--cgroup-root", missing.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--cgroup-root") && err.contains("no such directory"),
        "{err}"
    );
    assert!(!target.exists(), "nothing is written on a usage error");
    // A fixture tree is plain directories (statfs says ext4/tmpfs/overlay, not cgroup).
    let h = host("v1-cgroupfs-docker");
    let (o, _) = snapshot(
        "v1-cgroupfs-docker",
        &target,
        &[
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--cgroup-root",
            h.join("sys/fs/cgroup/memory").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is not on a cgroup filesystem"), "{err}");
}

#[test]
fn tmpfs_statfs_failures_name_the_first_paths() {
    // A copy of a fixture host whose emptyDir mount point is gone: the mountinfo still
    // lists it, statfs fails, and stderr names it.
    let t = tempfile::tempdir().unwrap();
    let copy = t.path().join("host");
    let cp = Command::new("cp")
        .args(["-a"])
        .arg(host("v1-cgroupfs-docker"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    let mp = copy.join(format!(
        "var/lib/kubelet/pods/{UID_B}/volumes/kubernetes.io~empty-dir/cache"
    ));
    if mp.exists() {
        std::fs::remove_dir_all(&mp).unwrap();
    }
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "-o",
        ])
        .arg(t.path().join("out"))
        .arg("--host-root")
        .arg(&copy)
        .env_remove("NODE_NAME")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("tmpfs partial")
            && err.contains("1 statfs failures:")
            && err.contains("empty-dir/cache"),
        "{err}"
    );
}

#[test]
fn missing_kubelet_summary_is_said_with_the_fix() {
    // Nothing listens on this machine's kubelet ports and no token is mounted.
    let out = tempfile::tempdir().unwrap();
    let (o, _) = snapshot("v1-cgroupfs-docker", out.path(), &["--kernel-log", "none"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("kubelet-summary")
            && err.contains("--kubelet-summary-file")
            && err.contains("--no-kubelet"),
        "{err}"
    );
    // --no-kubelet says nothing about it.
    let (o, _) = snapshot(
        "v1-cgroupfs-docker",
        out.path(),
        &["--kernel-log", "none", "--no-kubelet"],
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("kubelet-summary"));
}
