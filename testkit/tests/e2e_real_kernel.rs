//! DESIGN §1 end to end on the real kernel: a pod cgroup with a 100 MiB limit inside
//! this test's own memory cgroup (v1), a real tmpfs emptyDir filled with 64 MiB by a
//! process in container A, A removed, a new container B OOM-killed at the pod limit,
//! the real `podmem-collector` binary run before, between and after, the analyzer on
//! its archives, and the HTML report opened in headless chromium.
//!
//! Needs root, a writable cgroup v1 memory hierarchy and a browser; without them it is
//! reported as ignored (see `docs/testing.md`). Needs `python3` to allocate memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use podmem_analyzer::{analyze, load::Limits};
use podmem_schema::oom::OomScope;
use podmem_testkit::kernel::{kmsg_has, stat, wait_until, Guard, OwnCgroup};
use podmem_testkit::{bins, chromium, exit};

const MIB: u64 = 1 << 20;
/// What container A writes into the emptyDir.
const WRITTEN: u64 = 64 * MIB;
const POD_LIMIT: u64 = 100 * MIB;

/// One snapshot with the real collector (kernel log from /dev/kmsg, continuing where
/// the previous snapshot in `out` stopped); returns the archive path.
fn snapshot(bin: &Path, root: &Path, out: &Path, step: &str) -> PathBuf {
    let t = Instant::now();
    let o = Command::new(bin)
        .args([
            "snapshot",
            "--no-kubelet",
            "--kernel-log",
            "kmsg",
            "--node-name",
            "e2e-node",
        ])
        .arg("--cgroup-root")
        .arg(root)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "collector ({step}) failed: {stderr}"
    );
    let path = PathBuf::from(String::from_utf8(o.stdout).unwrap().trim());
    eprintln!(
        "e2e: snapshot {step} in {:?} ({} bytes)",
        t.elapsed(),
        std::fs::metadata(&path).unwrap().len()
    );
    path
}

fn design_case_on_the_real_kernel() {
    let OwnCgroup {
        dir: own,
        rel: own_rel,
    } = podmem_testkit::kernel::own();
    let started = Instant::now();
    let bin = bins::collector();
    let tmp = tempfile::tempdir().unwrap();
    let mut g = Guard::default();

    // Names unique to this run: the kernel log is shared by the whole machine.
    let run = format!(
        "{:08x}",
        (std::process::id() as u64) << 16
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
    );
    let run = &run[run.len() - 8..];
    let uid = format!("{run}-e2e0-4d0d-9e00-00000000a11c");
    let id_a = format!("{run}{}", "a".repeat(56));
    let id_b = format!("{run}{}", "b".repeat(56));
    let base_name = format!("podmem-e2e-{run}");

    let base = g.mkcg(own.join(&base_name));
    let kp = g.mkcg(base.join("kubepods"));
    let bu = g.mkcg(kp.join("burstable"));
    let pod = g.mkcg(bu.join(format!("pod{uid}")));
    std::fs::write(pod.join("memory.limit_in_bytes"), POD_LIMIT.to_string()).unwrap();
    let ctr_a = g.mkcg(pod.join(&id_a));

    // The memory emptyDir, mounted as the kubelet would (size = the pod limit), where
    // the collector's mountinfo matching finds it (any kubelet root).
    let vol = tmp.path().join(format!(
        "var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/cache"
    ));
    g.mount_tmpfs(&vol, &format!("size={POD_LIMIT}"));

    // Container A writes 64 MiB into the emptyDir and stays alive: snapshot 1.
    let writer = g.spawn_in(
        &ctr_a,
        &format!("head -c {WRITTEN} /dev/zero > '{}/blob'", vol.display()),
    );
    assert_eq!(stat(&ctr_a, "shmem"), WRITTEN, "A holds the tmpfs pages");
    let out = tmp.path().join("snapshots");
    snapshot(&bin, &base, &out, "1 (A holds the tmpfs)");

    // A dies and its cgroup is removed: the pages stay charged to the pod, held by a
    // dying memcg no directory shows. Snapshot 2.
    g.kill(writer);
    g.rmcg(&ctr_a);
    let pod_total_shmem = stat(&pod, "total_shmem");
    let pod_own_shmem = stat(&pod, "shmem");
    eprintln!(
        "e2e: after removing A: pod total_shmem {pod_total_shmem}, shmem {pod_own_shmem} \
         (written {WRITTEN})"
    );
    assert_eq!(pod_own_shmem, 0);
    assert!(
        pod_total_shmem.abs_diff(WRITTEN) <= MIB,
        "pod total_shmem {pod_total_shmem}"
    );
    snapshot(&bin, &base, &out, "2 (A removed)");

    // A new container B allocates 48 MiB: 64 + 48 > 100, the pod limit is hit and B's
    // process is OOM-killed while B's own cgroup has no limit.
    let ctr_b = g.mkcg(pod.join(&id_b));
    let t = Instant::now();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}/cgroup.procs' || exit 1; exec python3 -c '\
             b = bytearray(48 << 20)\n\
             b[::4096] = b\"x\" * len(b[::4096])\n\
             print(\"survived\")'",
            ctr_b.display()
        ))
        .stdout(Stdio::piped())
        .output()
        .expect("run python3 in container B");
    let survived = String::from_utf8_lossy(&st.stdout).contains("survived");
    assert!(
        !survived && exit::killed_by(st.status, libc::SIGKILL),
        "B was not OOM-killed: {:?}, stdout {:?}, stderr {}",
        st.status,
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
    let killed_after = t.elapsed();
    // The kill report is in the ring buffer by the time the victim is reaped, but give
    // the kernel a moment rather than race it.
    let task_memcg = format!(
        "task_memcg={}/{base_name}/kubepods/burstable/pod{uid}/{id_b}",
        own_rel.trim_end_matches('/')
    );
    let t = Instant::now();
    wait_until(
        &format!("the `{task_memcg}` kill line in /dev/kmsg"),
        Duration::from_secs(60),
        || kmsg_has(&["oom-kill:", &task_memcg]),
    );
    eprintln!(
        "e2e: B OOM-killed {killed_after:?} after start; kill line in /dev/kmsg after {:?} more",
        t.elapsed()
    );
    snapshot(&bin, &base, &out, "3 (B OOM-killed)");

    // The analyzer on the three archives.
    let t = Instant::now();
    let report = analyze(
        std::slice::from_ref(&out),
        &Limits::default(),
        jiff::Timestamp::now(),
    );
    eprintln!("e2e: analysis in {:?}", t.elapsed());
    assert!(
        report.inputs.iter().all(|i| i.status == "ok"),
        "{:#?}",
        report.inputs
    );
    assert_eq!(report.nodes.len(), 1);
    assert_eq!(report.nodes[0].snapshots, 3);
    let p = report
        .pods
        .iter()
        .find(|p| p.uid == uid)
        .unwrap_or_else(|| panic!("pod {uid} not in the report"));
    assert_eq!(p.limit, Some(POD_LIMIT));
    assert!(
        p.containers.iter().any(|c| c.id == id_a && c.gone),
        "A is gone: {:#?}",
        p.containers
    );

    let mine = |f: &&podmem_schema::report::Finding| f.pod_uid.as_deref() == Some(uid.as_str());
    let orphan = report
        .findings
        .iter()
        .filter(mine)
        .find(|f| f.id == "orphaned-shmem")
        .unwrap_or_else(|| panic!("no orphaned-shmem finding: {:#?}", report.findings));
    let found = orphan.bytes.expect("orphaned-shmem bytes");
    eprintln!(
        "e2e: written {WRITTEN} bytes, orphaned-shmem finding {found} bytes ({:+.2} %)",
        (found as f64 - WRITTEN as f64) * 100.0 / WRITTEN as f64
    );
    assert!(
        found.abs_diff(WRITTEN) as f64 <= 0.05 * WRITTEN as f64,
        "orphaned {found} vs written {WRITTEN}"
    );
    assert!(
        orphan.container_ids.contains(&id_a),
        "the removed container A: {:?}",
        orphan.container_ids
    );
    // The words follow where the kernel keeps the pages: the pod's own shmem was 0
    // after A's removal (read above), so the dying cgroup of A holds them.
    assert!(
        orphan.detail.contains("dying memory cgroups")
            && !orphan.detail.contains("moved their pages"),
        "{}",
        orphan.detail
    );

    let kills: Vec<_> = report
        .oom_events
        .iter()
        .filter(|e| e.pod_uid.as_deref() == Some(uid.as_str()))
        .collect();
    assert!(
        kills
            .iter()
            .any(|e| e.scope == OomScope::Pod && e.container_id.as_deref() == Some(id_b.as_str())),
        "no pod-scope OOM of container B: {kills:#?} (all events: {:#?})",
        report.oom_events
    );
    let limit_oom = report
        .findings
        .iter()
        .filter(mine)
        .find(|f| f.id == "pod-limit-oom")
        .unwrap_or_else(|| panic!("no pod-limit-oom finding: {:#?}", report.findings));
    assert!(limit_oom.container_ids.contains(&id_b));
    let ids: Vec<&str> = report
        .findings
        .iter()
        .filter(mine)
        .map(|f| f.id.as_str())
        .collect();
    eprintln!("e2e: findings for the pod: {ids:?}");

    // The HTML report of the same archives, through the analyzer binary, in a browser.
    let html = tmp.path().join("report.html");
    let t = Instant::now();
    let o = Command::new(bins::analyzer())
        .arg("report")
        .arg(&out)
        .args(["--format", "html", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "analyzer: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!(
        "e2e: HTML report in {:?} ({} bytes)",
        t.elapsed(),
        std::fs::metadata(&html).unwrap().len()
    );
    let t = Instant::now();
    let dom = chromium::dump_dom(&html, "#draw-all");
    eprintln!("e2e: chromium in {:?}", t.elapsed());
    let charts = report.pods.iter().filter(|p| !p.samples.is_empty()).count();
    chromium::assert_page_ok(&dom, charts);
    assert!(dom.contains(&uid), "the pod is in the page");
    assert!(dom.contains("orphaned-shmem"), "the finding is in the page");
    eprintln!("e2e: whole test {:?}", started.elapsed());
}

podmem_testkit::main! {
    [Need::Kernel, Need::Browser] => [design_case_on_the_real_kernel],
}
