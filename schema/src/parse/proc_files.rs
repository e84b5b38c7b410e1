//! Small procfs and cgroupfs files: `/proc/meminfo`, flat keyed files (`/proc/vmstat`,
//! `memory.events`, `cgroup.stat`), PSI `pressure` files, `/proc/cgroups`, and
//! v1 `memory.oom_control`.

use std::collections::BTreeMap;

/// Parses `/proc/meminfo` into bytes (`kB` values ×1024).
///
/// Values without a unit (`HugePages_Total: 0`) are kept as they are; lines of any other
/// shape, or whose value overflows, are skipped.
pub fn parse_meminfo(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim();
        let mut fields = rest.split_whitespace();
        let value = match (fields.next(), fields.next(), fields.next()) {
            (Some(v), None, None) => v.parse::<u64>().ok(),
            (Some(v), Some(unit), None) if unit.eq_ignore_ascii_case("kB") => {
                v.parse::<u64>().ok().and_then(|v| v.checked_mul(1024))
            }
            _ => None,
        };
        if let (false, Some(v)) = (key.is_empty() || key.contains(char::is_whitespace), value) {
            out.insert(key.to_string(), v);
        }
    }
    out
}

/// Parses a flat `key value` file (vmstat, memory.events, cgroup.stat, oom_control).
///
/// Lines that are not exactly `key <u64>` are skipped.
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    // Same shape as memory.stat: one whitespace-separated key and unsigned value a line.
    super::memory_stat::parse_memory_stat(text).entries
}

/// One PSI line's averages and total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PressureLine {
    /// avg10 (percent).
    pub avg10: f64,
    /// avg60.
    pub avg60: f64,
    /// avg300.
    pub avg300: f64,
    /// total stall time, microseconds.
    pub total: u64,
}

/// A PSI file (`/proc/pressure/memory`, `memory.pressure`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pressure {
    /// `some` line.
    pub some: Option<PressureLine>,
    /// `full` line.
    pub full: Option<PressureLine>,
}

/// Parses a PSI pressure file.
///
/// A line missing any of `avg10 avg60 avg300 total` is treated as absent.
pub fn parse_pressure(text: &str) -> Pressure {
    let mut out = Pressure::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let slot = match fields.next() {
            Some("some") => &mut out.some,
            Some("full") => &mut out.full,
            _ => continue,
        };
        let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
        for field in fields {
            let Some((k, v)) = field.split_once('=') else {
                continue;
            };
            let avg = || v.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0);
            match k {
                "avg10" => avg10 = avg(),
                "avg60" => avg60 = avg(),
                "avg300" => avg300 = avg(),
                "total" => total = v.parse::<u64>().ok(),
                _ => {}
            }
        }
        if let (Some(avg10), Some(avg60), Some(avg300), Some(total)) = (avg10, avg60, avg300, total)
        {
            *slot = Some(PressureLine {
                avg10,
                avg60,
                avg300,
                total,
            });
        }
    }
    out
}

/// One `/proc/cgroups` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerCount {
    /// Controller name.
    pub subsys: String,
    /// Hierarchy id.
    pub hierarchy: u32,
    /// num_cgroups (includes dying cgroups).
    pub num_cgroups: u64,
    /// enabled flag.
    pub enabled: bool,
}

/// Parses `/proc/cgroups`.
///
/// The `#subsys_name` header and rows that are not four columns of the right types are
/// skipped.
pub fn parse_proc_cgroups(text: &str) -> Vec<ControllerCount> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (Some(subsys), Some(h), Some(n), Some(e), None) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                return None;
            };
            Some(ControllerCount {
                subsys: subsys.to_string(),
                hierarchy: h.parse().ok()?,
                num_cgroups: n.parse().ok()?,
                enabled: match e {
                    "1" => true,
                    "0" => false,
                    _ => return None,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo() {
        let m = parse_meminfo(
            "MemTotal:       16310612 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\nBad line\nX: 1 MB\n",
        );
        assert_eq!(m.get("MemTotal"), Some(&(16_310_612 * 1024)));
        assert_eq!(m.get("HugePages_Total"), Some(&0));
        assert_eq!(m.get("Hugepagesize"), Some(&(2048 * 1024)));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn pressure() {
        let p = parse_pressure(
            "some avg10=1.50 avg60=0.00 avg300=0.25 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        );
        let some = p.some.unwrap();
        assert_eq!((some.avg10, some.avg300, some.total), (1.5, 0.25, 12345));
        assert_eq!(p.full.unwrap().total, 0);
        assert_eq!(
            parse_pressure("some avg10=1.0 total=3\n"),
            Pressure::default()
        );
    }

    #[test]
    fn proc_cgroups() {
        let c = parse_proc_cgroups(
            "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t5\t27\t1\nmemory\t0\t1184\t1\nrdma\t9\t1\t0\n",
        );
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].subsys, "memory");
        assert_eq!(
            (c[1].hierarchy, c[1].num_cgroups, c[1].enabled),
            (0, 1184, true)
        );
        assert!(!c[2].enabled);
    }

    #[test]
    fn oom_control() {
        let m = parse_flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        assert_eq!(m.get("oom_kill"), Some(&3));
    }
}
