//! The journal path of the kernel log against real journals: journal files written by
//! systemd's own `systemd-journal-remote` from export-format entries (kernel-transport
//! OOM blocks from the real samples in `fixtures/realworld/oom_logs`, kubelet and
//! containerd lines quoted from public bug reports), placed under a host root's
//! `var/log/journal/<machine-id>/`, and read by the collector through the real
//! `journalctl --root`. Covers cursor continuation across snapshots, a rotated journal,
//! and corrupted journal files.
//!
//! Needs `journalctl` and `systemd-journal-remote` (Debian packages systemd and
//! systemd-journal-remote): reported as ignored without them (`Need::Journal`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use podmem_analyzer::{analyze, load::Limits};
use podmem_schema::oom::OomScope;
use podmem_schema::snapshot::Status;
use podmem_testkit::archive::{entries, entry, manifest};
use podmem_testkit::samples::host;

const MACHINE_ID: &str = "5eed0000c0de40008000000000000a01";
/// Boot time of the journal's one boot (microseconds since the epoch), for monotonic times.
const BOOTED_AT_USEC: u64 = 1_700_000_000_000_000;
const BOOT_ID: &str = "b0070000c0de40008000000000000001";

/// The samples the kernel entries come from, under fixtures/ (realworld/SOURCES.md and
/// vm/README.md say where each comes from).
const DEBIAN_61_BLOCK: (&str, Prefix) = (
    "realworld/oom_logs/debian_6.1_arm64_cgroupv2_memcg_oom_complete_timestamps_cut.log",
    Prefix::Kmsg,
);
const AKS_V2: (&str, Prefix) = (
    "realworld/oom_logs/aks_syslog_cgroupv2_oom_group_node_allocatable.log",
    Prefix::Syslog,
);
const CGROUPFS_5X: (&str, Prefix) = (
    "realworld/oom_logs/camptocamp_dmesg_5x_oomkill_cgroupfs_kubepods.log",
    Prefix::Dmesg,
);
/// A complete pod-level OOM block of Debian's 6.1 kernel, recorded in the test VM.
const VM_61_POD_OOM: (&str, Prefix) = (
    "vm/debian-6.1.0-57-cloud-amd64_v1_pod_limit_oom.kmsg.txt",
    Prefix::Kmsg,
);

/// kubelet and containerd journal lines (MESSAGE fields) quoted from public reports:
/// kubernetes/kubernetes#111762, #91914, #92126; containerd/containerd#8893. The first
/// of each pair is about a kill (kept as a node event), the second is not.
const KUBELET_KILL: &str = r#"I1009 00:15:38.394801    2291 kuberuntime_container.go:702] "Killing container with a grace period" pod="kube-system/kube-scheduler-bootstrap-e2e-master" podUID=fdc306cbf97a0dbaee0206928d5441ca containerName="kube-scheduler" containerID="containerd://349bfe54f1da90b8baa3a40b7096ccb05d7caa072ca84555c91153539b871afe" gracePeriod=30"#;
const KUBELET_NOISE: &str = r#"I0608 15:03:03.557867    1517 logs.go:311] Finish parsing log file "/var/lib/docker/containers/57602d1ebd70b498ea832e50c96a22e4591df2bf50b77689f13b924100b1f8de/57602d1ebd70b498ea832e50c96a22e4591df2bf50b77689f13b924100b1f8de-json.log""#;
const CONTAINERD_OOM: &str = r#"time="2023-09-01T19:12:33.012922721Z" level=info msg="TaskOOM event container_id:\"4bcba7fc4369fee4d7d2e6263b58fce52cfc928c6a31cfac4d43c838708991ce\"""#;
const CONTAINERD_NOISE: &str = r#"time="2023-09-01T19:12:34.733787645Z" level=info msg="StopPodSandbox for \"4bcba7fc4369fee4d7d2e6263b58fce52cfc928c6a31cfac4d43c838708991ce\"""#;
const KUBELET_KILL_2: &str = r#"I0608 15:36:12.678326    1517 kuberuntime_container.go:581] Killing container "docker://57602d1ebd70b498ea832e50c96a22e4591df2bf50b77689f13b924100b1f8de" with 10 second grace period"#;
const KUBELET_NOISE_2: &str = r#"I0615 00:03:23.998835  288702 kubelet.go:1911] SyncLoop (REMOVE, "api"): "metrics-server-8f9559cbb-b67qm_kube-system(27ce04fc-48f9-4f39-a805-12f57727d730)""#;

/// `systemd-journal-remote` (the harness checked it is there).
fn tools() -> PathBuf {
    podmem_testkit::journal::remote().expect("checked by Need::Journal")
}

/// How a sample's lines are prefixed.
#[derive(Clone, Copy)]
enum Prefix {
    /// `Mon DD HH:MM:SS host kernel: [ uptime] `; other programs' lines are skipped.
    Syslog,
    /// `[ uptime] ` (dmesg).
    Dmesg,
    /// None: the record text as the kernel wrote it to /dev/kmsg (`\x0a` escapes inside).
    Kmsg,
}

/// The kernel messages of a sample file, as the kernel handed them to the journal:
/// prefixes removed, kmsg escapes undone (journald unescapes what it reads from
/// /dev/kmsg, so a multi-line record is one multi-line MESSAGE).
fn kernel_messages(path: &str, prefix: Prefix) -> Vec<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(path);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let uptime = |l: &str| -> String {
        match l.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((t, rest)) if t.trim().chars().all(|c| c.is_ascii_digit() || c == '.') => {
                rest.to_string()
            }
            _ => l.to_string(),
        }
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match prefix {
            Prefix::Syslog => l.split_once(" kernel: ").map(|(_, m)| uptime(m)),
            Prefix::Dmesg => Some(uptime(l)),
            Prefix::Kmsg => Some(l.replace("\\x0a", "\n")),
        })
        .collect()
}

/// One journal entry in export format.
struct Entry {
    usec: u64,
    fields: Vec<(&'static str, String)>,
}

impl Entry {
    fn kernel(usec: u64, msg: &str) -> Entry {
        Entry {
            usec,
            fields: vec![
                ("_TRANSPORT", "kernel".into()),
                ("SYSLOG_IDENTIFIER", "kernel".into()),
                ("SYSLOG_FACILITY", "0".into()),
                ("PRIORITY", "4".into()),
                ("MESSAGE", msg.into()),
            ],
        }
    }

    fn unit(usec: u64, unit: &str, pid: u32, msg: &str) -> Entry {
        Entry {
            usec,
            fields: vec![
                ("_TRANSPORT", "stdout".into()),
                ("_SYSTEMD_UNIT", format!("{unit}.service")),
                ("SYSLOG_IDENTIFIER", unit.into()),
                ("_PID", pid.to_string()),
                ("PRIORITY", "6".into()),
                ("MESSAGE", msg.into()),
            ],
        }
    }

    fn export(&self, out: &mut Vec<u8>) {
        writeln!(out, "__REALTIME_TIMESTAMP={}", self.usec).unwrap();
        writeln!(out, "__MONOTONIC_TIMESTAMP={}", self.usec - BOOTED_AT_USEC).unwrap();
        writeln!(out, "_BOOT_ID={BOOT_ID}").unwrap();
        writeln!(out, "_MACHINE_ID={MACHINE_ID}").unwrap();
        writeln!(out, "_HOSTNAME=node-j").unwrap();
        for (k, v) in &self.fields {
            if v.contains('\n') {
                // Export format: a field holding a newline is written as its name, a
                // newline, its length (64-bit little endian) and its bytes.
                writeln!(out, "{k}").unwrap();
                out.extend_from_slice(&(v.len() as u64).to_le_bytes());
                out.extend_from_slice(v.as_bytes());
                out.push(b'\n');
            } else {
                writeln!(out, "{k}={v}").unwrap();
            }
        }
        out.push(b'\n');
    }
}

/// A host root (a copy of a fixture node) with a real journal directory.
struct Host {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    journal_dir: PathBuf,
    out: PathBuf,
    remote: PathBuf,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

impl Host {
    fn new(remote: PathBuf) -> Host {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        copy_tree(&host("v2-systemd-containerd"), &root);
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/machine-id"), format!("{MACHINE_ID}\n")).unwrap();
        let journal_dir = root.join("var/log/journal").join(MACHINE_ID);
        std::fs::create_dir_all(&journal_dir).unwrap();
        let out = tmp.path().join("out");
        Host {
            _tmp: tmp,
            root,
            journal_dir,
            out,
            remote,
        }
    }

    /// Appends entries to journal file `name` (created when missing) with
    /// systemd-journal-remote.
    fn write(&self, name: &str, entries: &[Entry]) {
        let mut export = Vec::new();
        for e in entries {
            e.export(&mut export);
        }
        let src = self.journal_dir.join("../../export.tmp");
        std::fs::write(&src, &export).unwrap();
        let o = Command::new(&self.remote)
            .arg(format!(
                "--output={}",
                self.journal_dir.join(name).display()
            ))
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "systemd-journal-remote: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::remove_file(&src).unwrap();
    }

    /// The real journalctl over this root (`args` appended), stdout.
    fn journalctl(&self, args: &[&str]) -> String {
        let o = Command::new("journalctl")
            .arg("--root")
            .arg(&self.root)
            .args(["--no-pager", "-q"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "journalctl {args:?}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    }

    /// One snapshot with the given kernel-log mode, which must exit 0; the archive's
    /// entries.
    fn snapshot(&self, mode: &str) -> (PathBuf, Vec<(String, Vec<u8>)>) {
        self.snapshot_exiting(mode, 0)
    }

    fn snapshot_exiting(&self, mode: &str, code: i32) -> (PathBuf, Vec<(String, Vec<u8>)>) {
        let o = Command::new(podmem_testkit::bins::collector())
            .args([
                "snapshot",
                "--no-nice",
                "--no-kubelet",
                "--node-name",
                "node-j",
                "--kernel-log",
                mode,
            ])
            .arg("-o")
            .arg(&self.out)
            .arg("--host-root")
            .arg(&self.root)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "collector: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        let es = entries(&p);
        (p, es)
    }
}

fn now_usec() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn text(es: &[(String, Vec<u8>)], name: &str) -> String {
    String::from_utf8(entry(es, name).unwrap_or_default().to_vec()).unwrap()
}

/// The MESSAGE parts of kept `short-iso-precise` lines (`<time> <host> <ident>: <msg>`).
fn messages(kept: &str) -> Vec<String> {
    kept.lines()
        .map(|l| {
            let rest = l.splitn(3, ' ').nth(2).unwrap_or("");
            rest.split_once(": ")
                .map(|(_, m)| m.to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// The lines that report a kill, in any kernel's wording.
fn kill_lines(msgs: &[String]) -> Vec<String> {
    msgs.iter()
        .filter(|m| {
            m.starts_with("oom-kill:")
                || m.contains("Killed process")
                || m.contains("Kill process")
                || m.contains("killed as a result of limit")
        })
        .cloned()
        .collect()
}

fn real_journal_cursor_continues_across_snapshots_and_rotation() {
    let h = Host::new(tools());
    let debian = kernel_messages(DEBIAN_61_BLOCK.0, DEBIAN_61_BLOCK.1);
    let aks = kernel_messages(AKS_V2.0, AKS_V2.1);
    let cgroupfs = kernel_messages(CGROUPFS_5X.0, CGROUPFS_5X.1);
    let vm61 = kernel_messages(VM_61_POD_OOM.0, VM_61_POD_OOM.1);
    assert!(debian.len() > 50 && aks.len() == 4 && cgroupfs.len() == 1 && vm61.len() > 3);

    // Batch 1, ten minutes ago: two OOM blocks and four unit lines.
    let mut t = now_usec() - 600_000_000;
    let mut tick = || {
        t += 1_000;
        t
    };
    let mut batch1: Vec<Entry> = debian.iter().map(|m| Entry::kernel(tick(), m)).collect();
    batch1.push(Entry::unit(tick(), "kubelet", 2291, KUBELET_KILL));
    batch1.push(Entry::unit(tick(), "kubelet", 1517, KUBELET_NOISE));
    batch1.extend(aks.iter().map(|m| Entry::kernel(tick(), m)));
    batch1.push(Entry::unit(tick(), "containerd", 1472, CONTAINERD_OOM));
    batch1.push(Entry::unit(tick(), "containerd", 1472, CONTAINERD_NOISE));
    h.write("system.journal", &batch1);

    // auto picks the journal: it holds kernel messages.
    let (snap1, es1) = h.snapshot("auto");
    let k1 = manifest(&es1).kernel_log.expect("kernel_log");
    assert_eq!(k1.source, "journal");
    let real_cursor = |h: &Host| {
        h.journalctl(&["_TRANSPORT=kernel", "-n", "1", "--show-cursor", "-o", "cat"])
            .lines()
            .find_map(|l| l.strip_prefix("-- cursor: ").map(str::to_string))
            .expect("journalctl prints a cursor")
    };
    let cursor1 = real_cursor(&h);
    assert_eq!(
        k1.next.as_deref(),
        Some(cursor1.as_str()),
        "cursor of the last kernel entry"
    );
    assert_eq!(k1.records_read, (debian.len() + aks.len()) as u64);
    let kept1 = messages(&text(&es1, "kernel/journal.log"));
    assert_eq!(
        kill_lines(&kept1),
        kill_lines(&[debian.clone(), aks.clone()].concat()),
        "every kill line of batch 1 kept, once, in order"
    );
    let ev1 = messages(&text(&es1, "kernel/node-events.log"));
    assert_eq!(
        ev1,
        vec![KUBELET_KILL.to_string(), CONTAINERD_OOM.to_string()]
    );
    let ne = manifest(&es1)
        .sources
        .into_iter()
        .find(|s| s.name == "node-events")
        .unwrap();
    assert_eq!(ne.status, Status::Ok);

    // Batch 2, appended to the same file: only it is read next.
    let mut t = now_usec() + 2_000_000;
    let mut tick = || {
        t += 1_000;
        t
    };
    let mut batch2: Vec<Entry> = cgroupfs.iter().map(|m| Entry::kernel(tick(), m)).collect();
    batch2.push(Entry::unit(tick(), "kubelet", 288702, KUBELET_NOISE_2));
    batch2.push(Entry::unit(tick(), "kubelet", 1517, KUBELET_KILL_2));
    h.write("system.journal", &batch2);
    let (snap2, es2) = h.snapshot("journal");
    let k2 = manifest(&es2).kernel_log.unwrap();
    assert_eq!((k2.since, k2.records_read), (None, cgroupfs.len() as u64));
    let cursor2 = real_cursor(&h);
    assert_ne!(cursor2, cursor1);
    assert_eq!(k2.next.as_deref(), Some(cursor2.as_str()));
    assert_eq!(messages(&text(&es2, "kernel/journal.log")), cgroupfs);
    assert_eq!(
        messages(&text(&es2, "kernel/node-events.log")),
        vec![KUBELET_KILL_2.to_string()],
        "only batch 2's kill line: nothing of batch 1 again"
    );

    // Rotation as journald does it: the active file archived under its
    // system@<seqnum id>-<head seqnum>-<head time> name, a new system.journal.
    let seqnum_id = cursor2
        .split(';')
        .find_map(|f| f.strip_prefix("s="))
        .unwrap()
        .to_string();
    let head = batch1[0].usec;
    std::fs::rename(
        h.journal_dir.join("system.journal"),
        h.journal_dir
            .join(format!("system@{seqnum_id}-{:016x}-{head:016x}.journal", 1)),
    )
    .unwrap();
    let mut t = now_usec() + 4_000_000;
    let batch3: Vec<Entry> = vm61
        .iter()
        .map(|m| {
            t += 1_000;
            Entry::kernel(t, m)
        })
        .collect();
    h.write("system.journal", &batch3);
    assert_eq!(
        std::fs::read_dir(&h.journal_dir).unwrap().count(),
        2,
        "an archived and an active journal file"
    );
    let (snap3, es3) = h.snapshot("journal");
    let k3 = manifest(&es3).kernel_log.unwrap();
    let cursor3 = real_cursor(&h);
    assert!(
        !cursor3.contains(&seqnum_id),
        "the new file has its own sequence"
    );
    assert_eq!(k3.next.as_deref(), Some(cursor3.as_str()));
    // journalctl prints a multi-line MESSAGE as indented continuation lines.
    let real3 = h.journalctl(&[
        "_TRANSPORT=kernel",
        "-o",
        "short-iso-precise",
        &format!("--after-cursor={cursor2}"),
    ]);
    assert_eq!(k3.records_read, real3.lines().count() as u64);
    assert!(real3.lines().count() > vm61.len(), "{real3}");
    assert_eq!(
        kill_lines(&messages(&text(&es3, "kernel/journal.log"))),
        kill_lines(&vm61)
    );

    // Nothing new: nothing read, the cursor stays.
    let (_, es4) = h.snapshot("journal");
    let k4 = manifest(&es4).kernel_log.unwrap();
    assert_eq!(
        (k4.next.as_deref(), k4.records_read),
        (Some(cursor3.as_str()), 0)
    );
    assert!(text(&es4, "kernel/journal.log").is_empty());

    // The analyzer over the four archives: each sample's kill counted as often as in
    // its own snapshot alone (no line read twice), the AKS one classified from its
    // oom_memcg (the node-allocatable kubepods.slice) with its pod and container.
    let report = analyze(
        std::slice::from_ref(&h.out),
        &Limits::default(),
        jiff::Timestamp::now(),
    );
    let alone = |p: &Path| {
        analyze(
            &[p.to_path_buf()],
            &Limits::default(),
            jiff::Timestamp::now(),
        )
        .oom_events
    };
    let (e1, e2, e3) = (alone(&snap1), alone(&snap2), alone(&snap3));
    assert!(!e1.is_empty() && !e2.is_empty() && !e3.is_empty());
    assert_eq!(
        report.oom_events.len(),
        e1.len() + e2.len() + e3.len(),
        "{:#?}",
        report.oom_events
    );
    let aks_kill = report
        .oom_events
        .iter()
        .find(|e| e.pid == Some(68061))
        .unwrap_or_else(|| panic!("AKS kill missing: {:#?}", report.oom_events));
    assert_eq!(aks_kill.scope, OomScope::Kubepods);
    assert_eq!(
        aks_kill.pod_uid.as_deref(),
        Some("10d16a28-60ff-475f-a631-510d9792219f")
    );
    assert_eq!(
        aks_kill.container_id.as_deref(),
        Some("178ec18073cc6ac7be2de8d9869daf162a6349dd056b6535849112c53ec3102a")
    );
    assert!(
        report
            .oom_events
            .iter()
            .any(|e| e.pod_uid.as_deref() == Some("792adfde-d139-4c9c-a89e-ae94f36ea69d")),
        "the cgroupfs kill of batch 2: {:#?}",
        report.oom_events
    );
    // The VM's block, read back through the journal: the pod limit, 100 MiB.
    let vm_kill = report
        .oom_events
        .iter()
        .find(|e| e.pod_uid.as_deref() == Some("5eed0001-0000-4000-8000-00000000c0de"))
        .unwrap_or_else(|| panic!("VM kill missing: {:#?}", report.oom_events));
    assert_eq!(vm_kill.scope, OomScope::Pod);
    assert_eq!(
        vm_kill.container_id.as_deref(),
        Some("b".repeat(64).as_str())
    );
    assert_eq!(vm_kill.memcg_limit, Some(100 << 20));
}

fn real_journal_corrupted_files() {
    let h = Host::new(tools());
    let aks = kernel_messages(AKS_V2.0, AKS_V2.1);
    let cgroupfs = kernel_messages(CGROUPFS_5X.0, CGROUPFS_5X.1);
    let vm61 = kernel_messages(VM_61_POD_OOM.0, VM_61_POD_OOM.1);
    let mut t = now_usec() - 600_000_000;
    let mut at = |msgs: &[String]| -> Vec<Entry> {
        msgs.iter()
            .map(|m| {
                t += 1_000;
                Entry::kernel(t, m)
            })
            .collect()
    };
    // Two archived files and an active one: one damaged inside an entry, one with a
    // destroyed header, the active one intact; plus bytes under the name journald gives a
    // file it gave up on (`.journal~`).
    let (b1, b2, b3) = (at(&aks), at(&cgroupfs), at(&vm61));
    h.write(
        "system@0000000000000000000000000000000a-0000000000000001-0000000000000001.journal",
        &b1,
    );
    h.write(
        "system@0000000000000000000000000000000b-0000000000000001-0000000000000002.journal",
        &b2,
    );
    h.write("system.journal", &b3);
    let f1 = h
        .journal_dir
        .join("system@0000000000000000000000000000000a-0000000000000001-0000000000000001.journal");
    let f2 = h
        .journal_dir
        .join("system@0000000000000000000000000000000b-0000000000000001-0000000000000002.journal");
    // Scribble over the data object of the AKS "Tasks in ..." line.
    let mut b = std::fs::read(&f1).unwrap();
    let needle = b"are going to be killed due to memory.oom.group set";
    let i = b
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the message is stored uncompressed");
    for x in &mut b[i - 32..i + needle.len()] {
        *x = 0xff;
    }
    std::fs::write(&f1, &b).unwrap();
    let mut b = std::fs::read(&f2).unwrap();
    b[..64].fill(b'A');
    std::fs::write(&f2, &b).unwrap();
    std::fs::write(
        h.journal_dir.join(
            "system@0000000000000000000000000000000c-0000000000000001-0000000000000003.journal~",
        ),
        (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();

    // What the real journalctl makes of it, and what the collector keeps.
    let real: Vec<String> =
        messages(&h.journalctl(&["_TRANSPORT=kernel", "-o", "short-iso-precise"]));
    // Exit 1: the archive is written, the kernel log marked partial with journalctl's
    // word on the files it skipped.
    let (_, es) = h.snapshot_exiting("journal", 1);
    let kept = messages(&text(&es, "kernel/journal.log"));
    let src = manifest(&es)
        .sources
        .into_iter()
        .find(|s| s.name == "kernel-log")
        .unwrap();
    assert_eq!(src.status, Status::Partial);
    let msg = src.message.unwrap_or_default();
    assert!(
        msg.contains("system@0000000000000000000000000000000b") && msg.contains("corrupted"),
        "{msg}"
    );
    let k = manifest(&es).kernel_log.unwrap();
    eprintln!(
        "corrupted journals: journalctl shows {} kernel lines, collector read {} and kept {}",
        real.len(),
        k.records_read,
        kept.len()
    );
    assert_eq!(k.records_read, real.len() as u64);
    // The intact file is read whole; the damaged entry is gone, the rest of its file
    // still read; the file without a header is skipped.
    assert_eq!(
        kill_lines(&kept)[kill_lines(&kept).len() - kill_lines(&vm61).len()..],
        kill_lines(&vm61)
    );
    assert!(!kept.iter().any(|m| m.contains("memory.oom.group")));
    assert!(kept
        .iter()
        .any(|m| m.starts_with("oom-kill:") && m.contains("10d16a28")));
    assert!(!kept.iter().any(|m| m.contains("792adfde")));
}

podmem_testkit::main! {
    [Need::Journal] => [
        real_journal_cursor_continues_across_snapshots_and_rotation,
        real_journal_corrupted_files,
    ],
}
