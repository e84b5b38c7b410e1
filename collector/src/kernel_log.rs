//! Kernel OOM reports from the journal, `/dev/kmsg` or a syslog file, kept as the lines
//! the OOM parser needs only (schema's `LogFilter`, which runs that parser), with a continuation point so consecutive snapshots
//! neither lose nor repeat a line: kmsg sequence number (same boot), journal cursor,
//! or byte offset of the file. Also, from the journal, kubelet and container-runtime
//! lines about OOM kills, evictions and restarts.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use podmem_schema::oom::LogFilter;
use podmem_schema::snapshot::KernelLogInfo;
use rustix::io::Errno;

use crate::budget::Budget;
use crate::hostpaths::HostPaths;

/// Entry of raw kmsg records.
pub const KMSG_ENTRY: &str = "kernel/kmsg";
/// Entry of journal kernel lines.
pub const JOURNAL_ENTRY: &str = "kernel/journal.log";
/// Entry of syslog-file lines.
pub const SYSLOG_ENTRY: &str = "kernel/syslog.log";
/// Entry of kubelet / runtime lines.
pub const NODE_EVENTS_ENTRY: &str = "kernel/node-events.log";
/// Window used when there is no previous snapshot to continue from.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);
/// Most of a syslog file read on a first run (its tail).
const FILE_WINDOW: u64 = 32 << 20;
/// Most bytes of OOM blocks (or node events) kept.
const KEEP_CAP: usize = 8 << 20;
/// Most node-event lines kept.
const NODE_EVENT_LINES: usize = 10_000;

/// What the filter keeps, up to [`KEEP_CAP`]: past it nothing more is kept (a record
/// left out mid-way would change how the next one reads).
#[derive(Debug, Default)]
struct Kept {
    filter: LogFilter,
    bytes: Vec<u8>,
    scratch: Vec<u8>,
    full: bool,
}

impl Kept {
    fn line(&mut self, raw: &[u8]) {
        self.scratch.clear();
        self.filter.push(raw, &mut self.scratch);
        self.take();
    }

    fn finish(mut self) -> (Vec<u8>, u64) {
        self.scratch.clear();
        self.filter.finish(&mut self.scratch);
        self.take();
        (self.bytes, self.filter.blocks())
    }

    fn take(&mut self) {
        if self.full || self.scratch.is_empty() {
            return;
        }
        if self.bytes.len() + self.scratch.len() > KEEP_CAP {
            self.full = true;
            return;
        }
        self.bytes.extend_from_slice(&self.scratch);
    }
}

/// `--kernel-log`.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelLogMode {
    /// Journal if it holds kernel messages, else kmsg, else kern.log / messages.
    Auto,
    /// `journalctl`.
    Journal,
    /// `/dev/kmsg`.
    Kmsg,
    /// A log file.
    File(PathBuf),
    /// Not read.
    None,
}

impl std::fmt::Display for KernelLogMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelLogMode::Auto => f.write_str("auto"),
            KernelLogMode::Journal => f.write_str("journal"),
            KernelLogMode::Kmsg => f.write_str("kmsg"),
            KernelLogMode::File(p) => write!(f, "{}", p.display()),
            KernelLogMode::None => f.write_str("none"),
        }
    }
}

/// An empty `--kernel-log`.
#[derive(Debug, thiserror::Error)]
#[error("empty --kernel-log")]
pub struct EmptyKernelLogMode;

impl std::str::FromStr for KernelLogMode {
    type Err = EmptyKernelLogMode;
    fn from_str(s: &str) -> Result<Self, EmptyKernelLogMode> {
        Ok(match s {
            "auto" => KernelLogMode::Auto,
            "journal" => KernelLogMode::Journal,
            "kmsg" => KernelLogMode::Kmsg,
            "none" => KernelLogMode::None,
            "" => return Err(EmptyKernelLogMode),
            f => KernelLogMode::File(PathBuf::from(f)),
        })
    }
}

/// Where the previous snapshot stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    /// Its kernel-log info.
    pub info: KernelLogInfo,
    /// Where it read from (the kernel-log source's origin).
    pub origin: Option<String>,
    /// When it was captured (for the node-events window).
    pub captured_at: Timestamp,
}

/// What was read.
#[derive(Debug)]
pub struct KernelCapture {
    /// For the manifest (None when not read and nothing to carry forward).
    pub info: Option<KernelLogInfo>,
    /// Source origin (path or command).
    pub origin: String,
    /// Archive entry and bytes kept.
    pub kept: Option<(String, Vec<u8>)>,
    /// Error or partial reason.
    pub problem: Option<String>,
    /// Not available on this node (not an error).
    pub missing: bool,
    /// True when the journal was usable (node events can be read from it).
    pub journal_ok: bool,
}

/// Inputs of one kernel-log read.
#[derive(Debug, Clone)]
pub struct KernelLogRequest<'a> {
    /// Mode.
    pub mode: &'a KernelLogMode,
    /// Explicit `--since`.
    pub since: Option<Duration>,
    /// Previous snapshot's continuation point.
    pub previous: Option<&'a Previous>,
    /// Current boot id.
    pub boot_id: Option<&'a str>,
    /// Boot time (kmsg usec → wall time).
    pub boot_time: Option<Timestamp>,
    /// Capture start.
    pub now: Timestamp,
}

/// Reads the kernel log per `req`.
pub fn collect(req: &KernelLogRequest<'_>, paths: &HostPaths, budget: &Budget) -> KernelCapture {
    match req.mode {
        KernelLogMode::None => KernelCapture {
            info: None,
            origin: "-".into(),
            kept: None,
            problem: None,
            missing: true,
            journal_ok: false,
        },
        KernelLogMode::Journal => journal(req, paths, budget),
        // Asked for by name: its absence is an error, not "not on this node".
        KernelLogMode::Kmsg => KernelCapture {
            missing: false,
            ..kmsg(req, &paths.kmsg, budget)
        },
        KernelLogMode::File(p) => file(req, p),
        KernelLogMode::Auto => {
            if journal_has_kernel(paths) {
                return journal(req, paths, budget);
            }
            let k = kmsg(req, &paths.kmsg, budget);
            if k.problem.is_none() {
                return k;
            }
            for f in ["kern.log", "messages"] {
                let p = paths.var_log.join(f);
                if p.is_file() {
                    let mut c = file(req, &p);
                    c.problem = c
                        .problem
                        .map(|m| format!("{m}; kmsg: {}", k.problem.clone().unwrap_or_default()));
                    return c;
                }
            }
            KernelCapture {
                missing: false,
                problem: Some(format!(
                    "no kernel log: journal has no kernel messages, {}, and no kern.log or messages in {}",
                    k.problem.unwrap_or_default(),
                    paths.var_log.display()
                )),
                ..k
            }
        }
    }
}

/// The window start when not continuing.
fn since_ts(req: &KernelLogRequest<'_>) -> Timestamp {
    let d = req.since.unwrap_or(DEFAULT_SINCE);
    req.now
        .checked_sub(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The previous continuation point when it applies to `source` (and `origin`, and the
/// same boot for kmsg) and no explicit `--since` overrides it.
fn continue_from<'a>(req: &'a KernelLogRequest<'_>, source: &str, origin: &str) -> Option<&'a str> {
    if req.since.is_some() {
        return None;
    }
    let prev = req.previous?;
    if prev.info.source != source {
        return None;
    }
    if prev.origin.as_deref().is_some_and(|o| o != origin) {
        return None;
    }
    if source == "kmsg" && (req.boot_id.is_none() || prev.info.boot_id.as_deref() != req.boot_id) {
        return None;
    }
    prev.info.next.as_deref()
}

/// The info to record when the read failed: carry the old continuation point forward
/// so the next snapshot still starts where the last good one stopped.
fn carried(req: &KernelLogRequest<'_>, source: &str, entry: &str) -> Option<KernelLogInfo> {
    let p = req.previous?;
    (p.info.source == source).then(|| KernelLogInfo {
        source: source.into(),
        entry: entry.into(),
        since: None,
        next: p.info.next.clone(),
        boot_id: p.info.boot_id.clone(),
        records_read: 0,
        oom_blocks: 0,
        lost: 0,
    })
}

/// kmsg header: (seq, usec, first line of text).
pub fn kmsg_header(rec: &[u8]) -> Option<(u64, u64, &[u8])> {
    let semi = rec.iter().position(|&b| b == b';')?;
    let mut f = rec[..semi].split(|&b| b == b',');
    let _prio = f.next()?;
    let seq = std::str::from_utf8(f.next()?).ok()?.parse().ok()?;
    let usec = std::str::from_utf8(f.next()?).ok()?.parse().ok()?;
    let rest = &rec[semi + 1..];
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    Some((seq, usec, &rest[..end]))
}

fn kmsg(req: &KernelLogRequest<'_>, path: &Path, budget: &Budget) -> KernelCapture {
    let origin = path.display().to_string();
    let cont: Option<u64> = continue_from(req, "kmsg", &origin).and_then(|n| n.parse().ok());
    let since = cont.is_none().then(|| since_ts(req));
    let since_usec: Option<u64> = match (since, req.boot_time) {
        (Some(s), Some(b)) => Some(s.duration_since(b).as_micros().max(0) as u64),
        _ => None,
    };
    let fail = |msg: String, missing: bool| KernelCapture {
        info: carried(req, "kmsg", KMSG_ENTRY),
        origin: origin.clone(),
        kept: None,
        problem: Some(msg),
        missing,
        journal_ok: false,
    };
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            return fail(
                format!("{}: {e}", path.display()),
                e.kind() == io::ErrorKind::NotFound,
            )
        }
    };
    // Each read() returns one whole record; a buffer under the record size fails with
    // EINVAL, so keep it well above the kernel's 8 KiB record limit.
    let mut buf = vec![0u8; 16 << 10];
    let mut kept = Kept::default();
    let (mut read, mut lost) = (0u64, 0u64);
    let mut last: Option<u64> = None;
    let mut problem = None;
    loop {
        // Stopping early loses nothing: `next` is the first record not read, and the
        // next snapshot continues from it.
        if budget.expired() {
            problem = Some(if budget.cancelled() {
                "stopped by signal".to_string()
            } else {
                "time budget exhausted; the rest is read by the next snapshot".to_string()
            });
            break;
        }
        // One read() is one record: a raw read, not a buffered reader that would join them.
        let n = match rustix::io::read(&f, &mut buf[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(Errno::AGAIN) => break,
            Err(Errno::INTR) => continue,
            // Records were overwritten before we read them; the seq gap counts them.
            Err(Errno::PIPE) => continue,
            Err(e) => {
                let e = io::Error::from(e);
                problem = Some(format!("{}: read: {e}", path.display()));
                break;
            }
        };
        let rec = &buf[..n];
        let Some((seq, usec, _)) = kmsg_header(rec) else {
            continue;
        };
        if cont.is_some_and(|c| seq < c) || since_usec.is_some_and(|s| usec < s) {
            last = Some(seq);
            continue;
        }
        match (last, cont) {
            (Some(p), _) if seq > p + 1 && (cont.is_none_or(|c| p + 1 >= c)) => lost += seq - p - 1,
            (None, Some(c)) if seq > c => lost += seq - c,
            _ => {}
        }
        last = Some(seq);
        read += 1;
        for l in rec.split_inclusive(|&b| b == b'\n') {
            kept.line(l);
        }
    }
    let (kept, oom_blocks) = kept.finish();
    let next = last.map(|l| l + 1).or(cont);
    KernelCapture {
        info: Some(KernelLogInfo {
            source: "kmsg".into(),
            entry: KMSG_ENTRY.into(),
            since,
            next: next.map(|n| n.to_string()),
            boot_id: req.boot_id.map(str::to_string),
            records_read: read,
            oom_blocks,
            lost,
        }),
        origin,
        kept: Some((KMSG_ENTRY.into(), kept)),
        problem,
        missing: false,
        journal_ok: false,
    }
}

fn journalctl(paths: &HostPaths) -> Command {
    let mut c = Command::new("journalctl");
    if !paths.is_own_root() {
        c.arg("--root").arg(&paths.host_root);
    }
    c.env("TZ", "UTC")
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "");
    c.stdin(Stdio::null()).stderr(Stdio::piped());
    c
}

/// Whether journalctl exists and the journal holds kernel messages.
pub fn journal_has_kernel(paths: &HostPaths) -> bool {
    let out = journalctl(paths)
        .args([
            "_TRANSPORT=kernel",
            "-n",
            "1",
            "-q",
            "--no-pager",
            "-o",
            "cat",
        ])
        .stdout(Stdio::piped())
        .output();
    matches!(out, Ok(o) if o.status.success() && !o.stdout.is_empty())
}

/// Why journalctl gave nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// It could not be started or waited for.
    #[error("journalctl: {0}")]
    Run(#[source] io::Error),
    /// Killed past its time (the budget, or a signal to stop).
    #[error("journalctl: stopped after {0:?} (time budget or signal)")]
    Stopped(Duration),
    /// It failed; what it said on stderr.
    #[error("journalctl: {status}: {stderr}")]
    Failed {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its stderr, trimmed.
        stderr: String,
    },
}

/// Runs journalctl, feeding each stdout line to `each`, killing it past `timeout`.
/// Ok holds what journalctl said on stderr while succeeding (trimmed, maybe empty): it
/// skips a journal file it cannot read ("corrupted, ignoring file") and exits 0.
fn run_lines(
    mut cmd: Command,
    budget: &Budget,
    timeout: Duration,
    mut each: impl FnMut(&str),
) -> Result<String, JournalError> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(JournalError::Run)?;
    let pid = rustix::process::Pid::from_child(&child);
    let (tx, rx) = mpsc::channel::<()>();
    let b = budget.clone();
    let watchdog = std::thread::spawn(move || {
        let until = std::time::Instant::now() + timeout;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Err(mpsc::RecvTimeoutError::Timeout)
                    if !b.cancelled() && std::time::Instant::now() < until =>
                {
                    continue
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Our own child, not reaped yet (the main thread waits for it after
                    // this thread ends), so the pid cannot have been reused.
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    return true;
                }
                _ => return false,
            }
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdout.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => each(String::from_utf8_lossy(&line).trim_end_matches('\n')),
        }
    }
    let _ = tx.send(());
    let killed = watchdog.join().unwrap_or(false);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.by_ref().take(4096).read_to_string(&mut err);
    }
    let status = child.wait().map_err(JournalError::Run)?;
    if killed {
        return Err(JournalError::Stopped(timeout));
    }
    if !status.success() {
        return Err(JournalError::Failed {
            status,
            stderr: err.trim().to_string(),
        });
    }
    Ok(err.trim().to_string())
}

fn journal(req: &KernelLogRequest<'_>, paths: &HostPaths, budget: &Budget) -> KernelCapture {
    let origin = "journalctl _TRANSPORT=kernel".to_string();
    let cont = continue_from(req, "journal", &origin).map(str::to_string);
    let since = cont.is_none().then(|| since_ts(req));
    let mut cmd = journalctl(paths);
    // _TRANSPORT=kernel rather than -k: -k means this boot only, and an OOM just
    // before a reboot is exactly what one wants to see.
    cmd.args([
        "_TRANSPORT=kernel",
        "-o",
        "short-iso-precise",
        "--no-pager",
        "-q",
        "--show-cursor",
    ]);
    match (&cont, since) {
        (Some(c), _) => {
            cmd.arg(format!("--after-cursor={c}"));
        }
        (None, Some(s)) => {
            cmd.arg(format!("--since=@{}", s.as_second()));
        }
        _ => {}
    }
    let mut kept = Kept::default();
    let mut read = 0u64;
    let mut cursor = None;
    let timeout = budget.remaining().max(Duration::from_secs(1));
    let r = run_lines(cmd, budget, timeout, |l| {
        if let Some(c) = l.strip_prefix("-- cursor: ") {
            cursor = Some(c.to_string());
            return;
        }
        read += 1;
        kept.line(l.as_bytes());
    });
    let (kept, oom_blocks) = kept.finish();
    // A file journalctl skipped leaves the capture partial, but what it read is whole:
    // the new cursor stands.
    let (ok, problem) = match r {
        Ok(warn) if warn.is_empty() => (true, None),
        Ok(warn) => (
            true,
            Some(format!("journalctl: {}", warn.replace('\n', "; "))),
        ),
        Err(e) => (false, Some(e.to_string())),
    };
    KernelCapture {
        info: Some(KernelLogInfo {
            source: "journal".into(),
            entry: JOURNAL_ENTRY.into(),
            since,
            // No new entry: the old cursor still marks where we are. After a failed
            // run, keep the old cursor too (the lines may be incomplete).
            next: if ok {
                cursor.or(cont.clone())
            } else {
                cont.clone()
            },
            boot_id: req.boot_id.map(str::to_string),
            records_read: read,
            oom_blocks,
            lost: 0,
        }),
        origin,
        kept: Some((JOURNAL_ENTRY.into(), kept)),
        missing: false,
        journal_ok: ok,
        problem,
    }
}

fn file(req: &KernelLogRequest<'_>, path: &Path) -> KernelCapture {
    let origin = path.display().to_string();
    let fail = |msg: String| KernelCapture {
        info: carried(req, "file", SYSLOG_ENTRY),
        origin: origin.clone(),
        kept: None,
        problem: Some(msg),
        missing: false,
        journal_ok: false,
    };
    // Non-blocking: a FIFO given as the log must not hang the collector.
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    let len = match f.metadata() {
        Ok(m) if !m.is_file() => {
            return fail(format!(
                "{}: not a regular file (expected a kern.log or messages file)",
                path.display()
            ))
        }
        Ok(m) => m.len(),
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    // Size 0 is also what a kernel file (procfs, sysfs, cgroupfs) reports: read a byte
    // so one that cannot be read (a write-only control file) fails instead of passing
    // for an empty log.
    if len == 0 {
        if let Err(e) = f.read(&mut [0u8; 1]) {
            return fail(format!("{}: {e}", path.display()));
        }
    }
    let cont: Option<u64> = continue_from(req, "file", &origin).and_then(|n| n.parse().ok());
    // A file shorter than where we stopped was rotated or truncated: start over.
    let start = match cont {
        Some(c) if c <= len => c,
        _ => len.saturating_sub(FILE_WINDOW),
    };
    if let Err(e) = f.seek(SeekFrom::Start(start)) {
        return fail(format!("{}: seek: {e}", path.display()));
    }
    // Streamed line by line: memory stays bounded by what is kept, whatever the size.
    let mut reader = BufReader::with_capacity(64 << 10, f.take(len - start));
    let mut kept = Kept::default();
    let mut read = 0u64;
    let mut whole = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            // Only whole lines: a line being written now is read next time.
            Ok(_) if !line.ends_with(b"\n") => break,
            Ok(n) => {
                whole += n as u64;
                read += 1;
                kept.line(&line);
            }
            Err(e) => return fail(format!("{}: {e}", path.display())),
        }
    }
    let (kept, oom_blocks) = kept.finish();
    KernelCapture {
        info: Some(KernelLogInfo {
            source: "file".into(),
            entry: SYSLOG_ENTRY.into(),
            since: None,
            next: Some((start + whole).to_string()),
            boot_id: req.boot_id.map(str::to_string),
            records_read: read,
            oom_blocks,
            lost: 0,
        }),
        origin,
        kept: Some((SYSLOG_ENTRY.into(), kept)),
        problem: None,
        missing: false,
        journal_ok: false,
    }
}

/// Whether a kubelet or runtime journal line is about OOM kills, evictions or restarts.
pub fn is_node_event(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "oom",
        "evict",
        "back-off restarting",
        "restarting container",
        "killing container",
        "exceeded memory",
        "memory pressure",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// kubelet / containerd / cri-o / docker journal lines about OOMs, evictions and restarts
/// since `since`, and the number of lines read; Err names why journalctl failed.
pub fn node_events(
    paths: &HostPaths,
    since: Timestamp,
    budget: &Budget,
) -> Result<(Vec<u8>, u64), JournalError> {
    let mut cmd = journalctl(paths);
    cmd.args(["-o", "short-iso-precise", "--no-pager", "-q"]);
    for u in [
        "kubelet",
        "containerd",
        "crio",
        "docker",
        "k3s",
        "k3s-agent",
    ] {
        cmd.arg("-u").arg(u);
    }
    cmd.arg(format!("--since=@{}", since.as_second()));
    let mut kept = Vec::new();
    let mut n = 0usize;
    let mut read = 0u64;
    let timeout = budget.remaining().max(Duration::from_secs(1));
    // journalctl's warnings about unreadable files are the kernel log's to report.
    run_lines(cmd, budget, timeout, |l| {
        read += 1;
        if n < NODE_EVENT_LINES && kept.len() < KEEP_CAP && is_node_event(l) {
            kept.extend_from_slice(l.as_bytes());
            kept.push(b'\n');
            n += 1;
        }
    })?;
    Ok((kept, read))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(mode: &'a KernelLogMode, prev: Option<&'a Previous>) -> KernelLogRequest<'a> {
        KernelLogRequest {
            mode,
            since: None,
            previous: prev,
            boot_id: Some("b1"),
            boot_time: None,
            now: Timestamp::now(),
        }
    }

    #[test]
    fn kmsg_headers() {
        let (s, u, t) =
            kmsg_header(b"6,22743,6115623303887,-;java invoked oom-killer\n SUBSYSTEM=x\n")
                .unwrap();
        assert_eq!(
            (s, u, t),
            (22743, 6115623303887, &b"java invoked oom-killer"[..])
        );
        assert!(kmsg_header(b"garbage").is_none());
    }

    #[test]
    fn modes_parse() {
        assert_eq!(
            "auto".parse::<KernelLogMode>().unwrap(),
            KernelLogMode::Auto
        );
        assert_eq!(
            "/x/kern.log".parse::<KernelLogMode>().unwrap(),
            KernelLogMode::File("/x/kern.log".into())
        );
    }

    #[test]
    fn file_continues_by_offset_and_keeps_only_whole_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kern.log");
        let block = "Nov 28 04:00:00 n kernel: java invoked oom-killer: gfp_mask=0xcc0\n\
                     Nov 28 04:00:00 n kernel: Memory cgroup out of memory: Killed process 42 (java)\n";
        std::fs::write(
            &p,
            format!("Nov 28 03:00:00 n kernel: eth0 up\n{block}partial line"),
        )
        .unwrap();
        let mode = KernelLogMode::File(p.clone());
        let c = collect(
            &req(&mode, None),
            &HostPaths::new(d.path()),
            &Budget::new(Duration::from_secs(5), None),
        );
        let info = c.info.clone().unwrap();
        assert_eq!(info.oom_blocks, 1);
        assert_eq!(String::from_utf8(c.kept.unwrap().1).unwrap(), block);
        let prev = Previous {
            info,
            origin: Some(c.origin),
            captured_at: Timestamp::now(),
        };
        std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        writeln!(f, " rest").unwrap();
        writeln!(f, "Nov 28 05:00:00 n kernel: Killed process 7 (x)").unwrap();
        let c2 = collect(
            &req(&mode, Some(&prev)),
            &HostPaths::new(d.path()),
            &Budget::new(Duration::from_secs(5), None),
        );
        let kept = String::from_utf8(c2.kept.unwrap().1).unwrap();
        assert_eq!(kept, "Nov 28 05:00:00 n kernel: Killed process 7 (x)\n");
        assert_eq!(c2.info.unwrap().records_read, 2);
    }

    #[test]
    fn node_event_filter() {
        assert!(is_node_event("kubelet[1]: \"Container was OOMKilled\""));
        assert!(is_node_event("kubelet: Evicting pod default/x"));
        assert!(is_node_event(
            "kubelet: Back-off restarting failed container"
        ));
        assert!(!is_node_event("kubelet: Successfully pulled image"));
    }
}
