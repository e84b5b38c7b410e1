//! The collector on the real kernel: a node-shaped cgroup v1 memory tree built inside
//! this test's own memory cgroup, a real tmpfs emptyDir written by a process charged to
//! a container cgroup, and the real binary run on it. The archive is checked against
//! what the kernel shows; and `/dev/kmsg` read twice, the second read continuing the
//! first. Needs root and a writable cgroup v1 memory hierarchy; without them these tests
//! are reported as ignored (see `docs/testing.md`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use jiff::Timestamp;
use podmem_collector::budget::Budget;
use podmem_collector::hostpaths::HostPaths;
use podmem_collector::kernel_log::{collect, KernelLogMode, KernelLogRequest, Previous};
use podmem_schema::parse::memory_stat::parse_memory_stat;
use podmem_schema::snapshot::{Qos, TmpfsUsage};
use podmem_testkit::kernel::Guard;

fn uid(i: u32) -> String {
    format!("{:08x}-7e57-4c0d-9e00-{:012x}", 0x0d0d_0000 + i, i)
}

fn cid(pod: u32, c: u32) -> String {
    format!("{:032x}{:032x}", 0xc0ffee_u128 + pod as u128, c as u128)
}

fn run_collector(root: &Path, out: &Path) -> PathBuf {
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--node-name",
            "real-node",
            "-o",
        ])
        .arg(out)
        .arg("--cgroup-root")
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(String::from_utf8(o.stdout).unwrap().trim())
}

fn stat_of(es: &[(String, Vec<u8>)], rel: &str) -> podmem_schema::parse::memory_stat::MemoryStat {
    let data = entry(es, &format!("cgroup/{rel}/memory.stat"))
        .unwrap_or_else(|| panic!("no memory.stat for {rel}"));
    assert!(!data.is_empty(), "{rel}: empty memory.stat");
    parse_memory_stat(std::str::from_utf8(data).unwrap())
}

fn near(got: u64, want: u64, slack: u64) -> bool {
    got.abs_diff(want) <= slack
}

fn real_kernel_snapshot_matches_the_kernel() {
    let podmem_testkit::kernel::OwnCgroup {
        dir: own,
        rel: own_rel,
    } = podmem_testkit::kernel::own();
    let tmp = tempfile::tempdir().unwrap();
    let mut g = Guard::default();
    let name = format!("podmem-collector-real-{}", std::process::id());
    let root = g.mkcg(own.join(&name));
    let kp = g.mkcg(root.join("kubepods"));
    let bu = g.mkcg(kp.join("burstable"));
    let be = g.mkcg(kp.join("besteffort"));
    // (uid index, parent, qos, containers)
    let layout: Vec<(u32, &Path, Qos, u32)> = vec![
        (1, &bu, Qos::Burstable, 2),
        (2, &bu, Qos::Burstable, 2),
        (3, &bu, Qos::Burstable, 2),
        (4, &kp, Qos::Guaranteed, 1),
        (5, &be, Qos::Besteffort, 1),
    ];
    let mut containers = Vec::new();
    for (i, parent, _, n) in &layout {
        let pod = g.mkcg(parent.join(format!("pod{}", uid(*i))));
        for c in 0..*n {
            containers.push((*i, g.mkcg(pod.join(cid(*i, c)))));
        }
    }
    // A memory-backed emptyDir of pod 1, written by its first container.
    let vol = tmp.path().join(format!(
        "var/lib/kubelet/pods/{}/volumes/kubernetes.io~empty-dir/cache",
        uid(1)
    ));
    g.mount_tmpfs(&vol, "size=64m");
    let writer_cg = containers[0].1.clone();
    let writer = g.spawn_in(
        &writer_cg,
        &format!("head -c 33554432 /dev/zero > '{}/f'", vol.display()),
    );
    let idle = g.spawn_in(&containers[2].1, "true");

    let out = tmp.path().join("out");
    let t = Instant::now();
    let path = run_collector(&root, &out);
    eprintln!(
        "real kernel, 5 pods: snapshot in {:?} (wall, debug build)",
        t.elapsed()
    );
    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(
        m.cgroup.root_in_hierarchy,
        format!("{}/{name}", own_rel.trim_end_matches('/'))
    );
    assert_eq!(m.cgroup.kubepods, ["kubepods"]);
    // root, kubepods, 2 QoS, 5 pods, 8 containers
    assert_eq!(m.cgroup.cgroups, 17);
    for d in &g.cgroups {
        let rel = d
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let stat = if rel.is_empty() {
            entry(&es, "cgroup/memory.stat")
        } else {
            entry(&es, &format!("cgroup/{rel}/memory.stat"))
        };
        let stat = stat.unwrap_or_else(|| panic!("{rel}: memory.stat missing"));
        assert!(
            std::str::from_utf8(stat).unwrap().contains("total_rss "),
            "{rel}: not a real v1 memory.stat"
        );
    }
    // Pods and container ids as the kernel tree has them.
    assert_eq!(m.pods.len(), 5);
    for (i, _, qos, n) in &layout {
        let p = m
            .pods
            .iter()
            .find(|p| p.uid == uid(*i))
            .unwrap_or_else(|| panic!("pod {} not found", uid(*i)));
        assert_eq!(p.qos, Some(*qos));
        let mut ids: Vec<&str> = p.containers.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        let want: Vec<String> = (0..*n).map(|c| cid(*i, c)).collect();
        assert_eq!(ids, want.iter().map(String::as_str).collect::<Vec<_>>());
    }
    // The 32 MiB written to tmpfs are shmem of the writer's container and of its pod.
    let wrel = writer_cg
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let cs = stat_of(&es, &wrel);
    assert!(
        near(cs.get("shmem").unwrap(), 32 << 20, 1 << 20),
        "container shmem {:?}",
        cs.get("shmem")
    );
    let prel = format!("kubepods/burstable/pod{}", uid(1));
    let ps = stat_of(&es, &prel);
    assert!(
        near(ps.get("total_shmem").unwrap(), 32 << 20, 1 << 20),
        "pod total_shmem {:?}",
        ps.get("total_shmem")
    );
    let procs = String::from_utf8(
        entry(&es, &format!("cgroup/{wrel}/cgroup.procs"))
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        procs.lines().any(|l| l == writer.to_string()),
        "writer pid in cgroup.procs: {procs}"
    );
    let idle_rel = containers[2]
        .1
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let procs = String::from_utf8(
        entry(&es, &format!("cgroup/{idle_rel}/cgroup.procs"))
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(procs.lines().any(|l| l == idle.to_string()));
    // statfs of the emptyDir agrees.
    let tmpfs: Vec<TmpfsUsage> = serde_json::from_slice(entry(&es, "tmpfs.json").unwrap()).unwrap();
    let t = tmpfs
        .iter()
        .find(|t| Path::new(&t.mount_point) == vol)
        .unwrap_or_else(|| panic!("{} not in tmpfs.json: {tmpfs:?}", vol.display()));
    assert_eq!(
        (t.pod_uid.as_str(), t.volume.as_str(), t.plugin.as_str()),
        (uid(1).as_str(), "cache", "empty-dir")
    );
    assert_eq!(t.size_option, Some(64 << 20));
    assert!(
        near(t.used_bytes.unwrap(), 32 << 20, 1 << 20),
        "tmpfs used {:?}",
        t.used_bytes
    );

    // The case podmem exists for: the writer dies, its cgroup is removed, the tmpfs
    // pages stay charged to the pod (held by a dying memcg no directory shows).
    g.children.retain_mut(|c| {
        if c.id() == writer {
            let _ = c.kill();
            let _ = c.wait();
            false
        } else {
            true
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    std::fs::remove_dir(&writer_cg).unwrap();
    g.cgroups.retain(|d| d != &writer_cg);
    let path2 = run_collector(&root, &out);
    let es2 = entries(&path2);
    let m2 = manifest(&es2);
    let pod = m2.pods.iter().find(|p| p.uid == uid(1)).unwrap();
    assert_eq!(pod.containers.len(), 1, "removed container is gone");
    let ps2 = stat_of(&es2, &prel);
    assert!(
        near(ps2.get("total_shmem").unwrap(), 32 << 20, 1 << 20),
        "pod keeps the charge: {:?}",
        ps2.get("total_shmem")
    );
    let live: u64 = pod
        .containers
        .iter()
        .map(|c| {
            stat_of(&es2, &c.cgroup_path)
                .get("total_shmem")
                .unwrap_or(0)
        })
        .sum();
    assert!(live < 1 << 20, "no live container holds it: {live}");
}

fn real_kernel_110_pods() {
    let own = &podmem_testkit::kernel::own().dir;
    let tmp = tempfile::tempdir().unwrap();
    let mut g = Guard::default();
    let root = g.mkcg(own.join(format!("podmem-collector-110-{}", std::process::id())));
    let kp = g.mkcg(root.join("kubepods"));
    let bu = g.mkcg(kp.join("burstable"));
    let be = g.mkcg(kp.join("besteffort"));
    let mut n = 4;
    for i in 0..110u32 {
        let parent = [&bu, &be, &kp][i as usize % 3];
        let pod = g.mkcg(parent.join(format!("pod{}", uid(100 + i))));
        n += 1;
        for c in 0..(2 + (i % 2 == 0) as u32) {
            g.mkcg(pod.join(cid(100 + i, c)));
            n += 1;
        }
    }
    let out = tmp.path().join("out");
    let t = Instant::now();
    let path = run_collector(&root, &out);
    let wall = t.elapsed();
    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(m.cgroup.cgroups, n);
    assert_eq!(m.pods.len(), 110);
    let stats = es
        .iter()
        .filter(|e| e.0.ends_with("/memory.stat") || e.0 == "cgroup/memory.stat")
        .count() as u64;
    assert_eq!(stats, n, "every cgroup's memory.stat");
    assert!(es
        .iter()
        .filter(|e| e.0.ends_with("memory.stat"))
        .all(|e| !e.1.is_empty()));
    eprintln!(
        "real kernel, 110 pods, {n} cgroups: manifest duration {} ms, wall {:?} (this build; see docs/collector.md for release numbers)",
        m.duration_ms, wall
    );

    // kill -9 at spread-out moments of a real-kernel run: never a broken archive.
    let kout = tmp.path().join("killed");
    for i in 0..30u64 {
        let mut c = Command::new(bin())
            .args([
                "snapshot",
                "--no-kubelet",
                "--kernel-log",
                "none",
                "--node-name",
                "k",
                "-o",
            ])
            .arg(&kout)
            .arg("--cgroup-root")
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(i * 2000));
        let _ = c.kill();
        let _ = c.wait();
    }
    for a in archives(&kout) {
        assert_eq!(manifest(&entries(&a)).pods.len(), 110, "{}", a.display());
    }
}

/// Discovery on this machine's own mounts: the collector finds the same memory
/// hierarchy a plain reading of /proc/self/mountinfo shows (read-only).
fn real_host_cgroup_discovery() {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut v1 = None;
    let mut v2 = None;
    for line in mi.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = pre.split(' ').collect();
        let g: Vec<&str> = post.split(' ').collect();
        if g[0] == "cgroup"
            && g.get(2)
                .is_some_and(|o| o.split(',').any(|x| x == "memory"))
            && v1.is_none()
        {
            v1 = Some((f[4].to_string(), f[3].to_string()));
        }
        if g[0] == "cgroup2" && v2.is_none() {
            v2 = Some((f[4].to_string(), f[3].to_string()));
        }
    }
    let (mode, (mp, root)) = match (&v1, &v2) {
        (Some(m), Some(_)) => ("hybrid", m.clone()),
        (Some(m), None) => ("v1", m.clone()),
        (None, Some(m)) => ("v2", m.clone()),
        (None, None) => panic!("this machine has no cgroup v1 memory nor cgroup2 mount"),
    };
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--node-name",
            "host",
            "-o",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let path = PathBuf::from(String::from_utf8(o.stdout).unwrap().trim());
    let es = entries(&path);
    let m = manifest(&es);
    assert_eq!(serde_json::to_value(m.cgroup.mode).unwrap(), mode);
    assert_eq!(m.cgroup.root, mp);
    assert_eq!(m.cgroup.root_in_hierarchy, root);
    assert!(entry(&es, "cgroup/memory.stat").is_some_and(|s| !s.is_empty()));
    assert_eq!(
        entry(&es, "proc/mountinfo").map(|b| !b.is_empty()),
        Some(true)
    );
}

/// Reads the real /dev/kmsg of this machine twice: the second read, continuing from the
/// first, sees only records written in between.
fn real_kmsg_continuation() {
    let paths = HostPaths::new(Path::new("/"));
    let mode = KernelLogMode::Kmsg;
    let req = |previous| KernelLogRequest {
        mode: &mode,
        since: None,
        previous,
        boot_id: Some("b1"),
        boot_time: None,
        now: Timestamp::now(),
    };
    let b = Budget::new(Duration::from_secs(5), None);
    let c = collect(&req(None), &paths, &b);
    assert_eq!(c.problem, None, "reading /dev/kmsg");
    let info = c.info.unwrap();
    let next: u64 = info.next.clone().unwrap().parse().unwrap();
    assert!(info.records_read > 0 || next > 0);
    let prev = Previous {
        info,
        origin: Some(c.origin),
        captured_at: Timestamp::now(),
    };
    let c2 = collect(&req(Some(&prev)), &paths, &b);
    let i2 = c2.info.unwrap();
    let next2: u64 = i2.next.unwrap().parse().unwrap();
    assert!(next2 >= next);
    assert_eq!(
        i2.records_read,
        next2 - next,
        "continuation reads exactly the new records"
    );
}

podmem_testkit::main! {
    [] => [real_host_cgroup_discovery],
    [Need::Kernel] => [
        real_kernel_snapshot_matches_the_kernel,
        real_kernel_110_pods,
        real_kmsg_continuation,
    ],
}
