//! The collector on a sick node: each fault still gives an archive (or, when nothing can
//! be written, exit 2 with the path and the reason and nothing half-written), the failed
//! source says what and why, and the exit code is the documented one.
//!
//! Covered elsewhere: time budget exhausted (`cli.rs`: partial, exit 1), file size cap
//! (`cli.rs`), `kill -9` mid-write (`cli.rs`, `real_kernel.rs`), SIGTERM in `watch`
//! (`watch.rs`), unknown kubelet CA (`kubelet_tls.rs`).
//!
//! Real-kernel tests need root and a writable cgroup v1 memory hierarchy; without them
//! they are reported as ignored (see `docs/testing.md`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use podmem_schema::snapshot::{Manifest, SourceStatus, Status};
use podmem_testkit::fake_kubelet::{closed_port, Answer, FakeKubelet};
use podmem_testkit::kernel::{self, Guard};

fn source<'a>(m: &'a Manifest, name: &str) -> &'a SourceStatus {
    m.sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} source in {:?}", m.sources))
}

/// Runs the collector, killing it (and failing) if it does not finish within `limit`:
/// no fault may make it hang.
fn run_within(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), t.elapsed());
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "collector still running after {limit:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn snapshot_cmd(out: &Path, host_root: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["snapshot", "--no-nice", "--node-name", "faulty", "-o"])
        .arg(out)
        .arg("--host-root")
        .arg(host_root)
        .args(extra);
    c
}

fn archive_of(o: &Output) -> PathBuf {
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    assert!(
        p.is_file(),
        "no archive written (exit {:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    p
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {}", from.display());
}

fn unreadable_files_are_named_and_everything_else_captured() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("host");
    copy_tree(&host("v1-cgroupfs-docker"), &h);
    let mem = h.join("sys/fs/cgroup/memory/kubepods");
    let pod = mem.join("burstable/pod8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02");
    let ctr = std::fs::read_dir(&pod)
        .unwrap()
        .flatten()
        .find(|e| e.file_type().unwrap().is_dir())
        .unwrap()
        .path();
    // As root, chmod 000 stops nothing: replace files with things that truly cannot be
    // read as files. A directory (EISDIR), a symlink to a secret (O_NOFOLLOW: ELOOP, and
    // never followed), a FIFO without writer (O_NONBLOCK: empty, never a hang).
    let swap_for_dir = |p: &Path| {
        std::fs::remove_file(p).unwrap();
        std::fs::create_dir(p).unwrap();
    };
    swap_for_dir(&pod.join("memory.stat"));
    swap_for_dir(&h.join("proc/meminfo"));
    std::fs::remove_file(ctr.join("memory.usage_in_bytes")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ctr.join("memory.usage_in_bytes")).unwrap();
    let fifo = ctr.join("memory.limit_in_bytes");
    std::fs::remove_file(&fifo).unwrap();
    mkfifo(&fifo, 0o644);
    // /var/log/pods as a file: the listing fails.
    let logs = h.join("var/log/pods");
    std::fs::remove_dir_all(&logs).unwrap();
    std::fs::write(&logs, "not a directory").unwrap();

    // A FIFO given as the kernel log: refused, never waited on.
    let log_fifo = d.path().join("kern.log");
    mkfifo(&log_fifo, 0o644);

    let (o, _) = run_within(
        snapshot_cmd(
            &d.path().join("out"),
            &h,
            &["--no-kubelet", "--kernel-log", log_fifo.to_str().unwrap()],
        ),
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let a = archive_of(&o);
    let es = entries(&a);
    let m = manifest(&es);

    let cg = source(&m, "cgroups");
    let msg = cg.message.as_deref().unwrap();
    assert_eq!(cg.status, Status::Partial, "{cg:?}");
    for (path, why) in [
        (pod.join("memory.stat"), "Is a directory"),
        (ctr.join("memory.usage_in_bytes"), "symbolic links"),
    ] {
        let rel = path.strip_prefix(&h).unwrap().display().to_string();
        assert!(
            msg.contains(&rel) && msg.contains(why),
            "cgroups message lacks {rel} / {why}: {msg}"
        );
    }
    assert!(stderr.contains("cgroups partial"), "{stderr}");
    let passwd = std::fs::read("/etc/passwd").unwrap();
    let first_line = passwd.split(|&b| b == b'\n').next().unwrap();
    assert!(
        es.iter()
            .all(|(_, d)| !d.windows(first_line.len()).any(|w| w == first_line)),
        "a symlink was followed"
    );
    let rel_ctr = ctr
        .strip_prefix(h.join("sys/fs/cgroup/memory"))
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        entry(&es, &format!("cgroup/{rel_ctr}/memory.limit_in_bytes")),
        Some(&b""[..]),
        "the FIFO reads as empty"
    );
    assert!(entry(&es, &format!("cgroup/{rel_ctr}/memory.stat")).is_some());
    assert_eq!(m.pods.len(), 3, "every pod still found");

    let mi = source(&m, "meminfo");
    assert_eq!(mi.status, Status::Error, "{mi:?}");
    assert!(
        mi.message.as_deref().unwrap().contains("proc/meminfo")
            && mi.message.as_deref().unwrap().contains("Is a directory"),
        "{mi:?}"
    );
    let lp = source(&m, "log-pods");
    assert_eq!(lp.status, Status::Error, "{lp:?}");
    assert!(
        lp.message.as_deref().unwrap().contains("var/log/pods"),
        "{lp:?}"
    );
    assert_eq!(source(&m, "vmstat").status, Status::Ok);
    let kl = source(&m, "kernel-log");
    assert_eq!(kl.status, Status::Error, "{kl:?}");
    assert!(
        kl.message
            .as_deref()
            .unwrap()
            .contains("not a regular file"),
        "{kl:?}"
    );
    eprintln!(
        "cgroups: {msg}\nmeminfo: {:?}\nlog-pods: {:?}",
        mi.message, lp.message
    );
}

/// One snapshot of the v2 fixture against a kubelet at `url`.
fn with_kubelet(url: &str, budget: &str) -> (Output, Duration, Manifest, Vec<(String, Vec<u8>)>) {
    let d = tempfile::tempdir().unwrap();
    let mut cmd = snapshot_cmd(
        d.path(),
        &host("v2-systemd-containerd"),
        &["--kernel-log", "none", "--budget", budget, "--kubelet", url],
    );
    cmd.arg("--kubelet-token-file")
        .arg(d.path().join("no-token"));
    let (o, took) = run_within(cmd, Duration::from_secs(30));
    let a = archive_of(&o);
    let es = entries(&a);
    let m = manifest(&es);
    (o, took, m, es)
}

fn kubelet_down_slow_garbage_or_unauthorized() {
    let summary = std::fs::read(host("kubelet-summary.json")).unwrap();
    let garbage = FakeKubelet::start(Answer::Reply(
        "200 OK",
        b"\x00\x01<html><body>502 Bad Gateway</body></html>".to_vec(),
    ));
    let unauthorized =
        FakeKubelet::start(Answer::Reply("401 Unauthorized", b"Unauthorized".to_vec()));
    let slow = FakeKubelet::start(Answer::Silent);
    let good = FakeKubelet::start(Answer::Reply("200 OK", summary.clone()));
    let down = format!("http://127.0.0.1:{}", closed_port());

    // (name, url, budget, words the message must hold)
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        ("down", &down, "5s", &["Connection refused"]),
        (
            "garbage",
            &garbage.url,
            "5s",
            &["not a JSON summary", "not kept"],
        ),
        ("401", &unauthorized.url, "5s", &["401", "nodes/stats"]),
        ("slow", &slow.url, "1s", &["timeout"]),
    ];
    for (name, url, budget, words) in cases {
        let (o, took, m, es) = with_kubelet(url, budget);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {stderr}");
        let s = source(&m, "kubelet-summary");
        assert_eq!(s.status, Status::Error, "{name}: {s:?}");
        let msg = s.message.as_deref().unwrap();
        assert!(
            msg.contains("127.0.0.1:"),
            "{name}: message names the URL: {msg}"
        );
        for w in words {
            assert!(
                msg.to_lowercase().contains(&w.to_lowercase()),
                "{name}: {w:?} not in {msg}"
            );
        }
        assert!(stderr.contains("kubelet-summary error"), "{name}: {stderr}");
        assert!(
            entry(&es, "kubelet/summary.json").is_none(),
            "{name}: summary kept"
        );
        // The rest of the snapshot is there.
        assert_eq!(m.pods.len(), 4, "{name}");
        assert_eq!(source(&m, "cgroups").status, Status::Ok, "{name}");
        eprintln!("{name}: {took:?}: {msg}");
        if name == "slow" {
            // The 1 s budget bounds the wait for a kubelet that never answers (it would
            // hold the collector forever); the ceiling is generous for a loaded machine.
            assert!(
                took < Duration::from_secs(15),
                "slow kubelet held the collector {took:?}"
            );
            assert!(!slow.heads().is_empty(), "the slow kubelet was asked");
        }
    }

    // The same collector against a kubelet that answers: ok, exit 0, kept verbatim.
    let (o, _, m, es) = with_kubelet(&good.url, "5s");
    assert_exit(&o, 0);
    assert_eq!(source(&m, "kubelet-summary").status, Status::Ok);
    assert_eq!(entry(&es, "kubelet/summary.json"), Some(summary.as_slice()));
}

fn full_output_filesystem_fails_cleanly_and_keeps_earlier_snapshots() {
    let mut g = Guard::default();
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    g.mount_tmpfs(&out, "size=64k");
    let args = ["--no-kubelet", "--kernel-log", "none"];
    let h = host("v2-systemd-containerd");
    let (o, _) = run_within(snapshot_cmd(&out, &h, &args), Duration::from_secs(20));
    assert_exit(&o, 0);
    let first = archive_of(&o);
    let first_bytes = std::fs::read(&first).unwrap();

    // Fill the filesystem to the last byte.
    let filler = out.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 1024];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                    break;
                }
            }
        }
        let _ = f.sync_all();
    }
    let before = names(&out);

    let (o, _) = run_within(snapshot_cmd(&out, &h, &args), Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "full disk is fatal: {stderr}");
    assert!(
        stderr.contains(&out.display().to_string()) && stderr.contains("No space left on device"),
        "the message names the path and the reason: {stderr}"
    );
    assert!(o.stdout.is_empty(), "no archive path printed");
    assert_eq!(names(&out), before, "no partial or temporary file left");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        first_bytes,
        "earlier snapshot untouched"
    );
    eprintln!("full disk: {}", stderr.trim());

    // watch refuses the slot up front (free space under the minimum) and says so.
    let mut w = Command::new(bin());
    w.args([
        "watch",
        "--interval",
        "100ms",
        "--count",
        "1",
        "--no-nice",
        "--no-kubelet",
        "--kernel-log",
        "none",
        "--node-name",
        "faulty",
        "-o",
    ])
    .arg(&out)
    .arg("--host-root")
    .arg(&h);
    let (o, _) = run_within(w, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&out.display().to_string()), "{stderr}");
    assert_eq!(names(&out), before, "{stderr}");
    eprintln!("watch on a full disk: {}", stderr.trim());
}

fn uid(i: u32) -> String {
    format!("{:08x}-c0de-4000-8000-{:012x}", 0xfa17_0000u32 + i, i)
}

fn cgroups_churning_during_snapshots_are_never_fatal() {
    let own = &kernel::own().dir;
    let mut g = Guard::default();
    let top = g.mkcg(own.join(format!("podmem-churn-{}", std::process::id())));
    let kp = g.mkcg(top.join("kubepods"));
    let bu = g.mkcg(kp.join("burstable"));
    let mut pods = Vec::new();
    for i in 0..110 {
        let p = g.mkcg(bu.join(format!("pod{}", uid(i))));
        for c in 0..2u32 {
            g.mkcg(p.join(format!("{:064x}", (i as u128) << 8 | c as u128)));
        }
        pods.push(p);
    }

    // Two threads create and remove container cgroups (and whole pods) as fast as the
    // kernel lets them, as a node restarting containers would, only much faster.
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..2u32)
        .map(|t| {
            let (stop, churned, pods, bu) =
                (stop.clone(), churned.clone(), pods.clone(), bu.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let pod = &pods[(n as usize * 7 + t as usize) % pods.len()];
                    let c = pod.join(format!(
                        "{:064x}",
                        0xc4u128 << 120 | (t as u128) << 64 | n as u128
                    ));
                    let whole = bu.join(format!(
                        "pod{}",
                        uid(1000 + t * 1_000_000 + (n % 1000) as u32)
                    ));
                    let wc = whole.join(format!("{:064x}", 0xd5u128 << 120 | n as u128));
                    if std::fs::create_dir(&c).is_ok() {
                        let _ = std::fs::create_dir(&whole);
                        let _ = std::fs::create_dir(&wc);
                        std::thread::sleep(Duration::from_micros(200));
                        let _ = std::fs::remove_dir(&wc);
                        let _ = std::fs::remove_dir(&whole);
                        let _ = std::fs::remove_dir(&c);
                        churned.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();

    let d = tempfile::tempdir().unwrap();
    let mut vanished_total = 0u64;
    let mut runs = Vec::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for i in 0..6 {
            let mut cmd = Command::new(bin());
            cmd.args([
                "snapshot",
                "--no-nice",
                "--no-kubelet",
                "--kernel-log",
                "none",
                "--node-name",
                "churn",
                "-o",
            ])
            .arg(d.path())
            .arg("--cgroup-root")
            .arg(&top);
            let (o, took) = run_within(cmd, Duration::from_secs(30));
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            assert!(matches!(o.status.code(), Some(0 | 1)), "run {i}: {stderr}");
            let a = archive_of(&o);
            let m = manifest(&entries(&a));
            let cg = source(&m, "cgroups");
            let msg = cg.message.clone().unwrap_or_default();
            // A vanished cgroup is normal: counted in the message, never an error.
            assert_eq!(cg.status, Status::Ok, "run {i}: {msg}");
            let stable = m
                .pods
                .iter()
                .filter(|p| {
                    p.uid.contains("-c0de-") && p.uid.starts_with("fa17") && p.containers.len() >= 2
                })
                .count();
            assert!(
                stable >= 110,
                "run {i}: only {stable} of the 110 stable pods: {msg}"
            );
            let v: u64 = msg
                .split("; ")
                .find_map(|p| p.strip_suffix(" vanished while read (normal)"))
                .map_or(0, |n| n.parse().unwrap());
            vanished_total += v;
            runs.push(format!(
                "{} cgroups, {v} vanished, capture {} ms, process {took:?}",
                m.cgroup.cgroups, m.duration_ms
            ));
        }
        // Under churn and a budget too small for the tree: what was read is written,
        // marked partial, exit 1.
        let mut cmd = Command::new(bin());
        cmd.args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--node-name",
            "churn-budget",
            "--budget",
            "1ms",
            "-o",
        ])
        .arg(d.path())
        .arg("--cgroup-root")
        .arg(&top);
        let (o, _) = run_within(cmd, Duration::from_secs(30));
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let m = manifest(&entries(&archive_of(&o)));
        let cg = source(&m, "cgroups");
        assert_eq!(cg.status, Status::Partial, "{cg:?}");
        assert!(
            cg.message
                .as_deref()
                .unwrap()
                .contains("time budget exhausted"),
            "{cg:?}"
        );
        assert!(m.cgroup.cgroups < 333, "{cg:?}");
        runs.push(format!(
            "1 ms budget: {} cgroups, {}",
            m.cgroup.cgroups,
            cg.message.as_deref().unwrap()
        ));
    }));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    eprintln!(
        "churn: {} cgroup create/remove cycles during 6 snapshots: {runs:#?}",
        churned.load(Ordering::Relaxed)
    );
    assert!(
        churned.load(Ordering::Relaxed) > 100,
        "the churn did not run"
    );
    assert!(
        vanished_total > 0,
        "no snapshot saw a cgroup vanish mid-walk, so the test proved nothing: {runs:?}"
    );
}

fn real_kernel_write_only_files_fail_with_their_path() {
    let own = &kernel::own().dir;
    // cgroup v1's write-only control files cannot be read even by root (EINVAL): truly
    // unreadable files on the real kernel, given where the collector reads a file.
    let event_control = own.join("cgroup.event_control");
    let force_empty = own.join("memory.force_empty");
    for f in [&event_control, &force_empty] {
        assert!(
            std::fs::read(f).is_err(),
            "{} is readable here; the test needs a write-only file",
            f.display()
        );
    }
    let d = tempfile::tempdir().unwrap();
    let mut cmd = snapshot_cmd(d.path(), &host("v2-systemd-containerd"), &[]);
    cmd.arg("--kubelet-summary-file")
        .arg(&event_control)
        .arg("--kernel-log")
        .arg(&force_empty);
    let (o, _) = run_within(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let m = manifest(&entries(&archive_of(&o)));
    for (name, f) in [
        ("kubelet-summary", &event_control),
        ("kernel-log", &force_empty),
    ] {
        let s = source(&m, name);
        let msg = s.message.as_deref().unwrap_or_default();
        assert_eq!(s.status, Status::Error, "{s:?}");
        assert!(
            msg.contains(&f.display().to_string()) && msg.contains("Invalid argument"),
            "{name}: {msg}"
        );
        assert!(stderr.contains(&format!("{name} error")), "{stderr}");
        eprintln!("{name}: {msg}");
    }
    assert!(
        m.kernel_log.as_ref().is_none_or(|k| k.next.is_none()),
        "{:?}",
        m.kernel_log
    );
    assert_eq!(m.pods.len(), 4, "the rest is captured");
}

podmem_testkit::main! {
    [] => [
        unreadable_files_are_named_and_everything_else_captured,
        kubelet_down_slow_garbage_or_unauthorized,
    ],
    [Need::Kernel] => [
        full_output_filesystem_fails_cleanly_and_keeps_earlier_snapshots,
        cgroups_churning_during_snapshots_are_never_fatal,
        real_kernel_write_only_files_fail_with_their_path,
    ],
}
