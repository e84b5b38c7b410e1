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

/// The analyzer under test (`PODMEM_ANALYZER_BIN` names another, such as a release
/// build for the numbers in docs/security.md).
fn bin() -> PathBuf {
    std::env::var_os("PODMEM_ANALYZER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("podmem-analyzer"))
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
/// ignored without a word; it is now read, one level down (issue 16).
#[test]
fn nested_tar_in_a_bundle_is_read() {
    let d = tempfile::tempdir().unwrap();
    let snap = healthy("inner", 1)[0].write(d.path());
    let inner = tar_of(&[(
        "snapshots/inner.tar.gz".to_string(),
        std::fs::read(&snap).unwrap(),
    )]);
    let outer = d.path().join("outer.tar");
    std::fs::write(&outer, tar_of(&[("node-a.tar".to_string(), inner)])).unwrap();
    let r = analyze(&[outer], &Limits::default(), jiff::Timestamp::UNIX_EPOCH);
    assert_eq!(r.inputs[0].snapshots, 1, "{:#?}", r.inputs);
    assert_eq!(r.inputs[0].status, "ok", "{:#?}", r.inputs);
    assert!(r.nodes.iter().any(|n| n.name == "inner"));
}

/// Hole 4: snapshots of thousands of distinct OOM reports each took memory and HTML in
/// proportion (4 GB for 30 snapshots of 9,000). The caps keep the newest per snapshot
/// and per report, count the rest and say so in JSON, text and HTML; peak memory stays
/// under a ceiling set by the caps. `PODMEM_FLOOD=SNAPSHOTSxBLOCKS` scales the flood
/// (the default is small enough for a debug build).
#[test]
fn oom_floods_are_capped_counted_and_said() {
    let (n_snaps, blocks) = std::env::var("PODMEM_FLOOD")
        .ok()
        .and_then(|v| {
            let (a, b) = v.split_once('x')?;
            Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?))
        })
        .unwrap_or((6, 3000));
    let d = tempfile::tempdir().unwrap();
    for k in 0..n_snaps {
        let at = jiff::Timestamp::from_second(1_795_000_000 + 3600 * k as i64 + 3600)
            .unwrap()
            .to_string();
        let mut s = healthy("flood-node", 1)[0].clone();
        s.at = at;
        let log: String = (0..blocks).map(|i| oom_block(k * blocks + i)).collect();
        s.kernel = vec![("kernel/syslog.log".to_string(), log)];
        s.write(d.path());
    }
    let dir = d.path().to_str().unwrap().to_string();
    let mut sizes = Vec::new();
    for fmt in ["json", "text", "html"] {
        let out = d.path().join(format!("report.{fmt}"));
        let (code, _, err, kib) = run_measured(
            &["report", &dir, "--format", fmt, "-o", out.to_str().unwrap()],
            None,
            Duration::from_secs(900),
        );
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
        let bytes = std::fs::read(&out).unwrap();
        eprintln!(
            "flood {n_snaps}x{blocks}: {fmt} peak RSS {} MiB, output {} KiB",
            kib / 1024,
            bytes.len() / 1024
        );
        sizes.push((fmt, kib, bytes));
    }
    let per_snap = podmem_analyzer::ooms::MAX_OOMS_PER_SNAPSHOT as u64;
    let per_report = podmem_analyzer::ooms::MAX_OOMS_PER_REPORT as u64;
    let kept_before_report = n_snaps * blocks.min(per_snap);
    let json: serde_json::Value = serde_json::from_slice(&sizes[0].2).unwrap();
    let events = json["oom_events"].as_array().unwrap().len() as u64;
    assert_eq!(events, kept_before_report.min(per_report));
    let om = &json["oom_events_omitted"];
    assert_eq!(
        om["per_snapshot"],
        n_snaps * blocks.saturating_sub(per_snap)
    );
    assert_eq!(
        om["per_report"],
        kept_before_report.saturating_sub(per_report)
    );
    // The newest are kept: the last kill of the flood is there.
    let last_pid = 100_000 + n_snaps * blocks - 1;
    assert!(json["oom_events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["pid"] == last_pid));
    let text = String::from_utf8_lossy(&sizes[1].2);
    assert!(text.contains("OOM event(s) not shown"), "text says nothing");
    let html = String::from_utf8_lossy(&sizes[2].2);
    assert!(html.contains("OOM event(s) not shown"), "HTML says nothing");
    for (fmt, kib, bytes) in &sizes {
        // Ceilings from the caps, not the input: 1,000 events of a few KiB each and
        // two snapshot parses in flight (debug build).
        assert!(*kib < 300 << 10, "{fmt}: peak RSS {kib} KiB");
        assert!(bytes.len() < 16 << 20, "{fmt}: {} bytes", bytes.len());
    }
}

/// Bytes that must never reach a terminal raw: ESC, BEL, CSI (C1, UTF-8 `c2 9b`), and
/// the bidi controls that reorder what is displayed.
fn raw_unsafe(b: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(b);
    s.chars()
        .find(|c| {
            matches!(*c, '\u{1b}' | '\u{7}' | '\u{9b}')
                || podmem_schema::display::is_bidi_control(*c)
        })
        .map(|c| format!("U+{:04X}", c as u32))
}

/// Hole 5: an archive entry named `cgroup/../ESC]0;PWNED BEL ESC[2J ...` retitled the
/// terminal, cleared it and could write its clipboard through the problem lines. Every
/// name from crafted archives (entry names, archive file names, node, pod and container
/// names, kernel text) now reaches stderr and the text report escaped, and the HTML
/// report shows bidi overrides marked.
#[test]
fn every_printed_name_goes_through_the_escaper() {
    let d = tempfile::tempdir().unwrap();
    let evil =
        "\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}31m\u{202e}gpj.exe\u{2066}";
    // An entry name that climbs out, with escapes.
    let mut a = story(true)[2].clone();
    a.node = format!("node{evil}");
    a.extra.push((
        "logs/pods.txt".to_string(),
        format!("shop{evil}_java{evil}-0_{POD_UID}/app{evil}/0.log\n").into_bytes(),
    ));
    a.kernel[0].1 = a.kernel[0].1.replace("java", &format!("java{evil}"));
    // The tar crate refuses to write `..`: the crafted entry is a raw header appended
    // before the end-of-archive blocks.
    let mut tar = tar_of(&a.entries());
    tar.truncate(tar.len() - 1024);
    let name = format!("cgroup/../{evil}");
    let mut h = tar::Header::new_old();
    h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    tar.extend_from_slice(h.as_bytes());
    tar.extend_from_slice(b"x");
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    std::fs::write(d.path().join("crafted.tar.gz"), gzip(&tar)).unwrap();
    // An archive whose file name holds escapes and whose content is junk.
    std::fs::write(d.path().join(format!("junk{evil}.tar.gz")), b"\x1f\x8bjunk").unwrap();
    // A manifest that is not JSON, quoting escapes back in its error.
    let mut b = healthy("other-node", 1)[0].clone();
    b.manifest_override = Some(format!("{{\"format\": \"{evil}\"}}"));
    b.write(d.path());
    let dir = d.path().to_str().unwrap();
    for fmt in ["text", "json", "html"] {
        let o = Command::new(bin())
            .args(["report", dir, "--format", fmt])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{fmt}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("PWNED"),
            "{fmt}: the crafted names were not reported: {err}"
        );
        assert_eq!(raw_unsafe(&o.stderr), None, "{fmt}: stderr: {err}");
        if fmt != "json" {
            assert_eq!(raw_unsafe(&o.stdout), None, "{fmt}: stdout");
        }
    }
    let o = Command::new(bin())
        .args(["report", dir, "--format", "text"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\\u{202e}gpj.exe"),
        "the override is not shown escaped"
    );
    let o = Command::new(bin())
        .args(["report", dir, "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&o.stdout);
    assert!(
        html.contains("⟦U+202E⟧gpj.exe"),
        "the override is not marked in HTML"
    );
    // `ooms` prints kernel text and file names too.
    let log = d.path().join(format!("k{evil}.log"));
    std::fs::write(&log, oom_block(1).replace("java", &format!("java{evil}"))).unwrap();
    for fmt in ["text", "json"] {
        let o = Command::new(bin())
            .args(["ooms", "--format", fmt])
            .arg(&log)
            .arg(d.path().join(format!("missing{evil}")))
            .output()
            .unwrap();
        assert_eq!(raw_unsafe(&o.stderr), None, "ooms {fmt}: stderr");
        if fmt == "text" {
            assert_eq!(raw_unsafe(&o.stdout), None, "ooms text: stdout");
        }
    }
}
