//! The VM matrix: Debian's own kernels (6.1 with cgroup v1 and v2, 6.12 and unstable's
//! 7.2 with v2) booted under QEMU, each running the guest scenarios of
//! `scripts/vm/guest/init` with the static collector; the analyzer runs here, on the
//! host, over the archives that come back. Each cell boots once; its tests assert on
//! what that kernel did: the bytes written to the tmpfs emptyDir against the orphaned
//! shmem found, the containers' ids, the scope of each OOM kill, memory.events.
//!
//! Expected values come from the guest's input (what it wrote, which container it
//! removed, which limits it set) and from its kernel's own words (its console, the
//! cgroup files it read itself), never from podmem's output.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use podmem_analyzer::{analyze, load::Limits};
use podmem_schema::oom::OomScope;
use podmem_schema::report::{Report, Severity};
use podmem_testkit::archive::{archives, entries, entry, manifest};
use podmem_testkit::vm::{self, Guest, Mode};
use podmem_testkit::{run, trial, Need};

const MIB: u64 = 1 << 20;

/// The matrix: kernel series and cgroup mode (Debian's 6.12 and newer have no cgroup v1
/// memory controller).
const CELLS: &[(&str, Mode)] = &[
    ("6.1", Mode::V1),
    ("6.1", Mode::V2),
    ("6.12", Mode::V2),
    ("7.2", Mode::V2),
];

/// One boot and the analyzer's reports on what it brought back.
struct Run {
    guest: Guest,
    /// Over the `snapshot` archives (one per scenario step).
    snap: Report,
    /// Over the `watch` archives.
    watch: Report,
}

/// The cell's run, booted by the first of its tests (the others wait for it); a failed
/// boot fails every test of the cell with the same reason.
fn cell(i: usize) -> &'static Run {
    static RUNS: [OnceLock<Result<Run, String>>; 4] = [const { OnceLock::new() }; 4];
    let (kernel, mode) = CELLS[i];
    let r = RUNS[i].get_or_init(|| {
        std::panic::catch_unwind(|| {
            let guest = vm::boot(kernel, mode);
            let now = jiff::Timestamp::now();
            let snap = analyze(&[guest.snapshots()], &Limits::default(), now);
            let watch = analyze(&[guest.watch()], &Limits::default(), now);
            Run { guest, snap, watch }
        })
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    match r {
        Ok(run) => run,
        Err(why) => panic!("{kernel} {}: the VM run failed: {why}", mode.name()),
    }
}

fn label(g: &Guest) -> String {
    format!("{} {}", g.kernel, g.mode.name())
}

/// Whether this kernel moves a removed cgroup's pages to the parent (Linux 7.1+).
fn reparents(g: &Guest) -> bool {
    let mut it = g.fact("kernel").split(|c: char| !c.is_ascii_digit());
    let major: u32 = it.next().unwrap().parse().unwrap();
    let minor: u32 = it.next().unwrap().parse().unwrap();
    (major, minor) >= (7, 1)
}

fn within_5pct(got: u64, want: u64) -> bool {
    got.abs_diff(want) as f64 <= 0.05 * want as f64
}

/// DESIGN §1: container A writes into a tmpfs emptyDir and is removed; the pod keeps
/// the charge; the new container B is OOM-killed at the pod limit.
fn seed_case(r: &Run) {
    let g = &r.guest;
    let l = label(g);
    let written = g.num("written_bytes");
    assert_eq!(written, 64 * MIB, "the guest writes 64 MiB");
    assert_eq!(
        g.num("tmpfs_blob_bytes"),
        written,
        "{l}: the file on the tmpfs"
    );
    let (uid, id_a, id_b) = (g.fact("uid1"), g.fact("id_a"), g.fact("id_b"));
    assert_eq!(g.fact("b_status"), "137", "{l}: B killed by SIGKILL");

    // The kernel's own figure, read in the guest right after A's cgroup was removed.
    let kernel_shmem = match g.mode {
        Mode::V1 => {
            assert_eq!(g.num("pod1_shmem_after_rm"), 0, "{l}: v1 pod's own shmem");
            g.num("pod1_total_shmem_after_rm")
        }
        Mode::V2 => g.num("pod1_shmem_after_rm"),
    };
    assert!(
        within_5pct(kernel_shmem, written),
        "{l}: pod shmem {kernel_shmem} after A's removal, written {written}"
    );
    // What the kernels do differently: up to 7.0 the removed cgroup lingers as a dying
    // cgroup holding the pages; from 7.1 its pages move to the pod cgroup itself.
    if g.mode == Mode::V2 {
        let dying = g.num("pod1_dying_after_rm");
        assert_eq!(
            dying,
            if reparents(g) { 0 } else { 1 },
            "{l}: nr_dying_descendants of the pod after A's removal"
        );
    }

    let rep = &r.snap;
    assert!(
        rep.inputs.iter().all(|i| i.status == "ok"),
        "{:#?}",
        rep.inputs
    );
    assert_eq!(rep.nodes.len(), 1);
    assert_eq!(rep.nodes[0].kernel.as_deref(), Some(g.fact("kernel")));
    assert_eq!(
        rep.nodes[0].cgroup_mode.map(|m| m.as_str()),
        Some(g.mode.name())
    );
    let pod = rep
        .pods
        .iter()
        .find(|p| p.uid == uid)
        .unwrap_or_else(|| panic!("{l}: pod {uid} not in the report"));
    assert_eq!(pod.limit, Some(100 * MIB), "{l}: pod limit");
    assert!(
        pod.containers.iter().any(|c| c.id == id_a && c.gone),
        "{l}: A is gone: {:#?}",
        pod.containers
    );

    let mine = |id: &str| {
        rep.findings
            .iter()
            .find(|f| f.id == id && f.pod_uid.as_deref() == Some(uid))
            .unwrap_or_else(|| panic!("{l}: no {id} finding: {:#?}", rep.findings))
    };
    let orphan = mine("orphaned-shmem");
    let found = orphan.bytes.expect("orphaned-shmem bytes");
    eprintln!(
        "vm {l}: written {written} B, kernel pod shmem after removal {kernel_shmem} B, \
         orphaned-shmem {found} B ({:+.2} %), dying descendants {}",
        (found as f64 - written as f64) * 100.0 / written as f64,
        g.facts
            .get("pod1_dying_after_rm")
            .map_or("-", String::as_str)
    );
    assert!(
        within_5pct(found, written),
        "{l}: orphaned {found} vs written {written}"
    );
    assert!(
        orphan.container_ids.iter().any(|c| c == id_a),
        "{l}: the removed container A: {:?}",
        orphan.container_ids
    );
    let wording = if reparents(g) {
        "moved their pages to the pod cgroup"
    } else {
        "dying memory cgroups"
    };
    assert!(
        orphan.detail.contains(wording),
        "{l}: the finding says `{wording}`: {}",
        orphan.detail
    );

    let kill = rep
        .oom_events
        .iter()
        .find(|e| e.pod_uid.as_deref() == Some(uid))
        .unwrap_or_else(|| panic!("{l}: no OOM kill in pod 1: {:#?}", rep.oom_events));
    assert_eq!(
        (kill.scope, kill.container_id.as_deref()),
        (OomScope::Pod, Some(id_b)),
        "{l}: {kill:#?}"
    );
    assert_eq!(
        kill.memcg_limit,
        Some(100 * MIB),
        "{l}: limit in the OOM report"
    );
    assert!(
        mine("pod-limit-oom")
            .container_ids
            .iter()
            .any(|c| c == id_b),
        "{l}: pod-limit-oom names B"
    );
    eprintln!(
        "vm {l}: pod-level OOM of {} (pid {:?}), oom_memcg {:?}",
        &id_b[..12],
        kill.pid,
        kill.oom_memcg
    );
}

/// Container E, limited to 32 MiB, allocates 48 MiB: killed at its own limit.
fn container_oom(r: &Run) {
    let g = &r.guest;
    let l = label(g);
    let (uid, id_e) = (g.fact("uid2"), g.fact("id_e"));
    assert_eq!(g.fact("e_status"), "137", "{l}: E killed by SIGKILL");
    let kills: Vec<_> = r
        .snap
        .oom_events
        .iter()
        .filter(|e| e.pod_uid.as_deref() == Some(uid))
        .collect();
    assert_eq!(kills.len(), 1, "{l}: one kill in pod 2: {kills:#?}");
    assert_eq!(
        (kills[0].scope, kills[0].container_id.as_deref()),
        (OomScope::Container, Some(id_e)),
        "{l}: {:#?}",
        kills[0]
    );
    assert_eq!(kills[0].memcg_limit, Some(32 * MIB), "{l}: E's limit");
    eprintln!(
        "vm {l}: container-level OOM of {} classified {:?}",
        &id_e[..12],
        kills[0].scope
    );
}

/// Pod 3: D holds 16 MiB under a 64 MiB limit (and, on v2, F went just over its
/// memory.high and was throttled, not killed): nothing critical.
fn healthy_pod(r: &Run) {
    let g = &r.guest;
    let l = label(g);
    let (uid, id_d) = (g.fact("uid3"), g.fact("id_d"));
    let pod = r
        .snap
        .pods
        .iter()
        .find(|p| p.uid == uid)
        .unwrap_or_else(|| panic!("{l}: pod 3 not in the report"));
    assert_eq!(pod.limit, Some(64 * MIB));
    let d = pod
        .containers
        .iter()
        .find(|c| c.id == id_d)
        .unwrap_or_else(|| panic!("{l}: D not in pod 3: {:#?}", pod.containers));
    assert!(!d.gone, "{l}: D is alive");
    let usage = d.last.usage.expect("D's usage");
    assert!(
        (16 * MIB..64 * MIB).contains(&usage),
        "{l}: D's usage {usage} holds its 16 MiB"
    );
    let critical: Vec<_> = r
        .snap
        .findings
        .iter()
        .filter(|f| f.pod_uid.as_deref() == Some(uid) && f.severity == Severity::Critical)
        .collect();
    assert!(critical.is_empty(), "{l}: healthy pod: {critical:#?}");
    assert!(
        !r.snap
            .oom_events
            .iter()
            .any(|e| e.pod_uid.as_deref() == Some(uid)),
        "{l}: no kill in pod 3"
    );
    if g.mode == Mode::V2 {
        assert_eq!(g.fact("f_status"), "0", "{l}: F throttled, not killed");
    }
}

/// `podmem-collector watch` ran across all of it, each snapshot continuing /dev/kmsg
/// where the previous stopped: every kill the kernel printed on its console is in the
/// watch archives exactly once, sequence numbers never repeat, nothing was lost.
fn watch_continues_kmsg(r: &Run) {
    let g = &r.guest;
    let l = label(g);
    assert_eq!(g.fact("watch_status"), "0", "{l}: watch exit status");
    let archives = archives(&g.watch());
    assert!(
        archives.len() >= 3,
        "{l}: {} watch archives",
        archives.len()
    );
    let mut seqs = Vec::new();
    let mut kill_lines = Vec::new();
    for a in &archives {
        let es = entries(a);
        let k = manifest(&es).kernel_log.expect("kernel_log");
        assert_eq!(
            (k.source.as_str(), k.lost),
            ("kmsg", 0),
            "{l}: {}",
            a.display()
        );
        let text = String::from_utf8_lossy(entry(&es, "kernel/kmsg").unwrap_or_default());
        for line in text.lines().filter(|l| !l.starts_with(' ')) {
            let (head, msg) = line.split_once(';').expect("kmsg record");
            let seq: u64 = head.split(',').nth(1).unwrap().parse().unwrap();
            seqs.push(seq);
            if msg.contains("Killed process") {
                kill_lines.push(msg.to_string());
            }
        }
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "{l}: kmsg sequence numbers repeat or go back across watch archives: {seqs:?}"
    );
    let console_kills = console_kills(g);
    assert_eq!(
        console_kills.len(),
        2,
        "{l}: the guest caused two kills (B, E)"
    );
    assert_eq!(
        kill_lines, console_kills,
        "{l}: the watch archives vs the console"
    );
    let pids: Vec<Option<u32>> = r.watch.oom_events.iter().map(|e| e.pid).collect();
    let console_pids: Vec<Option<u32>> = console_kills
        .iter()
        .map(|k| {
            k.split("Killed process ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .and_then(|p| p.parse().ok())
        })
        .collect();
    assert_eq!(
        pids, console_pids,
        "{l}: analyzer's kills over the watch archives"
    );
    eprintln!(
        "vm {l}: watch took {} snapshots; {} kmsg records kept, kills {console_pids:?} once each",
        archives.len(),
        seqs.len()
    );
}

/// The kills the kernel printed on the guest's console, in order.
fn console_kills(g: &Guest) -> Vec<String> {
    g.console
        .lines()
        .filter_map(|l| {
            l.find("Memory cgroup out of memory: Killed process")
                .map(|i| l[i..].trim_end().to_string())
        })
        .collect()
}

/// Debian's systemd-journald ran in the guest, reading /dev/kmsg as on a node; the
/// collector read the kernel log back through journalctl after each OOM, the second
/// time continuing from the first one's cursor.
fn journald_in_the_guest(r: &Run) {
    let g = &r.guest;
    let l = label(g);
    assert_eq!(
        g.fact("journald"),
        "yes",
        "{l}: the initramfs holds journald"
    );
    let kills = console_kills(g);
    let archives = archives(&g.journal());
    assert_eq!(archives.len(), 2, "{l}: a journal snapshot after each OOM");
    let mut cursors = Vec::new();
    for (i, a) in archives.iter().enumerate() {
        let es = entries(a);
        let k = manifest(&es).kernel_log.expect("kernel_log");
        assert_eq!(k.source, "journal", "{l}: {}", a.display());
        assert_eq!(
            k.since.is_none(),
            i == 1,
            "{l}: the second continues the first"
        );
        cursors.push(k.next.clone().expect("a cursor"));
        let text = String::from_utf8_lossy(entry(&es, "kernel/journal.log").unwrap_or_default())
            .into_owned();
        let got: Vec<String> = text
            .lines()
            .filter_map(|line| line.split_once(" kernel: ").map(|(_, m)| m.to_string()))
            .filter(|m| m.contains("Killed process"))
            .collect();
        assert_eq!(
            got,
            vec![kills[i].clone()],
            "{l}: kill lines of journal snapshot {i}"
        );
    }
    assert_ne!(cursors[0], cursors[1]);
    let (id_b, id_e) = (g.fact("id_b"), g.fact("id_e"));
    let rep = analyze(&[g.journal()], &Limits::default(), jiff::Timestamp::now());
    let got: Vec<_> = rep
        .oom_events
        .iter()
        .map(|e| (e.scope, e.container_id.as_deref(), e.memcg_limit))
        .collect();
    assert_eq!(
        got,
        vec![
            (OomScope::Pod, Some(id_b), Some(100 * MIB)),
            (OomScope::Container, Some(id_e), Some(32 * MIB)),
        ],
        "{l}: the kills as read from the journal"
    );
    eprintln!("vm {l}: journald in the guest: both kills read back through journalctl, once each");
}

/// cgroup v2: memory.max and memory.high as the guest set them, memory.events as its
/// kernel counted them, in the last snapshot.
fn v2_memory_files(r: &Run) {
    let g = &r.guest;
    let l = label(g);
    let last = archives(&g.snapshots()).pop().expect("snapshots");
    let es = entries(&last);
    let file = |rel: &str, f: &str| -> String {
        let k = format!("cgroup/{rel}/{f}");
        String::from_utf8(
            entry(&es, &k)
                .unwrap_or_else(|| panic!("{l}: {k} not in {}", last.display()))
                .to_vec(),
        )
        .unwrap()
    };
    let pod = |uid: &str| {
        format!(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
            uid.replace('-', "_")
        )
    };
    let ctr = |uid: &str, id: &str| format!("{}/cri-containerd-{id}.scope", pod(uid));
    let (uid1, uid2, uid3) = (g.fact("uid1"), g.fact("uid2"), g.fact("uid3"));
    let n = |s: String| s.trim().to_string();
    assert_eq!(n(file(&pod(uid1), "memory.max")), (100 * MIB).to_string());
    assert_eq!(n(file(&pod(uid3), "memory.max")), (64 * MIB).to_string());
    assert_eq!(
        n(file(&ctr(uid2, g.fact("id_e")), "memory.max")),
        (32 * MIB).to_string()
    );
    assert_eq!(
        n(file(&ctr(uid3, g.fact("id_d")), "memory.high")),
        (48 * MIB).to_string()
    );
    assert_eq!(
        n(file(&ctr(uid3, g.fact("id_f")), "memory.high")),
        (8 * MIB).to_string()
    );
    assert_eq!(n(file(&ctr(uid3, g.fact("id_d")), "memory.max")), "max");

    let events = |s: &str| -> BTreeMap<String, u64> {
        s.split([',', '\n'])
            .filter_map(|kv| kv.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
            .collect()
    };
    let mut summary = Vec::new();
    for (rel, oom_kill) in [
        (pod(uid1), 1),
        (pod(uid2), 1),
        (ctr(uid2, g.fact("id_e")), 1),
        (pod(uid3), 0),
        (ctr(uid3, g.fact("id_f")), 0),
    ] {
        let archived = events(&file(&rel, "memory.events"));
        let seen = events(g.fact(&format!("events:{rel}")));
        assert_eq!(archived, seen, "{l}: {rel}/memory.events, archive vs guest");
        assert_eq!(archived["oom_kill"], oom_kill, "{l}: {rel} oom_kill");
        summary.push(format!(
            "{}: max {} oom {} oom_kill {} high {}",
            rel.rsplit('/').next().unwrap(),
            archived["max"],
            archived["oom"],
            archived["oom_kill"],
            archived["high"]
        ));
    }
    let f_high = events(&file(&ctr(uid3, g.fact("id_f")), "memory.events"))["high"];
    assert!(f_high > 0, "{l}: F went over its memory.high");
    eprintln!("vm {l}: memory.events {}", summary.join("; "));
}

/// A test of one cell's run.
type CellTest = fn(&Run);

fn main() {
    let tests: &[(&str, CellTest)] = &[
        ("seed_case", seed_case),
        ("container_oom", container_oom),
        ("healthy_pod", healthy_pod),
        ("watch_continues_kmsg", watch_continues_kmsg),
        ("memory_files", v2_memory_files),
        ("journald_in_the_guest", journald_in_the_guest),
    ];
    // Test by test across the cells, so parallel test threads boot different cells at
    // once rather than wait for the same one.
    let mut trials = Vec::new();
    for (t, f) in tests {
        for (i, (kernel, mode)) in CELLS.iter().enumerate() {
            if *t == "memory_files" && *mode != Mode::V2 {
                continue;
            }
            let f = *f;
            let name = format!("vm_{}_{}::{t}", kernel.replace('.', "_"), mode.name());
            let needs: &[Need] = if *t == "journald_in_the_guest" {
                &[Need::Vm, Need::Journal]
            } else {
                &[Need::Vm]
            };
            trials.push(trial(name, needs, move || f(cell(i))));
        }
    }
    run(trials)
}
