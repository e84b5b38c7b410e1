//! Privacy: what a snapshot must never hold, and `--redact`.
//!
//! - The kubelet bearer token and the environment (of the collector and of the node's
//!   processes), command lines beyond `comm`, and file contents never reach the archive
//!   (decompressed, headers included), stdout or stderr. The token is shown to have been
//!   sent, so its absence means something.
//! - `--redact KEYFILE`: pod, namespace, container, volume, node and host names are
//!   keyed hashes everywhere, the same under the same key across snapshots (and
//!   `watch`), different under another key; the originals appear nowhere in the archive
//!   and only in the mapping file next to the key; the analyzer reports the hashes.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use podmem_schema::snapshot::{Manifest, Status, TmpfsUsage};
use podmem_testkit::fake_kubelet::{Answer, FakeKubelet};

const TOKEN_MARK: &str = "tok-PRIVACY-7f3a9c1e5b";
const ENV_MARK: &str = "env-PRIVACY-2d8e4b6a0c";
const ARGV_MARK: &str = "argv-PRIVACY-9a1c3e5f7b";
const FILE_MARK: &str = "file-PRIVACY-4b6d8f0a2c";
const PASS_MARK: &str = "pass-PRIVACY-8c0e2a4b6d";

/// The whole archive decompressed: tar headers (entry names) and every entry's bytes.
fn raw_tar(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Panics naming where `mark` was found: the archive (and which entry), stdout, stderr.
fn assert_absent(mark: &str, archive: &Path, o: &Output) {
    let raw = raw_tar(archive);
    if contains(&raw, mark) {
        let hits: Vec<String> = entries(archive)
            .into_iter()
            .filter(|(_, d)| contains(d, mark))
            .map(|(n, _)| n)
            .collect();
        panic!("{mark} found in {} (entries {hits:?})", archive.display());
    }
    assert!(!contains(&o.stdout, mark), "{mark} on stdout");
    assert!(
        !contains(&o.stderr, mark),
        "{mark} on stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn source<'a>(m: &'a Manifest, name: &str) -> &'a podmem_schema::snapshot::SourceStatus {
    m.sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no {name} source in {:?}", m.sources))
}

fn collector(out: &Path, host_root: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(["snapshot", "--no-nice", "-o"])
        .arg(out)
        .arg("--host-root")
        .arg(host_root)
        .args(extra)
        .env_remove("NODE_NAME");
    c
}

fn archive_of(o: &Output) -> PathBuf {
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    assert!(
        p.is_file(),
        "no archive on stdout (exit {:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    p
}

fn token_and_environment_never_reach_the_archive_or_the_output() {
    let d = tempfile::tempdir().unwrap();
    let token = d.path().join("token");
    std::fs::write(&token, format!("{TOKEN_MARK}\n")).unwrap();
    let summary = std::fs::read(host("kubelet-summary.json")).unwrap();
    let cases: [(&str, Answer, Status); 3] = [
        ("ok", Answer::Reply("200 OK", summary), Status::Ok),
        // A kubelet (or a proxy) that echoes the request, token included, in an
        // error page or a garbage body: neither body is ever kept or quoted.
        (
            "401",
            Answer::Reply(
                "401 Unauthorized",
                format!("Unauthorized: Bearer {TOKEN_MARK}").into_bytes(),
            ),
            Status::Error,
        ),
        (
            "echo",
            Answer::Reply(
                "200 OK",
                format!("<html>Authorization: Bearer {TOKEN_MARK}</html>").into_bytes(),
            ),
            Status::Error,
        ),
    ];
    for (name, answer, want) in cases {
        let k = FakeKubelet::start(answer);
        // Credentials in the URL itself are used but never recorded.
        let url = k
            .url
            .replace("http://", &format!("http://podmem:{PASS_MARK}@"));
        let o = collector(
            &d.path().join(name),
            &host("v2-systemd-containerd"),
            &["--kernel-log", "none", "--node-name", "priv"],
        )
        .arg("--kubelet")
        .arg(&url)
        .arg("--kubelet-token-file")
        .arg(&token)
        .env("PODMEM_PRIVACY_MARK", ENV_MARK)
        .env("KUBELET_TOKEN", TOKEN_MARK)
        .output()
        .unwrap();
        let heads = k.heads().join("\n---\n");
        assert!(
            heads.contains(&format!("Bearer {TOKEN_MARK}")),
            "{name}: the token was not even sent, so the test proves nothing: {heads}"
        );
        let a = archive_of(&o);
        let m = manifest(&entries(&a));
        let s = source(&m, "kubelet-summary");
        assert_eq!(s.status, want, "{name}: {s:?}");
        for mark in [TOKEN_MARK, ENV_MARK, PASS_MARK] {
            assert_absent(mark, &a, &o);
        }
        assert_eq!(
            m.options.get("kubelet").map(String::as_str),
            Some(k.url.as_str())
        );
        eprintln!("{name}: kubelet-summary {:?}: {:?}", s.status, s.message);
    }
}

fn real_host_processes_env_cmdline_and_file_contents_stay_out() {
    let own = &podmem_testkit::kernel::own().dir;
    let mut g = podmem_testkit::kernel::Guard::default();
    let d = tempfile::tempdir().unwrap();
    // A node-shaped tree under our own memory cgroup, a real tmpfs emptyDir holding a
    // secret file, and a process in the container cgroup whose argv and environment
    // hold secrets.
    let uid = "7e57c0de-0000-4000-8000-00000000beef";
    let cid = format!("{:064x}", 0xbeef_u64);
    let top = g.mkcg(own.join(format!("podmem-privacy-{}", std::process::id())));
    let kp = g.mkcg(top.join("kubepods"));
    let bu = g.mkcg(kp.join("burstable"));
    let pod = g.mkcg(bu.join(format!("pod{uid}")));
    let ctr = g.mkcg(pod.join(&cid));
    let vol = d.path().join(format!(
        "kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/secret-vol"
    ));
    g.mount_tmpfs(&vol, "size=4m");
    std::fs::write(vol.join("data"), format!("{FILE_MARK}\n").repeat(4096)).unwrap();
    let pid = g.spawn(
        Some(&ctr),
        "true",
        &[ARGV_MARK],
        &[("PODMEM_PRIVACY_MARK", ENV_MARK)],
    );
    let key = d.path().join("redact.key");
    for (name, redact) in [("plain", false), ("redacted", true)] {
        let out = d.path().join(name);
        let mut c = Command::new(bin());
        c.args([
            "snapshot",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "kmsg",
            "--node-name",
            "privacy-node",
            "-o",
        ])
        .arg(&out)
        .arg("--cgroup-root")
        .arg(&top)
        .env("PODMEM_PRIVACY_MARK", ENV_MARK);
        if redact {
            c.arg("--redact").arg(&key);
        }
        let o = c.output().unwrap();
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let a = archive_of(&o);
        let es = entries(&a);
        let m = manifest(&es);
        // The places that could leak were visited: the process's cgroup, the tmpfs.
        let procs = entry(
            &es,
            &format!("cgroup/kubepods/burstable/pod{uid}/{cid}/cgroup.procs"),
        )
        .expect("container cgroup.procs captured");
        assert_eq!(String::from_utf8_lossy(procs).trim(), pid.to_string());
        let tmpfs: Vec<TmpfsUsage> =
            serde_json::from_slice(entry(&es, "tmpfs.json").unwrap()).unwrap();
        let t = tmpfs
            .iter()
            .find(|t| t.pod_uid == uid)
            .unwrap_or_else(|| panic!("{name}: our emptyDir not listed: {tmpfs:?}"));
        assert!(t.used_bytes.unwrap() >= 4096 * 24, "{t:?}");
        for mark in [ENV_MARK, ARGV_MARK, FILE_MARK] {
            assert_absent(mark, &a, &o);
        }
        if redact {
            assert_eq!(m.redacted, Some(true));
            assert!(
                t.volume.starts_with("r-") && t.mount_point.contains(&t.volume),
                "{t:?}"
            );
            for clear in ["secret-vol", "privacy-node"] {
                assert!(
                    !contains(&raw_tar(&a), clear),
                    "{clear} in redacted archive"
                );
            }
        } else {
            assert_eq!((t.volume.as_str(), m.redacted), ("secret-vol", None));
        }
    }
}

/// Names in the fixture tree, summary and journal lines, long and short.
const FIXTURE_NAMES: &[&str] = &[
    "node-v2",
    "cache-7d9f8b6c5-x2x4q",
    "db-0",
    "etcd-node-1",
    "job-29384756-abcde",
    "kube-api-access-abcde",
    "kube-system",
    "shop",
    "batch",
    "sidecar",
    "cache",
    "app",
    "db",
    "etcd",
    "job",
];

/// Entries whose content the kernel generates (numbers and fixed keys: `cache` is a
/// memory.stat key), where a name cannot appear.
fn kernel_numbers(entry: &str) -> bool {
    entry.starts_with("cgroup/")
        || matches!(
            entry,
            "proc/meminfo" | "proc/vmstat" | "proc/cgroups" | "proc/pressure/memory"
        )
}

/// `name` as a whole word (not inside a longer name or a hash).
fn has_word(hay: &[u8], name: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let n = name.as_bytes();
    hay.windows(n.len()).enumerate().any(|(i, w)| {
        w == n
            && (i == 0 || !word(hay[i - 1]))
            && hay.get(i + n.len()).is_none_or(|&b| !word(b) || b == b'_')
    })
}

const FAKE_JOURNALCTL: &str = r#"#!/bin/sh
case " $* " in
  *" -n 1 "*) echo "kernel: Linux version 6.1.0"; exit 0 ;;
  *" -u kubelet "*) cat "$FAKE_JOURNAL_DIR/units.txt"; exit 0 ;;
  *) cat "$FAKE_JOURNAL_DIR/kernel.txt"; echo "-- cursor: c1"; exit 0 ;;
esac
"#;

/// A stand-in journalctl with kernel OOM lines and kubelet lines naming the fixture's
/// pods, as a node's journal would.
fn fake_journal(dir: &Path) -> String {
    let bin_dir = dir.join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let j = bin_dir.join("journalctl");
    std::fs::write(&j, FAKE_JOURNALCTL).unwrap();
    std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.join("kernel.txt"),
        "2026-11-28T04:10:02.000001+00:00 node-v2 kernel: java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=985\n\
         2026-11-28T04:10:02.000002+00:00 node-v2 kernel: memory: usage 4194304kB, limit 4194304kB, failcnt 812\n\
         2026-11-28T04:10:02.000003+00:00 node-v2 kernel: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8a2b3c4d_5e6f_4a1b_9c2d_3e4f5a6b7c02.slice,task_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8a2b3c4d_5e6f_4a1b_9c2d_3e4f5a6b7c02.slice/cri-containerd-aa.scope,task=java,pid=3001,uid=0\n\
         2026-11-28T04:10:02.000004+00:00 node-v2 kernel: Memory cgroup out of memory: Killed process 3001 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("units.txt"),
        "2026-11-28T04:10:03.000000+00:00 node-v2 kubelet[901]: I1128 04:10:03.000000 901 kuberuntime_container.go:770] \"Killing container with a grace period\" pod=\"shop/cache-7d9f8b6c5-x2x4q\" podUID=\"8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02\" containerName=\"app\" gracePeriod=30\n\
         2026-11-28T04:10:04.000000+00:00 node-v2 kubelet[901]: I1128 04:10:04.000000 901 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"app\\\" with CrashLoopBackOff\" pod=\"shop/cache-7d9f8b6c5-x2x4q\"\n\
         2026-11-28T04:10:05.000000+00:00 node-v2 kubelet[901]: I1128 04:10:05.000000 901 eviction_manager.go:366] \"Eviction manager: pods ranked for eviction\" pods=[\"batch/job-29384756-abcde\" \"shop/db-0\"]\n\
         2026-11-28T04:10:06.000000+00:00 node-v2 containerd[700]: TaskOOM event container_id:\"abc\" for sidecar of pod cache-7d9f8b6c5-x2x4q\n\
         2026-11-28T04:10:07.000000+00:00 node-v2 kubelet[901]: I1128 04:10:07.000000 901 kubelet.go:2400] \"OOMKilled\" container=&Container{Name:app,Command:[/bin/app --password=env-PRIVACY-2d8e4b6a0c],Env:[{Name:PW Value:env-PRIVACY-2d8e4b6a0c}]}\n",
    )
    .unwrap();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn redacted_snapshot(
    d: &Path,
    out: &str,
    key: &Path,
    path_env: &str,
    node: &str,
) -> (Output, PathBuf) {
    let summary = host("kubelet-summary.json");
    let o = collector(
        &d.join(out),
        &host("v2-systemd-containerd"),
        &["--node-name", node, "--kernel-log", "journal"],
    )
    .arg("--kubelet-summary-file")
    .arg(&summary)
    .arg("--redact")
    .arg(key)
    .env("PATH", path_env)
    .env("FAKE_JOURNAL_DIR", d)
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a = archive_of(&o);
    (o, a)
}

fn redacted_names_are_stable_keyed_and_nowhere_in_clear() {
    let d = tempfile::tempdir().unwrap();
    let path_env = fake_journal(d.path());
    let key = d.path().join("keys/podmem.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let (o1, a1) = redacted_snapshot(d.path(), "one", &key, &path_env, "node-v2");
    let (_, a2) = redacted_snapshot(d.path(), "two", &key, &path_env, "node-v2");
    assert!(
        String::from_utf8_lossy(&o1.stderr).contains("created redaction key"),
        "the first run says it created the key"
    );
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode");
    let map_path = d.path().join("keys/podmem.key.map.json");
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&map_path).expect("mapping file next to the key"))
            .unwrap();
    let hash_of = |name: &str| {
        map.iter()
            .find(|(_, v)| v.as_str() == name)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| panic!("{name} not in the mapping {map:?}"))
    };
    for n in FIXTURE_NAMES {
        let h = hash_of(n);
        assert!(
            h.len() == 14 && h.starts_with("r-") && h[2..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{h}"
        );
    }

    let (e1, e2) = (entries(&a1), entries(&a2));
    let (m1, m2) = (manifest(&e1), manifest(&e2));
    assert_eq!(m1.redacted, Some(true));
    assert_eq!(m1.node, hash_of("node-v2"));
    assert_eq!(
        (m2.node.as_str(), m2.hostname.as_str()),
        (m1.node.as_str(), m1.node.as_str())
    );
    let name = a1.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("podmem-{}-", m1.node)), "{name}");

    // Same key, same tree: every name-bearing entry is byte-identical.
    for entry_name in [
        "kubelet/summary.json",
        "logs/pods.txt",
        "proc/mountinfo",
        "kernel/journal.log",
        "kernel/node-events.log",
    ] {
        let (x, y) = (entry(&e1, entry_name), entry(&e2, entry_name));
        assert!(x.is_some(), "{entry_name} missing");
        assert_eq!(
            x, y,
            "{entry_name} differs between two snapshots under one key"
        );
    }
    let vols = |es: &[(String, Vec<u8>)]| -> Vec<String> {
        serde_json::from_slice::<Vec<TmpfsUsage>>(entry(es, "tmpfs.json").unwrap())
            .unwrap()
            .into_iter()
            .map(|t| t.volume)
            .collect()
    };
    assert_eq!(vols(&e1), vols(&e2));
    assert!(vols(&e1).contains(&hash_of("cache")));

    // The originals appear nowhere: long names not even as substrings, short ones not
    // as words outside the kernel's number files; the key neither.
    let key_hex = std::fs::read_to_string(&key).unwrap();
    for (n, data) in &e1 {
        assert!(!contains(data, key_hex.trim()), "key in {n}");
        for clear in FIXTURE_NAMES {
            if clear.len() >= 7 {
                assert!(!contains(data, clear), "{clear} in {n}");
            } else if !kernel_numbers(n) {
                assert!(
                    !has_word(data, clear),
                    "{clear} in {n}:\n{}",
                    String::from_utf8_lossy(data)
                );
            }
        }
    }
    assert!(!contains(&raw_tar(&a1), "node-v2"));
    // What the analyzer needs is still there: UIDs, container ids, comm, memcg paths.
    let journal = String::from_utf8_lossy(entry(&e1, "kernel/journal.log").unwrap()).into_owned();
    assert!(
        journal.contains(&format!("{} kernel: Memory cgroup out of memory: Killed process 3001 (java)", m1.node))
            && journal.contains("task_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod8a2b3c4d_5e6f_4a1b_9c2d_3e4f5a6b7c02.slice/cri-containerd-aa.scope,task=java"),
        "{journal}"
    );
    let events =
        String::from_utf8_lossy(entry(&e1, "kernel/node-events.log").unwrap()).into_owned();
    assert!(
        events.contains(&format!(
            "pod=\"{}/{}\" podUID=\"8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02\" containerName=\"{}\"",
            hash_of("shop"),
            hash_of("cache-7d9f8b6c5-x2x4q"),
            hash_of("app")
        )),
        "{events}"
    );
    assert_eq!(m1.pods.len(), 4, "pods still found by UID");
    // A verbose kubelet's spec dump (environment, command line) is dropped and counted.
    assert!(!contains(&raw_tar(&a1), ENV_MARK), "spec dump kept");
    let ev = source(&m1, "node-events");
    assert!(
        ev.message.as_deref().unwrap().contains("1 lines dropped"),
        "{ev:?}"
    );

    // The analyzer shows the same hashes from the summary and /var/log/pods.
    let report = podmem_analyzer::analyze(
        &[a1.clone(), a2.clone()],
        &podmem_analyzer::load::Limits::default(),
        jiff::Timestamp::now(),
    );
    let cache = report
        .pods
        .iter()
        .find(|p| p.uid == "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02")
        .expect("cache pod in the report");
    assert_eq!(
        cache.name.as_deref(),
        Some(hash_of("cache-7d9f8b6c5-x2x4q").as_str())
    );
    assert_eq!(cache.namespace.as_deref(), Some(hash_of("shop").as_str()));
    assert_eq!(cache.node, m1.node);
    let json = serde_json::to_string(&report).unwrap();
    for clear in FIXTURE_NAMES.iter().filter(|n| n.len() >= 7) {
        assert!(!json.contains(clear), "{clear} in the analyzer's report");
    }
    // `report --names MAPPING` puts the real names back, locally, in the rendered report.
    let text = podmem_reports::render_text(&report);
    let names = podmem_analyzer::names::Names::load(&map_path).unwrap();
    let (shown, replaced) = names.apply(text.as_bytes());
    let shown = String::from_utf8(shown).unwrap();
    assert!(
        replaced > 0 && shown.contains("cache-7d9f8b6c5-x2x4q"),
        "{shown}"
    );
    assert!(
        !shown.contains(&hash_of("cache-7d9f8b6c5-x2x4q")),
        "{shown}"
    );
    assert!(text.contains(&hash_of("cache-7d9f8b6c5-x2x4q")), "{text}");
    eprintln!(
        "report pods: {:?}",
        report
            .pods
            .iter()
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .collect::<Vec<_>>()
    );

    // Another key: other hashes.
    let (_, a3) = redacted_snapshot(
        d.path(),
        "three",
        &d.path().join("other.key"),
        &path_env,
        "node-v2",
    );
    let m3 = manifest(&entries(&a3));
    assert_ne!(m3.node, m1.node);

    // Another node, same key: its own node hash, the same pod names (the pods are the
    // same here), and the analyzer keeps the two nodes apart under their hashes.
    let (_, a4) = redacted_snapshot(d.path(), "four", &key, &path_env, "node-b");
    let m4 = manifest(&entries(&a4));
    assert_ne!(m4.node, m1.node);
    let report = podmem_analyzer::analyze(
        &[a1.clone(), a4.clone()],
        &podmem_analyzer::load::Limits::default(),
        jiff::Timestamp::now(),
    );
    let mut nodes: Vec<&str> = report.nodes.iter().map(|n| n.name.as_str()).collect();
    nodes.sort();
    let mut want = vec![m1.node.as_str(), m4.node.as_str()];
    want.sort();
    assert_eq!(nodes, want);
    let cache_names: Vec<(&str, Option<&str>)> = report
        .pods
        .iter()
        .filter(|p| p.uid == "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02")
        .map(|p| (p.node.as_str(), p.name.as_deref()))
        .collect();
    assert_eq!(cache_names.len(), 2, "{cache_names:?}");
    assert!(
        cache_names
            .iter()
            .all(|(_, n)| *n == Some(hash_of("cache-7d9f8b6c5-x2x4q").as_str())),
        "{cache_names:?}"
    );
}

fn watch_redacts_every_snapshot_with_one_key() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("k");
    let o = Command::new(bin())
        .args([
            "watch",
            // How full this machine's disk is must not decide the test.
            "--min-free-percent",
            "0",
            "--interval",
            "100ms",
            "--count",
            "2",
            "--no-nice",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--node-name",
            "node-v2",
            "-o",
        ])
        .arg(d.path().join("out"))
        .arg("--host-root")
        .arg(host("v2-systemd-containerd"))
        .arg("--redact")
        .arg(&key)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let list = archives(&d.path().join("out"));
    assert_eq!(list.len(), 2);
    let pods: Vec<Vec<u8>> = list
        .iter()
        .map(|a| {
            let es = entries(a);
            let m = manifest(&es);
            assert_eq!(m.redacted, Some(true));
            assert!(m.node.starts_with("r-"));
            assert!(!contains(&raw_tar(a), "node-v2"));
            entry(&es, "logs/pods.txt").unwrap().to_vec()
        })
        .collect();
    assert_eq!(pods[0], pods[1]);
    assert!(!contains(&pods[0], "cache-7d9f8b6c5-x2x4q"));
}

/// Every real sample of `fixtures/realworld/<dir>`.
fn realworld(dir: &str) -> Vec<PathBuf> {
    podmem_testkit::samples::realworld_files(dir, "")
}

fn redactor() -> podmem_collector::redact::Redactor {
    podmem_collector::redact::Redactor::new(podmem_collector::redact::RedactKey::from_bytes(
        b"podmem privacy test key",
        PathBuf::from("test.key"),
    ))
}

/// Redaction is exactly a renaming: on every real kubelet summary, mountinfo and
/// kernel OOM log, what the parsers read from the redacted text equals what they read
/// from the original, names mapped back through the mapping.
fn redaction_of_real_samples_only_renames() {
    use podmem_schema::parse::kubelet_summary::parse_summary;
    use podmem_schema::parse::mountinfo::{parse_mountinfo, pod_volume};
    use podmem_schema::snapshot::{MOUNTINFO_ENTRY, SUMMARY_ENTRY};

    for p in realworld("kubelet_summary") {
        let text = std::fs::read(&p).unwrap();
        let mut r = redactor();
        let Ok(red_bytes) = r.entry(SUMMARY_ENTRY, text.clone()) else {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&text).is_err(),
                "{}: JSON, yet not redacted",
                p.display()
            );
            continue;
        };
        let (orig, red) = (
            parse_summary(&String::from_utf8_lossy(&text)),
            parse_summary(&String::from_utf8_lossy(&red_bytes)),
        );
        let (Ok(orig), Ok(mut red)) = (orig, red) else {
            panic!("{}: summary parses before and after redaction", p.display());
        };
        let back = |s: &mut Option<String>| {
            if let Some(v) = s.as_mut() {
                if let Some(o) = r.names().get(v.as_str()) {
                    *v = o.clone();
                }
            }
        };
        let mut names = 0;
        if let Some(n) = red.node.as_mut() {
            names += usize::from(n.node_name.is_some());
            back(&mut n.node_name);
        }
        for pod in &mut red.pods {
            if let Some(pr) = pod.pod_ref.as_mut() {
                names += usize::from(pr.name.is_some());
                back(&mut pr.name);
                back(&mut pr.namespace);
            }
            for c in &mut pod.containers {
                back(&mut c.name);
            }
            for v in &mut pod.volumes {
                back(&mut v.name);
            }
        }
        assert_eq!(
            red,
            orig,
            "{}: redaction changed more than names",
            p.display()
        );
        // Names are JSON strings in the summary: none is left in clear, quoted.
        for (h, n) in r.names() {
            assert!(
                !contains(&red_bytes, &format!("\"{n}\"")),
                "{}: {n} ({h}) still in clear",
                p.display()
            );
        }
        eprintln!(
            "{}: {} names hashed ({names} node/pod names)",
            p.display(),
            r.names().len()
        );
    }

    for p in realworld("mountinfo") {
        let text = std::fs::read(&p).unwrap();
        let mut r = redactor();
        let red = r.entry(MOUNTINFO_ENTRY, text.clone()).unwrap();
        let (orig, oerr) = parse_mountinfo(&String::from_utf8_lossy(&text));
        let (redm, rerr) = parse_mountinfo(&String::from_utf8_lossy(&red));
        assert_eq!(orig.len(), redm.len(), "{}", p.display());
        assert_eq!(oerr.len(), rerr.len(), "{}", p.display());
        let mut volumes = 0;
        for (o, x) in orig.iter().zip(&redm) {
            assert_eq!(
                (&o.fs_type, &o.major_minor, &o.super_options, o.mount_id),
                (&x.fs_type, &x.major_minor, &x.super_options, x.mount_id),
                "{}",
                p.display()
            );
            match (pod_volume(&o.mount_point), pod_volume(&x.mount_point)) {
                (Some(a), Some(b)) => {
                    volumes += 1;
                    assert_eq!((&a.pod_uid, &a.plugin), (&b.pod_uid, &b.plugin));
                    assert_eq!(r.names().get(&b.name), Some(&a.name), "{}", p.display());
                }
                (None, None) if !o.mount_point.contains("pods/") => {
                    assert_eq!(o.mount_point, x.mount_point)
                }
                (None, None) => {}
                (a, b) => panic!("{}: {a:?} became {b:?}", p.display()),
            }
        }
        eprintln!(
            "{}: {} mounts, {volumes} pod volumes renamed",
            p.display(),
            orig.len()
        );
    }

    let opts = podmem_schema::oom::ParseOptions {
        year: Some(2026),
        ..Default::default()
    };
    let mut total = 0;
    for p in realworld("oom_logs") {
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let mut r = redactor();
        let red = r
            .entry(
                podmem_collector::kernel_log::SYSLOG_ENTRY,
                text.clone().into_bytes(),
            )
            .unwrap();
        let red = String::from_utf8(red).unwrap();
        let (mut a, mut b) = (
            podmem_schema::oom::parse_log(&text, &opts),
            podmem_schema::oom::parse_log(&red, &opts),
        );
        for e in a.iter_mut().chain(b.iter_mut()) {
            e.excerpt.clear();
        }
        assert_eq!(a, b, "{}: the OOM events changed", p.display());
        total += a.len();
        // Only host fields were touched.
        for (n, h) in r.names().iter().map(|(h, n)| (n, h)) {
            assert!(
                !red.contains(&format!(" {n} ")) || n.len() < 3,
                "{}: host {n} ({h}) in clear",
                p.display()
            );
        }
    }
    assert!(total > 20, "the OOM logs hold kills ({total})");
}

podmem_testkit::main! {
    [] => [
        token_and_environment_never_reach_the_archive_or_the_output,
        redacted_names_are_stable_keyed_and_nowhere_in_clear,
        watch_redacts_every_snapshot_with_one_key,
        redaction_of_real_samples_only_renames,
    ],
    [Need::Kernel] => [real_host_processes_env_cmdline_and_file_contents_stay_out],
}
