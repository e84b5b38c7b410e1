//! Human-friendly durations (`500ms`, `5s`, `10m`, `24h`, `1d`, `1h30m`) and sizes
//! (`512MiB`, `1G`, `100k`, `4096`) for command-line options.

use std::time::Duration;

use jiff::{Span, SpanRelativeTo};

/// A duration or size that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HumanError {
    /// Nothing given.
    #[error("empty duration")]
    EmptyDuration,
    /// Not a duration jiff's friendly format reads.
    #[error(
        "{text:?}: unknown unit or bad number; use ms, s, m, h or d as in 500ms, 90s, \
         1h30m, 2d ({cause})"
    )]
    Duration {
        /// The text given.
        text: String,
        /// jiff's reason.
        cause: jiff::Error,
    },
    /// A duration before zero (`-5s`, `5s ago`).
    #[error("{text:?}: a duration cannot be negative")]
    Negative {
        /// The text given.
        text: String,
    },
    /// No number where a size was expected.
    #[error("{text:?}: expected a number")]
    SizeNumber {
        /// The text given.
        text: String,
    },
    /// A size unit other than K, M, G or T.
    #[error("{text:?}: unknown unit {unit:?} (use K, M, G or T)")]
    SizeUnit {
        /// The text given.
        text: String,
        /// The unit read.
        unit: String,
    },
}

/// Parses a duration in jiff's friendly format (`500ms`, `90s`, `10m`, `1h30m`,
/// `1.5s`, `2d`, `1h 30m`; a day is 24 hours). A bare number means seconds: jiff wants
/// a unit, and options such as `--since 7` were accepted before.
pub fn parse_duration(text: &str) -> Result<Duration, HumanError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(HumanError::EmptyDuration);
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let bad = |cause| HumanError::Duration {
        text: text.to_string(),
        cause,
    };
    let span: Span = t.parse().map_err(bad)?;
    let signed = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(bad)?;
    Duration::try_from(signed).map_err(|_| HumanError::Negative {
        text: text.to_string(),
    })
}

/// Parses a byte size: a number with an optional unit (`k`/`K`/`KiB`/`KB`, `M`, `G`, `T`;
/// all binary, since these are disk and memory budgets).
pub fn parse_size(text: &str) -> Result<u64, HumanError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number = || HumanError::SizeNumber {
        text: text.to_string(),
    };
    if split == 0 {
        return Err(number());
    }
    let value: f64 = t[..split].parse().map_err(|_| number())?;
    let unit = t[split..].trim().to_ascii_lowercase();
    let mult: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(HumanError::SizeUnit {
                text: text.to_string(),
                unit,
            })
        }
    };
    Ok((value * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172800));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("10sec").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("5min").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration(" 90s ").unwrap(), Duration::from_secs(90));
        assert!(matches!(
            parse_duration("5x"),
            Err(HumanError::Duration { .. })
        ));
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("sixty").is_err());
        assert!(matches!(
            parse_duration("-5s"),
            Err(HumanError::Negative { .. })
        ));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("100k").unwrap(), 100 << 10);
        assert!(parse_size("1X").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
