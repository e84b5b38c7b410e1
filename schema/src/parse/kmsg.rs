//! `/dev/kmsg` records: `prio,seq,usec_since_boot,flags[,...];text` plus continuation
//! lines starting with a space.

/// One kmsg record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsgRecord {
    /// Syslog priority (low 3 bits) and facility (rest), as in the first field.
    pub prio: u32,
    /// 64-bit sequence number.
    pub seq: u64,
    /// Microseconds since boot (monotonic).
    pub usec: u64,
    /// Flags field (`-` or `c`).
    pub flags: String,
    /// Message text with `\xNN` escapes decoded.
    pub text: String,
}

/// Parses one record (as returned by one `read()`, continuation lines allowed);
/// None when it is not a kmsg record.
///
/// Continuation lines (` KEY=VALUE` device properties) are not part of the text. Fields
/// after the flags (newer kernels may add some) are ignored. A missing trailing newline
/// is accepted.
pub fn parse_record(record: &str) -> Option<KmsgRecord> {
    let first = record.split('\n').next()?;
    let first = first.strip_suffix('\r').unwrap_or(first);
    let (prefix, text) = first.split_once(';')?;
    let mut fields = prefix.split(',');
    let prio = parse_digits(fields.next()?)?;
    let seq = parse_digits(fields.next()?)?;
    let usec = parse_digits(fields.next()?)?;
    let flags = fields.next()?;
    if flags.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    Some(KmsgRecord {
        prio: u32::try_from(prio).ok()?,
        seq,
        usec,
        flags: flags.to_string(),
        text: decode_hex_escapes(text),
    })
}

/// Parses a field of ASCII digits only (no sign, no spaces), as the kernel writes them.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decodes the kernel's `\xNN` escapes (it escapes non-printable bytes and `\` itself);
/// a malformed escape is kept literally.
fn decode_hex_escapes(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let Some(byte) = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes text the way the kernel does for `/dev/kmsg` (bytes below 0x20, from 0x7f,
/// and `\` as `\xNN`), so tests and fixtures can build records that round-trip.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if !(b' '..0x7f).contains(&b) || b == b'\\' {
            out.push_str(&format!("\\x{b:02x}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_with_continuation() {
        let r = parse_record(
            "6,22743,6115623303887,-,caller=T1;oom-kill:constraint=CONSTRAINT_MEMCG\\x0a x\n SUBSYSTEM=cpu\n DEVICE=+cpu:1\n",
        )
        .unwrap();
        assert_eq!((r.prio, r.seq, r.usec), (6, 22743, 6_115_623_303_887));
        assert_eq!(r.flags, "-");
        assert_eq!(r.text, "oom-kill:constraint=CONSTRAINT_MEMCG\n x");
    }

    #[test]
    fn rejects_other_shapes() {
        assert_eq!(parse_record("[ 1.0] hello"), None);
        assert_eq!(parse_record("6,1,2;"), None);
        assert_eq!(parse_record("6,-1,2,-;x"), None);
        assert_eq!(parse_record(" SUBSYSTEM=cpu"), None);
        assert!(parse_record("4,1,2,c;").is_some_and(|r| r.text.is_empty()));
    }

    #[test]
    fn bad_escapes_kept() {
        assert_eq!(decode_hex_escapes(r"a\xZZ\x4"), r"a\xZZ\x4");
        assert_eq!(decode_hex_escapes(r"\x5c\x41"), r"\A");
    }
}
