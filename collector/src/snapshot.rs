//! One snapshot: runs every reader under the time budget and size caps, gathers the raw
//! bytes in memory, builds the manifest, then writes the archive (manifest first) and
//! applies retention. Readers never fail the snapshot: each source records its status.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use jiff::Timestamp;
use podmem_schema::parse::mountinfo::parse_mountinfo;
use podmem_schema::snapshot::{
    CgroupInfo, Manifest, SourceStatus, Status, FORMAT_NAME, FORMAT_VERSION, LOG_PODS_ENTRY,
    MOUNTINFO_ENTRY, SUMMARY_ENTRY, TMPFS_ENTRY,
};

use crate::archive::{self, Entries};
use crate::budget::{millis, Budget, Caps};
use crate::cgroups::{self, CgroupRoot};
use crate::hostpaths::{read_into, read_trimmed, HostPaths};
use crate::kernel_log::{self, KernelLogMode, KernelLogRequest, Previous, NODE_EVENTS_ENTRY};
use crate::kubelet::{self, KubeletOptions};
use crate::mounts;

/// Everything that shapes one snapshot (the CLI's snapshot options, without clap).
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Explicit cgroup root.
    pub cgroup_root: Option<PathBuf>,
    /// Host paths.
    pub paths: HostPaths,
    /// Node name (None: hostname).
    pub node_name: Option<String>,
    /// Kubelet access.
    pub kubelet: KubeletOptions,
    /// Kernel log mode.
    pub kernel_log: KernelLogMode,
    /// Explicit kernel-log window.
    pub since: Option<Duration>,
    /// Time budget.
    pub budget: Duration,
    /// Size caps.
    pub caps: Caps,
    /// Retention by count.
    pub keep: Option<usize>,
    /// Retention by disk use.
    pub max_disk: Option<u64>,
}

/// A captured snapshot, not yet written.
#[derive(Debug)]
pub struct Captured {
    /// The manifest.
    pub manifest: Manifest,
    /// The raw entries.
    pub entries: Entries,
    /// Lines for stderr (no pods found, ...).
    pub notes: Vec<String>,
}

impl Captured {
    /// Some source is partial or failed (exit code 1).
    pub fn degraded(&self) -> bool {
        self.manifest
            .sources
            .iter()
            .any(|s| matches!(s.status, Status::Partial | Status::Error))
    }
}

/// Lowers CPU and I/O priority (nice 10, best-effort I/O class at its lowest level), so
/// a capture on a struggling node yields to its workloads. Best effort: failures ignored.
pub fn lower_priority() {
    // SAFETY: plain syscalls on our own process with constant arguments.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
        const IOPRIO_WHO_PROCESS: libc::c_long = 1;
        const IOPRIO_CLASS_BE: libc::c_long = 2;
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            (IOPRIO_CLASS_BE << 13) | 7,
        );
    }
}

fn status(
    name: &str,
    origin: impl Into<String>,
    entry: Option<&str>,
    st: Status,
    msg: Option<String>,
    bytes: u64,
    t: Instant,
) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        origin: origin.into(),
        entry: entry.map(str::to_string),
        status: st,
        message: msg,
        bytes,
        millis: millis(t.elapsed()),
    }
}

/// The previous snapshot of `node` in `dir` (newest readable one), for continuation.
pub fn previous_in(dir: &Path, node: &str) -> Option<Previous> {
    let list = archive::list_archives(dir, Some(node)).ok()?;
    for a in list.iter().rev().take(3) {
        if let Ok(m) = archive::read_manifest(&a.path) {
            // A run with --kernel-log none says nothing; an older one may.
            let Some(info) = m.kernel_log else { continue };
            let origin = m
                .sources
                .iter()
                .find(|s| s.name == "kernel-log")
                .map(|s| s.origin.clone());
            return Some(Previous {
                info,
                origin,
                captured_at: m.captured_at,
            });
        }
    }
    None
}

/// The node name: `--node-name` / `$NODE_NAME`, else the host's hostname.
pub fn node_name(opts: &SnapshotOptions) -> String {
    opts.node_name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| hostname(&opts.paths))
        .unwrap_or_else(|| "unknown".into())
}

fn hostname(paths: &HostPaths) -> Option<String> {
    read_trimmed(&paths.proc("sys/kernel/hostname")).or_else(|| {
        // SAFETY: uname fills a zeroed struct; nodename is NUL-terminated.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        (unsafe { libc::uname(&mut u) } == 0).then(|| {
            unsafe { std::ffi::CStr::from_ptr(u.nodename.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        })
    })
}

fn boot_time(paths: &HostPaths) -> Option<Timestamp> {
    let stat = std::fs::read_to_string(paths.proc("stat")).ok()?;
    let secs: i64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Timestamp::from_second(secs).ok()
}

/// Captures a snapshot into memory.
pub fn capture(opts: &SnapshotOptions, stop: Option<&'static AtomicBool>) -> Captured {
    let captured_at = Timestamp::now();
    let budget = Budget::new(opts.budget, stop);
    let paths = &opts.paths;
    let caps = opts.caps;
    let mut entries = Entries::new(caps.total);
    let mut sources = Vec::new();
    let mut notes = Vec::new();
    let node = node_name(opts);
    let boot_id = read_trimmed(&paths.proc("sys/kernel/random/boot_id"));
    let boot_time = boot_time(paths);

    // Mountinfo first: the cgroup root and the tmpfs list both come from it, so it is
    // never cut at a small --max-file-size.
    let t = Instant::now();
    let mounts = match mounts::read_mountinfo(paths, caps.per_file.max(16 << 20)) {
        Ok((origin, bytes)) => {
            let (mounts, errs) = parse_mountinfo(&String::from_utf8_lossy(&bytes));
            let n = bytes.len() as u64;
            let msg = if errs.is_empty() {
                Some(format!("{} mounts", mounts.len()))
            } else {
                Some(format!(
                    "{} mounts; {} malformed lines, first: {}",
                    mounts.len(),
                    errs.len(),
                    errs[0]
                ))
            };
            let kept = entries.push(MOUNTINFO_ENTRY, bytes);
            let st = if kept { Status::Ok } else { Status::Partial };
            sources.push(status(
                "mountinfo",
                origin.display().to_string(),
                Some(MOUNTINFO_ENTRY),
                st,
                msg,
                if kept { n } else { 0 },
                t,
            ));
            mounts
        }
        Err(errs) => {
            let msg = errs
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            sources.push(status(
                "mountinfo",
                paths.proc("self/mountinfo").display().to_string(),
                None,
                Status::Error,
                Some(msg),
                0,
                t,
            ));
            Vec::new()
        }
    };

    // Cgroups.
    let t = Instant::now();
    let root: Result<CgroupRoot, String> = match &opts.cgroup_root {
        Some(dir) => cgroups::explicit(dir, &mounts, paths),
        None => cgroups::discover(&mounts, paths),
    };
    let mut cgroup_info = None;
    let mut pods = Vec::new();
    match root {
        Ok(root) => {
            let before = entries.total();
            let w = cgroups::walk(&root, &budget, &caps, &mut entries);
            pods = cgroups::pods_of(&w.cgroups, &root.root_in_hierarchy);
            let mut msg = format!(
                "{} cgroups ({} kubepods subtree(s)), {} files; {}",
                w.cgroups.len(),
                w.kubepods.len(),
                w.files,
                root.how
            );
            if w.vanished > 0 {
                msg.push_str(&format!("; {} vanished while read (normal)", w.vanished));
            }
            let st = if w.partial.is_some() || !w.errors.is_empty() {
                if let Some(p) = &w.partial {
                    msg = format!("{p}; {msg}");
                }
                if !w.errors.is_empty() {
                    let shown: Vec<_> = w.errors.iter().take(5).cloned().collect();
                    msg = format!("{msg}; {} errors: {}", w.errors.len(), shown.join("; "));
                }
                Status::Partial
            } else {
                Status::Ok
            };
            if w.kubepods.is_empty() {
                notes.push(format!(
                    "no pods found (looked for kubepods under {})",
                    root.dir.display()
                ));
            } else if pods.is_empty() {
                notes.push(format!(
                    "no pods found (kubepods subtree {} under {} holds no pod cgroups)",
                    w.kubepods.join(", "),
                    root.dir.display()
                ));
            }
            sources.push(status(
                "cgroups",
                root.dir.display().to_string(),
                Some("cgroup/"),
                st,
                Some(msg),
                entries.total() - before,
                t,
            ));
            cgroup_info = Some(CgroupInfo {
                mode: root.mode,
                root: root.dir.display().to_string(),
                root_in_hierarchy: root.root_in_hierarchy.clone(),
                cgroups: w.cgroups.len() as u64,
                kubepods: w.kubepods,
            });
        }
        Err(e) => {
            notes.push(format!("no pods found: {e}"));
            sources.push(status("cgroups", "-", None, Status::Error, Some(e), 0, t));
        }
    }

    // Small host files.
    for (name, rel, entry) in [
        ("meminfo", "meminfo", "proc/meminfo"),
        ("vmstat", "vmstat", "proc/vmstat"),
        ("proc-cgroups", "cgroups", "proc/cgroups"),
        ("pressure-memory", "pressure/memory", "proc/pressure/memory"),
    ] {
        let t = Instant::now();
        let p = paths.proc(rel);
        let mut buf = Vec::new();
        let origin = p.display().to_string();
        match read_into(&p, caps.per_file, &mut buf) {
            Ok(cut) => {
                let n = buf.len() as u64;
                let kept = entries.push(entry, buf);
                let st = if cut || !kept {
                    Status::Partial
                } else {
                    Status::Ok
                };
                let msg = (!kept)
                    .then(|| format!("dropped: total size cap of {} bytes reached", caps.total))
                    .or_else(|| cut.then(|| format!("cut at the {}-byte cap", caps.per_file)));
                sources.push(status(
                    name,
                    origin,
                    Some(entry),
                    st,
                    msg,
                    if kept { n } else { 0 },
                    t,
                ));
            }
            Err(e) => {
                let st = if e.not_found() {
                    Status::Missing
                } else {
                    Status::Error
                };
                sources.push(status(name, origin, None, st, Some(e.to_string()), 0, t));
            }
        }
    }

    // tmpfs statfs.
    let t = Instant::now();
    let sandbox_pods: std::collections::BTreeMap<String, String> = pods
        .iter()
        .flat_map(|p| {
            p.containers
                .iter()
                .map(move |c| (c.id.clone(), p.uid.clone()))
        })
        .collect();
    let tmpfs = mounts::tmpfs_usage(&mounts, paths, &sandbox_pods);
    let failed = tmpfs.iter().filter(|u| u.error.is_some()).count();
    let json = serde_json::to_vec_pretty(&tmpfs).unwrap_or_default();
    let n = json.len() as u64;
    entries.push(TMPFS_ENTRY, json);
    let empty_dirs = tmpfs.iter().filter(|u| u.plugin == "empty-dir").count();
    let shm = tmpfs.iter().filter(|u| u.plugin == "shm").count();
    sources.push(status(
        "tmpfs",
        "statfs of pod tmpfs mounts",
        Some(TMPFS_ENTRY),
        if failed > 0 {
            Status::Partial
        } else {
            Status::Ok
        },
        Some(format!(
            "{} pod tmpfs mounts ({empty_dirs} emptyDir, {shm} sandbox /dev/shm), {failed} statfs failures",
            tmpfs.len()
        )),
        n,
        t,
    ));

    // Kubelet summary.
    let t = Instant::now();
    let f = fetch_abandonable(opts, &budget, caps.summary);
    let mut bytes = 0;
    let mut st = f.status;
    let mut msg = f.message;
    if let Some(body) = f.body {
        bytes = body.len() as u64;
        if !entries.push(SUMMARY_ENTRY, body) {
            bytes = 0;
            st = Status::Partial;
            msg = Some(format!(
                "dropped: total size cap of {} bytes reached",
                caps.total
            ));
        }
    }
    sources.push(status(
        "kubelet-summary",
        f.origin,
        (bytes > 0).then_some(SUMMARY_ENTRY),
        st,
        msg,
        bytes,
        t,
    ));

    // /var/log/pods names.
    let t = Instant::now();
    match log_pods_listing(&paths.log_pods) {
        Ok((text, count)) => {
            let n = text.len() as u64;
            entries.push(LOG_PODS_ENTRY, text.into_bytes());
            sources.push(status(
                "log-pods",
                paths.log_pods.display().to_string(),
                Some(LOG_PODS_ENTRY),
                Status::Ok,
                Some(format!("{count} log files")),
                n,
                t,
            ));
        }
        Err(e) => {
            let st = if e.kind() == std::io::ErrorKind::NotFound {
                Status::Missing
            } else {
                Status::Error
            };
            sources.push(status(
                "log-pods",
                paths.log_pods.display().to_string(),
                None,
                st,
                Some(format!("{}: {e}", paths.log_pods.display())),
                0,
                t,
            ));
        }
    }

    // Kernel log.
    let t = Instant::now();
    let previous = previous_in(&opts.out, &node);
    let req = KernelLogRequest {
        mode: &opts.kernel_log,
        since: opts.since,
        previous: previous.as_ref(),
        boot_id: boot_id.as_deref(),
        boot_time,
        now: captured_at,
    };
    let k = kernel_log::collect(&req, paths, &budget);
    let mut kbytes = 0;
    let mut kentry = None;
    if let Some((entry, data)) = k.kept {
        kbytes = data.len() as u64;
        kentry = Some(entry.clone());
        entries.push(entry, data);
    }
    let kst = if opts.kernel_log == KernelLogMode::None {
        Status::Missing
    } else if k.problem.is_none() {
        Status::Ok
    } else if k.missing {
        Status::Missing
    } else if kentry.is_some() {
        Status::Partial
    } else {
        Status::Error
    };
    let kmsg_text = match (&k.problem, &k.info) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(i)) => Some(format!(
            "{} records read, {} OOM blocks kept, {} lost; window {}",
            i.records_read,
            i.oom_blocks,
            i.lost,
            match &i.since {
                Some(s) => format!("since {s}"),
                None => "continued from the previous snapshot".into(),
            }
        )),
        (None, None) => Some("not read (--kernel-log none)".into()),
    };
    sources.push(status(
        "kernel-log",
        k.origin.clone(),
        kentry.as_deref(),
        kst,
        kmsg_text,
        kbytes,
        t,
    ));

    // Node events from the journal.
    let t = Instant::now();
    let use_journal = match &opts.kernel_log {
        KernelLogMode::Journal => true,
        KernelLogMode::Auto => k.journal_ok,
        _ => false,
    };
    if use_journal {
        let since = match (&previous, opts.since) {
            (Some(p), None) => p.captured_at,
            _ => captured_at
                .checked_sub(
                    jiff::SignedDuration::try_from(opts.since.unwrap_or(kernel_log::DEFAULT_SINCE))
                        .unwrap_or(jiff::SignedDuration::MAX),
                )
                .unwrap_or(Timestamp::UNIX_EPOCH),
        };
        match kernel_log::node_events(paths, since, &budget) {
            Ok((data, read)) => {
                let n = data.len() as u64;
                entries.push(NODE_EVENTS_ENTRY, data);
                sources.push(status(
                    "node-events",
                    "journalctl -u kubelet -u containerd -u crio -u docker",
                    Some(NODE_EVENTS_ENTRY),
                    Status::Ok,
                    Some(format!("{read} lines read since {since}")),
                    n,
                    t,
                ));
            }
            Err(e) => sources.push(status(
                "node-events",
                "journalctl",
                None,
                Status::Error,
                Some(e),
                0,
                t,
            )),
        }
    } else {
        sources.push(status(
            "node-events",
            "-",
            None,
            Status::Missing,
            Some(
                "read only from the journal (--kernel-log auto with a journal, or journal)".into(),
            ),
            0,
            t,
        ));
    }

    if entries.refused() > 0 {
        notes.push(format!(
            "{} entries dropped at the total size cap of {} bytes",
            entries.refused(),
            caps.total
        ));
    }

    let mut options = std::collections::BTreeMap::new();
    options.insert("host_root".into(), paths.host_root.display().to_string());
    options.insert("proc_root".into(), paths.proc_root.display().to_string());
    options.insert(
        "cgroup_root".into(),
        opts.cgroup_root
            .as_ref()
            .map_or("discovered".into(), |p| p.display().to_string()),
    );
    options.insert("kernel_log".into(), opts.kernel_log.to_string());
    options.insert(
        "since".into(),
        opts.since
            .map_or("continue".into(), |d| format!("{}s", d.as_secs())),
    );
    options.insert("budget_ms".into(), millis(opts.budget).to_string());
    options.insert(
        "kubelet".into(),
        match &opts.kubelet.source {
            kubelet::KubeletSource::Disabled => "disabled".into(),
            kubelet::KubeletSource::File(p) => format!("file {}", p.display()),
            kubelet::KubeletSource::Auto => "auto".into(),
            kubelet::KubeletSource::Url(u) => u.clone(),
        },
    );
    options.insert(
        "kubelet_tls".into(),
        if opts.kubelet.insecure {
            "insecure".into()
        } else if opts.kubelet.ca_file.is_some() {
            "ca-file".into()
        } else {
            "default".into()
        },
    );

    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        collector_version: env!("CARGO_PKG_VERSION").into(),
        node,
        hostname: hostname(paths).unwrap_or_default(),
        boot_id,
        boot_time,
        kernel_release: read_trimmed(&paths.proc("sys/kernel/osrelease")),
        captured_at,
        duration_ms: millis(budget.elapsed()),
        cgroup: cgroup_info.unwrap_or(CgroupInfo {
            mode: podmem_schema::snapshot::CgroupMode::V2,
            root: String::new(),
            root_in_hierarchy: "/".into(),
            cgroups: 0,
            kubepods: Vec::new(),
        }),
        sources,
        pods,
        kernel_log: k.info,
        options,
    };
    Captured {
        manifest,
        entries,
        notes,
    }
}

/// Fetches the summary on a helper thread so a stop request is not held up by a slow
/// kubelet: on stop the thread is abandoned (the capture is discarded anyway).
fn fetch_abandonable(opts: &SnapshotOptions, budget: &Budget, cap: u64) -> kubelet::SummaryFetch {
    let (kopts, paths, b) = (opts.kubelet.clone(), opts.paths.clone(), budget.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(kubelet::fetch(&kopts, &paths, &b, cap));
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(f) => return f,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !budget.cancelled() => continue,
            _ => {
                return kubelet::SummaryFetch {
                    origin: "-".into(),
                    body: None,
                    status: Status::Partial,
                    message: Some("stopped by signal".into()),
                }
            }
        }
    }
}

/// `/var/log/pods` as `<ns>_<name>_<uid>/<container>/<file>` lines (names only; no file
/// is opened).
pub fn log_pods_listing(dir: &Path) -> std::io::Result<(String, usize)> {
    let mut lines = Vec::new();
    for pod in std::fs::read_dir(dir)?.flatten() {
        let pn = pod.file_name().to_string_lossy().into_owned();
        let Ok(cs) = std::fs::read_dir(pod.path()) else {
            continue;
        };
        for c in cs.flatten() {
            let cn = c.file_name().to_string_lossy().into_owned();
            let Ok(fs) = std::fs::read_dir(c.path()) else {
                lines.push(format!("{pn}/{cn}"));
                continue;
            };
            for f in fs.flatten() {
                lines.push(format!("{pn}/{cn}/{}", f.file_name().to_string_lossy()));
                if lines.len() >= 200_000 {
                    break;
                }
            }
        }
    }
    lines.sort();
    let n = lines.len();
    let mut text = lines.join("\n");
    if n > 0 {
        text.push('\n');
    }
    Ok((text, n))
}

/// Outcome of a run: the archive written (None when discarded), and the capture.
#[derive(Debug)]
pub struct Outcome {
    /// Archive path.
    pub path: Option<PathBuf>,
    /// The capture.
    pub captured: Captured,
    /// Archives removed by retention.
    pub removed: Vec<PathBuf>,
}

/// Captures, writes and applies retention. A capture cancelled by `stop` is discarded
/// (nothing written). Fails only when the archive cannot be written.
pub fn run(opts: &SnapshotOptions, stop: Option<&'static AtomicBool>) -> Result<Outcome> {
    std::fs::create_dir_all(&opts.out).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot create output directory: {e}",
            opts.out.display()
        )
    })?;
    archive::clean_stale_temps(&opts.out);
    let captured = capture(opts, stop);
    if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Ok(Outcome {
            path: None,
            captured,
            removed: Vec::new(),
        });
    }
    let path = archive::write_archive(
        &opts.out,
        &captured.manifest.node,
        &captured.manifest,
        &captured.entries,
    )?;
    let removed =
        archive::apply_retention(&opts.out, &captured.manifest.node, opts.keep, opts.max_disk)
            .map_err(|e| anyhow::anyhow!("retention in {}: {e}", opts.out.display()))?;
    Ok(Outcome {
        path: Some(path),
        captured,
        removed,
    })
}
