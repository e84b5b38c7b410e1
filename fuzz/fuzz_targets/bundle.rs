//! The analyzer's input loader from a file, the way the command line reads it: type
//! sniffed from the first bytes, bundles (plain tar, gzipped tar or zip of snapshot
//! archives, one level of nesting) walked member by member, every snapshot analyzed. Never panic, never write anywhere but the one
//! temporary input file.
#![no_main]
use std::io::Write;

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use podmem_analyzer::analyze;
use podmem_analyzer::load::Limits;

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new()
        .suffix(".tar")
        .tempfile()
        .expect("temporary file");
    f.write_all(data).expect("temporary file written");
    let limits = Limits {
        max_entry_bytes: 1 << 20,
        max_archive_bytes: 8 << 20,
        max_entries: 10_000,
        max_bundle_bytes: 64 << 20,
        workers: 1,
        ..Limits::default()
    };
    let report = analyze(&[f.path().to_path_buf()], &limits, Timestamp::UNIX_EPOCH);
    assert_eq!(report.inputs.len(), 1, "one report per input file");
    let _ = serde_json::to_vec(&report).expect("a report always serializes");
});
