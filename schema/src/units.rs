//! Byte and duration formatting shared by every renderer, so text, JSON and HTML agree.

/// Formats a byte count in IEC units with one decimal ("3.0 GiB", "512 B").
pub fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

/// Formats a signed byte delta with an explicit sign ("+64.0 MiB", "-1.0 KiB", "0 B").
pub fn fmt_delta(d: i128) -> String {
    match d.signum() {
        0 => "0 B".to_string(),
        1 => format!(
            "+{}",
            fmt_bytes(d.unsigned_abs().min(u64::MAX as u128) as u64)
        ),
        _ => format!(
            "-{}",
            fmt_bytes(d.unsigned_abs().min(u64::MAX as u128) as u64)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(0), "0 B");
        assert_eq!(fmt_bytes(1023), "1023 B");
        assert_eq!(fmt_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(fmt_bytes(u64::MAX), "16.0 EiB");
        assert_eq!(fmt_delta(-1024), "-1.0 KiB");
        assert_eq!(fmt_delta(64 << 20), "+64.0 MiB");
    }
}
