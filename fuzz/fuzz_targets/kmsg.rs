//! /dev/kmsg records: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::parse::kmsg::parse_record;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for rec in text.split_inclusive('\n') {
        let _ = parse_record(rec);
    }
    let _ = parse_record(&text);
});
