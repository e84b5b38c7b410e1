//! The tar layer of snapshot archives and bundles, read: a minimal streaming reader,
//! one pass over a buffered stream, headers parsed in place, unused entry data skipped
//! without copying. The collector writes these archives (its round-trip test reads
//! them back with this reader).
//!
//! Why not the `tar` crate here: a snapshot of a full node holds hundreds of entries
//! and the per-entry cost of `tar::Archive` dominated reading (`docs/performance.md`).
//! This reader understands what writers of snapshots produce
//! (POSIX ustar with its name prefix, GNU long names, PAX `path`/`size` records) and
//! reports everything else as an entry type for the caller to refuse. It never touches
//! the filesystem.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

/// Longest GNU long-name or PAX header data accepted.
const MAX_META_BYTES: u64 = 64 * 1024;

/// One entry header; its name is [`TarStream::name`].
#[derive(Debug)]
pub struct Entry {
    /// Tar type flag (`b'0'` regular, `b'5'` directory, `b'2'` symlink...).
    pub kind: u8,
    /// Data size in bytes.
    pub size: u64,
}

impl Entry {
    /// Regular file (`0`, NUL, or contiguous `7`).
    pub fn is_file(&self) -> bool {
        matches!(self.kind, b'0' | 0 | b'7')
    }

    /// Directory.
    pub fn is_dir(&self) -> bool {
        self.kind == b'5'
    }

    /// What a non-regular entry is, in words.
    pub fn kind_words(&self) -> String {
        match self.kind {
            b'1' => "a hard link".to_string(),
            b'2' => "a symbolic link".to_string(),
            b'3' | b'4' => "a device node".to_string(),
            b'6' => "a FIFO".to_string(),
            k => format!("of tar type {:?}", k as char),
        }
    }
}

/// Reads entries one after another from `r`.
pub struct TarStream<R> {
    r: R,
    /// Data left of the current entry, then its padding.
    pending: u64,
    /// The current entry's name (long name or prefix joined), reused between entries.
    name: Vec<u8>,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn octal(field: &[u8]) -> io::Result<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256: big-endian binary in the remaining bytes.
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(*b)))
                .ok_or_else(|| bad("tar size overflows"))?;
        }
        return Ok(v);
    }
    // Leading spaces, then octal digits up to a NUL or space; no allocation (this runs
    // for every header).
    let mut v: u64 = 0;
    for &b in field.iter().skip_while(|b| **b == b' ') {
        match b {
            b'0'..=b'7' => {
                v = v
                    .checked_mul(8)
                    .and_then(|v| v.checked_add(u64::from(b - b'0')))
                    .ok_or_else(|| bad("tar number overflows"))?;
            }
            0 | b' ' => break,
            _ => return Err(bad("tar number is not octal")),
        }
    }
    Ok(v)
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    &field[..end]
}

fn padded(size: u64) -> u64 {
    size.div_ceil(512).saturating_mul(512)
}

impl<R: BufRead> TarStream<R> {
    /// A reader over `r`.
    pub fn new(r: R) -> Self {
        TarStream {
            r,
            pending: 0,
            name: Vec::with_capacity(256),
        }
    }

    /// The current entry's raw name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Skips `n` bytes without copying them.
    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "archive ends inside an entry",
                ));
            }
            let k = (buf.len() as u64).min(n) as usize;
            self.r.consume(k);
            n -= k as u64;
        }
        Ok(())
    }

    fn read_meta(&mut self, size: u64) -> io::Result<Vec<u8>> {
        if size > MAX_META_BYTES {
            return Err(bad(format!(
                "a tar long-name or PAX header of {size} bytes"
            )));
        }
        let mut v = vec![0; size as usize];
        self.r.read_exact(&mut v)?;
        self.skip(padded(size) - size)?;
        Ok(v)
    }

    /// The next entry's header, or None at the end of the archive. The previous
    /// entry's unread data is skipped.
    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        let pending = std::mem::take(&mut self.pending);
        self.skip(pending)?;
        let mut long_name: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let mut h = [0u8; 512];
            match self.r.read_exact(&mut h) {
                Ok(()) => {}
                // No end-of-archive blocks: some writers stop there.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && long_name.is_none() => {
                    if self.r.fill_buf()?.is_empty() {
                        return Ok(None);
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            if h.iter().all(|b| *b == 0) {
                return Ok(None);
            }
            let stored = octal(&h[148..156]).ok();
            // The checksum field counts as spaces; summed whole then corrected, which
            // vectorizes (this runs for every entry of every archive).
            let all: u32 = h.iter().map(|b| u32::from(*b)).sum();
            let field: u32 = h[148..156].iter().map(|b| u32::from(*b)).sum();
            let sum = u64::from(all - field + 8 * 32);
            if stored != Some(sum) {
                return Err(bad("corrupt tar header (checksum mismatch)"));
            }
            let kind = h[156];
            let size = octal(&h[124..136])?;
            match kind {
                b'L' => {
                    let mut n = self.read_meta(size)?;
                    n.truncate(cstr(&n).len());
                    long_name = Some(n);
                    continue;
                }
                b'K' | b'g' => {
                    self.skip(padded(size))?;
                    continue;
                }
                b'x' => {
                    let data = self.read_meta(size)?;
                    for (k, v) in pax_records(&data) {
                        match k {
                            b"path" => long_name = Some(v.to_vec()),
                            b"size" => {
                                pax_size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok())
                            }
                            _ => {}
                        }
                    }
                    continue;
                }
                _ => {}
            }
            self.name.clear();
            match long_name.take() {
                Some(n) => self.name = n,
                None => {
                    let base = cstr(&h[0..100]);
                    let prefix = cstr(&h[345..500]);
                    if &h[257..263] == b"ustar\0" && !prefix.is_empty() {
                        self.name.extend_from_slice(prefix);
                        self.name.push(b'/');
                    }
                    self.name.extend_from_slice(base);
                }
            }
            let size = pax_size.take().unwrap_or(size);
            // Links and devices carry no data whatever their size field says.
            let data = if matches!(kind, b'1' | b'2' | b'3' | b'4' | b'5' | b'6') {
                0
            } else {
                size
            };
            self.pending = padded(data);
            return Ok(Some(Entry { kind, size: data }));
        }
    }

    /// Reads the current entry's data (at most `cap` bytes are accepted) and its padding.
    pub fn read_data(&mut self, size: u64) -> io::Result<Vec<u8>> {
        // Filled straight from the stream's buffer, not zeroed first: every kept entry
        // of every archive passes here.
        let mut v = Vec::with_capacity(size as usize);
        (&mut self.r).take(size).read_to_end(&mut v)?;
        if (v.len() as u64) < size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive ends inside an entry",
            ));
        }
        self.pending = self.pending.saturating_sub(size);
        Ok(v)
    }
}

/// `len key=value\n` records of a PAX header.
fn pax_records(mut data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let Some(sp) = data.iter().position(|b| *b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp + 1 || len > data.len() {
            break;
        }
        let rec = &data[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|b| *b == b'=') {
            out.push((&rec[..eq], &rec[eq + 1..]));
        }
        data = &data[len..];
    }
    out
}

/// Why an entry name is refused: a reader never follows it out of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeName {
    /// Not UTF-8.
    #[error("entry name is not UTF-8")]
    NotUtf8,
    /// Starts at the root.
    #[error("absolute path")]
    Absolute,
    /// Has a `..` component.
    #[error("path contains `..`")]
    ParentDir,
}

/// The entry name, normalized (`./` and empty components dropped), or why it is
/// unsafe. Borrowed when already clean: this runs for every entry of every archive.
pub fn entry_name(raw: &[u8]) -> Result<Cow<'_, str>, UnsafeName> {
    let name = std::str::from_utf8(raw).map_err(|_| UnsafeName::NotUtf8)?;
    if name.starts_with('/') {
        return Err(UnsafeName::Absolute);
    }
    let mut clean = true;
    // Split on the bytes: this runs for every entry of every archive.
    for c in raw.split(|b| *b == b'/') {
        match c {
            b".." => return Err(UnsafeName::ParentDir),
            b"" | b"." => clean = false,
            _ => {}
        }
    }
    if clean {
        return Ok(Cow::Borrowed(name));
    }
    Ok(Cow::Owned(
        name.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect::<Vec<_>>()
            .join("/"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let why = |raw: &[u8]| entry_name(raw).unwrap_err().to_string();
        assert_eq!(
            entry_name(b"./cgroup//a/memory.stat").unwrap(),
            "cgroup/a/memory.stat"
        );
        assert!(matches!(entry_name(b"cgroup/a").unwrap(), Cow::Borrowed(_)));
        assert!(why(b"/etc/passwd").contains("absolute"));
        assert!(why(b"cgroup/../../x").contains(".."));
        assert!(why(b"a\xffb").contains("UTF-8"));
        assert_eq!(entry_name(b"cgroup/.hidden/x").unwrap(), "cgroup/.hidden/x");
        assert_eq!(entry_name(b"cgroup/a/").unwrap(), "cgroup/a");
        assert_eq!(entry_name(b"cgroup/./a").unwrap(), "cgroup/a");
        assert!(why(b"..").contains(".."));
        assert!(why(b"//x").contains("absolute"));
    }

    fn build(f: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        f(&mut b);
        b.into_inner().unwrap()
    }

    fn all(bytes: &[u8]) -> Vec<(String, u8, Vec<u8>)> {
        let mut t = TarStream::new(bytes);
        let mut out = Vec::new();
        while let Some(e) = t.next_entry().unwrap() {
            let name = String::from_utf8(t.name().to_vec()).unwrap();
            let data = if e.is_file() {
                t.read_data(e.size).unwrap()
            } else {
                Vec::new()
            };
            out.push((name, e.kind, data));
        }
        out
    }

    #[test]
    fn reads_gnu_long_names_ustar_prefixes_and_pax_paths() {
        let long = format!("cgroup/{}/memory.stat", "d".repeat(150));
        let bytes = build(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_size(2);
            b.append_data(&mut h, "a/b/c", &b"xy"[..]).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_link_name("/etc").unwrap();
            b.append_data(&mut h, "l", std::io::empty()).unwrap();
        });
        let got = all(&bytes);
        assert_eq!((&got[0].0, &got[0].2), (&long, &b"abc".to_vec()));
        assert!(matches!(got[0].1, 0 | b'0'));
        assert_eq!(
            (got[1].0.as_str(), got[1].2.as_slice()),
            ("a/b/c", &b"xy"[..])
        );
        assert_eq!((got[2].0.as_str(), got[2].1), ("l", b'2'));

        let mut pax = Vec::new();
        let rec = "path=very/long/pax/name\n";
        let line = format!("{} {rec}", rec.len() + 3);
        assert_eq!(line.len(), rec.len() + 3);
        pax.extend_from_slice(line.as_bytes());
        let bytes = build(|b| {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::XHeader);
            h.set_size(pax.len() as u64);
            b.append_data(&mut h, "pax", pax.as_slice()).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_size(1);
            b.append_data(&mut h, "short", &b"z"[..]).unwrap();
        });
        assert_eq!(all(&bytes)[0].0, "very/long/pax/name");
    }

    #[test]
    fn unread_data_is_skipped_and_garbage_refused() {
        let bytes = build(|b| {
            for (n, d) in [("a", vec![1u8; 700]), ("b", vec![2u8; 3])] {
                let mut h = tar::Header::new_gnu();
                h.set_size(d.len() as u64);
                b.append_data(&mut h, n, d.as_slice()).unwrap();
            }
        });
        let mut t = TarStream::new(bytes.as_slice());
        t.next_entry().unwrap().unwrap();
        assert_eq!(t.name(), b"a");
        let e = t.next_entry().unwrap().unwrap();
        assert_eq!(t.read_data(e.size).unwrap(), vec![2u8; 3]);
        assert!(t.next_entry().unwrap().is_none());
        let garbage = [7u8; 1024];
        assert!(TarStream::new(&garbage[..])
            .next_entry()
            .unwrap_err()
            .to_string()
            .contains("checksum"));
        let mut cut = TarStream::new(&bytes[..600]);
        cut.next_entry().unwrap();
        assert_eq!(
            cut.next_entry().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
