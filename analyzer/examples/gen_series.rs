//! Writes a synthetic series of realistic cgroup v1 snapshots for benchmarking the
//! analyzer: `cargo run --release -p podmem-analyzer --example gen_series -- DIR
//! [SNAPSHOTS] [PODS] [FORMAT] [NODE]` (defaults 1440 × 110: a day at one per minute on
//! a full node, in the collector's snapshot format 2; format 1 writes one entry per
//! cgroup file, as collectors before format 2 did; NODE, `bench-node` by default,
//! names the node, and any other name also gives its pods and containers their own ids,
//! so several runs make a fleet).
//! Every cgroup gets every file the collector captures, a kubelet summary lists every
//! pod, and one pod slowly leaks tmpfs pages into a removed container's cgroup.

use std::io::Write;
use std::path::PathBuf;

use flate2::write::GzEncoder;
use flate2::Compression;
use std::sync::atomic::{AtomicU32, Ordering};

use podmem_schema::snapshot::V1_FILES;

/// Snapshot format written (1 or 2).
static FORMAT: AtomicU32 = AtomicU32::new(podmem_schema::snapshot::FORMAT_VERSION);
/// The node's name, and a tag from it that makes pod and container ids differ between
/// nodes (0 for the default node, whose ids stay as they always were).
static NODE: std::sync::OnceLock<(String, u16)> = std::sync::OnceLock::new();
const DEFAULT_NODE: &str = "bench-node";

fn node() -> &'static str {
    &NODE.get_or_init(|| (DEFAULT_NODE.to_string(), 0)).0
}

fn node_tag() -> u16 {
    NODE.get_or_init(|| (DEFAULT_NODE.to_string(), 0)).1
}

const MIB: u64 = 1 << 20;
/// Usage of the third container of odd pods.
const SIDECAR: u64 = 20 * MIB;

/// A v1 `memory.stat` with the key set (and order) of a 6.x kernel with swap
/// accounting, as the collector captures it from a real node.
fn stat(rss: u64, shmem: u64, file: u64) -> String {
    let inactive_file = file / 2;
    let c = file + shmem;
    let ia = rss + shmem;
    let af = file - inactive_file;
    let local = format!(
        "cache {c}\nrss {rss}\nrss_huge 0\nshmem {shmem}\nmapped_file 1048576\ndirty 0\nwriteback 0\nworkingset_refault_anon 0\nworkingset_refault_file 1216\nswap 0\nswapcached 0\npgpgin 1000\npgpgout 900\npgfault 5000\npgmajfault 3\ninactive_anon {ia}\nactive_anon 0\ninactive_file {inactive_file}\nactive_file {af}\nunevictable 0\n"
    );
    let totals: String = local.lines().map(|l| format!("total_{l}\n")).collect();
    format!("{local}hierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\n{totals}")
}

fn cgroup_files(
    entries: &mut Vec<(String, Vec<u8>)>,
    rel: &str,
    usage: u64,
    limit: Option<u64>,
    st: String,
) {
    let packed = FORMAT.load(Ordering::Relaxed) >= 2;
    let mut pack = Vec::new();
    for f in V1_FILES {
        let body = match *f {
            "memory.stat" => st.clone(),
            "memory.usage_in_bytes"
            | "memory.memsw.usage_in_bytes"
            | "memory.max_usage_in_bytes" => format!("{usage}\n"),
            "memory.limit_in_bytes" | "memory.memsw.limit_in_bytes" => {
                format!("{}\n", limit.unwrap_or(9_223_372_036_854_771_712))
            }
            "memory.oom_control" => "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n".to_string(),
            "cgroup.procs" => "1234\n1235\n".to_string(),
            _ => "0\n".to_string(),
        };
        if packed {
            podmem_schema::cgroup_files::push(&mut pack, f, body.as_bytes());
            continue;
        }
        let name = if rel.is_empty() {
            format!("cgroup/{f}")
        } else {
            format!("cgroup/{rel}/{f}")
        };
        entries.push((name, body.into_bytes()));
    }
    if packed {
        entries.push((podmem_schema::cgroup_files::entry_name(rel), pack));
    }
}

fn uid(i: usize) -> String {
    format!("{:08x}-{:04x}-4000-8000-{:012x}", i, node_tag(), i)
}

fn cid(pod: usize, k: usize, gen: usize) -> String {
    format!(
        "{:04x}{:04x}{:04x}{:052x}",
        pod,
        k,
        gen,
        0xabcdefu64 | (u64::from(node_tag()) << 32)
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("usage: gen_series DIR [SNAPSHOTS] [PODS] [FORMAT] [NODE]"),
    );
    let n: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(1440);
    let pods: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(110);
    if let Some(f) = args.next() {
        let f: u32 = f.parse().expect("FORMAT is 1 or 2");
        assert!(f == 1 || f == 2, "FORMAT is 1 or 2");
        FORMAT.store(f, Ordering::Relaxed);
    }
    if let Some(name) = args.next() {
        // FNV-1a, folded to 16 bits and never 0 (the default node's tag).
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let tag = ((h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) as u16).max(1);
        let tag = if name == DEFAULT_NODE { 0 } else { tag };
        NODE.set((name, tag)).expect("set once");
    }
    std::fs::create_dir_all(&dir).unwrap();
    let t0 = jiff::Timestamp::from_second(1_795_000_000).unwrap();
    // Two writers: snapshots are independent, and a day of them takes a while.
    std::thread::scope(|sc| {
        for w in 0..2 {
            let dir = &dir;
            sc.spawn(move || {
                for s in (w..n).step_by(2) {
                    write_snapshot(dir, t0, s, pods);
                }
            });
        }
    });
}

/// Writes capture number `s` of the series.
fn write_snapshot(dir: &std::path::Path, t0: jiff::Timestamp, s: usize, pods: usize) {
    let at = t0 + jiff::SignedDuration::from_secs(60 * s as i64);
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut summary_pods = Vec::new();
    let mut tmpfs = Vec::new();
    let mut manifest_pods = Vec::new();
    cgroup_files(
        &mut entries,
        "",
        40_000 * MIB,
        None,
        stat(25_000 * MIB, 900 * MIB, 14_000 * MIB),
    );
    cgroup_files(
        &mut entries,
        "kubepods",
        30_000 * MIB,
        Some(60_000 * MIB),
        stat(20_000 * MIB, 500 * MIB, 9_000 * MIB),
    );
    cgroup_files(
        &mut entries,
        "kubepods/burstable",
        20_000 * MIB,
        None,
        stat(15_000 * MIB, 500 * MIB, 4_000 * MIB),
    );
    cgroup_files(
        &mut entries,
        "kubepods/besteffort",
        1_000 * MIB,
        None,
        stat(800 * MIB, 0, 200 * MIB),
    );
    for p in 0..pods {
        let u = uid(p);
        let rel = format!("kubepods/burstable/pod{u}");
        // Pod 0 leaks: its container restarts every 100 captures, leaving 10 MiB of
        // tmpfs behind each time.
        let gen = if p == 0 { s / 100 } else { 0 };
        let orphan = if p == 0 { gen as u64 * 10 * MIB } else { 0 };
        let rss = (200 + (p as u64 % 7) * 50) * MIB + (s as u64 % 13) * MIB;
        let file = 100 * MIB;
        // 2 or 3 containers (the sandbox first): 275 containers, 389 cgroups on 110
        // pods, like the benchmark's real tree.
        let mut containers = vec![cid(p, 0, 0), cid(p, 1, gen)];
        if p % 2 == 1 {
            containers.push(cid(p, 2, 0));
        }
        let mut kids = Vec::new();
        for (k, c) in containers.iter().enumerate() {
            let (r, f) = match k {
                0 => (MIB, 0),
                1 => (rss, file),
                _ => (SIDECAR, 0),
            };
            cgroup_files(
                &mut entries,
                &format!("{rel}/{c}"),
                r + f,
                None,
                stat(r, 0, f),
            );
            kids.push(
                serde_json::json!({"id": c, "runtime": null, "cgroup_path": format!("{rel}/{c}")}),
            );
        }
        let sidecar = if p % 2 == 1 { SIDECAR } else { 0 };
        let pod_usage = MIB + sidecar + rss + file + orphan;
        cgroup_files(
            &mut entries,
            &rel,
            pod_usage,
            Some(2048 * MIB),
            stat(MIB + sidecar + rss, orphan, file),
        );
        manifest_pods.push(serde_json::json!({"uid": u, "qos": "burstable", "cgroup_path": rel, "containers": kids}));
        summary_pods.push(serde_json::json!({
                "podRef": {"name": format!("app-{p}"), "namespace": "default", "uid": u},
                "memory": {"workingSetBytes": pod_usage - file / 2, "usageBytes": pod_usage},
                "containers": [{"name": "app", "memory": {"workingSetBytes": rss + file / 2, "usageBytes": rss + file}}],
                "volume": [{"name": "cache", "usedBytes": orphan}],
            }));
        if p == 0 {
            tmpfs.push(serde_json::json!({
                    "pod_uid": u, "volume": "cache", "plugin": "empty-dir",
                    "mount_point": format!("/var/lib/kubelet/pods/{u}/volumes/kubernetes.io~empty-dir/cache"),
                    "size_option": 2048 * MIB, "total_bytes": 2048 * MIB, "used_bytes": orphan, "error": null
                }));
        }
    }
    let manifest = serde_json::json!({
        "format": "podmem-snapshot", "format_version": FORMAT.load(Ordering::Relaxed), "collector_version": "bench",
        "node": node(), "hostname": node(), "boot_id": "boot", "boot_time": "2026-11-01T00:00:00Z",
        "kernel_release": "5.15.0", "captured_at": at.to_string(), "duration_ms": 40,
        "cgroup": {"mode": "v1", "root": "/sys/fs/cgroup/memory", "root_in_hierarchy": "/", "cgroups": 4 + pods + pods * 2 + pods / 2, "kubepods": ["kubepods"]},
        "sources": [], "pods": manifest_pods, "kernel_log": null,
    });
    entries.insert(
        0,
        (
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
    );
    entries.push((
            "proc/meminfo".into(),
            b"MemTotal:       65000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\nShmem:            900000 kB\n".to_vec(),
        ));
    entries.push((
        "proc/cgroups".into(),
        format!(
            "#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t4\t{}\t1\n",
            pods * 3 + 60
        )
        .into_bytes(),
    ));
    entries.push((
        "tmpfs.json".into(),
        serde_json::to_vec_pretty(&tmpfs).unwrap(),
    ));
    entries.push((
        "kubelet/summary.json".into(),
        serde_json::to_vec_pretty(
            &serde_json::json!({"node": {"nodeName": node()}, "pods": summary_pods}),
        )
        .unwrap(),
    ));
    // Written as the collector writes (collector/src/archive.rs): ustar headers with
    // the capture time, fast gzip.
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in &entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(at.as_second() as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    let gz = b.into_inner().unwrap().finish().unwrap();
    let name = format!(
        "podmem-{}-{}.tar.gz",
        node(),
        at.strftime("%Y%m%dT%H%M%S.000Z")
    );
    std::fs::File::create(dir.join(name))
        .unwrap()
        .write_all(&gz)
        .unwrap();
}
