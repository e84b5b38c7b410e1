//! Reading a snapshot archive back as the tests see it: entry by entry, each cgroup
//! directory's `files.podmem` expanded into its files; the manifest; the archives and
//! file names in an output directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use podmem_schema::cgroup_files;
use podmem_schema::snapshot::{Manifest, MANIFEST_ENTRY};

/// Every file of a snapshot archive, in order, with its bytes: each cgroup directory's
/// `files.podmem` entry is expanded into its files, named `cgroup/<rel>/<file>` as in
/// format 1. Panics on a broken archive.
pub fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, data) in raw_entries(path) {
        let Some(rel) = cgroup_files::rel_of(&name) else {
            out.push((name, data));
            continue;
        };
        let dir = if rel.is_empty() {
            "cgroup".to_string()
        } else {
            format!("cgroup/{rel}")
        };
        for rec in cgroup_files::decode(&data) {
            let (file, bytes) = rec.unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
            out.push((format!("{dir}/{file}"), bytes.to_vec()));
        }
    }
    out
}

/// Every tar entry of a snapshot archive, in order, with its bytes, as stored. Panics on
/// a broken archive.
pub fn raw_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ar = tar::Archive::new(GzDecoder::new(f));
    let mut out = Vec::new();
    for e in ar
        .entries()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        let mut e = e.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .unwrap_or_else(|err| panic!("{}: {name}: {err}", path.display()));
        out.push((name, data));
    }
    out
}

/// Writes `entries` (as [`raw_entries`] gives them) as a gzipped tar at `path`: an
/// archive the tests alter (a manifest from another clock) before the programs read it.
pub fn write_raw_entries(path: &Path, entries: &[(String, Vec<u8>)]) {
    let f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data.as_slice())
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
    }
    b.into_inner()
        .and_then(|gz| gz.finish())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The manifest, checked to be the first entry.
pub fn manifest(entries: &[(String, Vec<u8>)]) -> Manifest {
    assert_eq!(
        entries.first().map(|e| e.0.as_str()),
        Some(MANIFEST_ENTRY),
        "manifest.json must be first"
    );
    serde_json::from_slice(&entries[0].1).expect("manifest parses")
}

/// The one entry named `name`.
pub fn entry<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    entries.iter().find(|e| e.0 == name).map(|e| e.1.as_slice())
}

/// The `*.tar.gz` files in a directory, sorted.
pub fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every file name in a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
