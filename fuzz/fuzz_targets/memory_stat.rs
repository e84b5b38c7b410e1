//! memory.stat (v1 and v2) and single-value cgroup files: never panic; derived figures
//! never exceed what their inputs allow; the reduced parse of the keys the figures read
//! is the whole parse restricted to them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::parse::memory_stat::{
    parse_figure_keys, parse_limit_or_value, parse_memory_stat, v1_stats, v2_stats, FIGURE_KEYS,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let stat = parse_memory_stat(&text);
    let usage = parse_limit_or_value(&text).ok().flatten();
    for s in [v1_stats(&stat, usage), v2_stats(&stat, usage)] {
        if let (Some(ws), Some(u)) = (s.working_set, s.usage) {
            assert!(ws <= u);
        }
    }
    let restricted: Vec<(&str, u64)> = stat
        .entries
        .iter()
        .filter(|(k, _)| FIGURE_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(parse_figure_keys(&text).entries(), restricted);
});
