//! The journal path of the kernel log (auto mode picks it when the journal holds kernel
//! messages), against a stand-in `journalctl` on PATH that answers like the real one
//! (`short-iso-precise` lines, `-- cursor:` trailer) and records the arguments it got.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;
use podmem_schema::snapshot::Status;

const FAKE: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_JOURNAL_DIR/args.log"
case " $* " in
  *" -n 1 "*) echo "kernel: Linux version 6.1.0"; exit 0 ;;
  *" -u kubelet "*) cat "$FAKE_JOURNAL_DIR/units.txt"; exit 0 ;;
  *"--after-cursor=c1"*) cat "$FAKE_JOURNAL_DIR/new.txt"; echo "-- cursor: c2"; exit 0 ;;
  *"--after-cursor=c2"*) exit 0 ;;
  *) cat "$FAKE_JOURNAL_DIR/first.txt"; echo "-- cursor: c1"; exit 0 ;;
esac
"#;

fn setup(dir: &Path) {
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let j = bin_dir.join("journalctl");
    std::fs::write(&j, FAKE).unwrap();
    std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.join("first.txt"),
        "2026-11-28T04:10:01.000001+00:00 node kernel: eth0: link up\n\
         2026-11-28T04:10:02.000001+00:00 node kernel: java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=985\n\
         2026-11-28T04:10:02.000002+00:00 node kernel: memory: usage 4194304kB, limit 4194304kB, failcnt 812\n\
         2026-11-28T04:10:02.000003+00:00 node kernel: Memory cgroup out of memory: Killed process 3001 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("new.txt"),
        "2026-11-28T04:20:00.000001+00:00 node kernel: Memory cgroup out of memory: Killed process 3100 (java2) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("units.txt"),
        "2026-11-28T04:10:03.000000+00:00 node kubelet[901]: \"Container was OOMKilled\" pod=\"shop/cache-0\"\n\
         2026-11-28T04:10:04.000000+00:00 node kubelet[901]: Successfully pulled image\n\
         2026-11-28T04:10:05.000000+00:00 node containerd[700]: TaskOOM event container_id:\"abc\"\n",
    )
    .unwrap();
}

fn run(dir: &Path, out: &Path) -> (std::process::Output, std::path::PathBuf) {
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--node-name",
            "j",
            "-o",
        ])
        .arg(out)
        .arg("--host-root")
        .arg(host("v2-systemd-containerd"))
        .env("PATH", path)
        .env("FAKE_JOURNAL_DIR", dir)
        .output()
        .unwrap();
    let p = String::from_utf8_lossy(&o.stdout).trim().into();
    (o, p)
}

#[test]
fn journal_is_read_by_cursor_with_node_events() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    let out = d.path().join("out");
    let (o, first) = run(d.path(), &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let es = entries(&first);
    let m = manifest(&es);
    let k = m.kernel_log.clone().unwrap();
    assert_eq!(
        (k.source.as_str(), k.entry.as_str(), k.next.as_deref()),
        ("journal", "kernel/journal.log", Some("c1"))
    );
    assert!(k.since.is_some());
    assert_eq!((k.records_read, k.oom_blocks), (4, 1));
    let kept = String::from_utf8(entry(&es, "kernel/journal.log").unwrap().to_vec()).unwrap();
    assert_eq!(kept.lines().count(), 3, "{kept}");
    assert!(!kept.contains("link up") && !kept.contains("-- cursor"));
    let ev = String::from_utf8(entry(&es, "kernel/node-events.log").unwrap().to_vec()).unwrap();
    assert_eq!(ev.lines().count(), 2, "{ev}");
    assert!(ev.contains("OOMKilled") && ev.contains("TaskOOM") && !ev.contains("pulled image"));
    let ne = m.sources.iter().find(|s| s.name == "node-events").unwrap();
    assert_eq!(ne.status, Status::Ok);

    let (o, second) = run(d.path(), &out);
    assert_eq!(o.status.code(), Some(0));
    let es2 = entries(&second);
    let k2 = manifest(&es2).kernel_log.unwrap();
    // The lone kill line is an OOM report of its own.
    assert_eq!(
        (k2.next.as_deref(), k2.since, k2.oom_blocks),
        (Some("c2"), None, 1)
    );
    let kept2 = String::from_utf8(entry(&es2, "kernel/journal.log").unwrap().to_vec()).unwrap();
    assert!(
        kept2.contains("3100 (java2)") && !kept2.contains("3001"),
        "{kept2}"
    );

    // Nothing new: the cursor stays, nothing is repeated.
    let (_, third) = run(d.path(), &out);
    let es3 = entries(&third);
    assert_eq!(
        manifest(&es3).kernel_log.unwrap().next.as_deref(),
        Some("c2")
    );
    assert!(entry(&es3, "kernel/journal.log").unwrap().is_empty());

    let args = std::fs::read_to_string(d.path().join("args.log")).unwrap();
    let kernel_calls: Vec<&str> = args
        .lines()
        .filter(|l| l.contains("--show-cursor"))
        .collect();
    assert_eq!(kernel_calls.len(), 3);
    assert!(kernel_calls[0].contains("_TRANSPORT=kernel") && kernel_calls[0].contains("--since=@"));
    assert!(kernel_calls[1].contains("--after-cursor=c1"));
    assert!(
        kernel_calls.iter().all(|l| l.contains("--root")),
        "host root passed to journalctl: {args}"
    );
}
