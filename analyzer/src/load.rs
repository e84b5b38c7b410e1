//! Reading inputs without trusting them: snapshot archives (`.tar.gz`), bundles (a plain
//! tar holding snapshot archives and a `bundle.json`) and directories of either.
//!
//! Nothing is ever unpacked to disk: entries are streamed and kept in memory, bounded by
//! [`Limits`]. Every refusal becomes a problem naming the file (and entry) and the
//! reason, and the next input is read anyway. The type of a file is decided by its
//! first bytes, not by its name, so a random file called `.tar.gz` is refused for what
//! it is.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use podmem_schema::report::InputReport;
use podmem_schema::snapshot::{
    Manifest, BUNDLE_FORMAT_NAME as BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION,
    BUNDLE_MANIFEST_ENTRY as BUNDLE_ENTRY, FORMAT_NAME, FORMAT_VERSION, MANIFEST_ENTRY,
};
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 16 << 20,
            max_archive_bytes: 256 << 20,
            max_entries: 100_000,
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
    /// Entry name → content, for regular files within the caps.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Problems met while reading it (the snapshot is still usable).
    pub problems: Vec<String>,
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

/// What the loader found for one input file, with the snapshots it accepted handed to
/// the sink as they are read (so raw texts need not all be held at once).
#[derive(Debug)]
pub struct Loaded {
    /// One report per file read (snapshots, bundles) and per unusable path.
    pub inputs: Vec<InputReport>,
}

/// Reads every input path (files or directories, recursively) and hands each snapshot
/// to `sink` as soon as it is read. `sink` returns problems of its own (e.g. a snapshot
/// it could not use: `Err(reason)` refuses it).
pub fn load_inputs(
    paths: &[PathBuf],
    limits: &Limits,
    sink: &mut dyn FnMut(RawSnapshot) -> SinkResult,
) -> Loaded {
    let mut inputs = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                inputs.push(rejected(
                    path,
                    "file",
                    format!("{}: cannot read: {e}", path.display()),
                ));
                continue;
            }
        };
        if meta.is_dir() {
            let files = archive_files_under(path, &mut inputs);
            if files.is_empty() {
                inputs.push(rejected(
                    path,
                    "directory",
                    format!(
                        "{}: no snapshot archives (*.tar.gz, *.tgz) or bundles (*.tar) found",
                        path.display()
                    ),
                ));
            }
            for f in files {
                inputs.push(load_file(&f, limits, sink));
            }
        } else {
            inputs.push(load_file(path, limits, sink));
        }
    }
    Loaded { inputs }
}

/// What the sink says about a snapshot it was handed.
#[derive(Debug, Default)]
pub struct SinkResult {
    /// The snapshot was used.
    pub accepted: bool,
    /// Problems found while using it (naming the file).
    pub problems: Vec<String>,
}

fn rejected(path: &Path, kind: &str, problem: String) -> InputReport {
    InputReport {
        path: path.display().to_string(),
        kind: kind.to_string(),
        snapshots: 0,
        status: "rejected".to_string(),
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
                if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar") {
                    out.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => inputs.push(InputReport {
                path: e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| dir.display().to_string()),
                kind: "directory".to_string(),
                snapshots: 0,
                status: "rejected".to_string(),
                problems: vec![format!("cannot list: {e}")],
            }),
        }
    }
    out
}

/// Reads one file: a gzip snapshot or a tar bundle, by content.
fn load_file(
    path: &Path,
    limits: &Limits,
    sink: &mut dyn FnMut(RawSnapshot) -> SinkResult,
) -> InputReport {
    let name = path.display().to_string();
    let mut report = InputReport {
        path: name.clone(),
        kind: "snapshot".to_string(),
        snapshots: 0,
        status: "rejected".to_string(),
        problems: Vec::new(),
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(format!("{name}: cannot open: {e}"));
            return report;
        }
    };
    let mut head = [0u8; 512];
    let n = match read_up_to(&mut file, &mut head) {
        Ok(n) => n,
        Err(e) => {
            report.problems.push(format!("{name}: cannot read: {e}"));
            return report;
        }
    };
    let head = &head[..n];
    let rest = io::Cursor::new(head.to_vec()).chain(file);
    if n == 0 {
        report.problems.push(format!("{name}: empty file"));
    } else if head.starts_with(&[0x1f, 0x8b]) {
        match read_snapshot(BufReader::new(rest), &name, limits) {
            Ok(snap) => accept(&mut report, sink, snap),
            Err(p) => report.problems.push(p),
        }
    } else if n >= 262 && &head[257..262] == b"ustar" {
        report.kind = "bundle".to_string();
        read_bundle(BufReader::new(rest), &name, limits, sink, &mut report);
    } else {
        report.problems.push(format!(
            "{name}: not a podmem snapshot (no gzip header) nor a bundle (no tar header); first bytes {}",
            hex_prefix(head)
        ));
    }
    finish(&mut report);
    report
}

fn accept(
    report: &mut InputReport,
    sink: &mut dyn FnMut(RawSnapshot) -> SinkResult,
    snap: RawSnapshot,
) {
    let mut problems = snap.problems.clone();
    let res = sink(snap);
    problems.extend(res.problems);
    if res.accepted {
        report.snapshots += 1;
    }
    report.problems.extend(problems);
}

/// Sets the status from what was accepted and caps the problem list.
fn finish(report: &mut InputReport) {
    report.status = match (report.snapshots, report.problems.is_empty()) {
        (0, _) => "rejected",
        (_, true) => "ok",
        (_, false) => "partial",
    }
    .to_string();
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

fn hex_prefix(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Counts decompressed bytes and fails (rather than truncating silently) past a cap.
struct CappedReader<R> {
    inner: R,
    read: u64,
    cap: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::other(CapExceeded(self.cap)));
        }
        Ok(n)
    }
}

#[derive(Debug)]
struct CapExceeded(u64);

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decompresses to more than {} (the per-archive cap); refused as a possible decompression bomb",
            fmt_bytes(self.0)
        )
    }
}

impl std::error::Error for CapExceeded {}

/// Why an entry name is unsafe, if it is: absolute, `..`, or not UTF-8.
fn unsafe_entry_name(raw: &[u8]) -> Result<String, String> {
    let name = std::str::from_utf8(raw).map_err(|_| "entry name is not UTF-8".to_string())?;
    if name.starts_with('/') {
        return Err("absolute path".to_string());
    }
    let mut clean = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => clean.push(p.to_str().unwrap_or_default()),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains `..`".to_string()),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path".to_string()),
        }
    }
    Ok(clean.join("/"))
}

fn io_reason(e: &io::Error) -> String {
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

/// Reads one snapshot archive from a gzip stream.
pub fn read_snapshot<R: Read>(
    reader: R,
    name: &str,
    limits: &Limits,
) -> Result<RawSnapshot, String> {
    let capped = CappedReader {
        inner: MultiGzDecoder::new(reader),
        read: 0,
        cap: limits.max_archive_bytes,
    };
    let mut archive = tar::Archive::new(capped);
    let mut files = BTreeMap::new();
    let mut problems = Vec::new();
    let mut count = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| format!("{name}: cannot read as tar.gz: {}", io_reason(&e)))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("{name}: {}", io_reason(&e)))?;
        count += 1;
        if count > limits.max_entries {
            return Err(format!(
                "{name}: more than {} entries; refused (a snapshot has far fewer)",
                limits.max_entries
            ));
        }
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let kind = entry.header().entry_type();
        let entry_name = match unsafe_entry_name(&raw_name) {
            Ok(n) => n,
            Err(why) => {
                problems.push(format!("{name}:{shown}: {why}; entry ignored"));
                continue;
            }
        };
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            let what = if kind.is_symlink() {
                "a symbolic link".to_string()
            } else if kind.is_hard_link() {
                "a hard link".to_string()
            } else if kind.is_character_special() || kind.is_block_special() {
                "a device node".to_string()
            } else if kind.is_fifo() {
                "a FIFO".to_string()
            } else {
                format!("of tar type {:?}", kind)
            };
            problems.push(format!(
                "{name}:{entry_name}: entry is {what}, not a regular file; ignored"
            ));
            continue;
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > limits.max_entry_bytes {
            problems.push(format!(
                "{name}:{entry_name}: {} exceeds the per-entry cap of {}; entry skipped",
                fmt_bytes(size),
                fmt_bytes(limits.max_entry_bytes)
            ));
            continue;
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(limits.max_entry_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{name}:{entry_name}: {}", io_reason(&e)))?;
        if files.insert(entry_name.clone(), buf).is_some() {
            problems.push(format!(
                "{name}:{entry_name}: appears twice; the last copy is used"
            ));
        }
    }
    let Some(manifest_bytes) = files.remove(MANIFEST_ENTRY) else {
        return Err(if count == 0 {
            format!("{name}: no tar entries (empty or not a tar inside the gzip)")
        } else {
            format!("{name}: no {MANIFEST_ENTRY}; not a podmem snapshot")
        });
    };
    let manifest =
        parse_manifest(&manifest_bytes).map_err(|why| format!("{name}:{MANIFEST_ENTRY}: {why}"))?;
    Ok(RawSnapshot {
        archive: name.to_string(),
        manifest,
        files,
        problems,
    })
}

/// Checks the format name and version before deserializing the rest, so a newer
/// snapshot is refused for being newer rather than for a field it renamed.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let format = value.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT_NAME) {
        return Err(format!(
            "format is {}, expected \"{FORMAT_NAME}\"; not a podmem snapshot",
            format
                .map(|f| format!("{f:?}"))
                .unwrap_or_else(|| "missing".to_string())
        ));
    }
    match value.get("format_version").and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(format!(
                "format version {v} is newer than this analyzer understands ({FORMAT_VERSION}); upgrade podmem-analyzer"
            ))
        }
        Some(0) | None => {
            return Err(format!(
                "format version {} is unknown (expected {FORMAT_VERSION})",
                value.get("format_version").map(|v| v.to_string()).unwrap_or_else(|| "missing".into())
            ))
        }
        Some(_) => {}
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| format!("invalid manifest ({e})"))?;
    if manifest.node.trim().is_empty() {
        return Err("manifest has an empty node name".to_string());
    }
    Ok(manifest)
}

/// Reads a bundle: a plain tar whose `.tar.gz` members are snapshots, each read straight
/// from the outer stream.
fn read_bundle<R: Read>(
    reader: R,
    name: &str,
    limits: &Limits,
    sink: &mut dyn FnMut(RawSnapshot) -> SinkResult,
    report: &mut InputReport,
) {
    let mut archive = tar::Archive::new(reader);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            report
                .problems
                .push(format!("{name}: cannot read as tar: {}", io_reason(&e)));
            return;
        }
    };
    let mut count = 0u64;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report.problems.push(format!("{name}: {}", io_reason(&e)));
                return;
            }
        };
        count += 1;
        if count > limits.max_entries {
            report.problems.push(format!(
                "{name}: more than {} entries; the rest of the bundle is ignored",
                limits.max_entries
            ));
            return;
        }
        let raw_name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_name).into_owned();
        let member = match unsafe_entry_name(&raw_name) {
            Ok(n) => n,
            Err(why) => {
                report
                    .problems
                    .push(format!("{name}!{shown}: {why}; member ignored"));
                continue;
            }
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            report.problems.push(format!(
                "{name}!{member}: member is not a regular file ({kind:?}); ignored"
            ));
            continue;
        }
        let display = format!("{name}!{member}");
        if member == BUNDLE_ENTRY || member.ends_with("/bundle.json") {
            let mut buf = Vec::new();
            if let Err(e) = (&mut entry).take(1 << 20).read_to_end(&mut buf) {
                report
                    .problems
                    .push(format!("{display}: {}", io_reason(&e)));
                continue;
            }
            match serde_json::from_slice::<serde_json::Value>(&buf) {
                Ok(v) if v.get("format").and_then(|f| f.as_str()) != Some(BUNDLE_FORMAT) => report
                    .problems
                    .push(format!("{display}: format is not \"{BUNDLE_FORMAT}\"; bundle read anyway")),
                Ok(v) if v.get("format_version").and_then(|f| f.as_u64()).unwrap_or(0) > u64::from(BUNDLE_FORMAT_VERSION) => {
                    report.problems.push(format!(
                        "{display}: bundle format version {} is newer than this analyzer understands ({BUNDLE_FORMAT_VERSION}); its snapshots are read anyway",
                        v["format_version"]
                    ))
                }
                Ok(_) => {}
                Err(e) => report
                    .problems
                    .push(format!("{display}: not valid JSON ({e}); bundle read anyway")),
            }
            continue;
        }
        if !(member.ends_with(".tar.gz") || member.ends_with(".tgz")) {
            continue;
        }
        match read_snapshot(BufReader::new(&mut entry), &display, limits) {
            Ok(snap) => accept(report, sink, snap),
            Err(p) => report.problems.push(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert_eq!(
            unsafe_entry_name(b"./cgroup/a/memory.stat").unwrap(),
            "cgroup/a/memory.stat"
        );
        assert!(unsafe_entry_name(b"/etc/passwd")
            .unwrap_err()
            .contains("absolute"));
        assert!(unsafe_entry_name(b"cgroup/../../x")
            .unwrap_err()
            .contains(".."));
        assert!(unsafe_entry_name(b"a\xffb").unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn manifest_versions() {
        let m = |v: &str| {
            parse_manifest(
                format!(r#"{{"format":"podmem-snapshot","format_version":{v},"node":"n"}}"#)
                    .as_bytes(),
            )
            .unwrap_err()
        };
        assert!(m("2").contains("newer"));
        assert!(m("0").contains("unknown"));
        assert!(m("-1").contains("unknown"));
        assert!(parse_manifest(b"{\"format\":\"x\"}")
            .unwrap_err()
            .contains("not a podmem snapshot"));
        assert!(parse_manifest(b"{\"a\": NaN}")
            .unwrap_err()
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
