//! `bundle`: packs the snapshots of a directory (optionally a time window) into one
//! file to send: an uncompressed tar with `bundle.json` first, then each snapshot
//! archive unchanged as `snapshots/<name>`, written under a temporary name and renamed.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use jiff::Timestamp;
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
}

/// Packs the snapshots in `dir` captured within [`since`, `until`] into `out`.
pub fn bundle(
    dir: &Path,
    out: &Path,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> Result<BundleOutcome> {
    let list = list_archives(dir, None)
        .with_context(|| format!("{}: cannot list snapshots", dir.display()))?;
    let mut chosen: Vec<(PathBuf, BundleSnapshot)> = Vec::new();
    let mut skipped = Vec::new();
    let out_canon = out.canonicalize().ok();
    for a in list {
        if out_canon.is_some() && a.path.canonicalize().ok() == out_canon {
            continue;
        }
        let m = match read_manifest(&a.path) {
            Ok(m) => m,
            Err(e) => {
                skipped.push(format!("{e:#}"));
                continue;
            }
        };
        if since.is_some_and(|s| m.captured_at < s) || until.is_some_and(|u| m.captured_at > u) {
            continue;
        }
        let name = a
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        chosen.push((
            a.path.clone(),
            BundleSnapshot {
                entry: format!("{BUNDLE_SNAPSHOT_PREFIX}{name}"),
                node: m.node,
                captured_at: m.captured_at,
                bytes: a.size,
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
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create directory", parent.display()))?;
    let tmp = parent.join(format!(".podmem-{}-bundle.tmp", std::process::id()));
    let res = write_bundle(&tmp, &manifest, &chosen).and_then(|_| {
        fs::rename(&tmp, out)
            .with_context(|| format!("{}: cannot rename into place", out.display()))
    });
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res?;
    if let Ok(d) = File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(BundleOutcome { manifest, skipped })
}

fn write_bundle(
    tmp: &Path,
    manifest: &BundleManifest,
    chosen: &[(PathBuf, BundleSnapshot)],
) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .with_context(|| format!("{}: cannot create", tmp.display()))?;
    let mut tar = tar::Builder::new(BufWriter::new(f));
    let json = serde_json::to_vec_pretty(manifest)?;
    let mtime = manifest.created_at.as_second().max(0) as u64;
    let mut h = header(json.len() as u64, mtime);
    tar.append_data(&mut h, BUNDLE_MANIFEST_ENTRY, json.as_slice())
        .with_context(|| format!("{}: write", tmp.display()))?;
    for (path, s) in chosen {
        let f = File::open(path).with_context(|| format!("{}: open", path.display()))?;
        let len = f.metadata()?.len();
        let mut h = header(len, s.captured_at.as_second().max(0) as u64);
        tar.append_data(&mut h, &s.entry, f)
            .with_context(|| format!("{}: adding {}", tmp.display(), path.display()))?;
    }
    let mut w = tar
        .into_inner()
        .with_context(|| format!("{}: write", tmp.display()))?;
    w.flush()?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()
        .with_context(|| format!("{}: sync", tmp.display()))?;
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
