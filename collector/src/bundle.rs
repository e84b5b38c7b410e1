//! `bundle`: packs the snapshots of a directory (optionally a time window) into one
//! file to send: an uncompressed tar with `bundle.json` first, then each snapshot
//! archive unchanged as `snapshots/<name>`. To a file it is written by the shared
//! `-o` rules (`podmem_schema::outfile`: a regular file through a temporary name and a
//! rename, a device or FIFO in place, a directory refused); to stdout (`-o -`, for `kubectl exec ... > node.tar` where the
//! image has no `tar` for `kubectl cp`) it is streamed, never to a terminal, and a
//! reader that stops early (broken pipe) ends the run without an error.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use jiff::Timestamp;
use podmem_schema::outfile::OutputFile;
use podmem_schema::snapshot::{
    BundleManifest, BundleSnapshot, BUNDLE_FORMAT_NAME, BUNDLE_FORMAT_VERSION,
    BUNDLE_MANIFEST_ENTRY, BUNDLE_SNAPSHOT_PREFIX,
};

use crate::archive::{list_archives, read_manifest};

/// What `bundle` did.
#[derive(Debug)]
pub struct BundleOutcome {
    /// The bundle manifest written.
    pub manifest: BundleManifest,
    /// Archives skipped (unreadable), with why.
    pub skipped: Vec<String>,
    /// The reader of stdout went away before the bundle was complete (broken pipe):
    /// what it got is a truncated bundle, by its own choice.
    pub pipe_closed: bool,
}

/// Snapshots chosen for a bundle, in capture order, with the manifest describing them.
struct Chosen {
    manifest: BundleManifest,
    files: Vec<(PathBuf, BundleSnapshot)>,
    skipped: Vec<String>,
}

/// Packs the snapshots in `dir` captured within [`since`, `until`] to stdout. Refuses a
/// terminal (a tar is no use on a screen and can upset it) before reading anything.
pub fn bundle_to_stdout(
    dir: &Path,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<BundleOutcome> {
    let stdout = io::stdout();
    anyhow::ensure!(
        !stdout.is_terminal(),
        "stdout is a terminal: refusing to write a binary bundle to it; redirect it \
         (`podmem-collector bundle {} -o - > node.tar`) or give -o FILE",
        dir.display()
    );
    let chosen = choose(dir, None, since, until)?;
    let mut w = PipeWatch {
        inner: BufWriter::with_capacity(64 * 1024, stdout.lock()),
        closed: false,
    };
    let res = write_tar(&mut w, &chosen, "stdout").and_then(|_| {
        w.flush().context("stdout: write")?;
        Ok(())
    });
    let pipe_closed = w.closed;
    match res {
        Ok(()) => {}
        Err(_) if pipe_closed => {}
        Err(e) => return Err(e),
    }
    Ok(BundleOutcome {
        manifest: chosen.manifest,
        skipped: chosen.skipped,
        pipe_closed,
    })
}

/// Remembers whether a write failed because the reader closed the pipe, so the caller
/// can tell that apart from a real failure whatever context was added on the way up.
struct PipeWatch<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> PipeWatch<W> {
    fn check<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            if e.kind() == io::ErrorKind::BrokenPipe {
                self.closed = true;
            }
        }
        r
    }
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.check(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.check(r)
    }
}

/// Packs the snapshots in `dir` captured within [`since`, `until`] into `out`.
pub fn bundle(
    dir: &Path,
    out: &Path,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<BundleOutcome> {
    // Refused before any snapshot is read: a directory, a block device, a socket.
    podmem_schema::outfile::plan(out)?;
    let chosen = choose(dir, Some(out), since, until)?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create directory", parent.display()))?;
    let mut w = OutputFile::create(out)?;
    write_tar(w.writer(), &chosen, &out.display().to_string())?;
    w.commit()?;
    Ok(BundleOutcome {
        manifest: chosen.manifest,
        skipped: chosen.skipped,
        pipe_closed: false,
    })
}

/// The snapshots of `dir` in the window (never the output file itself), in capture
/// order, and the bundle manifest for them.
fn choose(
    dir: &Path,
    out: Option<&Path>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<Chosen> {
    let list = list_archives(dir, None)
        .with_context(|| format!("{}: cannot list snapshots", dir.display()))?;
    let mut chosen: Vec<(PathBuf, BundleSnapshot)> = Vec::new();
    let mut skipped = Vec::new();
    let out_canon = out.and_then(|o| o.canonicalize().ok());
    for a in list {
        let path = a.path(dir);
        if out_canon.is_some() && path.canonicalize().ok() == out_canon {
            continue;
        }
        let m = match read_manifest(&path) {
            Ok(m) => m,
            Err(e) => {
                skipped.push(format!("{e:#}"));
                continue;
            }
        };
        if since.is_some_and(|s| m.captured_at < s) || until.is_some_and(|u| m.captured_at > u) {
            continue;
        }
        let name = a.name;
        let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        chosen.push((
            path,
            BundleSnapshot {
                entry: format!("{BUNDLE_SNAPSHOT_PREFIX}{name}"),
                node: m.node,
                captured_at: m.captured_at,
                bytes,
            },
        ));
    }
    chosen.sort_by(|a, b| (a.1.captured_at, &a.1.entry).cmp(&(b.1.captured_at, &b.1.entry)));
    anyhow::ensure!(
        !chosen.is_empty(),
        "{}: no snapshots{} to bundle",
        dir.display(),
        if since.is_some() || until.is_some() {
            " in the time window"
        } else {
            ""
        }
    );
    let nodes: BTreeSet<String> = chosen.iter().map(|c| c.1.node.clone()).collect();
    let manifest = BundleManifest {
        format: BUNDLE_FORMAT_NAME.into(),
        format_version: BUNDLE_FORMAT_VERSION,
        collector_version: env!("CARGO_PKG_VERSION").into(),
        created_at: Timestamp::now(),
        nodes: nodes.into_iter().collect(),
        count: chosen.len() as u64,
        first: chosen.first().map(|c| c.1.captured_at),
        last: chosen.last().map(|c| c.1.captured_at),
        snapshots: chosen.iter().map(|c| c.1.clone()).collect(),
    };
    Ok(Chosen {
        manifest,
        files: chosen,
        skipped,
    })
}

/// The bundle as a tar stream: `bundle.json`, then each archive as it is on disk.
fn write_tar(w: &mut dyn Write, chosen: &Chosen, shown: &str) -> Result<()> {
    let manifest = &chosen.manifest;
    let mut tar = tar::Builder::new(w);
    let json = serde_json::to_vec_pretty(manifest)?;
    let mtime = manifest.created_at.as_second().max(0) as u64;
    let mut h = header(json.len() as u64, mtime);
    tar.append_data(&mut h, BUNDLE_MANIFEST_ENTRY, json.as_slice())
        .with_context(|| format!("{shown}: write"))?;
    for (path, s) in &chosen.files {
        let f = File::open(path).with_context(|| format!("{}: open", path.display()))?;
        let len = f.metadata()?.len();
        let mut h = header(len, s.captured_at.as_second().max(0) as u64);
        tar.append_data(&mut h, &s.entry, f)
            .with_context(|| format!("{shown}: adding {}", path.display()))?;
    }
    tar.finish().with_context(|| format!("{shown}: write"))?;
    Ok(())
}

fn header(size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h
}
