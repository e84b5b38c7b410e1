//! Saved JSON reports (`render REPORT`): `read_json` never panics, whatever the bytes or
//! the format they claim; a report it reads writes back as `/2` and reads again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::report::read_json;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = read_json(data) {
        let back = serde_json::to_vec(&r).expect("a report serializes");
        read_json(&back).expect("a report read writes back readable");
    }
});
