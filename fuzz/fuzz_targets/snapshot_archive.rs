//! The analyzer's snapshot loader and everything after it: bytes as a snapshot archive
//! (gzip as given, or anything else gzipped here so the fuzzer reaches the tar and the
//! files inside without having to forge deflate streams), parsed into a model, grouped
//! into a timeline and judged by the rules. Never panic; memory stays within the caps.
#![no_main]
use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use podmem_analyzer::load::{read_snapshot, Limits};
use podmem_analyzer::{complete, model, prepare_snapshots};

fn limits() -> Limits {
    Limits {
        max_entry_bytes: 1 << 20,
        max_archive_bytes: 8 << 20,
        max_entries: 10_000,
        max_bundle_bytes: 64 << 20,
        workers: 1,
        ..Limits::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let gz;
    let input: &[u8] = if data.starts_with(&[0x1f, 0x8b]) {
        data
    } else {
        // Stored blocks: the fuzzer's bytes reach the tar reader as they are.
        let mut enc = GzEncoder::new(Vec::new(), Compression::none());
        enc.write_all(data).expect("in memory");
        gz = enc.finish().expect("in memory");
        &gz
    };
    let Ok(raw) = read_snapshot(input, "fuzz.tar.gz", &limits()) else {
        return;
    };
    let mut problems = Vec::new();
    let snap = model::parse_snapshot(raw, &mut problems);
    let report = complete(prepare_snapshots(
        vec![snap],
        Vec::new(),
        Timestamp::UNIX_EPOCH,
    ));
    let _ = serde_json::to_vec(&report).expect("a report always serializes");
});
