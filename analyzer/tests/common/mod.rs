//! Hand-built snapshot archives for the analyzer's tests: a small spec of cgroups,
//! tmpfs volumes and kernel-log text written as a real `podmem-snapshot` `.tar.gz`
//! (tar + gzip in memory, then one file), plus the DESIGN §1 story and a healthy node.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use podmem_schema::snapshot::TmpfsUsage;

pub const MIB: u64 = 1 << 20;

/// One cgroup directory's figures.
#[derive(Clone, Debug)]
pub struct Cg {
    pub rel: String,
    pub usage: u64,
    pub limit: Option<u64>,
    pub shmem: u64,
    pub rss: u64,
    pub inactive_file: u64,
    pub dying: Option<u64>,
    /// v1 `shmem` of the cgroup itself, children excluded (written as 0 by default).
    pub own_shmem: u64,
}

impl Cg {
    pub fn new(rel: &str, usage: u64, shmem: u64, rss: u64) -> Cg {
        Cg {
            rel: rel.to_string(),
            usage,
            limit: None,
            shmem,
            rss,
            inactive_file: 0,
            dying: None,
            own_shmem: 0,
        }
    }
    pub fn limit(mut self, l: u64) -> Cg {
        self.limit = Some(l);
        self
    }
}

/// A snapshot to write.
#[derive(Clone, Debug)]
pub struct Snap {
    pub node: String,
    pub boot: String,
    pub at: String,
    pub v2: bool,
    /// Snapshot format version: 2 (the collector's) packs each cgroup directory's files
    /// into one `files.podmem` entry; 1 writes one entry per file.
    pub format: u32,
    pub cgroups: Vec<Cg>,
    pub tmpfs: Vec<TmpfsUsage>,
    /// (entry, text) kernel-log entries.
    pub kernel: Vec<(String, String)>,
    /// Extra raw entries (name, bytes).
    pub extra: Vec<(String, Vec<u8>)>,
    /// Replaces the manifest JSON entirely when set.
    pub manifest_override: Option<String>,
    /// Pods the manifest lists (uid, cgroup path).
    pub manifest_pods: Vec<(String, String)>,
    /// Kernel release in the manifest (a test default per cgroup mode when None).
    pub kernel_release: Option<String>,
}

impl Snap {
    pub fn new(node: &str, boot: &str, at: &str, v2: bool) -> Snap {
        Snap {
            node: node.into(),
            boot: boot.into(),
            at: at.into(),
            v2,
            format: podmem_schema::snapshot::FORMAT_VERSION,
            cgroups: Vec::new(),
            tmpfs: Vec::new(),
            kernel: Vec::new(),
            extra: Vec::new(),
            manifest_override: None,
            manifest_pods: Vec::new(),
            kernel_release: None,
        }
    }

    pub fn manifest_json(&self) -> String {
        if let Some(m) = &self.manifest_override {
            return m.clone();
        }
        let pods: Vec<serde_json::Value> = self
            .manifest_pods
            .iter()
            .map(|(uid, path)| serde_json::json!({"uid": uid, "qos": "burstable", "cgroup_path": path, "containers": []}))
            .collect();
        serde_json::json!({
            "format": "podmem-snapshot",
            "format_version": self.format,
            "collector_version": "0.1.0-test",
            "node": self.node,
            "hostname": self.node,
            "boot_id": self.boot,
            "boot_time": "2026-11-28T00:00:00Z",
            "kernel_release": self.kernel_release.as_deref().unwrap_or(if self.v2 { "6.1.0-test" } else { "5.4.0-test" }),
            "captured_at": self.at,
            "duration_ms": 12,
            "cgroup": {
                "mode": if self.v2 { "v2" } else { "v1" },
                "root": if self.v2 { "/sys/fs/cgroup" } else { "/sys/fs/cgroup/memory" },
                "root_in_hierarchy": "/",
                "cgroups": self.cgroups.len(),
                "kubepods": ["kubepods"],
            },
            "sources": [],
            "pods": pods,
            "kernel_log": null,
        })
        .to_string()
    }

    /// The archive's entries in its format, manifest first.
    pub fn entries(&self) -> Vec<(String, Vec<u8>)> {
        if self.format < 2 {
            return self.files();
        }
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        for (name, data) in self.files() {
            let Some(rel) = name.strip_prefix("cgroup/") else {
                out.push((name, data));
                continue;
            };
            let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
            let pack = podmem_schema::cgroup_files::entry_name(dir);
            if out.last().map(|e| &e.0) != Some(&pack) {
                out.push((pack, Vec::new()));
            }
            let last = out.last_mut().expect("just pushed");
            podmem_schema::cgroup_files::push(&mut last.1, file, &data);
        }
        out
    }

    /// The archive's files as format 1 names them (`cgroup/<rel>/<file>`), manifest
    /// first.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![(
            "manifest.json".to_string(),
            self.manifest_json().into_bytes(),
        )];
        for c in &self.cgroups {
            let dir = if c.rel.is_empty() {
                "cgroup".to_string()
            } else {
                format!("cgroup/{}", c.rel)
            };
            let cache = c.shmem + c.inactive_file;
            if self.v2 {
                out.push((
                    format!("{dir}/memory.stat"),
                    format!(
                        "anon {}\nfile {}\nshmem {}\ninactive_file {}\nactive_file 0\ninactive_anon {}\nactive_anon 0\n",
                        c.rss, cache, c.shmem, c.inactive_file, c.rss + c.shmem
                    )
                    .into_bytes(),
                ));
                out.push((
                    format!("{dir}/memory.current"),
                    format!("{}\n", c.usage).into_bytes(),
                ));
                out.push((
                    format!("{dir}/memory.max"),
                    c.limit
                        .map(|l| format!("{l}\n"))
                        .unwrap_or_else(|| "max\n".into())
                        .into_bytes(),
                ));
                if let Some(d) = c.dying {
                    out.push((
                        format!("{dir}/cgroup.stat"),
                        format!("nr_descendants 2\nnr_dying_descendants {d}\n").into_bytes(),
                    ));
                }
            } else {
                out.push((
                    format!("{dir}/memory.stat"),
                    format!(
                        "cache 0\nrss 0\nshmem {}\ntotal_cache {}\ntotal_rss {}\ntotal_shmem {}\ntotal_inactive_file {}\ntotal_active_file 0\ntotal_inactive_anon {}\ntotal_active_anon 0\nhierarchical_memory_limit {}\n",
                        c.own_shmem,
                        cache,
                        c.rss,
                        c.shmem,
                        c.inactive_file,
                        c.rss + c.shmem,
                        c.limit.unwrap_or(9_223_372_036_854_771_712)
                    )
                    .into_bytes(),
                ));
                out.push((
                    format!("{dir}/memory.usage_in_bytes"),
                    format!("{}\n", c.usage).into_bytes(),
                ));
                out.push((
                    format!("{dir}/memory.limit_in_bytes"),
                    format!("{}\n", c.limit.unwrap_or(9_223_372_036_854_771_712)).into_bytes(),
                ));
            }
        }
        out.push((
            "proc/meminfo".to_string(),
            b"MemTotal:        8000000 kB\nMemAvailable:    4000000 kB\nShmem:            70000 kB\n".to_vec(),
        ));
        out.push((
            "proc/cgroups".to_string(),
            format!(
                "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t4\t{}\t1\n",
                self.cgroups.len()
            )
            .into_bytes(),
        ));
        out.push((
            "tmpfs.json".to_string(),
            serde_json::to_vec(&self.tmpfs).unwrap(),
        ));
        for (e, t) in &self.kernel {
            out.push((e.clone(), t.clone().into_bytes()));
        }
        out.extend(self.extra.iter().cloned());
        out
    }

    /// Writes the archive to `dir` and returns its path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let name = format!(
            "podmem-{}-{}.tar.gz",
            self.node,
            self.at.replace([':', '-'], "")
        );
        let path = dir.join(name);
        std::fs::write(&path, gzip(&tar_of(&self.entries()))).unwrap();
        path
    }
}

/// Writes `snaps` into a temporary directory and analyzes it; also returns the
/// directory's path as shown in the report (gone by then), for tests to replace it.
pub fn analyze_snaps(snaps: &[Snap]) -> (podmem_schema::report::Report, String) {
    let dir = tempfile::tempdir().unwrap();
    for s in snaps {
        s.write(dir.path());
    }
    let r = podmem_analyzer::analyze(
        &[dir.path().to_path_buf()],
        &podmem_analyzer::load::Limits::default(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    (r, dir.path().display().to_string())
}

/// A plain tar of regular-file entries.
pub fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub const POD_UID: &str = "5f1c2d3e-1111-4222-8333-944445555666";
pub const A_ID: &str = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
pub const B_ID: &str = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";
pub const C_ID: &str = "cccccccccccc3333333333333333333333333333333333333333333333333333";
pub const PAUSE_ID: &str = "9999999999999999999999999999999999999999999999999999999999999999";

pub fn pod_rel(v2: bool) -> String {
    if v2 {
        format!(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
            POD_UID.replace('-', "_")
        )
    } else {
        format!("kubepods/burstable/pod{POD_UID}")
    }
}

pub fn ctr_rel(v2: bool, id: &str) -> String {
    if v2 {
        format!("{}/cri-containerd-{id}.scope", pod_rel(v2))
    } else {
        format!("{}/{id}", pod_rel(v2))
    }
}

fn kubepods_rel(v2: bool) -> &'static str {
    if v2 {
        "kubepods.slice"
    } else {
        "kubepods"
    }
}

fn volume(v2: bool, used: u64) -> TmpfsUsage {
    let _ = v2;
    TmpfsUsage {
        pod_uid: POD_UID.to_string(),
        volume: "cache".to_string(),
        plugin: "empty-dir".to_string(),
        mount_point: format!(
            "/var/lib/kubelet/pods/{POD_UID}/volumes/kubernetes.io~empty-dir/cache"
        ),
        size_option: Some(100 * MIB),
        total_bytes: Some(100 * MIB),
        used_bytes: Some(used),
        error: None,
    }
}

/// The pod-level OOM of container B as kernel log text: journal lines (v1) or kmsg
/// records (v2, boot time 2026-11-28T00:00:00Z; 04:01:30 = 14490 s after boot).
pub fn oom_log(v2: bool) -> (String, String) {
    let pod = format!("/{}", pod_rel(v2));
    let task = format!("/{}", ctr_rel(v2, B_ID));
    let lines = [
        "java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=985".to_string(),
        "memory: usage 102400kB, limit 102400kB, failcnt 12".to_string(),
        format!("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={pod},task_memcg={task},task=java,pid=4242,uid=0"),
        "Memory cgroup out of memory: Killed process 4242 (java) total-vm:1000000kB, anon-rss:37888kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:985".to_string(),
    ];
    if v2 {
        let text = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "6,{},{},-;{l}\n",
                    1000 + i,
                    14_490_000_000u64 + i as u64 * 100
                )
            })
            .collect();
        ("kernel/kmsg".to_string(), text)
    } else {
        let text = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "2026-11-28T04:01:30.{:06}+00:00 node-a kernel: {l}\n",
                    100 + i
                )
            })
            .collect();
        ("kernel/journal.log".to_string(), text)
    }
}

/// DESIGN §1: container A writes 64 MiB into a memory emptyDir and is removed; B
/// starts, and a pod-level OOM kills B while the pod still holds A's 64 MiB; C follows.
pub fn story(v2: bool) -> Vec<Snap> {
    let node = "node-a";
    let lim = 100 * MIB;
    let pod = pod_rel(v2);
    let base = |at: &str| {
        let mut s = Snap::new(node, "boot-1", at, v2);
        s.cgroups
            .push(Cg::new(kubepods_rel(v2), 500 * MIB, 64 * MIB, 300 * MIB).limit(7000 * MIB));
        s.manifest_pods.push((POD_UID.to_string(), pod.clone()));
        s
    };
    let mut t0 = base("2026-11-28T04:00:00Z");
    t0.cgroups
        .push(Cg::new(&pod, 85 * MIB, 64 * MIB, 21 * MIB).limit(lim));
    t0.cgroups
        .push(Cg::new(&ctr_rel(v2, PAUSE_ID), MIB, 0, MIB));
    t0.cgroups
        .push(Cg::new(&ctr_rel(v2, A_ID), 84 * MIB, 64 * MIB, 20 * MIB));
    t0.tmpfs.push(volume(v2, 64 * MIB));

    let mut t1 = base("2026-11-28T04:01:00Z");
    let mut p1 = Cg::new(&pod, 75 * MIB, 64 * MIB, 11 * MIB).limit(lim);
    p1.dying = Some(1);
    t1.cgroups.push(p1);
    t1.cgroups
        .push(Cg::new(&ctr_rel(v2, PAUSE_ID), MIB, 0, MIB));
    t1.cgroups
        .push(Cg::new(&ctr_rel(v2, B_ID), 10 * MIB, 0, 10 * MIB));
    t1.tmpfs.push(volume(v2, 64 * MIB));

    let mut t2 = base("2026-11-28T04:02:00Z");
    let mut p2 = Cg::new(&pod, 70 * MIB, 64 * MIB, 6 * MIB).limit(lim);
    p2.dying = Some(2);
    t2.cgroups.push(p2);
    t2.cgroups
        .push(Cg::new(&ctr_rel(v2, PAUSE_ID), MIB, 0, MIB));
    t2.cgroups
        .push(Cg::new(&ctr_rel(v2, C_ID), 5 * MIB, 0, 5 * MIB));
    t2.tmpfs.push(volume(v2, 64 * MIB));
    t2.kernel.push(oom_log(v2));
    vec![t0, t1, t2]
}

/// A healthy node: one pod well under its limit, no tmpfs, no OOM.
pub fn healthy(node: &str, n: usize) -> Vec<Snap> {
    let uid = "0a0b0c0d-0000-4000-8000-000000000001";
    let pod = format!("kubepods/burstable/pod{uid}");
    (0..n)
        .map(|i| {
            let mut s = Snap::new(node, "boot-h", &format!("2026-11-28T05:{i:02}:00Z"), false);
            s.cgroups
                .push(Cg::new("kubepods", 300 * MIB, 0, 200 * MIB).limit(7000 * MIB));
            s.cgroups
                .push(Cg::new(&pod, 50 * MIB + i as u64, 0, 50 * MIB).limit(200 * MIB));
            s.cgroups
                .push(Cg::new(&format!("{pod}/{PAUSE_ID}"), MIB, 0, MIB));
            s.cgroups.push(Cg::new(
                &format!("{pod}/{A_ID}"),
                49 * MIB + i as u64,
                0,
                49 * MIB,
            ));
            s
        })
        .collect()
}

pub fn kill(pid: u32, at: &str, victim: &str, source: &str) -> podmem_schema::oom::OomEvent {
    podmem_schema::oom::OomEvent {
        node: Some("node-a".into()),
        time: Some(at.parse().unwrap()),
        uptime_secs: None,
        pid: Some(pid),
        comm: Some("java".into()),
        invoker: Some("java".into()),
        anon_rss: Some(37 * MIB),
        file_rss: Some(0),
        shmem_rss: Some(0),
        total_vm: None,
        oom_score_adj: Some(985),
        constraint: Some("CONSTRAINT_MEMCG".into()),
        oom_memcg: Some(format!("/{}", pod_rel(false))),
        task_memcg: Some(format!("/{}", ctr_rel(false, victim))),
        scope: podmem_schema::oom::OomScope::Pod,
        pod_uid: Some(POD_UID.into()),
        container_id: Some(victim.into()),
        memcg_usage: Some(100 * MIB),
        memcg_limit: Some(100 * MIB),
        excerpt: vec![],
        source: Some(source.into()),
    }
}

/// Parses the story's snapshots (without their kernel logs) and adds `events` to the
/// snapshot at each index.
pub fn analyze_with_events(
    events: Vec<(usize, podmem_schema::oom::OomEvent)>,
    extra_shmem_at_t2: u64,
) -> podmem_schema::report::Report {
    let mut snaps = story(false);
    for s in &mut snaps {
        s.kernel.clear();
    }
    // Optionally the orphaned charge grows again by t2 (a second container's leftovers).
    if extra_shmem_at_t2 > 0 {
        let pod = pod_rel(false);
        for c in &mut snaps[2].cgroups {
            if c.rel == pod {
                c.shmem += extra_shmem_at_t2;
                c.usage += extra_shmem_at_t2;
            }
        }
    }
    let (parsed, inputs) = parse_snaps(&snaps, &events, |i| format!("s{i}.tar.gz"));
    podmem_analyzer::complete(podmem_analyzer::prepare_snapshots(
        parsed,
        inputs,
        jiff::Timestamp::UNIX_EPOCH,
    ))
}

/// Parses `snaps` (archive `name(i)`, problems refused) into snapshots and input
/// reports, adding `events` to the snapshot at each index.
pub fn parse_snaps(
    snaps: &[Snap],
    events: &[(usize, podmem_schema::oom::OomEvent)],
    name: impl Fn(usize) -> String,
) -> (
    Vec<podmem_analyzer::model::Snapshot>,
    Vec<podmem_schema::report::InputReport>,
) {
    let mut parsed = Vec::new();
    let mut inputs = Vec::new();
    for (i, s) in snaps.iter().enumerate() {
        let bytes = gzip(&tar_of(&s.entries()));
        let name = name(i);
        let raw = podmem_analyzer::load::read_snapshot(
            bytes.as_slice(),
            &name,
            &podmem_analyzer::load::Limits::default(),
        )
        .unwrap();
        let mut problems = Vec::new();
        parsed.push(podmem_analyzer::model::parse_snapshot(raw, &mut problems));
        assert!(problems.is_empty(), "{problems:?}");
        inputs.push(podmem_schema::report::InputReport {
            path: name,
            kind: podmem_schema::report::InputKind::Snapshot,
            snapshots: 1,
            status: podmem_schema::report::InputStatus::Ok,
            problems,
        });
    }
    for (i, e) in events {
        parsed[*i].ooms.push(e.clone());
    }
    (parsed, inputs)
}

/// Where the real-world samples live (`fixtures/realworld`).
pub fn realworld() -> PathBuf {
    podmem_testkit::samples::realworld("")
}
