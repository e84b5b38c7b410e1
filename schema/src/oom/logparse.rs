//! The scanner behind [`super::parse_log`] and [`super::LogFilter`]: raw lines →
//! records (one prefixed line and its continuation lines) → logical kernel lines
//! (prefixes stripped, wraps repaired, noise from other programs dropped) → OOM blocks
//! → events.
//!
//! The collector's filter runs this same scanner and keeps exactly the records whose
//! lines change the parser's state, so a log and its filtered copy parse to the same
//! events.
//!
//! Hand-written scanning only: every step is a bounded look at one line, so the whole
//! parse is linear in the input and cannot panic on arbitrary text (all slicing is at
//! char boundaries found by `find`/`char_indices`).

use jiff::Timestamp;

use super::{classify, OomEvent, OomScope, ParseOptions};

/// Excerpt bound: the head of a block is kept whole, later lines only when they matter.
const EXCERPT_HEAD: usize = 300;
const EXCERPT_MAX: usize = 400;
/// Two kill lines for the same pid and comm closer than this are one kill.
const DEDUP_SECS: f64 = 30.0;
/// A block without a kill line stops taking lines after this many (a cut excerpt
/// followed by unrelated text; a full global task table on a big node is long).
pub(super) const MAX_BLOCK_LINES: usize = 5000;
/// A hard-wrapped line is glued back up to this length.
const MAX_GLUED: usize = 64 * 1024;
/// Prefix pieces looked at before a line's message.
const MAX_PIECES: usize = 8;

/// One kernel line with what its prefixes said.
#[derive(Debug, Clone, Default)]
pub(super) struct Line {
    text: String,
    uptime: Option<f64>,
    time: Option<Timestamp>,
}

/// Whether a raw line had a recognised log prefix, and whether it is a kernel line.
enum Kind {
    /// Prefixed kernel line.
    Kernel(Line),
    /// Prefixed line from another program (dockerd, node-problem-detector...).
    Foreign,
    /// No prefix at all.
    Bare,
}

pub(super) fn parse(text: &str, opts: &ParseOptions) -> Vec<OomEvent> {
    let mut asm = Assembler::default();
    let mut p = Parser::new(opts.clone());
    for raw in text.split('\n') {
        if let Some(done) = asm.push(raw, opts) {
            for l in done {
                p.line(l);
            }
        }
    }
    for l in asm.finish() {
        p.line(l);
    }
    p.flush();
    dedup(p.events)
}

// ---------------------------------------------------------------- records and lines

/// Groups raw lines into records: a prefixed kernel line (or a JSON record, or a bare
/// line on its own) with the unprefixed lines that continue it. Whether a line starts
/// a record depends only on the line itself and on whether the record before it was a
/// prefixed kernel line, so dropping whole records and putting a blank line in their
/// place leaves every other record as it was.
#[derive(Debug, Default)]
pub(super) struct Assembler {
    cur: Vec<Line>,
    /// The current record is a prefixed kernel line: a bare line continues it.
    prefixed: bool,
    kmsg: bool,
}

impl Assembler {
    /// Feeds one raw line (without its `\n`); when it starts a new record, returns the
    /// logical lines of the record it ends (possibly none).
    pub(super) fn push(&mut self, raw: &str, opts: &ParseOptions) -> Option<Vec<Line>> {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            return Some(self.start(Vec::new(), false, false));
        }
        if raw.starts_with('{') {
            if let Some(lines) = journal_json(raw) {
                let mut v = Vec::new();
                for l in lines {
                    push_split(&mut v, l);
                }
                let prefixed = !v.is_empty();
                return Some(self.start(v, prefixed, false));
            }
        }
        match classify_line(raw, opts) {
            Kind::Kernel(l) => {
                let kmsg = l.uptime.is_some() && is_kmsg(raw).is_some();
                let mut v = Vec::new();
                push_split(&mut v, l);
                let prefixed = !v.is_empty();
                Some(self.start(v, prefixed, kmsg))
            }
            Kind::Foreign => Some(self.start(Vec::new(), false, false)),
            Kind::Bare if self.prefixed => {
                let (uptime, time) = self
                    .cur
                    .last()
                    .map(|l| (l.uptime, l.time))
                    .unwrap_or_default();
                if raw.starts_with([' ', '\t']) {
                    // kmsg dictionary lines (` SUBSYSTEM=...`) are metadata.
                    if self.kmsg && is_dict_line(raw) {
                        return None;
                    }
                    // journald/syslog render a multi-line printk as one record with
                    // indented continuation lines: each is a line of its own.
                    push_split(
                        &mut self.cur,
                        Line {
                            text: raw.trim().to_string(),
                            uptime,
                            time,
                        },
                    );
                } else if let Some(last) = self.cur.last_mut() {
                    // A hard wrap from a mail client or paste: glue it back, even
                    // mid-token (`/kubepo` + `ds/...`).
                    if last.text.len() < MAX_GLUED {
                        let add = raw.trim_end();
                        let room = MAX_GLUED.saturating_sub(last.text.len());
                        last.text.push_str(cut_at_char(add, room));
                    }
                }
                None
            }
            Kind::Bare => {
                let mut v = Vec::new();
                push_split(
                    &mut v,
                    Line {
                        text: raw.trim().to_string(),
                        ..Line::default()
                    },
                );
                Some(self.start(v, false, false))
            }
        }
    }

    /// The logical lines of the last record.
    pub(super) fn finish(&mut self) -> Vec<Line> {
        self.start(Vec::new(), false, false)
    }

    fn start(&mut self, lines: Vec<Line>, prefixed: bool, kmsg: bool) -> Vec<Line> {
        self.prefixed = prefixed;
        self.kmsg = kmsg;
        std::mem::replace(&mut self.cur, lines)
    }
}

/// The longest head of `s` no longer than `max` bytes, cut at a char boundary.
fn cut_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// rsyslog escapes the newlines of a multi-line record as `#012`.
fn push_split(out: &mut Vec<Line>, l: Line) {
    if l.text.contains("#012") {
        for part in l.text.split("#012") {
            if !part.trim().is_empty() {
                out.push(Line {
                    text: part.trim().to_string(),
                    uptime: l.uptime,
                    time: l.time,
                });
            }
        }
    } else if l.text.contains('\n') {
        for part in l.text.split('\n') {
            if !part.trim().is_empty() {
                out.push(Line {
                    text: part.trim().to_string(),
                    uptime: l.uptime,
                    time: l.time,
                });
            }
        }
    } else {
        out.push(l);
    }
}

fn is_dict_line(raw: &str) -> bool {
    let t = raw.trim_start();
    match t.find('=') {
        Some(eq) => {
            eq > 0
                && t[..eq]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
        }
        None => false,
    }
}

/// Recognises the prefix of a raw line and whether it is a kernel line.
///
/// Two wrappers are recognised whole (kmsg records, VMware guest logs); every other
/// prefix is read as a sequence of pieces, whatever their order: printk level or
/// syslog priority `<6>`, uptime `[ 123.456]`, `dmesg -T` `[Thu Dec  7 00:05:14 2017]`,
/// ISO times (dot or comma decimals, any offset), syslog `Mon DD HH:MM:SS[.frac]`, an
/// epoch (only followed by another piece), a host (only before an ident or a bracket),
/// and the ident `kernel:` (`kernel[0]:`). Another program's ident after a time makes
/// the line foreign. What follows the last piece is the message.
fn classify_line(raw: &str, opts: &ParseOptions) -> Kind {
    let mut line = Line::default();
    // VMware guest log: `2023-...Z In(05) vcpu-5 - Guest: <6>[...] text`.
    if raw.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if let Some(at) = cut_at_char(raw, 120).find(" - Guest: ") {
            line.time = raw.split(' ').next().and_then(iso_time);
            return match scan_prefix(&raw[at + 10..], line, opts) {
                Scan::Kernel(l) | Scan::Bare(l) => Kind::Kernel(l),
                Scan::Foreign => Kind::Foreign,
            };
        }
    }
    if let Some((usec, rest)) = is_kmsg(raw) {
        line.uptime = Some(usec as f64 / 1e6);
        line.time = opts.boot_time.and_then(|b| {
            b.checked_add(jiff::SignedDuration::from_micros(usec as i64))
                .ok()
        });
        return match scan_prefix(rest, line, opts) {
            Scan::Kernel(l) | Scan::Bare(l) => Kind::Kernel(l),
            Scan::Foreign => Kind::Foreign,
        };
    }
    // An indented line is a continuation, whatever it holds.
    if raw.starts_with([' ', '\t']) {
        return Kind::Bare;
    }
    match scan_prefix(raw, line, opts) {
        Scan::Kernel(l) => Kind::Kernel(l),
        Scan::Foreign => Kind::Foreign,
        Scan::Bare(_) => Kind::Bare,
    }
}

/// Outcome of [`scan_prefix`].
enum Scan {
    /// At least one prefix piece: a kernel line.
    Kernel(Line),
    /// Another program's line.
    Foreign,
    /// No piece: the text as it is.
    Bare(Line),
}

/// One piece of a line prefix.
enum Piece {
    /// `<6>`.
    Level,
    Uptime(f64),
    /// A wall time (None: a syslog time without a known year); `ident` says whether an
    /// ident (after an optional host) is expected next.
    Time {
        time: Option<Timestamp>,
        ident: bool,
    },
    /// `kernel:` / `kernel[0]:`.
    KernelIdent,
}

/// Reads the prefix pieces of `s` (see [`classify_line`]).
fn scan_prefix(s: &str, mut line: Line, opts: &ParseOptions) -> Scan {
    let mut rest = s;
    let mut pieces = 0;
    let mut ident_expected = false;
    let mut ident_seen = false;
    let mut time_seen = false;
    let mut junk = 0;
    while pieces < MAX_PIECES {
        if let Some((p, after)) = piece(rest, opts) {
            match p {
                Piece::Level => {}
                Piece::Uptime(u) => line.uptime = Some(u),
                Piece::Time { time, ident } => {
                    if !time_seen {
                        line.time = line.time.or(time);
                    }
                    time_seen = true;
                    ident_expected = ident && !ident_seen;
                }
                Piece::KernelIdent => {
                    if ident_seen {
                        break;
                    }
                    ident_seen = true;
                    ident_expected = false;
                }
            }
            pieces += 1;
            rest = after;
            continue;
        }
        // Weak pieces: taken only when what follows shows they are prefix.
        let (tok, after) = token(rest);
        if tok.is_empty() {
            break;
        }
        if pieces == 0 {
            if let Some(t) = epoch(tok) {
                let (next, after2) = token(after);
                let host_then_piece = is_host(next)
                    && (ident_kind(token(after2).0).is_some() || starts_bracket(after2, opts));
                let ident_next = ident_kind(next).is_some();
                if host_then_piece || ident_next || starts_bracket(after, opts) {
                    line.time = Some(t);
                    time_seen = true;
                    ident_expected =
                        ident_next || (is_host(next) && ident_kind(token(after2).0).is_some());
                    pieces += 1;
                    rest = after;
                    continue;
                }
                break;
            }
            // Quote marks of a mail or issue paste (`> `), and up to two words of a
            // tool's own prefix before an uptime (`percona # [   16.8]`): taken only
            // when a piece follows them.
            if junk < 3 {
                let plain = |t: &str| {
                    !t.is_empty() && t.len() <= 64 && !t.contains(':') && !t.starts_with('[')
                };
                let (next, after2) = token(after);
                let quote = tok.bytes().all(|b| b == b'>') && piece(after, opts).is_some();
                let skip = if quote || (plain(tok) && starts_bracket(after, opts)) {
                    Some(after)
                } else if plain(tok) && plain(next) && starts_bracket(after2, opts) {
                    Some(after2)
                } else {
                    None
                };
                if let Some(after) = skip {
                    junk += 1;
                    rest = after;
                    continue;
                }
            }
        }
        if !ident_seen && time_seen && ident_expected {
            // `Mon DD HH:MM:SS ident: ` without a host.
            if ident_kind(tok) == Some(false) {
                return Scan::Foreign;
            }
            if is_host(tok) {
                let (next, _) = token(after);
                match ident_kind(next) {
                    Some(false) => return Scan::Foreign,
                    Some(true) => {
                        pieces += 1;
                        rest = after;
                        continue;
                    }
                    None if starts_bracket(after, opts) => {
                        pieces += 1;
                        rest = after;
                        continue;
                    }
                    None => {}
                }
            }
        } else if !ident_seen && (time_seen || line.uptime.is_some()) && is_host(tok) {
            // A host before an uptime (rsyslog templates) or before `kernel:`
            // (journald `-o short-monotonic`); never a reason to call a line foreign.
            if ident_kind(token(after).0) == Some(true) || starts_bracket(after, opts) {
                pieces += 1;
                rest = after;
                continue;
            }
        }
        break;
    }
    line.text = rest.trim().to_string();
    if pieces == 0 {
        Scan::Bare(line)
    } else {
        Scan::Kernel(line)
    }
}

/// The first space-separated token of `s` (spaces before it skipped) and what follows.
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(' ');
    match s.find(' ') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

fn starts_bracket(s: &str, opts: &ParseOptions) -> bool {
    let s = s.trim_start_matches(' ');
    s.starts_with('[')
        && matches!(
            piece(s, opts),
            Some((Piece::Uptime(_) | Piece::Time { .. }, _))
        )
}

/// A host name: letters, digits, `-`, `.`, `_`.
fn is_host(tok: &str) -> bool {
    !tok.is_empty()
        && tok.len() <= 253
        && tok
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// `name:` or `name[pid]:` with a plausible program name.
fn is_ident_shaped(tok: &str) -> bool {
    let Some(name) = tok.strip_suffix(':') else {
        return false;
    };
    let name = match name.strip_suffix(']') {
        Some(n) => match n.rfind('[') {
            Some(o) if n[o + 1..].bytes().all(|b| b.is_ascii_digit()) => &n[..o],
            _ => return false,
        },
        None => name,
    };
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'/' | b'@' | b'(' | b')')
        })
}

/// Some(true) for `kernel:`/`kernel[0]:`, Some(false) for another program's `name:` or
/// `name[pid]:`, None when not an ident.
fn ident_kind(tok: &str) -> Option<bool> {
    if !is_ident_shaped(tok) {
        return None;
    }
    Some(tok == "kernel:" || tok.starts_with("kernel["))
}

/// A piece recognised by its own shape, and the text after it.
fn piece<'a>(s: &'a str, opts: &ParseOptions) -> Option<(Piece, &'a str)> {
    let s = s.trim_start_matches(' ');
    let b = s.as_bytes();
    match b.first()? {
        b'<' => {
            let end = cut_at_char(s, 8).find('>')?;
            let inner = &s[1..end];
            (end > 1 && end <= 4 && inner.bytes().all(|c| c.is_ascii_digit()))
                .then(|| (Piece::Level, &s[end + 1..]))
        }
        b'[' => {
            let end = cut_at_char(s, 48).find(']')?;
            let inner = &s[1..end];
            let trimmed = inner.trim();
            let after = &s[end + 1..];
            if !trimmed.is_empty()
                && trimmed.len() <= 24
                && trimmed.bytes().all(|c| c.is_ascii_digit() || c == b'.')
                && trimmed.contains('.')
            {
                return Some((Piece::Uptime(trimmed.parse().ok()?), after));
            }
            let t = dmesg_t(inner)?;
            Some((
                Piece::Time {
                    time: Some(t),
                    ident: false,
                },
                after,
            ))
        }
        b'k' => {
            let (tok, after) = token(s);
            (ident_kind(tok) == Some(true)).then_some((Piece::KernelIdent, after))
        }
        c if c.is_ascii_digit() => {
            let (tok, after) = token(s);
            if tok.len() >= 19 && b.get(4) == Some(&b'-') && b.get(10) == Some(&b'T') {
                let t = iso_time(tok)?;
                // dmesg's iso format (comma decimals) has no host or ident after it.
                let ident = !tok.contains(',');
                return Some((
                    Piece::Time {
                        time: Some(t),
                        ident,
                    },
                    after,
                ));
            }
            None
        }
        _ => {
            let (time, after) = syslog_time(s, opts.year)?;
            Some((Piece::Time { time, ident: true }, after))
        }
    }
}

/// A Unix time in seconds (2000 to 2100), with optional decimals.
fn epoch(tok: &str) -> Option<Timestamp> {
    let (secs, frac) = tok.split_once('.').unwrap_or((tok, ""));
    if secs.len() != 10
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let s: i64 = secs.parse().ok()?;
    if !(946_684_800..4_102_444_800).contains(&s) {
        return None;
    }
    let ns: i32 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i32>().ok()? * 10i32.pow(9 - frac.len() as u32)
    };
    Timestamp::new(s, ns).ok()
}

/// Inner prefixes of a journald record's message: printk level, uptime, `dmesg -T`.
fn strip_inner(msg: &str, line: Line) -> Line {
    match scan_prefix(msg, line, &ParseOptions::default()) {
        Scan::Kernel(l) | Scan::Bare(l) => l,
        Scan::Foreign => Line {
            text: msg.trim().to_string(),
            ..Line::default()
        },
    }
}

/// `prio,seq,usec,flags[,...];text` → (usec, text).
fn is_kmsg(raw: &str) -> Option<(u64, &str)> {
    let semi = raw.get(..raw.len().min(128))?.find(';')?;
    let head = &raw[..semi];
    let mut f = head.split(',');
    let prio = f.next()?;
    let seq = f.next()?;
    let usec = f.next()?;
    let flags = f.next()?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(prio) && digits(seq) && digits(usec)) || flags.len() > 4 {
        return None;
    }
    Some((usec.parse().ok()?, &raw[semi + 1..]))
}

fn month(s: &str) -> Option<i8> {
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    M.iter().position(|m| *m == s).map(|i| i as i8 + 1)
}

fn utc(y: i16, mo: i8, d: i8, hms: &str) -> Option<Timestamp> {
    let mut it = hms.split(':');
    let h: i8 = it.next()?.parse().ok()?;
    let mi: i8 = it.next()?.parse().ok()?;
    let sec = it.next()?;
    let (s, frac) = sec.split_once(['.', ',']).unwrap_or((sec, ""));
    let s: i8 = s.parse().ok()?;
    let mut ns: i32 = 0;
    if !frac.is_empty() {
        let digits: String = frac.chars().take(9).collect();
        let v: i32 = digits.parse().ok()?;
        ns = v * 10i32.pow(9 - digits.len() as u32);
    }
    let dt = jiff::civil::DateTime::new(y, mo, d, h, mi, s, ns).ok()?;
    jiff::tz::Offset::UTC.to_timestamp(dt).ok()
}

/// `Thu Dec  7 00:05:14 2017` (dmesg -T prints local time; taken as UTC).
fn dmesg_t(inner: &str) -> Option<Timestamp> {
    let mut f = inner.split_whitespace();
    let _wd = f.next()?;
    let mo = month(f.next()?)?;
    let d: i8 = f.next()?.parse().ok()?;
    let hms = f.next()?;
    let y: i16 = f.next()?.parse().ok()?;
    if f.next().is_some() {
        return None;
    }
    utc(y, mo, d, hms)
}

/// `Dec  7 00:05:14[.frac] rest` → (time when a year is known, rest).
fn syslog_time(raw: &str, year: Option<i16>) -> Option<(Option<Timestamp>, &str)> {
    let mo = month(raw.get(..3)?)?;
    let rest = raw.get(3..)?.strip_prefix(' ')?.trim_start_matches(' ');
    let sp = rest.find(' ')?;
    let d: i8 = rest[..sp].parse().ok()?;
    let rest = &rest[sp + 1..];
    let sp = rest.find(' ').unwrap_or(rest.len());
    let hms = &rest[..sp];
    if hms.len() < 8 || hms.as_bytes()[2] != b':' || hms.as_bytes()[5] != b':' {
        return None;
    }
    Some((year.and_then(|y| utc(y, mo, d, hms)), &rest[sp..]))
}

/// ISO 8601 with offset (`Z`, `+00:00`, `+0000`), dot or comma decimals.
fn iso_time(tok: &str) -> Option<Timestamp> {
    if tok.len() > 64 {
        return None;
    }
    let tok = tok.replace(',', ".");
    if let Ok(t) = tok.parse::<Timestamp>() {
        return Some(t);
    }
    // `+0000` → `+00:00`.
    let b = tok.as_bytes();
    if b.len() > 5 {
        let n = b.len();
        let sign = b[n - 5];
        if (sign == b'+' || sign == b'-') && b[n - 4..].iter().all(u8::is_ascii_digit) {
            let fixed = format!("{}:{}", &tok[..n - 2], &tok[n - 2..]);
            return fixed.parse().ok();
        }
    }
    None
}

/// `journalctl -o json` record → its kernel lines; None if not a journal record.
fn journal_json(raw: &str) -> Option<Vec<Line>> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let obj = v.as_object()?;
    let msg = match obj.get("MESSAGE")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(bytes) => {
            let b: Vec<u8> = bytes
                .iter()
                .filter_map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => return None,
    };
    let field = |k: &str| obj.get(k).and_then(|x| x.as_str());
    let kernel = field("_TRANSPORT") == Some("kernel")
        || field("SYSLOG_IDENTIFIER") == Some("kernel")
        || (field("_TRANSPORT").is_none() && field("SYSLOG_IDENTIFIER").is_none());
    if !kernel {
        return Some(Vec::new());
    }
    let num = |k: &str| field(k).and_then(|s| s.parse::<i64>().ok());
    let time = num("__REALTIME_TIMESTAMP").and_then(|us| Timestamp::from_microsecond(us).ok());
    let uptime = num("_SOURCE_MONOTONIC_TIMESTAMP")
        .or_else(|| num("__MONOTONIC_TIMESTAMP"))
        .map(|us| us as f64 / 1e6);
    Some(
        msg.split('\n')
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut line = strip_inner(l.trim(), Line::default());
                line.time = line.time.or(time);
                line.uptime = line.uptime.or(uptime);
                line
            })
            .collect(),
    )
}

// ---------------------------------------------------------------- blocks

#[derive(Debug, Clone, Default)]
struct Kill {
    pid: Option<u32>,
    comm: Option<String>,
    total_vm: Option<u64>,
    anon_rss: Option<u64>,
    file_rss: Option<u64>,
    shmem_rss: Option<u64>,
    oom_score_adj: Option<i64>,
    uptime: Option<f64>,
    time: Option<Timestamp>,
    /// Only a `Kill process … or sacrifice child` line: the victim may be a child.
    tentative: bool,
    /// Only an `oom_reaper: reaped process` line (a cut or rate-limited excerpt): the
    /// victim, without its sizes; a `Killed process` line replaces it.
    reaped: bool,
    /// Member of a `memory.oom.group` kill: its own cgroup.
    group_memcg: Option<String>,
}

#[derive(Debug, Default)]
struct Block {
    lines: Vec<String>,
    invoker: Option<String>,
    constraint: Option<String>,
    oom_memcg: Option<String>,
    task_memcg: Option<String>,
    /// `task=`/`pid=` of the `oom-kill:` line.
    task: Option<(Option<String>, Option<u32>)>,
    global: bool,
    memcg_hint: bool,
    usage: Option<u64>,
    limit: Option<u64>,
    /// First `Memory cgroup stats for <path>`: the victim's side of the tree when the
    /// scope line is missing from an excerpt.
    stats_memcg: Option<String>,
    group: Option<String>,
    kills: Vec<Kill>,
    /// A `Killed process` line was seen: later unrelated lines are not the block's.
    killed: bool,
    /// `Task in`/`oom-kill:`/`Tasks in` seen: the block names a kill even without a
    /// kill line.
    scoped: bool,
    /// Column index of oom_score_adj in the task table (from its header) and row count.
    adj_col: Option<usize>,
    adj: Vec<(u32, i64)>,
    /// Lines taken since the block started (bounded by [`MAX_BLOCK_LINES`]).
    seen: usize,
    uptime: Option<f64>,
    time: Option<Timestamp>,
}

impl Block {
    fn keep(&mut self, text: &str, important: bool) {
        if self.lines.len() < EXCERPT_HEAD || (important && self.lines.len() < EXCERPT_MAX) {
            self.lines.push(text.to_string());
        }
    }
}

/// Pids of recent kills remembered, so a late `oom_reaper` line is not taken for a
/// new victim.
const RECENT_KILLS: usize = 64;

/// The block state machine. Its state depends only on the lines it was given that it
/// reported as taken: a line [`Parser::line`] returns false for changed nothing.
pub(super) struct Parser {
    opts: ParseOptions,
    block: Option<Block>,
    pub(super) events: Vec<OomEvent>,
    recent: std::collections::VecDeque<u32>,
    /// Blocks that gave at least one event.
    pub(super) blocks: u64,
}

impl Parser {
    pub(super) fn new(opts: ParseOptions) -> Self {
        Parser {
            opts,
            block: None,
            events: Vec::new(),
            recent: std::collections::VecDeque::new(),
            blocks: 0,
        }
    }

    fn start(&mut self, l: &Line) -> &mut Block {
        self.flush();
        self.block.insert(Block {
            uptime: l.uptime,
            time: l.time,
            ..Block::default()
        })
    }

    /// Takes one logical kernel line; false when the line changed nothing (not part
    /// of any OOM report), so leaving it out of the input gives the same events.
    pub(super) fn line(&mut self, l: Line) -> bool {
        let t = l.text.as_str();
        // Most lines of a kernel log are about something else: outside a report only a
        // line naming one can change anything, and every such line holds one of these.
        let idle = self
            .block
            .as_ref()
            .is_none_or(|b| b.killed || b.seen >= MAX_BLOCK_LINES);
        if idle
            && !t.starts_with("memory: usage ")
            && !t.starts_with("Memory cgroup stats for ")
            && !names_a_report(t)
        {
            return false;
        }
        if let Some(at) = t.find(" invoked oom-killer") {
            let b = self.start(&l);
            b.invoker = Some(t[..at].trim().to_string());
            b.keep(t, true);
            return true;
        }
        if let Some(rest) = find_after(t, "oom-kill:") {
            let kv = oom_kill_fields(rest);
            let needs_new = self.block.as_ref().is_none_or(|b| b.killed || b.scoped);
            let b = if needs_new {
                self.start(&l)
            } else {
                self.block.as_mut().expect("checked")
            };
            b.scoped = true;
            for (k, v) in kv {
                match k {
                    "constraint" => b.constraint = Some(v.to_string()),
                    "oom_memcg" => b.oom_memcg = Some(v.to_string()),
                    "task_memcg" => b.task_memcg = Some(v.to_string()),
                    "global_oom" => b.global = true,
                    "task" => b.task.get_or_insert((None, None)).0 = Some(v.to_string()),
                    "pid" => b.task.get_or_insert((None, None)).1 = v.trim().parse().ok(),
                    _ => {}
                }
            }
            if b.constraint.as_deref() == Some("CONSTRAINT_NONE") {
                b.global = true;
            }
            b.keep(t, true);
            return true;
        }
        if let Some(rest) = find_after(t, "Task in ") {
            const LIMIT_OF: &str = " killed as a result of limit of ";
            if let Some(k) = rest.find(LIMIT_OF) {
                let needs_new = self.block.as_ref().is_none_or(|b| b.killed || b.scoped);
                let b = if needs_new {
                    self.start(&l)
                } else {
                    self.block.as_mut().expect("checked")
                };
                b.scoped = true;
                b.memcg_hint = true;
                b.task_memcg = Some(rest[..k].trim().to_string());
                b.oom_memcg = Some(rest[k + LIMIT_OF.len()..].trim().to_string());
                b.keep(t, true);
                return true;
            }
        }
        if let Some(rest) = find_after(t, "Tasks in ") {
            if let Some(k) = rest.find(" are going to be killed due to memory.oom.group") {
                let b = match self.block.as_mut() {
                    Some(b) => b,
                    None => self.start(&l),
                };
                b.scoped = true;
                b.group = Some(rest[..k].trim().to_string());
                b.keep(t, true);
                return true;
            }
        }
        if let Some(k) = kill_line(t, &l) {
            let global_line = t.contains("Out of memory: Kill") && !t.contains("Memory cgroup");
            let memcg_line = t.contains("Memory cgroup out of memory");
            self.kill(k, &l, global_line, memcg_line);
            return true;
        }
        if let Some(rest) = find_after(t, "oom_reaper: reaped process ") {
            return self.reaped(rest, &l);
        }
        // An excerpt may start after the header: the counters and stats of an OOM
        // report open a block of their own.
        let report_line =
            t.starts_with("memory: usage ") || t.starts_with("Memory cgroup stats for ");
        if report_line && self.block.as_ref().is_none_or(|b| b.killed) {
            self.start(&l);
        }
        let Some(b) = self.block.as_mut() else {
            return false;
        };
        if b.killed || b.seen >= MAX_BLOCK_LINES {
            // Lines after the kill that are not about it are someone else's.
            return false;
        }
        b.seen += 1;
        if b.usage.is_none() {
            if let Some(rest) = t.strip_prefix("memory: usage ") {
                b.usage = kb_value(rest);
                b.limit = find_after(rest, "limit ").and_then(kb_value);
            }
        }
        if b.stats_memcg.is_none() {
            if let Some(rest) = t.strip_prefix("Memory cgroup stats for ") {
                let end = rest.find(": ").unwrap_or(rest.len());
                b.stats_memcg = Some(rest[..end].trim_end_matches(':').trim().to_string());
            }
        }
        task_row(b, t);
        b.keep(t, false);
        true
    }

    /// `oom_reaper: reaped process PID (comm), now ...`: the victim of a block that
    /// printed none (a cut or rate-limited excerpt), unless it reaps a kill already seen.
    fn reaped(&mut self, rest: &str, l: &Line) -> bool {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(pid) = rest[..digits].parse::<u32>() else {
            return false;
        };
        let known = self.recent.contains(&pid)
            || self
                .block
                .as_ref()
                .is_some_and(|b| b.kills.iter().any(|o| !o.tentative && o.pid == Some(pid)));
        if known {
            if let Some(b) = self.block.as_mut() {
                b.keep(&l.text, true);
            }
            return true;
        }
        let after = rest[digits..].trim_start();
        let comm = after.strip_prefix('(').map(|open| {
            let stop = open.find("), now ").or_else(|| open.rfind(')'));
            open[..stop.unwrap_or(open.len())].to_string()
        });
        let k = Kill {
            pid: Some(pid),
            comm,
            uptime: l.uptime,
            time: l.time,
            reaped: true,
            ..Kill::default()
        };
        self.kill(k, l, false, false);
        true
    }

    fn kill(&mut self, mut k: Kill, l: &Line, global_line: bool, memcg_line: bool) {
        let reuse = match self.block.as_ref() {
            None => false,
            Some(b) => {
                let dup = b
                    .kills
                    .iter()
                    .any(|o| !o.tentative && !o.reaped && o.pid == k.pid && o.comm == k.comm);
                let oom_kill_pid_mismatch = matches!(b.task, Some((_, Some(p))) if Some(p) != k.pid)
                    && b.kills.is_empty()
                    && b.group.is_none();
                if dup || k.tentative {
                    !b.killed || dup
                } else if oom_kill_pid_mismatch {
                    false
                } else if b.killed {
                    b.group.is_some()
                } else {
                    true
                }
            }
        };
        if !reuse {
            let b = self.start(l);
            // Nothing but the reaper's line: where the limit was is unknown.
            b.memcg_hint |= k.reaped;
        }
        let b = self.block.as_mut().expect("started");
        b.keep(&l.text, true);
        b.global |= global_line;
        b.memcg_hint |= memcg_line;
        if k.comm.is_none() {
            // 2.6.32's `Killed process N, UID U, (comm)` variants can lose the name the
            // `Kill process N (comm)` line gave.
            k.comm = b
                .kills
                .iter()
                .find(|o| o.pid == k.pid && o.comm.is_some())
                .and_then(|o| o.comm.clone());
        }
        if k.reaped {
            b.kills.retain(|o| !o.tentative);
            b.kills.push(k);
            return;
        }
        if k.tentative {
            if !b.kills.iter().any(|o| o.pid == k.pid) {
                b.kills.push(k);
            }
            return;
        }
        b.killed = true;
        if b.kills
            .iter()
            .any(|o| !o.tentative && !o.reaped && o.pid == k.pid && o.comm == k.comm)
        {
            return;
        }
        // The kernel's choice (`Kill process`) is replaced by who actually died.
        b.kills.retain(|o| !o.tentative && !o.reaped);
        if b.kills.iter().any(|o| o.group_memcg.is_some())
            || (b.group.is_some() && !b.kills.is_empty())
        {
            k.group_memcg = b.group.clone();
        }
        b.kills.push(k);
    }

    pub(super) fn flush(&mut self) {
        let Some(mut b) = self.block.take() else {
            return;
        };
        if b.kills.is_empty() {
            if !b.scoped {
                return;
            }
            let (comm, pid) = b.task.clone().unwrap_or((None, None));
            b.kills.push(Kill {
                pid,
                comm,
                uptime: b.uptime,
                time: b.time,
                ..Kill::default()
            });
        }
        let constraint = b.constraint.clone();
        self.blocks += 1;
        for k in &b.kills {
            if let Some(pid) = k.pid {
                if self.recent.len() == RECENT_KILLS {
                    self.recent.pop_front();
                }
                self.recent.push_back(pid);
            }
            let task_memcg = k
                .group_memcg
                .clone()
                .or_else(|| b.task_memcg.clone())
                .or_else(|| b.stats_memcg.clone());
            let oom_memcg = b.oom_memcg.clone().or_else(|| b.group.clone());
            let (mut scope, pod_uid, container_id) = classify(
                oom_memcg.as_deref(),
                task_memcg.as_deref(),
                constraint.as_deref(),
            );
            if scope == OomScope::Global && oom_memcg.is_none() && b.memcg_hint && !b.global {
                scope = OomScope::Other;
            }
            let uptime = k.uptime.or(b.uptime);
            let time = k.time.or(b.time).or_else(|| {
                let up = uptime?;
                let boot = self.opts.boot_time?;
                boot.checked_add(jiff::SignedDuration::from_secs_f64(up))
                    .ok()
            });
            let oom_score_adj = k.oom_score_adj.or_else(|| {
                let pid = k.pid?;
                b.adj.iter().find(|(p, _)| *p == pid).map(|(_, a)| *a)
            });
            self.events.push(OomEvent {
                node: self.opts.node.clone(),
                time,
                uptime_secs: uptime,
                pid: k.pid,
                comm: k.comm.clone(),
                invoker: b.invoker.clone(),
                anon_rss: k.anon_rss,
                file_rss: k.file_rss,
                shmem_rss: k.shmem_rss,
                total_vm: k.total_vm,
                oom_score_adj,
                constraint: constraint.clone(),
                oom_memcg,
                task_memcg,
                scope,
                pod_uid,
                container_id,
                memcg_usage: b.usage,
                memcg_limit: b.limit,
                excerpt: b.lines.clone(),
                source: self.opts.source.clone(),
            });
        }
    }
}

/// Same pid and comm, close in time (or no time at all): one kill printed twice, or a
/// block repeated by overlapping captures.
fn dedup(events: Vec<OomEvent>) -> Vec<OomEvent> {
    let mut out: Vec<OomEvent> = Vec::with_capacity(events.len());
    for e in events {
        if e.pid.is_some() {
            let twin = out.iter_mut().rev().take(64).find(|o| {
                o.pid == e.pid
                    && o.comm == e.comm
                    && match (o.uptime_secs, e.uptime_secs, o.time, e.time) {
                        (Some(a), Some(b), _, _) => (a - b).abs() < DEDUP_SECS,
                        (_, _, Some(a), Some(b)) => {
                            a.duration_since(b).abs().as_secs_f64() < DEDUP_SECS
                        }
                        (None, None, None, None) => true,
                        _ => false,
                    }
            });
            if let Some(o) = twin {
                merge(o, e);
                continue;
            }
        }
        out.push(e);
    }
    out
}

fn merge(into: &mut OomEvent, e: OomEvent) {
    macro_rules! fill {
        ($($f:ident),*) => { $( if into.$f.is_none() { into.$f = e.$f; } )* };
    }
    fill!(
        time,
        uptime_secs,
        invoker,
        anon_rss,
        file_rss,
        shmem_rss,
        total_vm,
        oom_score_adj,
        constraint,
        oom_memcg,
        task_memcg,
        pod_uid,
        container_id,
        memcg_usage,
        memcg_limit
    );
    if into.scope == OomScope::Global && into.oom_memcg.is_some() {
        into.scope = e.scope;
    }
}

// ---------------------------------------------------------------- line parsers

/// Whether `t` holds `oom`, `Kill` or `Task` (one pass): every line that opens or names
/// an OOM report does (`invoked oom-killer`, `oom-kill:`, `oom_reaper:`, `Kill(ed)
/// process`, `Task(s) in`).
fn names_a_report(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    while i + 3 <= b.len() {
        match b[i] {
            b'o' if &b[i..i + 3] == b"oom" => return true,
            b'K' if b.get(i..i + 4) == Some(b"Kill") => return true,
            b'T' if b.get(i..i + 4) == Some(b"Task") => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn find_after<'a>(t: &'a str, pat: &str) -> Option<&'a str> {
    t.find(pat).map(|i| &t[i + pat.len()..])
}

/// Leading number of `102400kB, ...` → bytes.
fn kb_value(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..end].parse().ok()?;
    let unit = &s[end..];
    if unit.starts_with("kB") || unit.starts_with("KB") || unit.starts_with("k") {
        n.checked_mul(1024)
    } else {
        Some(n)
    }
}

/// `constraint=...,nodemask=(null),...,oom_memcg=/a b,task_memcg=/a,task=x,pid=1,uid=0`
/// split on `,key=` (or `,flag` like `global_oom`), never on whitespace.
fn oom_kill_fields(s: &str) -> Vec<(&str, &str)> {
    let mut cuts = vec![0usize];
    let bytes = s.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c != b',' {
            continue;
        }
        let rest = &s[i + 1..];
        let klen = rest
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        let next = rest.as_bytes().get(klen);
        if klen > 0 && matches!(next, Some(b'=') | Some(b',') | None) {
            cuts.push(i + 1);
        }
    }
    let mut out = Vec::new();
    for (n, &start) in cuts.iter().enumerate() {
        let end = cuts.get(n + 1).map(|&e| e - 1).unwrap_or(s.len());
        let field = &s[start..end];
        match field.split_once('=') {
            Some((k, v)) => out.push((k.trim(), v.trim())),
            None => out.push((field.trim(), "")),
        }
    }
    out
}

/// `[Memory cgroup out of memory: |Out of memory: ]Kill(ed) process PID (comm) ...`.
fn kill_line(t: &str, l: &Line) -> Option<Kill> {
    let (rest, tentative) = if let Some(r) = find_after(t, "Killed process ") {
        (r, false)
    } else if let Some(r) = find_after(t, "Kill process ") {
        (r, true)
    } else {
        return None;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let pid: u32 = rest[..digits].parse().ok()?;
    let mut after = rest[digits..].trim_start();
    // 2.6.32 (RHEL 6): `Killed process 40738, UID 27, (mysqld) total-vm:...`.
    if let Some(u) = after.strip_prefix(", UID ") {
        let d = u.bytes().take_while(u8::is_ascii_digit).count();
        after = u[d..].trim_start_matches(',').trim_start();
    }
    let mut k = Kill {
        pid: Some(pid),
        uptime: l.uptime,
        time: l.time,
        tentative,
        ..Kill::default()
    };
    let Some(open) = after.strip_prefix('(') else {
        return Some(k);
    };
    // The comm may hold spaces, parens and quotes: it ends at the last `)` before the
    // first field after it.
    let stop = ["total-vm:", " score ", ", UID"]
        .iter()
        .filter_map(|p| open.find(p))
        .min()
        .unwrap_or(open.len());
    let close = open[..stop].rfind(')');
    let fields = match close {
        Some(c) => {
            k.comm = Some(open[..c].to_string());
            &open[c + 1..]
        }
        None => {
            k.comm = Some(open[..stop].trim_end().to_string());
            &open[stop..]
        }
    };
    k.total_vm = find_after(fields, "total-vm:").and_then(kb_value);
    k.anon_rss = find_after(fields, "anon-rss:").and_then(kb_value);
    k.file_rss = find_after(fields, "file-rss:").and_then(kb_value);
    k.shmem_rss = find_after(fields, "shmem-rss:").and_then(kb_value);
    k.oom_score_adj = find_after(fields, "oom_score_adj:").and_then(|s| {
        let s = s.trim_start();
        let end = s
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        s[..end].parse().ok()
    });
    Some(k)
}

/// Task table header and rows: remembers each pid's oom_score_adj (old kill lines do
/// not print it).
fn task_row(b: &mut Block, t: &str) {
    let Some(rest) = t.strip_prefix('[') else {
        return;
    };
    let Some(close) = rest.find(']') else {
        return;
    };
    let inner = rest[..close].trim();
    let cols: Vec<&str> = rest[close + 1..].split_whitespace().collect();
    if inner == "pid" {
        b.adj_col = cols.iter().position(|c| *c == "oom_score_adj");
        return;
    }
    let (Some(col), Ok(pid)) = (b.adj_col, inner.parse::<u32>()) else {
        return;
    };
    if b.adj.len() < 100_000 {
        if let Some(adj) = cols.get(col).and_then(|v| v.parse::<i64>().ok()) {
            b.adj.push((pid, adj));
        }
    }
}
