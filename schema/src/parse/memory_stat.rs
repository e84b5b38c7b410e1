//! `memory.stat` (cgroup v1 and v2) → key/value map, plus the derived figures podmem
//! uses (working set, shmem, cache, rss) with the kernel-version fallbacks.

use std::collections::BTreeMap;

use crate::report::MemStats;

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

/// Parses a v1 or v2 `memory.stat`; malformed lines are skipped (never fatal).
pub fn parse_memory_stat(text: &str) -> MemoryStat {
    let _ = text;
    todo!("parser helper implements")
}

/// Parses a single-value cgroup file (`memory.current`, `usage_in_bytes`,
/// `limit_in_bytes`, `memory.max`...): `max` and the v1 unlimited value
/// (≥ 9223372036854771712) become `Ok(None)`.
pub fn parse_limit_or_value(text: &str) -> Result<Option<u64>, super::ParseError> {
    let _ = text;
    todo!("parser helper implements")
}

/// Derived figures of a v1 cgroup from its `memory.stat` (hierarchical `total_*` keys,
/// falling back to local keys, shmem from anon−rss on kernels without `shmem`) and
/// `usage_in_bytes`.
pub fn v1_stats(stat: &MemoryStat, usage: Option<u64>) -> MemStats {
    let _ = (stat, usage);
    todo!("parser helper implements")
}

/// Derived figures of a v2 cgroup from its `memory.stat` and `memory.current`.
pub fn v2_stats(stat: &MemoryStat, current: Option<u64>) -> MemStats {
    let _ = (stat, current);
    todo!("parser helper implements")
}
