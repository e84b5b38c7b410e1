//! The analyzer's promises about archives and logs from strangers (issue 13,
//! `docs/security.md`): inputs that would hang or balloon are refused or read with a
//! bound (memory measured on the real binary), every refusal names its real reason,
//! and nothing from an input reaches a terminal raw.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use podmem_analyzer::{analyze, load::Limits};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("podmem-analyzer")
}

/// Runs the analyzer with `args`, feeding `stdin` from `feed` on another thread; returns
/// (exit code, stdout, stderr, peak RSS in KiB of that child alone, via wait4).
fn run_measured(
    args: &[&str],
    feed: Option<Box<dyn FnOnce(std::process::ChildStdin) + Send>>,
    timeout: Duration,
) -> (i32, Vec<u8>, Vec<u8>, u64) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let feeder = feed.map(|f| {
        let stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || f(stdin))
    });
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut v).unwrap();
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut v).unwrap();
        v
    });
    let pid = child.id() as libc::pid_t;
    let killer = std::thread::spawn(move || {
        let t = std::time::Instant::now();
        while t.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(100));
            // SAFETY: signal 0 only probes the pid.
            if unsafe { libc::kill(pid, 0) } != 0 {
                return false;
            }
        }
        // SAFETY: our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        true
    });
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child and fills `ru` with its own usage.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid);
    std::mem::forget(child);
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let timed_out = killer.join().unwrap();
    assert!(!timed_out, "{args:?}: still running after {timeout:?}");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (
        code,
        out.join().unwrap(),
        err.join().unwrap(),
        ru.ru_maxrss as u64,
    )
}

/// Hole 8: `report some.fifo` waited forever for a writer.
#[test]
fn fifo_and_device_inputs_are_refused_not_waited_on() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("in.tar.gz");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let good = healthy("good-node", 1)[0].write(d.path());
    let (code, _, err, _) = run_measured(
        &[
            "report",
            fifo.to_str().unwrap(),
            "/dev/zero",
            good.to_str().unwrap(),
        ],
        None,
        Duration::from_secs(60),
    );
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a FIFO") && err.contains("refused"), "{err}");
    assert!(err.contains("a character device"), "{err}");
}

/// One OOM report of a cgroup v2 kernel, numbered so that each is a distinct kill.
fn oom_block(i: u64) -> String {
    let t = 1000.0 + i as f64;
    format!(
        "[{t:.6}] java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=936\n\
         [{t:.6}] memory: usage 102400kB, limit 102400kB, failcnt {i}\n\
         [{t:.6}] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod{POD_UID},task_memcg=/kubepods/burstable/pod{POD_UID}/{A_ID},task=java,pid={pid},uid=0\n\
         [{t:.6}] Memory cgroup out of memory: Killed process {pid} (java) total-vm:4000000kB, anon-rss:90000kB, file-rss:100kB, shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:936\n",
        pid = 100_000 + i
    )
}

/// Hole 8: `ooms` held the whole log (1.44 GB for a 1 GiB log, 1 GB for /dev/zero).
/// Now it streams: peak memory stays flat whatever the log's length or shape.
#[test]
fn ooms_memory_does_not_follow_the_input() {
    // /dev/zero: one endless line; read up to the 512 MiB cap with lines cut.
    let (code, _, err, zero_kib) =
        run_measured(&["ooms", "/dev/zero"], None, Duration::from_secs(300));
    let err = String::from_utf8_lossy(&err);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("longer than 512.0 MiB"), "{err}");
    // 128 MiB of ordinary kernel noise with an OOM report every 32 MiB, on stdin.
    let feed = Box::new(|mut w: std::process::ChildStdin| {
        let noise: String = (0..1000)
            .map(|i| {
                format!(
                    "[{i}.000000] eth0: link is up, 1000 Mbps full duplex, flow control rx/tx\n"
                )
            })
            .collect();
        let mut written = 0u64;
        let mut block = 0;
        while written < 128 << 20 {
            if written >> 25 != (written + noise.len() as u64) >> 25 {
                let _ = w.write_all(oom_block(block).as_bytes());
                block += 1;
            }
            if w.write_all(noise.as_bytes()).is_err() {
                return;
            }
            written += noise.len() as u64;
        }
    });
    let (code, out, err, noise_kib) = run_measured(
        &["ooms", "-", "--format", "json"],
        Some(feed),
        Duration::from_secs(300),
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(events.len(), 4, "one kill per 32 MiB");
    eprintln!("ooms peak RSS: /dev/zero {zero_kib} KiB, 128 MiB log {noise_kib} KiB");
    // Generous: the run holds 64 KiB lines and a few OOM reports, not the input.
    assert!(zero_kib < 64 << 10, "/dev/zero: {zero_kib} KiB");
    assert!(noise_kib < 64 << 10, "128 MiB log: {noise_kib} KiB");
}

/// Hole 9: a manifest over the entry cap was reported as "no manifest.json".
#[test]
fn oversized_manifest_is_named_as_such() {
    let d = tempfile::tempdir().unwrap();
    let mut s = healthy("big-manifest", 1)[0].clone();
    let mut m: serde_json::Value = serde_json::from_str(&s.manifest_json()).unwrap();
    m["padding"] = serde_json::Value::String("x".repeat(2 << 20));
    s.manifest_override = Some(m.to_string());
    let p = s.write(d.path());
    let limits = Limits {
        max_entry_bytes: 1 << 20,
        ..Limits::default()
    };
    let r = analyze(&[p], &limits, jiff::Timestamp::UNIX_EPOCH);
    let problems = &r.inputs[0].problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("manifest.json") && p.contains("per-entry cap")),
        "{problems:#?}"
    );
    assert!(!problems.iter().any(|p| p.contains("no manifest.json")));
}

/// Hole 9: a bundle whose members are plain `.tar` files (a bundle of bundles) was
/// ignored without a word.
#[test]
fn nested_tar_in_a_bundle_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let snap = healthy("inner", 1)[0].write(d.path());
    let inner = tar_of(&[(
        "snapshots/inner.tar.gz".to_string(),
        std::fs::read(&snap).unwrap(),
    )]);
    let outer = d.path().join("outer.tar");
    std::fs::write(&outer, tar_of(&[("node-a.tar".to_string(), inner)])).unwrap();
    let r = analyze(&[outer], &Limits::default(), jiff::Timestamp::UNIX_EPOCH);
    let problems = &r.inputs[0].problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("node-a.tar") && p.contains("not read")),
        "{problems:#?}"
    );
}
