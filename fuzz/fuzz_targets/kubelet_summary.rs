//! Kubelet summary JSON: never panic, errors are values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::parse::kubelet_summary::parse_summary;

fuzz_target!(|data: &[u8]| {
    let _ = parse_summary(&String::from_utf8_lossy(data));
});
