//! Bundles in every form people make them: the collector's plain tar, a gzipped tar of a
//! folder of snapshots (`tar czf`), a `.zip` of one (Windows and macOS "compress"),
//! nested folders in any of them, and a bundle of bundles one level down. Each snapshot
//! member is read into memory (compressed, at most the per-archive cap) and queued;
//! nothing is unpacked to disk.
//!
//! What a file is comes from its first bytes ([`kind_of`]); what a gzip holds (one
//! snapshot, or a folder of them) from its first tar entries ([`gzip_holds`]). Anything
//! else is named for what it is, with what to do instead.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use flate2::read::MultiGzDecoder;
use podmem_schema::report::{InputKind, InputReport};
use podmem_schema::snapshot::{
    BUNDLE_FORMAT_NAME as BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION,
    BUNDLE_MANIFEST_ENTRY as BUNDLE_ENTRY, MANIFEST_ENTRY,
};
use podmem_schema::units::fmt_bytes;

use crate::load::{io_reason, CappedReader, Limits, Unit};
use podmem_schema::tar::{entry_name, TarStream};

/// Bundles inside a bundle are read this many levels down; deeper ones are reported.
const MAX_DEPTH: u32 = 1;

/// Decompressed bytes looked at to decide what a gzip holds.
const PEEK_BYTES: u64 = 4 << 20;

/// Non-directory tar entries looked at to decide what a gzip holds.
const PEEK_ENTRIES: u32 = 64;

/// What a file is, by its first bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    /// Empty file.
    Empty,
    /// gzip: a snapshot, or a gzipped tar of them.
    Gzip,
    /// POSIX or GNU tar: a bundle.
    Tar,
    /// zip (local header, or the end record of an empty one).
    Zip,
    /// Something else: what it is and what to do with it.
    Other(String),
}

/// What a file is, by its first bytes (at most 512 are needed).
pub fn kind_of(head: &[u8]) -> Kind {
    let other = |what: &str, todo: &str| {
        Kind::Other(format!(
            "not a podmem snapshot nor a bundle: {what}; {todo}"
        ))
    };
    let repack = "repack the snapshots as .tar.gz or .zip (or give the folder itself)";
    if head.is_empty() {
        Kind::Empty
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Kind::Tar
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        other("an xz-compressed file, which is not read", repack)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        other("a zstd-compressed file, which is not read", repack)
    } else if head.starts_with(b"BZh") {
        other("a bzip2-compressed file, which is not read", repack)
    } else if head.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        other("a 7-Zip archive, which is not read", repack)
    } else if head.starts_with(b"Rar!") {
        other("a RAR archive, which is not read", repack)
    } else if looks_like_html(head) {
        other(
            "an HTML page (a podmem report?)",
            "give the snapshot archives the report was made from",
        )
    } else if head.trim_ascii_start().starts_with(b"{") {
        other(
            "a JSON file",
            "a report or a manifest alone cannot be analyzed; give the .tar.gz snapshot archives",
        )
    } else if std::str::from_utf8(head).is_ok() || head.iter().all(|b| b.is_ascii()) {
        other(
            "a text file",
            "for kernel logs use `podmem-analyzer ooms FILE`; snapshots come from `podmem-collector snapshot`",
        )
    } else {
        Kind::Other(format!(
            "not a podmem snapshot (no gzip header) nor a bundle (no tar or zip header); first bytes {}",
            hex_prefix(head)
        ))
    }
}

fn looks_like_html(head: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&head[..head.len().min(64)]).to_ascii_lowercase();
    let start = start.trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// The first bytes of `b` in hex.
pub fn hex_prefix(b: &[u8]) -> String {
    b.iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a gzip holds.
#[derive(Debug, PartialEq, Eq)]
pub enum GzipHolds {
    /// A snapshot archive (or something the snapshot reader will name).
    Snapshot,
    /// A tar of snapshot archives or bundles.
    Bundle,
}

/// Whether a gzip stream is a snapshot or a gzipped bundle: its first tar entries say
/// (a snapshot starts with `manifest.json`; a bundle holds archives). Reads at most
/// [`PEEK_BYTES`] decompressed; anything unclear is left to the snapshot reader, whose
/// messages name what is wrong.
pub fn gzip_holds(r: impl Read) -> GzipHolds {
    let capped = CappedReader::new(MultiGzDecoder::new(r), PEEK_BYTES, "peek");
    let mut tar = TarStream::new(BufReader::with_capacity(16 * 1024, capped));
    let mut seen = 0;
    while let Ok(Some(entry)) = tar.next_entry() {
        if entry.is_dir() {
            continue;
        }
        let Ok(name) = entry_name(tar.name()) else {
            continue;
        };
        if name == MANIFEST_ENTRY {
            return GzipHolds::Snapshot;
        }
        if name == BUNDLE_ENTRY || is_archive_name(&name) {
            return GzipHolds::Bundle;
        }
        seen += 1;
        if seen >= PEEK_ENTRIES {
            break;
        }
    }
    GzipHolds::Snapshot
}

fn is_archive_name(name: &str) -> bool {
    [".tar.gz", ".tgz", ".tar", ".zip"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Archive names of forms that are not read, and the word for them.
fn unread_compression(name: &str) -> Option<&'static str> {
    const FORMS: &[(&str, &str)] = &[
        (".tar.xz", "xz"),
        (".txz", "xz"),
        (".tar.zst", "zstd"),
        (".tzst", "zstd"),
        (".tar.bz2", "bzip2"),
        (".tbz2", "bzip2"),
        (".7z", "7-Zip"),
        (".rar", "RAR"),
    ];
    FORMS
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, w)| *w)
}

/// Whether a directory walk should look at this file: what is read, and archive forms
/// that are not (so they are named rather than silently passed over).
pub fn is_candidate_name(name: &str) -> bool {
    is_archive_name(name) || unread_compression(name).is_some()
}

/// Where a bundle's members go, and what was found on the way.
pub struct Walk<'a> {
    limits: &'a Limits,
    send: &'a mut dyn FnMut(Unit),
    report: &'a mut InputReport,
    /// Snapshot members queued.
    queued: u64,
    /// A `manifest.json` member seen where a snapshot archive was expected: an unpacked
    /// snapshot folder.
    unpacked: Option<String>,
}

impl<'a> Walk<'a> {
    /// A walk queueing members to `send` and reporting problems into `report`.
    pub fn new(
        limits: &'a Limits,
        send: &'a mut dyn FnMut(Unit),
        report: &'a mut InputReport,
    ) -> Self {
        report.kind = InputKind::Bundle;
        Walk {
            limits,
            send,
            report,
            queued: 0,
            unpacked: None,
        }
    }

    fn problem(&mut self, p: String) {
        self.report.problems.push(p);
    }

    /// Closes the walk of a top-level input: a container with no snapshot in it is
    /// named for what it holds.
    pub fn finish(self, name: &str, what: &str) {
        if self.queued > 0 {
            return;
        }
        let p = match self.unpacked {
            Some(dir) => format!(
                "{name}: {what} holding an unpacked snapshot ({dir}), not snapshot archives; give the collector's .tar.gz files, or pack the folder again: tar czf snap.tar.gz -C FOLDER ."
            ),
            None => format!(
                "{name}: {what} holding no podmem snapshot archives (*.tar.gz) nor bundles; give the folder the collector wrote (--out) or a bundle made by `podmem-collector bundle`"
            ),
        };
        self.report.problems.push(p);
    }

    /// Reads a tar (plain, or already decompressed) whose members are snapshot archives,
    /// bundles, or folders of them.
    pub fn tar<R: Read>(&mut self, reader: R, name: &str, depth: u32) {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => {
                self.problem(format!("{name}: cannot read as tar: {}", io_reason(&e)));
                return;
            }
        };
        let mut count = 0u64;
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.problem(format!("{name}: {}", io_reason(&e)));
                    return;
                }
            };
            count += 1;
            if count > self.limits.max_entries {
                self.problem(format!(
                    "{name}: more than {} entries; the rest of the bundle is ignored",
                    self.limits.max_entries
                ));
                return;
            }
            let raw_name = entry.path_bytes().into_owned();
            let member = match entry_name(&raw_name) {
                Ok(n) => n.into_owned(),
                Err(why) => {
                    let shown = String::from_utf8_lossy(&raw_name);
                    self.problem(format!("{name}!{shown}: {why}; member ignored"));
                    continue;
                }
            };
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            if !kind.is_file() {
                self.problem(format!(
                    "{name}!{member}: member is not a regular file ({kind:?}); ignored"
                ));
                continue;
            }
            let size = entry.header().size().unwrap_or(u64::MAX);
            if let Err(e) = self.member(&mut entry, size, name, &member, depth) {
                // The tar stream itself broke (cut, corrupt): nothing after it is readable.
                self.problem(format!("{name}!{member}: {}", io_reason(&e)));
                return;
            }
        }
    }

    /// Reads a zip whose members are snapshot archives, bundles, or folders of them.
    pub fn zip<R: Read + Seek>(&mut self, mut reader: R, name: &str, depth: u32) {
        match zip_entry_count(&mut reader) {
            Ok(Some(n)) if n > self.limits.max_entries => {
                self.problem(format!(
                    "{name}: a zip of {n} entries (more than {}); refused",
                    self.limits.max_entries
                ));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                self.problem(format!("{name}: cannot read as zip: {e}"));
                return;
            }
        }
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => {
                self.problem(format!("{name}: cannot read as zip: {e}"));
                return;
            }
        };
        for i in 0..archive.len() {
            let mut file = match archive.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.problem(format!("{name}: member {}: {e}; ignored", i + 1));
                    continue;
                }
            };
            let member = match entry_name(file.name().as_bytes()) {
                Ok(n) => n.into_owned(),
                Err(why) => {
                    let shown = file.name().to_string();
                    self.problem(format!("{name}!{shown}: {why}; member ignored"));
                    continue;
                }
            };
            if file.is_dir() {
                continue;
            }
            if file.is_symlink() {
                self.problem(format!(
                    "{name}!{member}: member is a symbolic link; ignored"
                ));
                continue;
            }
            if file.encrypted() {
                self.problem(format!(
                    "{name}!{member}: encrypted; ignored (zip it without a password)"
                ));
                continue;
            }
            let size = file.size();
            if let Err(e) = self.member(&mut file, size, name, &member, depth) {
                // Zip members are independent: a bad one does not stop the rest.
                self.problem(format!("{name}!{member}: {}", io_reason(&e)));
            }
        }
    }

    /// One member of a bundle, by its name: a snapshot is queued, a bundle read (one
    /// level down), the bundle manifest checked, other files passed over. An error is
    /// returned only when reading the container's own stream failed.
    fn member(
        &mut self,
        r: &mut dyn Read,
        size: u64,
        name: &str,
        member: &str,
        depth: u32,
    ) -> io::Result<()> {
        let display = format!("{name}!{member}");
        let base = member.rsplit('/').next().unwrap_or(member);
        if base == BUNDLE_ENTRY {
            let mut buf = Vec::new();
            r.take(1 << 20).read_to_end(&mut buf)?;
            self.bundle_manifest(&display, &buf);
            return Ok(());
        }
        if base == MANIFEST_ENTRY {
            if self.unpacked.is_none() {
                let dir = member.strip_suffix(MANIFEST_ENTRY).unwrap_or("");
                self.unpacked = Some(if dir.is_empty() {
                    display.clone()
                } else {
                    format!("{name}!{dir}")
                });
            }
            return Ok(());
        }
        if let Some(how) = unread_compression(member) {
            self.problem(format!(
                "{display}: {how}-compressed, which is not read; member ignored (repack as .tar.gz or .zip)"
            ));
            return Ok(());
        }
        let tar_gz = member.ends_with(".tar.gz") || member.ends_with(".tgz");
        let plain_tar = member.ends_with(".tar");
        let zip = member.ends_with(".zip");
        if !(tar_gz || plain_tar || zip) {
            return Ok(());
        }
        if depth >= MAX_DEPTH && (plain_tar || zip) {
            self.problem(format!(
                "{display}: a bundle inside a bundle inside a bundle; only one level of nesting is read: extract it and give it as an input"
            ));
            return Ok(());
        }
        if plain_tar {
            // Streamed: a bundle can be larger than any one snapshot.
            self.tar(r, &display, depth + 1);
            return Ok(());
        }
        let cap = self.limits.max_archive_bytes;
        if size > cap {
            self.problem(format!(
                "{display}: {} exceeds the per-archive cap of {}; member skipped",
                fmt_bytes(size),
                fmt_bytes(cap)
            ));
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(size as usize);
        r.take(cap + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > cap {
            self.problem(format!(
                "{display}: larger than the per-archive cap of {}; member skipped",
                fmt_bytes(cap)
            ));
            return Ok(());
        }
        if zip {
            self.zip(io::Cursor::new(bytes), &display, depth + 1);
        } else if depth < MAX_DEPTH && gzip_holds(bytes.as_slice()) == GzipHolds::Bundle {
            let inner = CappedReader::new(
                MultiGzDecoder::new(bytes.as_slice()),
                self.limits.max_bundle_bytes,
                "per-bundle",
            );
            self.tar(BufReader::new(inner), &display, depth + 1);
        } else {
            self.queued += 1;
            (self.send)(Unit::Member(display, bytes));
        }
        Ok(())
    }

    fn bundle_manifest(&mut self, display: &str, buf: &[u8]) {
        match serde_json::from_slice::<serde_json::Value>(buf) {
            Ok(v) if v.get("format").and_then(|f| f.as_str()) != Some(BUNDLE_FORMAT) => self
                .problem(format!(
                    "{display}: format is not \"{BUNDLE_FORMAT}\"; bundle read anyway"
                )),
            Ok(v)
                if v.get("format_version").and_then(|f| f.as_u64()).unwrap_or(0)
                    > u64::from(BUNDLE_FORMAT_VERSION) =>
            {
                self.problem(format!(
                    "{display}: bundle format version {} is newer than this analyzer understands ({BUNDLE_FORMAT_VERSION}); its snapshots are read anyway",
                    v["format_version"]
                ))
            }
            Ok(_) => {}
            Err(e) => self.problem(format!(
                "{display}: not valid JSON ({e}); bundle read anyway"
            )),
        }
    }
}

/// The number of entries a zip's end records claim, read before the central directory
/// is (so a hostile count is refused before anything is allocated for it). `None` when
/// no end record is found (the zip reader then says what is wrong).
fn zip_entry_count<R: Read + Seek>(r: &mut R) -> io::Result<Option<u64>> {
    let len = r.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65_535);
    r.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail)?;
    let Some(eocd) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Ok(None);
    };
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let count = u16_at(&tail, eocd + 10);
    if count != 0xffff {
        r.seek(SeekFrom::Start(0))?;
        return Ok(Some(count));
    }
    // zip64: the locator just before the end record points at the zip64 end record.
    let located = eocd
        .checked_sub(20)
        .filter(|&l| tail[l..].starts_with(b"PK\x06\x07"));
    let mut count = None;
    if let Some(l) = located {
        let at = u64::from_le_bytes(tail[l + 8..l + 16].try_into().unwrap_or_default());
        let mut rec = [0u8; 56];
        if at + 56 <= len {
            r.seek(SeekFrom::Start(at))?;
            r.read_exact(&mut rec)?;
            if rec.starts_with(b"PK\x06\x06") {
                count = Some(u64::from_le_bytes(
                    rec[32..40].try_into().unwrap_or_default(),
                ));
            }
        }
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind_of(b""), Kind::Empty);
        assert_eq!(kind_of(&[0x1f, 0x8b, 8, 0]), Kind::Gzip);
        assert_eq!(kind_of(b"PK\x03\x04rest"), Kind::Zip);
        let Kind::Other(w) = kind_of(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0]) else {
            panic!()
        };
        assert!(w.contains("xz"), "{w}");
        let Kind::Other(w) = kind_of(b"Nov 28 10:46:41 node kernel: oom-kill") else {
            panic!()
        };
        assert!(w.contains("ooms"), "{w}");
        let Kind::Other(w) = kind_of(b"\n<!DOCTYPE html><html>") else {
            panic!()
        };
        assert!(w.contains("HTML"), "{w}");
        assert!(is_candidate_name("a/b.tar.zst"));
        assert!(is_candidate_name("a/b.zip"));
        assert!(!is_candidate_name("notes.txt"));
    }
}
