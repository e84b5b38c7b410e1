//! Human formatting of the figures shown in the report: IEC byte sizes, UTC times,
//! durations and shortened container ids.

use jiff::Timestamp;

pub use podmem_schema::units::fmt_bytes as bytes;

/// Optional size; `—` when unknown, so a missing figure never reads as zero.
pub fn opt_bytes(b: Option<u64>) -> String {
    b.map(bytes).unwrap_or_else(|| "—".to_owned())
}

/// `2026-11-28 04:50:12 UTC`: every time in the report is UTC, said once per value so a
/// screenshot pasted into a ticket stays unambiguous.
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Optional time; `—` when unknown.
pub fn opt_time(t: Option<Timestamp>) -> String {
    t.map(time).unwrap_or_else(|| "—".to_owned())
}

/// Rough span such as `23 h 59 min` or `4 min 10 s`.
pub fn span(first: Timestamp, last: Timestamp) -> String {
    let secs = last.duration_since(first).as_secs().max(0);
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// Container ids are 64 hex digits; 12 is what `docker ps` and `crictl ps` show.
pub fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Kibibytes for chart data: display precision is 0.1 MiB, and two fewer digits per
/// number keep a 110-pod day of data within a few MiB.
pub fn kib(b: u64) -> u64 {
    b.div_ceil(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(67_108_864), "64.0 MiB");
        assert_eq!(bytes(16 * 1024 * 1024 * 1024), "16.0 GiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
        assert_eq!(opt_bytes(None), "—");
    }

    #[test]
    fn times_and_ids() {
        let t: Timestamp = "2026-11-28T04:50:12.5Z".parse().unwrap();
        assert_eq!(time(t), "2026-11-28 04:50:12 UTC");
        let later: Timestamp = "2026-11-29T06:00:00Z".parse().unwrap();
        assert_eq!(span(t, later), "1 d 1 h");
        assert_eq!(short_id("0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_id("é"), "é");
        assert_eq!(kib(1), 1);
        assert_eq!(kib(2048), 2);
    }
}
