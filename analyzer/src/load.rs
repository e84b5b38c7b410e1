//! Reading inputs without trusting them: snapshot archives (`.tar.gz`), bundles (a plain
//! tar holding snapshot archives and a `bundle.json`, or any of the forms
//! `bundles` reads: gzipped tars and zips of folders of snapshots) and
//! directories of either.
//!
//! Nothing is ever unpacked to disk: entries are streamed and kept in memory, bounded by
//! [`Limits`]. Every refusal becomes a problem naming the file (and entry) and the
//! reason, and the next input is read anyway. The type of a file is decided by its
//! first bytes, not by its name, so a random file called `.tar.gz` is refused for what
//! it is.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};

use flate2::read::MultiGzDecoder;

use crate::bundles::{self, GzipHolds, Kind, Walk};
use podmem_schema::cgroup_files::{self, wanted};
use podmem_schema::report::{InputKind, InputReport, InputStatus};
use podmem_schema::snapshot::{parse_manifest, Manifest, ManifestError, MANIFEST_ENTRY};
use podmem_schema::tar::{entry_name, TarStream};
use podmem_schema::units::fmt_bytes;

/// Problems kept per input; the rest are counted, so one hostile file cannot flood a
/// report.
pub const MAX_PROBLEMS_PER_INPUT: usize = 50;

/// Caps that keep memory bounded whatever an archive claims.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Decompressed bytes kept per entry; larger entries are skipped with a problem.
    pub max_entry_bytes: u64,
    /// Decompressed bytes read per snapshot archive (including skipped data and tar
    /// headers); past it the archive is refused as a decompression bomb.
    pub max_archive_bytes: u64,
    /// Entries per archive (tar bombs of many tiny files).
    pub max_entries: u64,
    /// Decompressed bytes read per compressed bundle (a gzipped tar of snapshots); past
    /// it the rest of the bundle is refused.
    pub max_bundle_bytes: u64,
    /// Threads reading archives; 0 = one per core (at most 8).
    pub workers: usize,
    /// Counters advanced as archives are read, for a caller that shows progress (the
    /// binary's progress bar polls them); `'static` so that `Limits` stays `Copy`.
    pub progress: Option<&'static Progress>,
}

/// How far the loader got; read from another thread while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Snapshot archives read (files and bundle members), usable or not.
    pub archives: AtomicU64,
    /// Snapshots accepted.
    pub snapshots: AtomicU64,
}

impl Progress {
    /// Both counters at zero (for a `static`).
    pub const fn new() -> Self {
        Progress {
            archives: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 16 << 20,
            max_archive_bytes: 256 << 20,
            max_entries: 100_000,
            max_bundle_bytes: 16 << 30,
            workers: 0,
            progress: None,
        }
    }
}

/// One snapshot archive read into memory: its manifest and its entries.
#[derive(Debug)]
pub struct RawSnapshot {
    /// Display name: the path, or `bundle!member`.
    pub archive: String,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// Entry name → content, for regular files within the caps (format-1 cgroup files
    /// among them).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Format-2 `cgroup/<rel>/files.podmem` entries, in archive order: the cgroup's
    /// path relative to the root (`""` for the root) and the records, not yet decoded.
    pub cgroup_dirs: Vec<(String, Vec<u8>)>,
    /// Problems met while reading it (the snapshot is still usable).
    pub problems: Vec<String>,
    /// Its place in the order the loader queued archives (from 1; 0 when read
    /// outside the loader).
    pub seq: u64,
}

impl RawSnapshot {
    /// An entry as text: invalid UTF-8 is replaced (and reported), CRLF becomes LF.
    pub fn text(&mut self, entry: &str) -> Option<String> {
        let bytes = self.files.remove(entry)?;
        Some(into_text(bytes, &self.archive, entry, &mut self.problems))
    }
}

/// Bytes → text the parsers can take: lossy UTF-8 (reported once per entry) and CRLF
/// line ends normalized, because kernel-file parsers split on `\n`.
pub fn into_text(bytes: Vec<u8>, archive: &str, entry: &str, problems: &mut Vec<String>) -> String {
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = if entry.is_empty() {
                archive.to_string()
            } else {
                format!("{archive}:{entry}")
            };
            problems.push(format!(
                "{at}: not valid UTF-8 (first bad byte at offset {}); invalid bytes replaced",
                e.utf8_error().valid_up_to()
            ));
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    if text.contains('\r') {
        text = text.replace("\r\n", "\n");
    }
    text
}

/// [`into_text`] without a copy when the bytes are already clean text (valid UTF-8,
/// no CR), the case of every file a kernel wrote.
pub fn as_text<'a>(
    bytes: &'a [u8],
    archive: &str,
    entry: &dyn Fn() -> String,
    problems: &mut Vec<String>,
) -> Cow<'a, str> {
    match std::str::from_utf8(bytes) {
        Ok(t) if !t.contains('\r') => Cow::Borrowed(t),
        _ => Cow::Owned(into_text(bytes.to_vec(), archive, &entry(), problems)),
    }
}

/// What the loader found: one report per file read (snapshots, bundles) and per
/// unusable path, in input order. The snapshots themselves went to the sink.
#[derive(Debug)]
pub struct Loaded {
    /// Input reports.
    pub inputs: Vec<InputReport>,
}

/// What the sink says about a snapshot it was handed.
#[derive(Debug, Default)]
pub struct SinkResult {
    /// The snapshot was used.
    pub accepted: bool,
    /// Problems found while using it (naming the file).
    pub problems: Vec<String>,
}

/// The sink every snapshot is handed to, from several threads at once.
pub type Sink<'a> = dyn Fn(RawSnapshot) -> SinkResult + Sync + 'a;

/// One snapshot archive to read: a file, or a bundle member already in memory.
pub(crate) enum Unit {
    File(PathBuf),
    Member(String, Vec<u8>),
}

/// Outcome of one unit, merged into its input's report in sequence order.
struct UnitOutcome {
    input: usize,
    seq: usize,
    accepted: u32,
    problems: Vec<String>,
}

/// Reads every input path (files, or directories searched recursively) and hands each
/// snapshot to `sink` as soon as it is read, on `limits.workers` threads: a long series
/// is mostly decompression and parsing, which spread over cores. The inputs are walked
/// (and bundles unpacked member by member, in memory) on the calling thread.
pub fn load_inputs(paths: &[PathBuf], limits: &Limits, sink: &Sink<'_>) -> Loaded {
    load_inputs_indexed(paths, limits, &|_| {}, &|_| {}, sink)
}

/// [`load_inputs`] reading snapshot archives in capture order per node: each plain
/// archive's manifest (its first entry) is read first, and archives are queued by
/// (node, capture time); bundles follow, their members in bundle order. `on_index` is
/// told how many nodes the plain archives hold before any snapshot reaches the sink.
/// Every queued archive has a [`RawSnapshot::seq`]: it reaches the sink with it, or
/// `on_skip` is told the number when the archive could not be read, so a caller can
/// take snapshots in queue order whatever order the threads finish in.
pub fn load_inputs_indexed(
    paths: &[PathBuf],
    limits: &Limits,
    on_index: &(dyn Fn(usize) + Sync),
    on_skip: &(dyn Fn(u64) + Sync),
    sink: &Sink<'_>,
) -> Loaded {
    let mut inputs: Vec<InputReport> = Vec::new();
    let workers = if limits.workers == 0 {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
    } else {
        limits.workers
    };
    let outcomes: Mutex<Vec<UnitOutcome>> = Mutex::new(Vec::new());
    let (tx, rx) = mpsc::sync_channel::<(usize, usize, Unit)>(workers * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (rx, outcomes) = (&rx, &outcomes);
            scope.spawn(move || loop {
                let next = rx.lock().map(|r| r.recv());
                let Ok(Ok((input, seq, unit))) = next else {
                    break;
                };
                let name = match &unit {
                    Unit::File(p) => p.display().to_string(),
                    Unit::Member(n, _) => n.clone(),
                };
                // A parser bug must not take the other inputs down with it (where
                // panics unwind; release builds abort).
                let (accepted, problems) =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        read_unit(unit, seq as u64, limits, sink, on_skip)
                    }))
                    .unwrap_or_else(|_| {
                        on_skip(seq as u64);
                        (
                            0,
                            vec![format!(
                                "{name}: internal error while reading it (a bug: please report it)"
                            )],
                        )
                    });
                if let Some(p) = limits.progress {
                    p.archives.fetch_add(1, Ordering::Relaxed);
                    p.snapshots
                        .fetch_add(u64::from(accepted), Ordering::Relaxed);
                }
                if let Ok(mut o) = outcomes.lock() {
                    o.push(UnitOutcome {
                        input,
                        seq,
                        accepted,
                        problems,
                    });
                }
            });
        }
        let mut seq = 0usize;
        let mut send = |input: usize, unit: Unit| {
            seq += 1;
            // Workers only stop when the channel closes, so a send cannot fail.
            let _ = tx.send((input, seq, unit));
        };
        let mut files: Vec<(usize, PathBuf)> = Vec::new();
        for path in paths {
            let meta = match std::fs::metadata(path) {
                Ok(m) => m,
                Err(e) => {
                    inputs.push(rejected(
                        path,
                        InputKind::Snapshot,
                        format!("{}: cannot read: {e}", path.display()),
                    ));
                    continue;
                }
            };
            // A FIFO, a device or a socket is refused before it is opened: opening a
            // FIFO blocks until a writer comes, and a device can be endless.
            if !meta.is_dir() && !meta.is_file() {
                inputs.push(rejected(
                    path,
                    InputKind::Snapshot,
                    format!(
                        "{}: not a regular file or directory ({}); refused: save it to a file first",
                        path.display(),
                        file_kind(&meta)
                    ),
                ));
                continue;
            }
            let found = if meta.is_dir() {
                let files = archive_files_under(path, &mut inputs);
                if files.is_empty() {
                    inputs.push(rejected(
                        path,
                        InputKind::Directory,
                        format!(
                            "{}: no snapshot archives (*.tar.gz, *.tgz) or bundles (*.tar, *.zip) found{}",
                            path.display(),
                            unpacked_hint(path)
                        ),
                    ));
                }
                files
            } else {
                vec![path.clone()]
            };
            for f in found {
                let idx = inputs.len();
                inputs.push(rejected(&f, InputKind::Snapshot, String::new()));
                inputs[idx].problems.clear();
                files.push((idx, f));
            }
        }
        let keys = index_files(&files, workers);
        on_index(
            keys.iter()
                .flatten()
                .map(|(node, _)| node)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        );
        let mut order: Vec<usize> = (0..files.len()).collect();
        // Archives without a readable manifest (bundles, damaged files) last, in input
        // order: their problems are found when they are read.
        order.sort_by(|&a, &b| match (&keys[a], &keys[b]) {
            (Some(x), Some(y)) => x.cmp(y).then(a.cmp(&b)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        });
        for i in order {
            let (idx, f) = &files[i];
            let idx = *idx;
            // The index already read its manifest as the first entry of a gzip: a
            // snapshot archive, so it is not opened and peeked at a second time.
            if keys[i].is_some() {
                send(idx, Unit::File(f.clone()));
            } else {
                sniff_file(f, limits, &mut inputs[idx], &mut |unit| send(idx, unit));
            }
        }
        drop(tx);
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_default();
    outcomes.sort_by_key(|o| o.seq);
    for o in outcomes {
        let r = &mut inputs[o.input];
        r.snapshots += o.accepted;
        r.problems.extend(o.problems);
    }
    for r in &mut inputs {
        finish(r);
    }
    Loaded { inputs }
}

/// (node, capture time) of each file that is a snapshot archive with a readable
/// manifest as its first entry, read on `workers` threads.
fn index_files(
    files: &[(usize, PathBuf)],
    workers: usize,
) -> Vec<Option<(String, jiff::Timestamp)>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let keys: Mutex<Vec<Option<(String, jiff::Timestamp)>>> = Mutex::new(vec![None; files.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers.min(files.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((_, path)) = files.get(i) else {
                    break;
                };
                let key = manifest_key(path);
                if let Ok(mut k) = keys.lock() {
                    k[i] = key;
                }
            });
        }
    });
    keys.into_inner().unwrap_or_default()
}

/// Node and capture time from an archive's first entry, when it is a manifest.
fn manifest_key(path: &Path) -> Option<(String, jiff::Timestamp)> {
    const MAX_MANIFEST: u64 = 1 << 20;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let f = File::open(path).ok()?;
    let mut ar = tar::Archive::new(MultiGzDecoder::new(BufReader::with_capacity(16 << 10, f)));
    let entry = ar.entries().ok()?.next()?.ok()?;
    if entry.path_bytes().as_ref() != MANIFEST_ENTRY.as_bytes() || entry.size() > MAX_MANIFEST {
        return None;
    }
    let mut buf = Vec::new();
    entry.take(MAX_MANIFEST).read_to_end(&mut buf).ok()?;
    // The two fields alone; a manifest they do not read from is asked of the whole
    // parser, so the key is the one the reader will find.
    podmem_schema::snapshot::manifest_key(&buf).or_else(|| {
        let m = parse_manifest(&buf).ok()?;
        Some((m.node, m.captured_at))
    })
}

/// What a non-regular file is, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "a regular file"
    }
}

/// Reads one snapshot unit and hands it to the sink: (accepted, problems).
fn read_unit(
    unit: Unit,
    seq: u64,
    limits: &Limits,
    sink: &Sink<'_>,
    on_skip: &(dyn Fn(u64) + Sync),
) -> (u32, Vec<String>) {
    let read = match unit {
        Unit::File(path) => {
            let name = path.display().to_string();
            match File::open(&path) {
                Ok(f) => read_snapshot(BufReader::with_capacity(64 * 1024, f), &name, limits),
                Err(source) => Err(ReadError::Open {
                    archive: name,
                    source,
                }),
            }
        }
        Unit::Member(display, bytes) => read_snapshot(bytes.as_slice(), &display, limits),
    };
    match read {
        Ok(mut snap) => {
            snap.seq = seq;
            // Taken out so the sink reports only problems of its own.
            let mut problems = std::mem::take(&mut snap.problems);
            let res = sink(snap);
            problems.extend(res.problems);
            (u32::from(res.accepted), problems)
        }
        Err(e) => {
            on_skip(seq);
            (0, vec![e.to_string()])
        }
    }
}

fn rejected(path: &Path, kind: InputKind, problem: String) -> InputReport {
    InputReport {
        path: path.display().to_string(),
        kind,
        snapshots: 0,
        status: InputStatus::Rejected,
        problems: vec![problem],
    }
}

/// Archive-looking files under a directory, sorted, without following symlinks.
fn archive_files_under(dir: &Path, inputs: &mut Vec<InputReport>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let name = e.file_name().to_string_lossy();
                if bundles::is_candidate_name(&name) {
                    out.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => inputs.push(InputReport {
                path: e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.display().to_string()),
                kind: InputKind::Directory,
                snapshots: 0,
                status: InputStatus::Rejected,
                problems: vec![format!("cannot list: {e}")],
            }),
        }
    }
    out
}

/// Decides what a file is by its first bytes: a gzip snapshot is queued as is; a tar
/// bundle is walked here and each member queued; anything else is a problem.
fn sniff_file(path: &Path, limits: &Limits, report: &mut InputReport, send: &mut dyn FnMut(Unit)) {
    let name = path.display().to_string();
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(format!("{name}: cannot open: {e}"));
            return;
        }
    };
    let mut head = [0u8; 512];
    let n = match read_up_to(&mut file, &mut head) {
        Ok(n) => n,
        Err(e) => {
            report.problems.push(format!("{name}: cannot read: {e}"));
            return;
        }
    };
    let head = &head[..n];
    match bundles::kind_of(head) {
        Kind::Empty => report.problems.push(format!("{name}: empty file")),
        Kind::Gzip => {
            // A snapshot, or a gzipped tar of a folder of them: the first entries say.
            let holds = File::open(path).map(bundles::gzip_holds);
            if let Ok(GzipHolds::Bundle) = holds {
                let capped = CappedReader::new(
                    MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, file_at_start(file))),
                    limits.max_bundle_bytes,
                    "per-bundle",
                );
                let mut walk = Walk::new(limits, send, report);
                walk.tar(BufReader::with_capacity(64 * 1024, capped), &name, 0);
                walk.finish(&name, "a gzipped tar");
            } else {
                send(Unit::File(path.to_path_buf()));
            }
        }
        Kind::Tar => {
            let rest = io::Cursor::new(head.to_vec()).chain(file);
            let mut walk = Walk::new(limits, send, report);
            walk.tar(BufReader::new(rest), &name, 0);
            walk.finish(&name, "a tar");
        }
        Kind::Zip => {
            let mut walk = Walk::new(limits, send, report);
            walk.zip(BufReader::new(file), &name, 0);
            walk.finish(&name, "a zip");
        }
        Kind::Other(what) => report.problems.push(format!("{name}: {what}")),
    }
}

/// The file read again from its start (its first bytes were read to sniff it).
fn file_at_start(mut f: File) -> File {
    use std::io::Seek;
    let _ = f.seek(io::SeekFrom::Start(0));
    f
}

/// A hint for a directory holding no archives: an unpacked snapshot is the usual cause.
fn unpacked_hint(dir: &Path) -> String {
    let unpacked = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .max_depth(3)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_type().is_file() && e.file_name() == MANIFEST_ENTRY);
    match unpacked {
        Some(e) => format!(
            "; {} belongs to an unpacked snapshot: give the collector's .tar.gz archives, or pack the folder again (tar czf snap.tar.gz -C FOLDER .)",
            e.path().display()
        ),
        None => String::new(),
    }
}

/// Sets the status from what was accepted and caps the problem list.
fn finish(report: &mut InputReport) {
    report.status = match (report.snapshots, report.problems.is_empty()) {
        (0, _) => InputStatus::Rejected,
        (_, true) => InputStatus::Ok,
        (_, false) => InputStatus::Partial,
    };
    if report.problems.len() > MAX_PROBLEMS_PER_INPUT {
        let extra = report.problems.len() - MAX_PROBLEMS_PER_INPUT;
        report.problems.truncate(MAX_PROBLEMS_PER_INPUT);
        report
            .problems
            .push(format!("{}: {extra} more problems not shown", report.path));
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Counts decompressed bytes and fails (rather than truncating silently) past a cap.
pub(crate) struct CappedReader<R> {
    inner: R,
    read: u64,
    cap: u64,
    what: &'static str,
}

impl<R> CappedReader<R> {
    /// `inner`, failing past `cap` bytes; `what` names the cap in the message.
    pub(crate) fn new(inner: R, cap: u64, what: &'static str) -> Self {
        CappedReader {
            inner,
            read: 0,
            cap,
            what,
        }
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::other(CapExceeded(self.cap, self.what)));
        }
        Ok(n)
    }
}

#[derive(Debug)]
struct CapExceeded(u64, &'static str);

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decompresses to more than {} (the {} cap); refused as a possible decompression bomb",
            fmt_bytes(self.0),
            self.1
        )
    }
}

impl std::error::Error for CapExceeded {}

pub(crate) fn io_reason(e: &io::Error) -> String {
    if let Some(inner) = e.get_ref() {
        if let Some(cap) = inner.downcast_ref::<CapExceeded>() {
            return cap.to_string();
        }
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "truncated (unexpected end of data)".to_string(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("corrupt gzip or tar data ({e})")
        }
        _ => e.to_string(),
    }
}

/// Why a snapshot archive was refused; the message names the archive (and entry).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{archive}: cannot open: {source}")]
    Open { archive: String, source: io::Error },
    #[error("{archive}: {}", io_reason(.source))]
    Read { archive: String, source: io::Error },
    #[error("{archive}:{entry}: {}", io_reason(.source))]
    ReadEntry {
        archive: String,
        entry: String,
        source: io::Error,
    },
    #[error("{archive}: more than {max} entries; refused (a snapshot has far fewer)")]
    TooManyEntries { archive: String, max: u64 },
    #[error(
        "{archive}:{MANIFEST_ENTRY}: {} exceeds the per-entry cap of {}; refused (a manifest is far smaller)",
        fmt_bytes(*.size),
        fmt_bytes(*.cap)
    )]
    ManifestTooLarge {
        archive: String,
        size: u64,
        cap: u64,
    },
    #[error("{archive}: no tar entries (empty or not a tar inside the gzip)")]
    Empty { archive: String },
    #[error("{archive}: no {MANIFEST_ENTRY}; not a podmem snapshot")]
    NoManifest { archive: String },
    /// `found` is the entry `<folder>/manifest.json`.
    #[error(
        "{archive}: no {MANIFEST_ENTRY} at the top, but {found}: an unpacked snapshot folder {} packed whole; pack its contents instead (tar czf snap.tar.gz -C FOLDER .) or give the collector's archive",
        .found.trim_end_matches(MANIFEST_ENTRY)
    )]
    ManifestInFolder { archive: String, found: String },
    #[error("{archive}:{MANIFEST_ENTRY}: {source}")]
    Manifest {
        archive: String,
        source: ManifestError,
    },
}

/// Reads one snapshot archive from a gzip stream.
pub fn read_snapshot<R: Read>(
    reader: R,
    name: &str,
    limits: &Limits,
) -> Result<RawSnapshot, ReadError> {
    let capped = CappedReader::new(
        MultiGzDecoder::new(reader),
        limits.max_archive_bytes,
        "per-archive",
    );
    let mut tar = TarStream::new(BufReader::with_capacity(64 * 1024, capped));
    let mut files = BTreeMap::new();
    let mut cgroup_dirs = Vec::new();
    let mut problems = Vec::new();
    let mut count = 0u64;
    while let Some(entry) = tar.next_entry().map_err(|source| ReadError::Read {
        archive: name.to_string(),
        source,
    })? {
        count += 1;
        if count > limits.max_entries {
            return Err(ReadError::TooManyEntries {
                archive: name.to_string(),
                max: limits.max_entries,
            });
        }
        let entry_name = match entry_name(tar.name()) {
            Ok(n) => n,
            Err(why) => {
                let shown = String::from_utf8_lossy(tar.name());
                problems.push(format!("{name}:{shown}: {why}; entry ignored"));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        if !entry.is_file() {
            problems.push(format!(
                "{name}:{entry_name}: entry is {}, not a regular file; ignored",
                entry.kind_words()
            ));
            continue;
        }
        let pack_dir = cgroup_files::rel_of(&entry_name).map(str::to_string);
        if pack_dir.is_none() && !wanted(&entry_name) {
            continue;
        }
        let entry_name = entry_name.into_owned();
        if entry.size > limits.max_entry_bytes {
            if entry_name == MANIFEST_ENTRY {
                return Err(ReadError::ManifestTooLarge {
                    archive: name.to_string(),
                    size: entry.size,
                    cap: limits.max_entry_bytes,
                });
            }
            problems.push(format!(
                "{name}:{entry_name}: {} exceeds the per-entry cap of {}; entry skipped",
                fmt_bytes(entry.size),
                fmt_bytes(limits.max_entry_bytes)
            ));
            continue;
        }
        let buf = tar
            .read_data(entry.size)
            .map_err(|source| ReadError::ReadEntry {
                archive: name.to_string(),
                entry: entry_name.clone(),
                source,
            })?;
        match pack_dir {
            Some(dir) => cgroup_dirs.push((dir, buf)),
            None => keep(&mut files, &mut problems, name, entry_name, buf),
        }
    }
    let Some(manifest_bytes) = files.remove(MANIFEST_ENTRY) else {
        let archive = name.to_string();
        return Err(if count == 0 {
            ReadError::Empty { archive }
        } else {
            match files.keys().find(|k| k.ends_with("/manifest.json")) {
                Some(k) => ReadError::ManifestInFolder {
                    archive,
                    found: k.clone(),
                },
                None => ReadError::NoManifest { archive },
            }
        });
    };
    let manifest = parse_manifest(&manifest_bytes).map_err(|source| ReadError::Manifest {
        archive: name.to_string(),
        source,
    })?;
    Ok(RawSnapshot {
        archive: name.to_string(),
        manifest,
        files,
        cgroup_dirs,
        problems,
        seq: 0,
    })
}

/// Stores one file, reporting a second copy of the same name.
fn keep(
    files: &mut BTreeMap<String, Vec<u8>>,
    problems: &mut Vec<String>,
    archive: &str,
    entry: String,
    buf: Vec<u8>,
) {
    match files.entry(entry) {
        std::collections::btree_map::Entry::Vacant(v) => {
            v.insert(buf);
        }
        std::collections::btree_map::Entry::Occupied(mut o) => {
            o.insert(buf);
            problems.push(format!(
                "{archive}:{}: appears twice; the last copy is used",
                o.key()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert!(wanted("cgroup/kubepods/memory.stat"));
        assert!(wanted("cgroup/memory.current"));
        assert!(!wanted("cgroup/kubepods/memory.failcnt"));
        assert!(wanted("proc/meminfo"));
    }

    #[test]
    fn manifest_versions() {
        let m = |v: &str| {
            parse_manifest(
                format!(r#"{{"format":"podmem-snapshot","format_version":{v},"node":"n"}}"#)
                    .as_bytes(),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(m("3").contains("newer"));
        assert!(m("0").contains("unknown"));
        assert!(m("-1").contains("unknown"));
        assert!(parse_manifest(b"{\"format\":\"x\"}")
            .unwrap_err()
            .to_string()
            .contains("not a podmem snapshot"));
        assert!(parse_manifest(b"{\"a\": NaN}")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON"));
    }

    #[test]
    fn text_normalizes() {
        let mut p = Vec::new();
        assert_eq!(
            into_text(b"a 1\r\nb 2\r\n".to_vec(), "x", "e", &mut p),
            "a 1\nb 2\n"
        );
        assert!(p.is_empty());
        assert_eq!(
            into_text(b"a \xff1\n".to_vec(), "x", "e", &mut p),
            "a \u{fffd}1\n"
        );
        assert!(p[0].starts_with("x:e: not valid UTF-8"));
    }
}
