//! `files.podmem`: the files of one cgroup directory, verbatim, in one archive entry
//! (snapshot format 2).
//!
//! A node of a hundred pods has about 390 memory cgroups and 5,000 small cgroup files.
//! As separate tar entries, each file costs a 512-byte header plus padding; the headers
//! were 90 % of the tar and most of the gzip time. Format 2 keeps every file byte for
//! byte but writes one entry per directory, `cgroup/<rel>/files.podmem`, that reads as
//! text:
//!
//! ```text
//! --- memory.stat 1234
//! <exactly 1234 bytes: the file as read>
//! --- memory.usage_in_bytes 9
//! <9 bytes>
//! ```
//!
//! Each record is a header line `--- <name> <length>\n`, then `<length>` bytes, then
//! `\n`. Names are a kernel file name: printable ASCII, no space, no `/`, not `.`
//! or `..`. `less` or `grep` read it after `tar xzf`; [`decode`] reads it back.

use thiserror::Error;

/// Entry file name of a cgroup directory's files inside its `cgroup/<rel>/` directory.
pub const ENTRY_NAME: &str = "files.podmem";

/// The archive entry holding the files of the cgroup at `rel` (relative to the cgroup
/// root, `""` for the root itself): `cgroup/<rel>/files.podmem`.
pub fn entry_name(rel: &str) -> String {
    let prefix = crate::snapshot::CGROUP_PREFIX;
    if rel.is_empty() {
        format!("{prefix}{ENTRY_NAME}")
    } else {
        format!("{prefix}{rel}/{ENTRY_NAME}")
    }
}

/// The inverse of [`entry_name`]: the cgroup's relative path for a
/// `cgroup/<rel>/files.podmem` entry, None for any other entry.
pub fn rel_of(entry: &str) -> Option<&str> {
    let dir = entry
        .strip_suffix(ENTRY_NAME)?
        .strip_prefix(crate::snapshot::CGROUP_PREFIX)?;
    if dir.is_empty() {
        return Some(dir);
    }
    dir.strip_suffix('/')
}

/// The cgroup files the analysis reads: the one table of what a reader keeps of an
/// archive (the collector captures more, [`crate::snapshot::V1_FILES`] and
/// [`crate::snapshot::V2_FILES`]). Other cgroup files are skipped unread (a
/// node of a hundred pods holds thousands of them per snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupFile {
    /// `memory.stat` (v1 and v2).
    Stat,
    /// v1 `memory.usage_in_bytes`.
    UsageV1,
    /// v2 `memory.current`.
    CurrentV2,
    /// v1 `memory.limit_in_bytes`.
    LimitV1,
    /// v2 `memory.max`.
    MaxV2,
    /// v2 `cgroup.stat`.
    CgroupStat,
}

impl CgroupFile {
    /// Every used file.
    pub const ALL: [CgroupFile; 6] = [
        CgroupFile::Stat,
        CgroupFile::UsageV1,
        CgroupFile::CurrentV2,
        CgroupFile::LimitV1,
        CgroupFile::MaxV2,
        CgroupFile::CgroupStat,
    ];

    /// The kernel's file name.
    pub const fn name(self) -> &'static str {
        match self {
            CgroupFile::Stat => "memory.stat",
            CgroupFile::UsageV1 => "memory.usage_in_bytes",
            CgroupFile::CurrentV2 => "memory.current",
            CgroupFile::LimitV1 => "memory.limit_in_bytes",
            CgroupFile::MaxV2 => "memory.max",
            CgroupFile::CgroupStat => "cgroup.stat",
        }
    }

    /// The used file of this name; a `match`, since it runs for every file of every
    /// cgroup of every snapshot.
    pub fn from_name(name: &str) -> Option<CgroupFile> {
        Some(match name {
            "memory.stat" => CgroupFile::Stat,
            "memory.usage_in_bytes" => CgroupFile::UsageV1,
            "memory.current" => CgroupFile::CurrentV2,
            "memory.limit_in_bytes" => CgroupFile::LimitV1,
            "memory.max" => CgroupFile::MaxV2,
            "cgroup.stat" => CgroupFile::CgroupStat,
            _ => return None,
        })
    }
}

/// Whether an entry is kept in memory: everything but unused cgroup files.
pub fn wanted(entry: &str) -> bool {
    match entry.strip_prefix(crate::snapshot::CGROUP_PREFIX) {
        Some(rel) => {
            let file = rel.rsplit('/').next().unwrap_or(rel);
            CgroupFile::from_name(file).is_some()
        }
        None => true,
    }
}

/// Start of every record header.
const MARK: &[u8] = b"--- ";

/// Longest header line accepted (`--- ` + name + ` ` + 20 digits + `\n`).
const MAX_HEADER: usize = 300;

/// Why a `files.podmem` entry could not be read past some point.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackError {
    /// A record header is missing or malformed.
    #[error("bad record header at byte {offset}: {why}")]
    Header {
        /// Byte offset of the header in the entry.
        offset: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A record says it holds more bytes than remain.
    #[error("record `{name}` at byte {offset} claims {len} bytes, only {left} remain (truncated)")]
    Truncated {
        /// Byte offset of the header.
        offset: usize,
        /// The file name in it.
        name: String,
        /// The length it claims.
        len: u64,
        /// Bytes left after the header.
        left: usize,
    },
    /// The byte after a record's content is not `\n`.
    #[error("record `{name}` at byte {offset} is not followed by a newline")]
    NoTerminator {
        /// Byte offset of the header.
        offset: usize,
        /// The file name in it.
        name: String,
    },
}

/// Whether `name` may be written as a record name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

/// Appends one record to `out`. Panics on a name [`valid_name`] refuses: names are the
/// collector's fixed lists of kernel files.
pub fn push(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    assert!(valid_name(name), "invalid cgroup file name {name:?}");
    out.reserve(name.len() + data.len() + 28);
    out.extend_from_slice(MARK);
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(data);
    out.push(b'\n');
}

/// Encodes files, in the order given.
pub fn encode<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        push(&mut out, name, data);
    }
    out
}

/// The records of an entry, in order, borrowing from it. Iteration stops after the
/// first error, so the files before a corrupt or truncated record are still usable.
pub fn decode(data: &[u8]) -> Records<'_> {
    Records {
        data,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`decode`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    fn record(&mut self) -> Result<(&'a str, &'a [u8]), PackError> {
        let offset = self.pos;
        let rest = &self.data[offset..];
        let bad = |why| PackError::Header { offset, why };
        let line_end = rest[..rest.len().min(MAX_HEADER)]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(bad("no end of line within 300 bytes"))?;
        let line = &rest[..line_end];
        let line = line
            .strip_prefix(MARK)
            .ok_or(bad("does not start with `--- `"))?;
        let line = std::str::from_utf8(line).map_err(|_| bad("not ASCII"))?;
        // By bytes: a `char` search costs more than the rest of the header.
        let space = line
            .bytes()
            .rposition(|b| b == b' ')
            .ok_or(bad("no length after the name"))?;
        let (name, len) = (&line[..space], &line[space + 1..]);
        if !valid_name(name) {
            return Err(bad("invalid file name"));
        }
        if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("length is not a decimal number"));
        }
        let len: u64 = len.parse().map_err(|_| bad("length out of range"))?;
        let body = &rest[line_end + 1..];
        if len >= body.len() as u64 {
            if len == body.len() as u64 {
                // Everything is there but the final newline.
                return Err(PackError::NoTerminator {
                    offset,
                    name: name.to_string(),
                });
            }
            return Err(PackError::Truncated {
                offset,
                name: name.to_string(),
                len,
                left: body.len(),
            });
        }
        let len = len as usize;
        if body[len] != b'\n' {
            return Err(PackError::NoTerminator {
                offset,
                name: name.to_string(),
            });
        }
        self.pos = offset + line_end + 1 + len + 1;
        Ok((name, &body[..len]))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(&'a str, &'a [u8]), PackError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let r = self.record();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_file_names_round_trip_and_are_captured() {
        use crate::snapshot::{V1_FILES, V2_FILES};
        for f in CgroupFile::ALL {
            assert_eq!(CgroupFile::from_name(f.name()), Some(f));
            assert!(
                V1_FILES.contains(&f.name()) || V2_FILES.contains(&f.name()),
                "{} is read but not captured",
                f.name()
            );
            assert!(wanted(&format!("cgroup/kubepods/{}", f.name())));
        }
        assert_eq!(CgroupFile::from_name("memory.failcnt"), None);
        assert!(!wanted("cgroup/kubepods/memory.failcnt"));
        assert!(wanted("proc/meminfo"));
    }
    use proptest::prelude::*;

    #[test]
    fn round_trip_keeps_bytes_verbatim() {
        let files: Vec<(&str, &[u8])> = vec![
            ("memory.stat", b"cache 0\nrss 4096\n"),
            ("memory.usage_in_bytes", b"4096\n"),
            ("cgroup.procs", b""),
            ("memory.oom_control", b"no newline at end"),
            ("odd", b"--- memory.stat 3\nabc\n"),
        ];
        let enc = encode(files.iter().copied());
        let dec: Vec<_> = decode(&enc).collect::<Result<_, _>>().unwrap();
        assert_eq!(dec, files);
        assert!(std::str::from_utf8(&enc)
            .unwrap()
            .starts_with("--- memory.stat 17\ncache 0\nrss 4096\n\n--- memory.usage_in_bytes 5\n"));
        assert_eq!(decode(b"").count(), 0);
    }

    #[test]
    fn entry_names_and_back() {
        assert_eq!(entry_name(""), "cgroup/files.podmem");
        assert_eq!(entry_name("a/b"), "cgroup/a/b/files.podmem");
        assert_eq!(rel_of("cgroup/files.podmem"), Some(""));
        assert_eq!(rel_of("cgroup/a/b/files.podmem"), Some("a/b"));
        assert_eq!(rel_of("cgroup/axfiles.podmem"), None);
        assert_eq!(rel_of("proc/files.podmem"), None);
        assert_eq!(rel_of("cgroup/a/memory.stat"), None);
    }

    #[test]
    fn damage_is_named_and_earlier_records_survive() {
        let enc = encode([("a", &b"12\n"[..]), ("b", &b"3456\n"[..])]);
        let cut = &enc[..enc.len() - 3];
        let got: Vec<_> = decode(cut).collect();
        assert_eq!(got[0], Ok(("a", &b"12\n"[..])));
        assert!(matches!(&got[1], Err(PackError::Truncated { name, len: 5, .. }) if name == "b"));
        assert_eq!(got.len(), 2);

        let no_nl = &enc[..enc.len() - 1];
        assert!(matches!(
            decode(no_nl).nth(1),
            Some(Err(PackError::NoTerminator { .. }))
        ));

        for (bad, why) in [
            (&b"memory.stat 3\nabc\n"[..], "does not start"),
            (b"--- memory.stat\nabc\n", "no length"),
            (b"--- memory.stat -3\nabc\n", "decimal"),
            (
                b"--- memory.stat 99999999999999999999999\nabc\n",
                "out of range",
            ),
            (b"--- ../x 3\nabc\n", "invalid file name"),
            (b"--- a/b 3\nabc\n", "invalid file name"),
            (b"--- \xff 3\nabc\n", "not ASCII"),
        ] {
            let e = decode(bad).next().unwrap().unwrap_err();
            assert!(e.to_string().contains(why), "{e} lacks {why}");
        }
        let long = format!("--- {} 1\nx\n", "n".repeat(400));
        assert!(decode(long.as_bytes()).next().unwrap().is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            for r in decode(&data) {
                let _ = r;
            }
        }

        #[test]
        fn any_files_round_trip(
            files in proptest::collection::vec(
                ("[a-z][a-z._]{0,20}", proptest::collection::vec(any::<u8>(), 0..200)),
                0..12,
            )
        ) {
            let enc = encode(files.iter().map(|(n, d)| (n.as_str(), d.as_slice())));
            let dec: Vec<(String, Vec<u8>)> = decode(&enc)
                .map(|r| r.map(|(n, d)| (n.to_string(), d.to_vec())))
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(dec, files);
        }
    }
}
