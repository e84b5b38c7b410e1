//! `watch` end to end: count and retention, SIGTERM mid-run, and kernel-log windows
//! chaining across snapshots.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `watch` into `out`; the free-space minimum is off, so how full this machine's disk is
/// does not decide the test (`faults.rs` tests the refusal on a full tmpfs).
fn watch_cmd(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "watch",
        "--min-free-percent",
        "0",
        "--no-nice",
        "--no-kubelet",
        "--node-name",
        "w",
        "-o",
    ])
    .arg(out)
    .arg("--host-root")
    .arg(host("v1-cgroupfs-docker"))
    .args(extra);
    c
}

fn wait_for_archives(dir: &Path, n: usize, limit: Duration) {
    let t = Instant::now();
    while archives(dir).len() < n {
        assert!(
            t.elapsed() < limit,
            "only {} archives after {limit:?}",
            archives(dir).len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn count_5_keep_3_leaves_exactly_3_complete_archives() {
    let out = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let o = watch_cmd(
        out.path(),
        &[
            "--interval",
            "1s",
            "--count",
            "5",
            "--keep",
            "3",
            "--kernel-log",
            "none",
        ],
    )
    .output()
    .unwrap();
    let took = t.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let printed: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    assert_eq!(printed.len(), 5, "one path per snapshot");
    let a = archives(out.path());
    assert_eq!(a.len(), 3);
    for p in &a {
        manifest(&entries(p));
    }
    // The three kept are the three newest printed.
    let kept: Vec<String> = printed[2..].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        a.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>(),
        kept
    );
    assert_eq!(
        names(out.path()).len(),
        3,
        "no stray files: {:?}",
        names(out.path())
    );
    // 5 slots at 0..4 s: never sooner (the slots are waited for); the ceiling only
    // catches a run that lost its schedule, generous for a loaded machine.
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(120),
        "{took:?}"
    );
}

#[test]
fn sigterm_mid_run_exits_promptly_leaving_only_complete_archives() {
    let out = tempfile::tempdir().unwrap();
    let mut child = watch_cmd(
        out.path(),
        &[
            "--interval",
            "1s",
            "--duration",
            "60s",
            "--kernel-log",
            "none",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_archives(out.path(), 2, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let took = t.elapsed();
    // The run had most of its 60 s left: exiting well before that, with the message,
    // is the signal's doing (the ceiling is generous for a loaded machine).
    assert!(took < Duration::from_secs(20), "took {took:?} to exit");
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stopped by signal"), "{err}");
    let n = names(out.path());
    assert!(
        n.iter().all(|f| f.ends_with(".tar.gz")),
        "stray files: {n:?}"
    );
    for p in archives(out.path()) {
        manifest(&entries(&p));
    }
}

#[test]
fn kernel_line_between_snapshots_lands_in_exactly_one() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("kern.log");
    std::fs::copy(host("kernel.log"), &log).unwrap();
    let snaps = out.path().join("snaps");
    let mut child = watch_cmd(
        &snaps,
        &[
            "--interval",
            "1s",
            "--count",
            "3",
            "--kernel-log",
            log.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    wait_for_archives(&snaps, 1, Duration::from_secs(60));
    let line = "Nov 28 05:00:00 node-v2 kernel: Memory cgroup out of memory: Killed process 777 (between) total-vm:1kB";
    writeln!(
        std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
        "{line}"
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let a = archives(&snaps);
    assert_eq!(a.len(), 3);
    let hits: Vec<usize> = a
        .iter()
        .map(|p| {
            let es = entries(p);
            String::from_utf8_lossy(entry(&es, "kernel/syslog.log").unwrap())
                .matches("777 (between)")
                .count()
        })
        .collect();
    assert_eq!(hits.iter().sum::<usize>(), 1, "per archive: {hits:?}");
    assert_eq!(hits[0], 0);
    // The original OOM block is in the first snapshot only; the kill line written in
    // between counts as one where it landed.
    let blocks: Vec<u64> = a
        .iter()
        .map(|p| manifest(&entries(p)).kernel_log.unwrap().oom_blocks)
        .collect();
    assert_eq!(blocks, [1, hits[1] as u64, hits[2] as u64]);
}
