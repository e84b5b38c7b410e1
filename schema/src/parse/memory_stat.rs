//! `memory.stat` (cgroup v1 and v2) → key/value map, plus the derived figures podmem
//! uses (working set, shmem, cache, rss) with the kernel-version fallbacks.

use std::collections::BTreeMap;

use crate::report::MemStats;

/// v1 "no limit": `PAGE_COUNTER_MAX` pages of 4 KiB, what `limit_in_bytes` reads back
/// as after writing `-1`. Larger values (other page sizes, `i64::MAX`) also mean no limit.
pub const V1_UNLIMITED: u64 = 9_223_372_036_854_771_712;

/// A parsed `memory.stat`: every `key value` line kept, unknown keys included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStat {
    /// All keys in the file.
    pub entries: BTreeMap<String, u64>,
}

impl MemoryStat {
    /// Value of a key, if present.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.entries.get(key).copied()
    }
}

/// Where the derived figures read `memory.stat` values from: a whole parsed file, or a
/// reader that kept only the keys [`v1_stats`] and [`v2_stats`] use.
pub trait StatKeys {
    /// Value of a key, if present.
    fn stat(&self, key: &str) -> Option<u64>;
}

impl StatKeys for MemoryStat {
    fn stat(&self, key: &str) -> Option<u64> {
        self.get(key)
    }
}

/// The hierarchical `total_<key>` value, or the local `<key>` when the kernel did not
/// print totals (v1 with `use_hierarchy` off, or a trimmed dump).
fn total_or_local<S: StatKeys + ?Sized>(stat: &S, total: &str, local: &str) -> Option<u64> {
    stat.stat(total).or_else(|| stat.stat(local))
}

/// Parses a v1 or v2 `memory.stat`; malformed lines are skipped (never fatal).
pub fn parse_memory_stat(text: &str) -> MemoryStat {
    let mut entries = BTreeMap::new();
    scan(text, Some, |key: &str, v| {
        entries.insert(key.to_string(), v);
    });
    MemoryStat { entries }
}

/// The `memory.stat` keys [`v1_stats`] and [`v2_stats`] read (v1 totals and locals, v2
/// names), in the order of [`FigureKeys`]' array.
pub const FIGURE_KEYS: [&str; 14] = [
    "total_inactive_file",
    "inactive_file",
    "total_rss",
    "rss",
    "total_shmem",
    "shmem",
    "total_active_anon",
    "active_anon",
    "total_inactive_anon",
    "inactive_anon",
    "total_cache",
    "cache",
    "anon",
    "file",
];

/// The index of a key in [`FIGURE_KEYS`], None for the keys the figures do not read (a
/// `match` compiles to a switch on the length, where a list search compares every key).
fn figure_key(key: &str) -> Option<usize> {
    let i = match key {
        "total_inactive_file" => 0,
        "inactive_file" => 1,
        "total_rss" => 2,
        "rss" => 3,
        "total_shmem" => 4,
        "shmem" => 5,
        "total_active_anon" => 6,
        "active_anon" => 7,
        "total_inactive_anon" => 8,
        "inactive_anon" => 9,
        "total_cache" => 10,
        "cache" => 11,
        "anon" => 12,
        "file" => 13,
        _ => return None,
    };
    debug_assert_eq!(FIGURE_KEYS[i], key);
    Some(i)
}

/// A `memory.stat` reduced to the keys the derived figures read, in a fixed array: no
/// allocation per key, for readers that parse one file per cgroup per snapshot of a
/// long series.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FigureKeys([Option<u64>; FIGURE_KEYS.len()]);

impl StatKeys for FigureKeys {
    fn stat(&self, key: &str) -> Option<u64> {
        self.0[figure_key(key)?]
    }
}

impl FigureKeys {
    /// The keys present with their values, sorted by name (as [`MemoryStat`] lists
    /// them).
    pub fn entries(&self) -> Vec<(&'static str, u64)> {
        let mut v: Vec<_> = FIGURE_KEYS
            .iter()
            .zip(self.0)
            .filter_map(|(k, v)| Some((*k, v?)))
            .collect();
        v.sort_unstable();
        v
    }
}

/// Parses a v1 or v2 `memory.stat` as [`parse_memory_stat`] does, keeping only the
/// [`FIGURE_KEYS`]: the other lines are skipped without their value being read.
pub fn parse_figure_keys(text: &str) -> FigureKeys {
    let mut keys = FigureKeys::default();
    scan(text, figure_key, |i, v| keys.0[i] = Some(v));
    keys
}

/// Reads the `key value` lines of a `memory.stat`: exactly two whitespace-separated
/// fields, the value a `u64`; other lines are skipped. `select` sees the key first and
/// the value is parsed only for a key it maps to `Some`, which `put` then receives.
///
/// The fields are those of `split_whitespace` on every `\n`-separated line. A long
/// series parses hundreds of thousands of these files, so the kernel's own line shape
/// (`<printable ASCII key> <decimal digits>\n`) is read without a second look at its
/// bytes, eight at a time where it can: a line whose first field ends at a space and
/// is not selected is skipped to its end unread (nothing else on it can be used), and
/// a selected one is read as plain digits. Any other line goes through
/// `split_whitespace`.
fn scan<'t, K>(
    text: &'t str,
    mut select: impl FnMut(&'t str) -> Option<K>,
    mut put: impl FnMut(K, u64),
) {
    let b = text.as_bytes();
    let mut start = 0;
    while start < b.len() {
        let i = printable_end(b, start);
        if i > start && b.get(i) == Some(&b' ') {
            let Some(key) = select(&text[start..i]) else {
                start = line_end(b, i) + 1;
                continue;
            };
            let mut j = i + 1;
            let mut value = Some(0u64);
            while let Some(&c) = b.get(j) {
                if !c.is_ascii_digit() {
                    break;
                }
                // Only an overflow fails, which `u64::from_str` refuses too.
                value = value.and_then(|v| v.checked_mul(10)?.checked_add(u64::from(c - b'0')));
                j += 1;
            }
            if j > i + 1 && b.get(j).is_none_or(|&c| c == b'\n') {
                if let Some(v) = value {
                    put(key, v);
                }
                start = j + 1;
                continue;
            }
        }
        let end = line_end(b, start);
        let mut fields = text[start..end].split_whitespace();
        start = end + 1;
        let (Some(key), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Some(key) = select(key) else {
            continue;
        };
        if let Ok(v) = value.parse::<u64>() {
            put(key, v);
        }
    }
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The eight bytes at `i` as a little-endian word (byte `i` lowest), if there are eight.
fn word(b: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The first flagged byte of a word of `0x80` flags (exact for the lowest one, which is
/// all that is read: borrows and carries only spill into higher bytes).
fn first_flag(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// The index of the first byte from `i` on that is not printable ASCII (`!` to `~`),
/// or the length.
fn printable_end(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(b, i) {
        // Below `!`: the subtraction borrows into the high bit of a byte whose own high
        // bit is clear; `~` and above: the high bit is set, or set by adding one.
        let flags = ((w.wrapping_sub(0x21 * ONES) & !w) | w | w.wrapping_add(ONES)) & HIGHS;
        if flags != 0 {
            return i + first_flag(flags);
        }
        i += 8;
    }
    while i < b.len() && matches!(b[i], 0x21..=0x7e) {
        i += 1;
    }
    i
}

/// The index of the first `\n` from `i` on, or the length.
fn line_end(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word(b, i) {
        let x = w ^ (u64::from(b'\n') * ONES);
        let flags = x.wrapping_sub(ONES) & !x & HIGHS;
        if flags != 0 {
            return i + first_flag(flags);
        }
        i += 8;
    }
    b[i.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

/// Parses a single-value cgroup file (`memory.current`, `usage_in_bytes`,
/// `limit_in_bytes`, `memory.max`...): `max` and the v1 unlimited value
/// (≥ 9223372036854771712) become `Ok(None)`.
///
/// `-1` (what tools write to mean "no limit") is also read as `None`. The error names the
/// file generically; callers that know the archive entry should say which one.
pub fn parse_limit_or_value(text: &str) -> Result<Option<u64>, super::ParseError> {
    let value = text.trim();
    if value == "max" || value == "-1" {
        return Ok(None);
    }
    let bad = |reason: String| super::ParseError::BadFile {
        file: "cgroup value file".to_string(),
        reason,
    };
    if value.is_empty() {
        return Err(bad("empty, expected a number or `max`".to_string()));
    }
    match value.parse::<u64>() {
        Ok(v) if v >= V1_UNLIMITED => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(bad(format!(
            "expected a number or `max`, found {:?} ({e})",
            truncate(value, 40)
        ))),
    }
}

/// Shortens user-visible echoes of bad input so one garbage file cannot flood a report.
pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Derived figures of a v1 cgroup from its `memory.stat` (hierarchical `total_*` keys,
/// falling back to local keys, shmem from anon−rss on kernels without `shmem`) and
/// `usage_in_bytes`.
pub fn v1_stats<S: StatKeys + ?Sized>(stat: &S, usage: Option<u64>) -> MemStats {
    let inactive_file = total_or_local(stat, "total_inactive_file", "inactive_file");
    let rss = total_or_local(stat, "total_rss", "rss");
    let shmem = total_or_local(stat, "total_shmem", "shmem").or_else(|| {
        // Kernels before 4.x (RHEL7 3.10) have no shmem key; tmpfs pages sit on the anon
        // LRUs but are not counted in rss, so the difference estimates them.
        let anon = |[active, inactive, rss]: [&str; 3]| -> Option<u64> {
            let active = stat.stat(active)?;
            let inactive = stat.stat(inactive)?;
            let rss = stat.stat(rss)?;
            Some((active.saturating_add(inactive)).saturating_sub(rss))
        };
        anon(["total_active_anon", "total_inactive_anon", "total_rss"])
            .or_else(|| anon(["active_anon", "inactive_anon", "rss"]))
    });
    MemStats {
        usage,
        working_set: working_set(usage, inactive_file),
        shmem,
        cache: total_or_local(stat, "total_cache", "cache"),
        rss,
        inactive_file,
    }
}

/// Derived figures of a v2 cgroup from its `memory.stat` and `memory.current`.
pub fn v2_stats<S: StatKeys + ?Sized>(stat: &S, current: Option<u64>) -> MemStats {
    let inactive_file = stat.stat("inactive_file");
    MemStats {
        usage: current,
        working_set: working_set(current, inactive_file),
        shmem: stat.stat("shmem"),
        cache: stat.stat("file"),
        rss: stat.stat("anon"),
        inactive_file,
    }
}

/// The cAdvisor/kubelet working set: usage − inactive_file, floored at 0. Without an
/// inactive_file figure the usage itself is the (upper-bound) working set, as cAdvisor
/// reports it.
fn working_set(usage: Option<u64>, inactive_file: Option<u64>) -> Option<u64> {
    let usage = usage?;
    Some(usage.saturating_sub(inactive_file.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit_or_value("max\n"), Ok(None));
        assert_eq!(parse_limit_or_value("9223372036854771712\n"), Ok(None));
        assert_eq!(parse_limit_or_value("9223372036854775807"), Ok(None));
        assert_eq!(parse_limit_or_value(" 524288000\n"), Ok(Some(524_288_000)));
        assert_eq!(parse_limit_or_value("0"), Ok(Some(0)));
        assert!(parse_limit_or_value("").is_err());
        assert!(parse_limit_or_value("12 kB").is_err());
        assert!(parse_limit_or_value("18446744073709551616").is_err());
    }

    #[test]
    fn v1_shmem_fallback_from_anon_minus_rss() {
        let stat = parse_memory_stat(
            "total_rss 100\ntotal_active_anon 150\ntotal_inactive_anon 70\ntotal_cache 500\n",
        );
        let s = v1_stats(&stat, Some(1000));
        assert_eq!(s.shmem, Some(120));
        assert_eq!(s.cache, Some(500));
        // No inactive_file at all: working set is the usage.
        assert_eq!(s.working_set, Some(1000));
        assert_eq!(s.inactive_file, None);
    }

    #[test]
    fn v1_no_shmem_estimate_without_its_keys() {
        let stat = parse_memory_stat("total_rss 100\ntotal_cache 5\n");
        assert_eq!(v1_stats(&stat, None).shmem, None);
        assert_eq!(v1_stats(&stat, None).working_set, None);
    }

    #[test]
    fn working_set_floors_at_zero() {
        let stat = parse_memory_stat("inactive_file 5000\nanon 1\nfile 2\nshmem 3\n");
        let s = v2_stats(&stat, Some(4096));
        assert_eq!(s.working_set, Some(0));
        assert_eq!((s.rss, s.cache, s.shmem), (Some(1), Some(2), Some(3)));
    }

    #[test]
    fn figure_keys_keep_only_what_the_figures_read() {
        let t = "cache 5\nmapped_file 9\ntotal_shmem 7\nnoise\nanon 1\nrss 1 2\nfile x\n";
        assert_eq!(
            parse_figure_keys(t).entries(),
            [("anon", 1), ("cache", 5), ("total_shmem", 7)]
        );
        for k in FIGURE_KEYS {
            assert_eq!(figure_key(k).map(|i| FIGURE_KEYS[i]), Some(k));
        }
        assert_eq!(figure_key("total_mapped_file"), None);
        assert_eq!(figure_key(""), None);
        assert_eq!(parse_figure_keys("  rss\t 3 \n").stat("rss"), Some(3));
        let odd = "rss\u{a0}4\nshmem\x0b5\n\u{2003}anon 6\nfile\n";
        assert_eq!(parse_figure_keys(odd).entries().len(), 3);
    }

    proptest::proptest! {
        #[test]
        fn word_searches_find_what_a_byte_loop_finds(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(vec![0x20u8, 0x21, 0x7e, 0x7f, 0x80, 0xff, b'\n', 0]),
                ],
                0..40,
            )
        ) {
            for i in 0..=b.len() {
                let printable = (i..b.len()).find(|&k| !matches!(b[k], 0x21..=0x7e)).unwrap_or(b.len());
                proptest::prop_assert_eq!(printable_end(&b, i), printable);
                let nl = (i..b.len()).find(|&k| b[k] == b'\n').unwrap_or(b.len());
                proptest::prop_assert_eq!(line_end(&b, i), nl);
            }
        }
    }

    #[test]
    fn skips_malformed_lines() {
        let stat = parse_memory_stat("a 1\nb\nc x\nd 2 3\n\ne -4\n f   5 \n");
        assert_eq!(stat.entries.len(), 2);
        assert_eq!(stat.get("f"), Some(5));
    }
}
