//! Snapshot archives on disk: the in-memory entry list (with the total-size cap), the
//! atomic writer (`.podmem-*.tmp`, fsync, link into place under a unique name), the
//! cleanup of temporary files a killed run left, and listing/reading the archives
//! already in an output directory (for retention and kernel-log continuation).

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirEntryExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use jiff::Timestamp;
use podmem_schema::snapshot::{Manifest, MANIFEST_ENTRY};

/// Prefix of temporary archive files.
pub const TMP_PREFIX: &str = ".podmem-";
/// Suffix of temporary archive files.
pub const TMP_SUFFIX: &str = ".tmp";
/// A temporary file older than this is stale even if its pid is alive (pid reuse).
const STALE_AGE: Duration = Duration::from_secs(600);

/// Raw entries of one snapshot, in archive order, with the total-size cap.
#[derive(Debug, Default)]
pub struct Entries {
    items: Vec<(String, Vec<u8>)>,
    total: u64,
    cap: u64,
    refused: u64,
}

impl Entries {
    /// An empty list holding at most `cap` bytes.
    pub fn new(cap: u64) -> Self {
        Entries {
            cap,
            ..Default::default()
        }
    }

    /// Adds an entry; false (and nothing kept) when it would pass the total cap.
    pub fn push(&mut self, name: impl Into<String>, data: Vec<u8>) -> bool {
        let len = data.len() as u64;
        if self.total + len > self.cap {
            self.refused += 1;
            return false;
        }
        self.total += len;
        self.items.push((name.into(), data));
        true
    }

    /// Bytes kept so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Entries refused by the cap.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.items.iter().map(|(n, d)| (n.as_str(), d.as_slice()))
    }
}

/// File name of an archive: `podmem-<node>-<YYYYMMDDTHHMMSS.mmmZ>.tar.gz`, with
/// `-<n>` before `.tar.gz` when `n > 0` (a second archive in the same millisecond).
pub fn archive_name(node: &str, at: Timestamp, n: u32) -> String {
    let stamp = at.strftime("%Y%m%dT%H%M%S%.3fZ");
    let node = sanitize_node(node);
    if n == 0 {
        format!("podmem-{node}-{stamp}.tar.gz")
    } else {
        format!("podmem-{node}-{stamp}-{n}.tar.gz")
    }
}

/// Longest node part of an archive file name, in bytes: with `podmem-`, the stamp, a
/// collision suffix and `.tar.gz` the name stays well under the 255-byte limit of
/// Linux file systems (Kubernetes allows node names of 253).
pub const MAX_NODE_PART: usize = 180;

/// A node name made safe as a file-name part (letters, digits, `.`, `_`, `-`), at most
/// [`MAX_NODE_PART`] bytes: a longer one is cut and ends in `-h<16 hex>`, a hash of the
/// whole name, so two long names that share a beginning still get different files. The
/// manifest always holds the full name.
pub fn sanitize_node(node: &str) -> String {
    let s: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    };
    if s.len() <= MAX_NODE_PART {
        return s;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, node.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // The sanitized name is ASCII, so any byte index is a char boundary.
    format!("{}-h{hex}", &s[..MAX_NODE_PART - 18])
}

/// An archive found in an output directory, known from its directory entry alone:
/// listing never stats, so a snapshot's cost does not grow with a stat per kept archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// File name.
    pub name: String,
    /// Collision suffix (0 when none).
    pub seq: u32,
    /// Inode number from the directory entry: with the name, what [`Sizes`] remembers
    /// a size under.
    pub ino: u64,
    /// End of the node part in `name` (it starts after `podmem-`; the stamp follows).
    node_end: usize,
    /// The stamp's bytes, held inline so that sorting thousands compares arrays.
    stamp: [u8; STAMP_LEN],
}

impl ArchiveFile {
    /// Node part of the name.
    pub fn node(&self) -> &str {
        &self.name[NAME_PREFIX.len()..self.node_end]
    }

    /// Time part of the name (`YYYYMMDDTHHMMSS.mmmZ`), sortable.
    pub fn stamp(&self) -> &str {
        &self.name[self.node_end + 1..self.node_end + 1 + STAMP_LEN]
    }

    /// Its path in `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.name)
    }

    /// Order of capture: stamp, then collision suffix, then node.
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.stamp
            .cmp(&other.stamp)
            .then(self.seq.cmp(&other.seq))
            .then_with(|| self.node().cmp(other.node()))
    }

    fn new(name: &str, node_end: usize, seq: u32, ino: u64) -> Self {
        let mut stamp = [0; STAMP_LEN];
        stamp.copy_from_slice(&name.as_bytes()[node_end + 1..node_end + 1 + STAMP_LEN]);
        ArchiveFile {
            name: name.to_string(),
            seq,
            ino,
            node_end,
            stamp,
        }
    }
}

const NAME_PREFIX: &str = "podmem-";
const NAME_SUFFIX: &str = ".tar.gz";
/// `YYYYMMDDTHHMMSS.mmmZ`: 8 digits, T, 6 digits, '.', 3 digits, Z.
const STAMP_LEN: usize = 20;

/// Where the node part of an archive file name ends, and its collision suffix.
fn split_archive_name(name: &str) -> Option<(usize, u32)> {
    let core = name.strip_prefix(NAME_PREFIX)?.strip_suffix(NAME_SUFFIX)?;
    let (head, seq) = match core.rsplit_once('-') {
        Some((h, s))
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && h.ends_with('Z') =>
        {
            (h, s.parse().ok()?)
        }
        _ => (core, 0),
    };
    if head.len() < STAMP_LEN + 2 {
        return None;
    }
    let (node, stamp) = head.split_at(head.len() - STAMP_LEN);
    let node = node.strip_suffix('-')?;
    let b = stamp.as_bytes();
    let shape_ok = b[8] == b'T' && b[15] == b'.' && b[19] == b'Z';
    (shape_ok && !node.is_empty()).then_some((NAME_PREFIX.len() + node.len(), seq))
}

/// Parses an archive file name into (node, stamp, seq).
pub fn parse_archive_name(name: &str) -> Option<(String, String, u32)> {
    let (node_end, seq) = split_archive_name(name)?;
    let a = ArchiveFile::new(name, node_end, seq, 0);
    Some((a.node().to_string(), a.stamp().to_string(), seq))
}

/// Archives in `dir`, oldest first; `node` restricts to one node's archives. Only
/// names in the collector's own form count, and only regular files (the type comes
/// from the directory entry; the file system is asked only where it does not record
/// one). Nothing is stat'ed or opened.
pub fn list_archives(dir: &Path, node: Option<&str>) -> io::Result<Vec<ArchiveFile>> {
    let want = node.map(|n| format!("{NAME_PREFIX}{}-", sanitize_node(n)));
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for ent in rd {
        let ent = ent?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if want.as_deref().is_some_and(|w| !name.starts_with(w)) {
            continue;
        }
        let Some((node_end, seq)) = split_archive_name(name) else {
            continue;
        };
        // A node name may itself end in a stamp-like part: the prefix alone is not enough.
        if want.as_deref().is_some_and(|w| w.len() != node_end + 1) {
            continue;
        }
        if !ent.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        out.push(ArchiveFile::new(name, node_end, seq, ent.ino()));
    }
    out.sort_unstable_by(ArchiveFile::order);
    Ok(out)
}

/// Sizes of archives, measured once: archives are never rewritten in place, so a size
/// is remembered under the name and the inode the directory entry gives (a file
/// replaced under the same name has a new inode and is measured again). `watch` keeps
/// one across its snapshots, so `--max-disk` stats only the archives that are new
/// since the last one.
#[derive(Debug, Default)]
pub struct Sizes {
    known: HashMap<String, (u64, u64)>,
    measured: u64,
}

impl Sizes {
    /// The size of `a` in `dir`; None when it is gone or cannot be stat'ed.
    fn size(&mut self, dir: &Path, a: &ArchiveFile) -> Option<u64> {
        if let Some((ino, len)) = self.known.get(&a.name) {
            if *ino == a.ino {
                return Some(*len);
            }
        }
        self.measured += 1;
        let len = fs::symlink_metadata(a.path(dir)).ok()?.len();
        self.known.insert(a.name.clone(), (a.ino, len));
        Some(len)
    }

    /// Forgets all but `kept`, so the memory stays bounded by the archives kept.
    fn retain(&mut self, kept: &[&ArchiveFile]) {
        let live: HashSet<&str> = kept.iter().map(|a| a.name.as_str()).collect();
        self.known.retain(|name, _| live.contains(name.as_str()));
    }

    /// How many listed archives were stat'ed so far (the one a run wrote aside).
    pub fn measured(&self) -> u64 {
        self.measured
    }
}

/// Reads the manifest (the first entry) of an archive.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let f = File::open(path).with_context(|| format!("{}: open", path.display()))?;
    let mut ar = tar::Archive::new(GzDecoder::new(io::BufReader::new(f)));
    let mut entries = ar
        .entries()
        .with_context(|| format!("{}: not a tar.gz", path.display()))?;
    let mut first = entries
        .next()
        .with_context(|| format!("{}: empty archive", path.display()))?
        .with_context(|| format!("{}: unreadable first entry", path.display()))?;
    let name = first.path()?.to_string_lossy().into_owned();
    anyhow::ensure!(
        name == MANIFEST_ENTRY,
        "{}: first entry is {name:?}, not {MANIFEST_ENTRY}",
        path.display()
    );
    let mut text = Vec::new();
    (&mut first)
        .take(16 << 20)
        .read_to_end(&mut text)
        .with_context(|| format!("{}: reading manifest", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("{}: bad manifest.json", path.display()))
}

/// Removes temporary files left in `dir` by killed runs: those whose writer pid is gone,
/// or older than ten minutes. Returns how many were removed.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for ent in rd.flatten() {
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(core) = name
            .strip_prefix(TMP_PREFIX)
            .and_then(|n| n.strip_suffix(TMP_SUFFIX))
        else {
            continue;
        };
        let pid: Option<i32> = core.split('-').next().and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|p| p == std::process::id() as i32 || pid_alive(p));
        let old = ent
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > STALE_AGE);
        if (!alive || old)
            && pid != Some(std::process::id() as i32)
            && fs::remove_file(ent.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` exists (signal 0: existence and permission only). A pid of
/// 0 or below is no process's: `kill` would address a process group.
fn pid_alive(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid.max(0)) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Writes `manifest` (first) and `entries` as a tar.gz in `dir` under a temporary name,
/// syncs it, and links it into place as the first free
/// [`archive_name`]; returns the final path. On error the temporary file is removed.
pub fn write_archive(
    dir: &Path,
    node: &str,
    manifest: &Manifest,
    entries: &Entries,
) -> Result<PathBuf> {
    fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create output directory", dir.display()))?;
    let tmp = dir.join(format!(
        "{TMP_PREFIX}{}-{}{TMP_SUFFIX}",
        std::process::id(),
        manifest
            .captured_at
            .as_nanosecond()
            .rem_euclid(1_000_000_000_000)
    ));
    let result = write_tmp(&tmp, manifest, entries)
        .and_then(|_| link_unique(&tmp, dir, node, manifest.captured_at));
    let _ = fs::remove_file(&tmp);
    result
}

fn write_tmp(tmp: &Path, manifest: &Manifest, entries: &Entries) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(tmp)
        .with_context(|| format!("{}: cannot create temporary archive", tmp.display()))?;
    let mtime = manifest.captured_at.as_second().max(0) as u64;
    let gz = GzEncoder::new(
        BufWriter::with_capacity(256 << 10, file),
        Compression::fast(),
    );
    // Entries reach the compressor in 64 KiB pieces: flate2 zeroes its whole output
    // buffer on every write call, which for three small writes per entry was an eighth
    // of a snapshot's CPU.
    let mut tar = tar::Builder::new(BufWriter::with_capacity(64 << 10, gz));
    let manifest_json = serde_json::to_vec_pretty(manifest).context("serializing manifest")?;
    let ctx = || format!("{}: writing archive", tmp.display());
    append(&mut tar, MANIFEST_ENTRY, &manifest_json, mtime).with_context(ctx)?;
    for (name, data) in entries.iter() {
        append(&mut tar, name, data, mtime).with_context(ctx)?;
    }
    let gz = tar
        .into_inner()
        .with_context(ctx)?
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(ctx)?;
    let buf = gz.finish().with_context(ctx)?;
    let file = buf
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(ctx)?;
    file.sync_all().with_context(ctx)?;
    Ok(())
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
    mtime: u64,
) -> io::Result<()> {
    // ustar splits paths up to 255 bytes into prefix + name, so deep cgroup paths need
    // no extra long-name records (half the bytes to compress on a 400-cgroup node).
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    if !set_ustar_name(&mut h, name) {
        // append_data still writes a GNU long-name record for a path ustar cannot hold.
        return tar.append_data(&mut h, name, data);
    }
    h.set_cksum();
    // Written directly: `Builder::append` copies the data through a reader whose
    // 8 KiB buffer is zeroed for every entry, which was a tenth of a snapshot's CPU on
    // a 5,000-entry node.
    const ZEROS: [u8; 512] = [0; 512];
    let w = tar.get_mut();
    w.write_all(h.as_bytes())?;
    w.write_all(data)?;
    let pad = (512 - data.len() % 512) % 512;
    w.write_all(&ZEROS[..pad])
}

/// Puts `name` in a ustar header as `tar::Header::set_path` does (whole in `name` up to
/// 100 bytes, else split at the last `/` that leaves a prefix of at most 155 bytes),
/// without its per-component path parsing. False, header untouched, for anything but a
/// plain relative path (empty, `.` or `..` components, NUL) or one that does not fit:
/// those go through the `tar` crate.
fn set_ustar_name(h: &mut tar::Header, name: &str) -> bool {
    let b = name.as_bytes();
    let plain = !b.is_empty()
        && !b.contains(&0)
        && b.split(|c| *c == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..");
    if !plain {
        return false;
    }
    let Some(u) = h.as_ustar_mut() else {
        return false;
    };
    if b.len() <= u.name.len() {
        u.name[..b.len()].copy_from_slice(b);
        return true;
    }
    let Some(cut) = b[..=u.prefix.len().min(b.len() - 1)]
        .iter()
        .rposition(|c| *c == b'/')
    else {
        return false;
    };
    let (prefix, rest) = (&b[..cut], &b[cut + 1..]);
    if rest.len() > u.name.len() {
        return false;
    }
    u.prefix[..prefix.len()].copy_from_slice(prefix);
    u.name[..rest.len()].copy_from_slice(rest);
    true
}

/// Links `tmp` to the first unused archive name (hard links never replace), falling
/// back to a no-replace check plus rename where links are not supported.
fn link_unique(tmp: &Path, dir: &Path, node: &str, at: Timestamp) -> Result<PathBuf> {
    for n in 0..10_000u32 {
        let target = dir.join(archive_name(node, at, n));
        match fs::hard_link(tmp, &target) {
            Ok(()) => {
                sync_dir(dir);
                return Ok(target);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) if !target.exists() => {
                fs::rename(tmp, &target)
                    .with_context(|| format!("{}: cannot rename into place", target.display()))?;
                sync_dir(dir);
                return Ok(target);
            }
            Err(_) => continue,
        }
    }
    anyhow::bail!("{}: no free archive name", dir.display())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The archives of `list` stamped after `at` (a clock that ran ahead, files copied
/// from another machine), oldest first.
pub fn future_archives(list: &[ArchiveFile], at: Timestamp) -> Vec<&ArchiveFile> {
    let now = stamp_of(at);
    list.iter().filter(|a| a.stamp() > now.as_str()).collect()
}

fn stamp_of(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// Retention over `list`, the archives of one node in `dir` as [`list_archives`] gave
/// them before this run wrote `current`: keeps the newest `keep` archives and, with
/// `max_disk`, removes the oldest until the total size of those kept fits. Archives are
/// ordered by the capture time in their names, except that those stamped after `at`
/// (this run's capture time) count as the oldest: their stamps cannot be trusted, and
/// left as "newest" they would never be removed and would push out every new archive.
/// `current`, the archive this run wrote, is never removed (with `max_disk` it may stay
/// alone over the limit). Nothing is stat'ed without `max_disk`; with it, sizes are
/// taken from the newest down, only of archives that stay and of the first that does
/// not fit, and only once per [`Sizes`]. Returns the removed paths.
pub fn apply_retention(
    dir: &Path,
    list: &[ArchiveFile],
    current: &Path,
    at: Timestamp,
    keep: Option<usize>,
    max_disk: Option<u64>,
    sizes: &mut Sizes,
) -> io::Result<Vec<PathBuf>> {
    let now = stamp_of(at);
    let current_name = current.file_name().and_then(|n| n.to_str());
    let mut order: Vec<&ArchiveFile> = list
        .iter()
        .filter(|a| Some(a.name.as_str()) != current_name)
        .collect();
    // Stable: the future-stamped ones first (in their own order), then the rest.
    order.sort_by_key(|a| a.stamp() <= now.as_str());
    // Index into `order` of the oldest archive kept; every one before it goes.
    let mut first_kept = 0;
    if let Some(k) = keep {
        // This run's archive is one of the `k`.
        first_kept = order.len().saturating_sub(k.max(1) - 1);
    }
    if let Some(max) = max_disk {
        // Not remembered: the inode its directory entry gives (which on some file
        // systems, overlayfs among them, differs from stat's) is learned when it is
        // first listed.
        let mut total = fs::symlink_metadata(current)?.len();
        let mut i = order.len();
        while i > first_kept {
            let size = sizes.size(dir, order[i - 1]).unwrap_or(0);
            if total.saturating_add(size) > max {
                break;
            }
            total += size;
            i -= 1;
        }
        first_kept = i;
        sizes.retain(&order[first_kept..]);
    }
    let mut removed = Vec::new();
    for a in &order[..first_kept] {
        let path = a.path(dir);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
        removed.push(path);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_sort() {
        let at: Timestamp = "2026-11-28T04:13:00.5Z".parse().unwrap();
        let n0 = archive_name("node-1.example", at, 0);
        assert_eq!(n0, "podmem-node-1.example-20261128T041300.500Z.tar.gz");
        let n1 = archive_name("node-1.example", at, 1);
        assert_eq!(
            parse_archive_name(&n0),
            Some(("node-1.example".into(), "20261128T041300.500Z".into(), 0))
        );
        assert_eq!(
            parse_archive_name(&n1),
            Some(("node-1.example".into(), "20261128T041300.500Z".into(), 1))
        );
        assert_eq!(parse_archive_name("podmem-x.tar.gz"), None);
        assert_eq!(parse_archive_name("other.tar.gz"), None);
        assert_eq!(sanitize_node("a/b c"), "a_b_c");
        assert_eq!(sanitize_node(""), "_");
    }

    /// The direct writer must produce the bytes `tar::Builder::append_data` produces.
    #[test]
    fn direct_entries_are_the_tar_crate_bytes() {
        let deep = format!(
            "cgroup/kubepods/burstable/pod{}/{}/memory.stat",
            "u".repeat(36),
            "c".repeat(64)
        );
        let names = [
            "manifest.json".to_string(),
            "cgroup/memory.stat".to_string(),
            deep,
            format!("cgroup/{}/memory.stat", "d".repeat(150)),
            format!("cgroup/{}/{}", "d".repeat(150), "f".repeat(101)),
            format!("{}/x", "e".repeat(300)),
            "a//b/./c".to_string(),
            "x".repeat(100),
            "y".repeat(101),
        ];
        let build = |direct: bool| {
            let mut b = tar::Builder::new(Vec::new());
            for (i, n) in names.iter().enumerate() {
                let data = vec![b'a' + i as u8; 300 * i];
                if direct {
                    append(&mut b, n, &data, 1_795_000_000).unwrap();
                } else {
                    let mut h = tar::Header::new_ustar();
                    h.set_size(data.len() as u64);
                    h.set_mode(0o644);
                    h.set_mtime(1_795_000_000);
                    h.set_uid(0);
                    h.set_gid(0);
                    h.set_entry_type(tar::EntryType::Regular);
                    b.append_data(&mut h, n, data.as_slice()).unwrap();
                }
            }
            b.into_inner().unwrap()
        };
        let (direct, reference) = (build(true), build(false));
        assert_eq!(direct.len(), reference.len());
        assert!(direct == reference, "archives differ");
    }

    #[test]
    fn entries_respect_total_cap() {
        let mut e = Entries::new(10);
        assert!(e.push("a", vec![0; 6]));
        assert!(!e.push("b", vec![0; 6]));
        assert!(e.push("c", vec![0; 4]));
        assert_eq!((e.total(), e.refused(), e.len()), (10, 1, 2));
    }

    #[test]
    fn stale_temps_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0x7ffffff0 does not exist.
        let dead = dir
            .path()
            .join(format!("{TMP_PREFIX}2147483632-1{TMP_SUFFIX}"));
        let mine = dir
            .path()
            .join(format!("{TMP_PREFIX}{}-1{TMP_SUFFIX}", std::process::id()));
        let other = dir.path().join("keep.txt");
        for p in [&dead, &mine, &other] {
            fs::write(p, "x").unwrap();
        }
        assert_eq!(clean_stale_temps(dir.path()), 1);
        assert!(!dead.exists() && mine.exists() && other.exists());
    }

    /// Retention under shuffled clocks (issue 13, hole 3): any mix of archive stamps in
    /// the past and the future, any file mtimes, any keep/max-disk. The archive of this
    /// run is never removed; future-stamped archives go first; among the rest the
    /// oldest go first; the limits hold (or only this run's archive is left).
    mod retention_props {
        use super::*;
        use proptest::prelude::*;

        fn stamp(secs: i64) -> Timestamp {
            Timestamp::from_second(1_795_000_000 + secs).unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn current_kept_future_first_limits_hold(
                others in proptest::collection::vec((-100_000i64..100_000, 1u64..5_000, 0i64..2_000_000_000), 0..12),
                keep in proptest::option::of(0usize..6),
                max_disk in proptest::option::of(0u64..20_000),
            ) {
                let d = tempfile::tempdir().unwrap();
                let at = stamp(0);
                let mut seen = std::collections::BTreeSet::new();
                for (i, (off, size, mtime)) in others.iter().enumerate() {
                    let name = archive_name("n", stamp(*off), i as u32 + 1);
                    if !seen.insert(name.clone()) { continue; }
                    let p = d.path().join(&name);
                    fs::write(&p, vec![0u8; *size as usize]).unwrap();
                    let f = File::options().write(true).open(&p).unwrap();
                    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(*mtime as u64)).unwrap();
                }
                let current = d.path().join(archive_name("n", at, 0));
                let listed = list_archives(d.path(), Some("n")).unwrap();
                fs::write(&current, vec![0u8; 100]).unwrap();
                let before = list_archives(d.path(), Some("n")).unwrap();
                let size_of: std::collections::HashMap<PathBuf, u64> = before
                    .iter()
                    .map(|a| (a.path(d.path()), fs::metadata(a.path(d.path())).unwrap().len()))
                    .collect();
                let mut sizes = Sizes::default();
                let removed = apply_retention(d.path(), &listed, &current, at, keep, max_disk, &mut sizes).unwrap();
                if max_disk.is_none() {
                    prop_assert_eq!(sizes.measured(), 0, "stat without --max-disk");
                }
                prop_assert!(current.exists(), "this run's archive removed");
                let after = list_archives(d.path(), Some("n")).unwrap();
                prop_assert_eq!(after.len() + removed.len(), before.len());
                let now = stamp_of(at);
                let is_future = |p: &PathBuf| before.iter().any(|a| &a.path(d.path()) == p && a.stamp() > now.as_str());
                // Future-stamped first: a kept future one means no past one was removed.
                if after.iter().any(|a| a.stamp() > now.as_str()) {
                    prop_assert!(removed.iter().all(is_future));
                }
                // Among past-stamped ones, every removed one is older than every kept one
                // (this run's archive aside).
                let kept_past: Vec<&ArchiveFile> = after.iter().filter(|a| a.stamp() <= now.as_str() && a.path(d.path()) != current).collect();
                for r in removed.iter().filter(|p| !is_future(p)) {
                    let ra = before.iter().find(|a| &a.path(d.path()) == r).unwrap();
                    for k in &kept_past {
                        prop_assert!((ra.stamp(), ra.seq) <= (k.stamp(), k.seq));
                    }
                }
                if let Some(k) = keep {
                    prop_assert!(after.len() <= k.max(1));
                    if max_disk.is_none() {
                        prop_assert_eq!(after.len(), before.len().min(k.max(1)));
                    }
                }
                let total: u64 = after.iter().map(|a| size_of[&a.path(d.path())]).sum();
                if let Some(m) = max_disk {
                    prop_assert!(total <= m || after.len() == 1);
                }
                // No more than needed: the last one removed would break a limit again.
                if let Some(last) = removed.last() {
                    let over_keep = keep.is_some_and(|k| after.len() + 1 > k.max(1));
                    let over_disk = max_disk.is_some_and(|m| total + size_of[last] > m);
                    prop_assert!(over_keep || over_disk, "{last:?} removed without need");
                }
            }
        }
    }

    /// `--max-disk` stats the archives kept and the first that does not fit, not the
    /// older ones it removes; a second run with the same [`Sizes`] (as `watch` keeps
    /// one) stats only what is new: its own archive, or a file replaced under an old
    /// name.
    #[test]
    fn max_disk_stats_only_what_it_must() {
        let d = tempfile::tempdir().unwrap();
        let t0: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let minute = |i: i64| t0 + jiff::SignedDuration::from_mins(i);
        for i in 0..50 {
            fs::write(d.path().join(archive_name("n", minute(i), 0)), [0u8; 1000]).unwrap();
        }
        let mut sizes = Sizes::default();
        let listed = list_archives(d.path(), Some("n")).unwrap();
        let current = d.path().join(archive_name("n", minute(50), 0));
        fs::write(&current, [0u8; 100]).unwrap();
        let removed = apply_retention(
            d.path(),
            &listed,
            &current,
            minute(50),
            None,
            Some(10_500),
            &mut sizes,
        )
        .unwrap();
        assert_eq!(removed.len(), 40);
        assert_eq!(
            sizes.measured(),
            10 + 1,
            "the ten kept, the first that does not fit"
        );
        assert_eq!(list_archives(d.path(), Some("n")).unwrap().len(), 11);

        // The next run: one new archive; the one in between replaced by a new file.
        let replaced = d.path().join(archive_name("n", minute(45), 0));
        let tmp = d.path().join("replacement");
        fs::write(&tmp, [0u8; 1000]).unwrap();
        fs::rename(&tmp, &replaced).unwrap();
        let listed = list_archives(d.path(), Some("n")).unwrap();
        let next = d.path().join(archive_name("n", minute(51), 0));
        fs::write(&next, [0u8; 1000]).unwrap();
        let before = sizes.measured();
        let removed = apply_retention(
            d.path(),
            &listed,
            &next,
            minute(51),
            None,
            Some(10_500),
            &mut sizes,
        )
        .unwrap();
        assert_eq!(removed, [d.path().join(archive_name("n", minute(40), 0))]);
        assert_eq!(
            sizes.measured() - before,
            2,
            "the last run's own, now listed, and the replaced one"
        );
    }

    /// Listing takes names and types from the directory entries: files not in the
    /// collector's name form, other nodes' archives and non-files are not archives.
    #[test]
    fn listing_keeps_this_nodes_regular_files() {
        let d = tempfile::tempdir().unwrap();
        let at: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let file = d.path().join(archive_name("n", at, 0));
        fs::write(&file, "x").unwrap();
        fs::write(d.path().join(archive_name("other", at, 0)), "x").unwrap();
        // A node whose name begins with this one's and a stamp.
        fs::write(
            d.path().join(archive_name("n-20261128T000000.000Z", at, 0)),
            "x",
        )
        .unwrap();
        fs::create_dir(d.path().join(archive_name("n", at, 1))).unwrap();
        std::os::unix::fs::symlink(&file, d.path().join(archive_name("n", at, 2))).unwrap();
        fs::write(d.path().join("notes.txt"), "x").unwrap();
        let list = list_archives(d.path(), Some("n")).unwrap();
        assert_eq!(
            list.iter().map(|a| a.path(d.path())).collect::<Vec<_>>(),
            [file]
        );
        assert_eq!(list_archives(d.path(), None).unwrap().len(), 3);
    }

    #[test]
    fn long_node_names_fit_a_file_name_and_stay_distinct() {
        let at: Timestamp = "2026-11-28T04:13:00.5Z".parse().unwrap();
        let a = format!("{}a", "n".repeat(252));
        let b = format!("{}b", "n".repeat(252));
        let (na, nb) = (archive_name(&a, at, 9999), archive_name(&b, at, 9999));
        assert!(
            na.len() < 255 && nb.len() < 255,
            "{} {}",
            na.len(),
            nb.len()
        );
        assert_ne!(na, nb);
        let (node, _, seq) = parse_archive_name(&na).unwrap();
        assert_eq!((node, seq), (sanitize_node(&a), 9999));
        assert_eq!(sanitize_node("short"), "short");
    }
}
