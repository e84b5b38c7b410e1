//! One snapshot: runs every reader under the time budget and size caps, gathers the raw
//! bytes in memory, builds the manifest, then writes the archive (manifest first) and
//! applies retention. Readers never fail the snapshot: each source records its status.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use jiff::Timestamp;
use podmem_schema::parse::mountinfo::{parse_mountinfo, Mount};
use podmem_schema::snapshot::{
    CgroupInfo, KernelLogInfo, Manifest, PodEntry, SourceStatus, Status, FORMAT_NAME,
    FORMAT_VERSION, LOG_PODS_ENTRY, MOUNTINFO_ENTRY, SUMMARY_ENTRY, TMPFS_ENTRY,
};

use crate::archive::{self, ArchiveFile, Entries, Sizes};
use crate::budget::{millis, Budget, Caps};
use crate::cgroups::{self, CgroupRoot};
use crate::hostpaths::{read_into, read_trimmed, HostPaths};
use crate::kernel_log::{self, KernelLogMode, KernelLogRequest, Previous, NODE_EVENTS_ENTRY};
use crate::kubelet::{self, KubeletOptions};
use crate::mounts;
use crate::redact::{self, RedactKey, Redactor};

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
    /// `--redact`: hash names with this key.
    pub redact: Option<RedactKey>,
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
    /// With `--redact`: the names hashed (hash → original), for the mapping file.
    pub redacted_names: Option<std::collections::BTreeMap<String, String>>,
    /// This node's archives in the output directory as the capture found them, oldest
    /// first (by name only), for retention.
    pub archives: std::io::Result<Vec<ArchiveFile>>,
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
    let _ = rustix::process::setpriority_process(None, 10);
    // Raw: rustix and signal-hook have no ioprio_set (neither has std).
    // SAFETY: a plain syscall on our own process with constant arguments.
    unsafe {
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

/// Manifests read at most to find the previous snapshot.
const MAX_PREVIOUS_READS: usize = 32;

/// The previous snapshot among `archives` (one node's in `dir`, oldest first): the
/// newest readable one of the last three captured at or before `now`, for continuation.
pub fn previous_in(dir: &Path, archives: &[ArchiveFile], now: Timestamp) -> Option<Previous> {
    let mut tried = 0;
    // Archives stamped after this capture (a clock that ran ahead) are passed over; a
    // directory full of them costs at most this many manifest reads.
    for a in archives.iter().rev().take(MAX_PREVIOUS_READS) {
        if tried == 3 {
            break;
        }
        if let Ok(m) = archive::read_manifest(&a.path(dir)) {
            if m.captured_at > now {
                continue;
            }
            tried += 1;
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
        Some(
            rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
        )
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
    let mut c = Capture {
        opts,
        paths: &opts.paths,
        caps: opts.caps,
        budget: Budget::new(opts.budget, stop),
        entries: Entries::new(opts.caps.total),
        sources: Vec::new(),
        notes: Vec::new(),
        redactor: opts.redact.clone().map(Redactor::new),
    };
    if let Some(w) = opts.redact.as_ref().and_then(|k| k.warning.clone()) {
        c.notes.push(w);
    }
    let mut node = node_name(opts);
    let mut host = hostname(c.paths).unwrap_or_default();
    // Hashed before anything is read, so kernel lines naming the host are redacted and
    // the previous archive (named by the hashed node) is found for continuation.
    if let Some(r) = c.redactor.as_mut() {
        node = r.host(&node);
        host = r.host(&host);
    }
    let boot_id = read_trimmed(&c.paths.proc("sys/kernel/random/boot_id"));
    let boot_time = boot_time(c.paths);

    let mounts = c.mountinfo();
    let (cgroup, pods) = c.cgroups(&mounts);
    c.proc_files();
    c.tmpfs(&mounts, &pods);
    c.kubelet_summary();
    c.log_pods();
    // The output directory is listed once per snapshot, by name: for the kernel log's
    // continuation, the archives stamped ahead of this capture, and retention.
    let archives = archive::list_archives(&opts.out, Some(&node));
    let mine = archives.as_deref().unwrap_or_default();
    // Only the kernel log continues from the previous snapshot.
    let previous = if opts.kernel_log == KernelLogMode::None {
        None
    } else {
        previous_in(&opts.out, mine, captured_at)
    };
    let req = KernelLogRequest {
        mode: &opts.kernel_log,
        since: opts.since,
        previous: previous.as_ref(),
        boot_id: boot_id.as_deref(),
        boot_time,
        now: captured_at,
    };
    let (kernel_log, journal_ok) = c.kernel_log(&req);
    c.node_events(journal_ok, previous.as_ref(), captured_at);
    c.future_archives(mine, captured_at);
    if c.entries.refused() > 0 {
        c.notes.push(format!(
            "{} entries dropped at the total size cap of {} bytes",
            c.entries.refused(),
            c.caps.total
        ));
    }

    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        collector_version: env!("CARGO_PKG_VERSION").into(),
        node,
        hostname: host,
        boot_id,
        boot_time,
        kernel_release: read_trimmed(&c.paths.proc("sys/kernel/osrelease")),
        captured_at,
        duration_ms: millis(c.budget.elapsed()),
        cgroup: cgroup.unwrap_or(CgroupInfo {
            mode: podmem_schema::snapshot::CgroupMode::V2,
            root: String::new(),
            root_in_hierarchy: "/".into(),
            cgroups: 0,
            kubepods: Vec::new(),
            outside: Vec::new(),
        }),
        sources: c.sources,
        pods,
        kernel_log,
        options: options_map(opts),
        redacted: None,
    };
    let mut manifest = manifest;
    let redacted_names = c.redactor.map(|mut r| {
        r.manifest(&mut manifest);
        r.names().clone()
    });
    Captured {
        manifest,
        entries: c.entries,
        notes: c.notes,
        redacted_names,
        archives,
    }
}

/// The options that shape what was captured, for the manifest (no secrets).
fn options_map(opts: &SnapshotOptions) -> std::collections::BTreeMap<String, String> {
    let kubelet = match &opts.kubelet.source {
        kubelet::KubeletSource::Disabled => "disabled".into(),
        kubelet::KubeletSource::File(p) => format!("file {}", p.display()),
        kubelet::KubeletSource::Auto => "auto".into(),
        kubelet::KubeletSource::Url(u) => redact::strip_userinfo(u),
    };
    let tls = if opts.kubelet.insecure {
        "insecure"
    } else if opts.kubelet.ca_file.is_some() {
        "ca-file"
    } else {
        "default"
    };
    [
        ("host_root", opts.paths.host_root.display().to_string()),
        ("proc_root", opts.paths.proc_root.display().to_string()),
        (
            "cgroup_root",
            opts.cgroup_root
                .as_ref()
                .map_or("discovered".into(), |p| p.display().to_string()),
        ),
        ("kernel_log", opts.kernel_log.to_string()),
        (
            "since",
            opts.since
                .map_or("continue".into(), |d| format!("{}s", d.as_secs())),
        ),
        ("budget_ms", millis(opts.budget).to_string()),
        ("kubelet", kubelet),
        ("kubelet_tls", tls.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Why an entry read was not kept.
#[derive(Debug, thiserror::Error)]
enum KeepError {
    /// `--redact` could not vouch for it.
    #[error(transparent)]
    Redact(#[from] redact::EntryError),
    /// The total size cap (bytes) refused it.
    #[error("dropped: total size cap of {0} bytes reached")]
    Cap(u64),
}

/// One capture in progress: the readers' results gathered with their statuses.
struct Capture<'a> {
    opts: &'a SnapshotOptions,
    paths: &'a HostPaths,
    caps: Caps,
    budget: Budget,
    entries: Entries,
    sources: Vec<SourceStatus>,
    notes: Vec<String>,
    redactor: Option<Redactor>,
}

impl Capture<'_> {
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        name: &str,
        origin: impl Into<String>,
        entry: Option<&str>,
        st: Status,
        msg: Option<String>,
        bytes: u64,
        t: Instant,
    ) {
        self.sources
            .push(status(name, origin, entry, st, msg, bytes, t));
    }

    /// Keeps an entry; Err with the reason when the total cap refuses it.
    fn keep(&mut self, entry: &str, data: Vec<u8>) -> Result<u64, KeepError> {
        // Every entry passes here, so nothing reaches the archive unredacted.
        let data = match self.redactor.as_mut() {
            Some(r) => r.entry(entry, data)?,
            None => data,
        };
        let n = data.len() as u64;
        if self.entries.push(entry, data) {
            Ok(n)
        } else {
            Err(KeepError::Cap(self.caps.total))
        }
    }

    /// Keeps one source's single entry and records its status.
    #[allow(clippy::too_many_arguments)]
    fn keep_source(
        &mut self,
        name: &str,
        origin: String,
        entry: &str,
        data: Vec<u8>,
        st: Status,
        msg: Option<String>,
        t: Instant,
    ) -> bool {
        match self.keep(entry, data) {
            Ok(n) => {
                self.record(name, origin, Some(entry), st, msg, n, t);
                true
            }
            Err(why) => {
                // A cap refusal or an entry --redact could not vouch for.
                let st = if st == Status::Ok {
                    Status::Partial
                } else {
                    st
                };
                self.record(name, origin, None, st, Some(why.to_string()), 0, t);
                false
            }
        }
    }

    /// The host mountinfo: the cgroup root and the tmpfs list both come from it, so it
    /// is never cut at a small --max-file-size.
    fn mountinfo(&mut self) -> Vec<Mount> {
        let t = Instant::now();
        match mounts::read_mountinfo(self.paths, self.caps.per_file.max(16 << 20)) {
            Ok((origin, bytes)) => {
                let (mounts, errs) = parse_mountinfo(&String::from_utf8_lossy(&bytes));
                let msg = match errs.first() {
                    None => format!("{} mounts", mounts.len()),
                    Some(first) => format!(
                        "{} mounts; {} malformed lines, first: {first}",
                        mounts.len(),
                        errs.len()
                    ),
                };
                let origin = origin.display().to_string();
                self.keep_source(
                    "mountinfo",
                    origin,
                    MOUNTINFO_ENTRY,
                    bytes,
                    Status::Ok,
                    Some(msg),
                    t,
                );
                mounts
            }
            Err(errs) => {
                let msg = errs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                let origin = self.paths.proc("self/mountinfo").display().to_string();
                self.record("mountinfo", origin, None, Status::Error, Some(msg), 0, t);
                Vec::new()
            }
        }
    }

    fn cgroups(&mut self, mounts: &[Mount]) -> (Option<CgroupInfo>, Vec<PodEntry>) {
        let t = Instant::now();
        let root = match &self.opts.cgroup_root {
            Some(dir) => cgroups::explicit(dir, mounts, self.paths),
            None => cgroups::discover(mounts, self.paths),
        };
        let root: CgroupRoot = match root {
            Ok(r) => r,
            Err(e) => {
                self.notes.push(format!("no pods found: {e}"));
                let msg = e.to_string();
                self.record("cgroups", "-", None, Status::Error, Some(msg), 0, t);
                return (None, Vec::new());
            }
        };
        let before = self.entries.total();
        let w = cgroups::walk(&root, &self.budget, &self.caps, &mut self.entries);
        let pods = cgroups::pods_of(&w.cgroups, &root.root_in_hierarchy);
        let mut msg = format!(
            "{} cgroups ({} kubepods subtree(s)), {} files; {}",
            w.cgroups.len(),
            w.kubepods.len(),
            w.files,
            root.how
        );
        if !w.outside.is_empty() {
            msg.push_str(&format!(
                "; {} pod or container cgroup(s) outside the kubepods subtrees: {}",
                w.outside.len(),
                w.outside
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if w.vanished > 0 {
            msg.push_str(&format!("; {} vanished while read (normal)", w.vanished));
        }
        if let Some(p) = &w.partial {
            msg = format!("{p}; {msg}");
        }
        if !w.errors.is_empty() {
            let shown: Vec<_> = w.errors.iter().take(5).cloned().collect();
            msg = format!("{msg}; {} errors: {}", w.errors.len(), shown.join("; "));
        }
        let st = if w.partial.is_some() || !w.errors.is_empty() {
            Status::Partial
        } else {
            Status::Ok
        };
        if w.kubepods.is_empty() && w.outside.is_empty() {
            self.notes.push(format!(
                "no pods found (looked for kubepods under {})",
                root.dir.display()
            ));
        } else if pods.is_empty() {
            self.notes.push(format!(
                "no pods found (kubepods subtree {} under {} holds no pod cgroups)",
                w.kubepods.join(", "),
                root.dir.display()
            ));
        }
        let bytes = self.entries.total() - before;
        self.record(
            "cgroups",
            root.dir.display().to_string(),
            Some("cgroup/"),
            st,
            Some(msg),
            bytes,
            t,
        );
        let info = CgroupInfo {
            mode: root.mode,
            root: root.dir.display().to_string(),
            root_in_hierarchy: root.root_in_hierarchy,
            cgroups: w.cgroups.len() as u64,
            kubepods: w.kubepods,
            outside: w.outside,
        };
        (Some(info), pods)
    }

    fn proc_files(&mut self) {
        for (name, rel, entry) in [
            ("meminfo", "meminfo", "proc/meminfo"),
            ("vmstat", "vmstat", "proc/vmstat"),
            ("proc-cgroups", "cgroups", "proc/cgroups"),
            ("pressure-memory", "pressure/memory", "proc/pressure/memory"),
        ] {
            let t = Instant::now();
            let p = self.paths.proc(rel);
            let origin = p.display().to_string();
            let mut buf = Vec::new();
            match read_into(&p, self.caps.per_file, &mut buf) {
                Ok(cut) => {
                    let (st, msg) = if cut {
                        (
                            Status::Partial,
                            Some(format!("cut at the {}-byte cap", self.caps.per_file)),
                        )
                    } else {
                        (Status::Ok, None)
                    };
                    self.keep_source(name, origin, entry, buf, st, msg, t);
                }
                Err(e) => {
                    let st = if e.not_found() {
                        Status::Missing
                    } else {
                        Status::Error
                    };
                    self.record(name, origin, None, st, Some(e.to_string()), 0, t);
                }
            }
        }
    }

    fn tmpfs(&mut self, mounts: &[Mount], pods: &[PodEntry]) {
        let t = Instant::now();
        // A sandbox's /dev/shm is named by its pause container, one of the pod's
        // container cgroups.
        let sandbox_pods: std::collections::BTreeMap<String, String> = pods
            .iter()
            .flat_map(|p| {
                p.containers
                    .iter()
                    .map(move |c| (c.id.clone(), p.uid.clone()))
            })
            .collect();
        let tmpfs = mounts::tmpfs_usage(mounts, self.paths, &sandbox_pods);
        let failed = tmpfs.iter().filter(|u| u.error.is_some()).count();
        let empty_dirs = tmpfs.iter().filter(|u| u.plugin == "empty-dir").count();
        let shm = tmpfs.iter().filter(|u| u.plugin == "shm").count();
        let mut msg = format!(
            "{} pod tmpfs mounts ({empty_dirs} emptyDir, {shm} sandbox /dev/shm), {failed} statfs failures",
            tmpfs.len()
        );
        // The first failing mounts by name, as the cgroup walk names its failures.
        let first: Vec<&str> = tmpfs
            .iter()
            .filter_map(|u| u.error.as_deref())
            .take(3)
            .collect();
        if !first.is_empty() {
            msg.push_str(&format!(": {}", first.join("; ")));
            if failed > first.len() {
                msg.push_str(&format!("; {} more", failed - first.len()));
            }
        }
        let st = if failed > 0 {
            Status::Partial
        } else {
            Status::Ok
        };
        let json = serde_json::to_vec_pretty(&tmpfs).unwrap_or_default();
        self.keep_source(
            "tmpfs",
            "statfs of pod tmpfs mounts".into(),
            TMPFS_ENTRY,
            json,
            st,
            Some(msg),
            t,
        );
    }

    /// Archives of this node in the output directory stamped after this capture: said
    /// in the manifest and on stderr, because retention counts them as the oldest.
    fn future_archives(&mut self, mine: &[ArchiveFile], at: Timestamp) {
        let t = Instant::now();
        let future = archive::future_archives(mine, at);
        if future.is_empty() {
            return;
        }
        let names: Vec<String> = future.iter().take(5).map(|a| a.name.clone()).collect();
        let msg = format!(
            "{} archive(s) of this node in {} are stamped after this capture ({}{}): a clock \
             that ran ahead or copied files; retention counts them as the oldest",
            future.len(),
            self.opts.out.display(),
            names.join(", "),
            if future.len() > names.len() {
                ", ..."
            } else {
                ""
            }
        );
        self.notes.push(msg.clone());
        self.record(
            "out-dir",
            self.opts.out.display().to_string(),
            None,
            Status::Ok,
            Some(msg),
            0,
            t,
        );
    }

    fn kubelet_summary(&mut self) {
        let t = Instant::now();
        let mut f = fetch_abandonable(self.opts, &self.budget, self.caps.summary);
        // Credentials in a --kubelet URL never reach the manifest.
        if let kubelet::KubeletSource::Url(u) = &self.opts.kubelet.source {
            let clean = redact::strip_userinfo(u);
            if clean != *u {
                f.origin = f.origin.replace(u.as_str(), &clean);
                f.message = f.message.map(|m| m.replace(u.as_str(), &clean));
                let full = kubelet::summary_url(u);
                let full_clean = kubelet::summary_url(&clean);
                f.origin = f.origin.replace(&full, &full_clean);
                f.message = f.message.map(|m| m.replace(&full, &full_clean));
            }
        }
        if let Some(w) = f.warning.take() {
            self.notes.push(w.clone());
            f.message = Some(match f.message.take() {
                Some(m) => format!("{m}; warning: {w}"),
                None => format!("warning: {w}"),
            });
        }
        // A kubelet (or a proxy in front of it) can answer 200 with an HTML page or
        // junk: that is not a summary, and the analyzer must not be handed it as one.
        // A body cut short or at the cap never gets here (the fetch does not keep it).
        if f.status == Status::Ok {
            if let Some(body) = &f.body {
                // A summary saved on Windows may start with a UTF-8 BOM; the parsers
                // skip it, and the file is kept as it is.
                let json = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
                if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(json) {
                    f.message = Some(format!(
                        "{}: {} bytes that are not a JSON summary ({e}); not kept",
                        f.origin,
                        body.len()
                    ));
                    f.status = Status::Error;
                    f.body = None;
                }
            }
        }
        match f.body {
            Some(body) => {
                self.keep_source(
                    "kubelet-summary",
                    f.origin,
                    SUMMARY_ENTRY,
                    body,
                    f.status,
                    f.message,
                    t,
                );
            }
            None => self.record("kubelet-summary", f.origin, None, f.status, f.message, 0, t),
        }
    }

    fn log_pods(&mut self) {
        let t = Instant::now();
        let dir = self.paths.log_pods.clone();
        let origin = dir.display().to_string();
        match log_pods_listing(&dir) {
            Ok((text, count)) => {
                let msg = Some(format!("{count} log files"));
                self.keep_source(
                    "log-pods",
                    origin,
                    LOG_PODS_ENTRY,
                    text.into_bytes(),
                    Status::Ok,
                    msg,
                    t,
                );
            }
            Err(e) => {
                let st = if e.kind() == std::io::ErrorKind::NotFound {
                    Status::Missing
                } else {
                    Status::Error
                };
                self.record(
                    "log-pods",
                    origin,
                    None,
                    st,
                    Some(format!("{}: {e}", dir.display())),
                    0,
                    t,
                );
            }
        }
    }

    /// Reads the kernel log; returns its manifest info and whether the journal worked.
    fn kernel_log(&mut self, req: &KernelLogRequest<'_>) -> (Option<KernelLogInfo>, bool) {
        let t = Instant::now();
        let k = kernel_log::collect(req, self.paths, &self.budget);
        let mut info = k.info;
        let mut problem = k.problem;
        let mut kept = None;
        if let Some((entry, data)) = k.kept {
            match self.keep(&entry, data) {
                Ok(n) => kept = Some((entry, n)),
                Err(why) => {
                    // The lines were not kept, so the next snapshot must read them again.
                    if let Some(i) = info.as_mut() {
                        i.next = req
                            .previous
                            .filter(|p| p.info.source == i.source)
                            .and_then(|p| p.info.next.clone());
                    }
                    problem = Some(why.to_string());
                }
            }
        }
        let st = if *req.mode == KernelLogMode::None {
            Status::Missing
        } else if problem.is_none() {
            Status::Ok
        } else if k.missing {
            Status::Missing
        } else if kept.is_some() {
            Status::Partial
        } else {
            Status::Error
        };
        let msg = match (&problem, &info) {
            (Some(p), _) => p.clone(),
            (None, Some(i)) => format!(
                "{} records read, {} OOM blocks kept, {} lost; window {}",
                i.records_read,
                i.oom_blocks,
                i.lost,
                match &i.since {
                    Some(s) => format!("since {s}"),
                    None if req.previous.is_some_and(|p| p.info.source == i.source) => {
                        "continued from the previous snapshot".into()
                    }
                    None => "the whole source (a file's last 32 MiB)".into(),
                }
            ),
            (None, None) => "not read (--kernel-log none)".into(),
        };
        let (entry, bytes) = match &kept {
            Some((e, n)) => (Some(e.as_str()), *n),
            None => (None, 0),
        };
        self.record("kernel-log", k.origin, entry, st, Some(msg), bytes, t);
        (info, k.journal_ok)
    }

    /// kubelet and runtime journal lines since the previous snapshot (or `--since`).
    fn node_events(&mut self, journal_ok: bool, previous: Option<&Previous>, now: Timestamp) {
        let t = Instant::now();
        let use_journal = match &self.opts.kernel_log {
            KernelLogMode::Journal => true,
            KernelLogMode::Auto => journal_ok,
            _ => false,
        };
        if !use_journal {
            let why = "read only from the journal (--kernel-log auto with a journal, or journal)";
            self.record(
                "node-events",
                "-",
                None,
                Status::Missing,
                Some(why.into()),
                0,
                t,
            );
            return;
        }
        let since = match (previous, self.opts.since) {
            (Some(p), None) => p.captured_at,
            (_, since) => {
                let d = jiff::SignedDuration::try_from(since.unwrap_or(kernel_log::DEFAULT_SINCE))
                    .unwrap_or(jiff::SignedDuration::MAX);
                now.checked_sub(d).unwrap_or(Timestamp::UNIX_EPOCH)
            }
        };
        let origin = "journalctl -u kubelet -u containerd -u crio -u docker";
        match kernel_log::node_events(self.paths, since, &self.budget) {
            Ok((data, read)) => {
                let (data, dropped) = redact::drop_spec_dumps(&data);
                let mut msg = format!("{read} lines read since {since}");
                if dropped > 0 {
                    msg.push_str(&format!(
                        "; {dropped} lines dropped: object dumps that can hold environment or command lines"
                    ));
                }
                let msg = Some(msg);
                self.keep_source(
                    "node-events",
                    origin.into(),
                    NODE_EVENTS_ENTRY,
                    data,
                    Status::Ok,
                    msg,
                    t,
                );
            }
            Err(e) => {
                let msg = e.to_string();
                self.record("node-events", origin, None, Status::Error, Some(msg), 0, t)
            }
        }
    }
}

/// Fetches the summary on a helper thread so a stop request is not held up by a slow
/// kubelet: on stop the thread is abandoned (the capture is discarded anyway).
fn fetch_abandonable(opts: &SnapshotOptions, budget: &Budget, cap: u64) -> kubelet::SummaryFetch {
    let (mut kopts, paths, b) = (opts.kubelet.clone(), opts.paths.clone(), budget.clone());
    // The kubelet's certificate names the node as the node knows itself (never hashed).
    kopts.node_name.get_or_insert_with(|| node_name(opts));
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
                    warning: None,
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
/// (nothing written). Fails only when the archive cannot be written. Retention works
/// on the archives the capture listed; `sizes` carries archive sizes over from earlier
/// runs in the same process (`--max-disk`).
pub fn run(
    opts: &SnapshotOptions,
    stop: Option<&'static AtomicBool>,
    sizes: &mut Sizes,
) -> Result<Outcome> {
    std::fs::create_dir_all(&opts.out).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot create output directory: {e}",
            opts.out.display()
        )
    })?;
    archive::clean_stale_temps(&opts.out);
    let mut captured = capture(opts, stop);
    if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Ok(Outcome {
            path: None,
            captured,
            removed: Vec::new(),
        });
    }
    // The mapping first: an archive whose hashes the customer cannot map back to names
    // would be of no use to them.
    if let (Some(key), Some(names)) = (&opts.redact, &captured.redacted_names) {
        redact::merge_mapping(&key.mapping_path(), names)?;
    }
    let path = archive::write_archive(
        &opts.out,
        &captured.manifest.node,
        &captured.manifest,
        &captured.entries,
    )?;
    let archives = std::mem::replace(&mut captured.archives, Ok(Vec::new()));
    let removed = archives
        .and_then(|list| {
            archive::apply_retention(
                &opts.out,
                &list,
                &path,
                captured.manifest.captured_at,
                opts.keep,
                opts.max_disk,
                sizes,
            )
        })
        .map_err(|e| anyhow::anyhow!("retention in {}: {e}", opts.out.display()))?;
    Ok(Outcome {
        path: Some(path),
        captured,
        removed,
    })
}
