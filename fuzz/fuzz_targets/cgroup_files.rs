//! `files.podmem` (a cgroup directory's files in one snapshot entry, format 2): decoding
//! never panics, never yields a record longer than the input or with an invalid name,
//! and what decoded encodes and decodes back to the same records.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::cgroup_files::{decode, encode, valid_name};

fuzz_target!(|data: &[u8]| {
    let mut good = Vec::new();
    for rec in decode(data) {
        match rec {
            Ok((name, bytes)) => {
                assert!(valid_name(name));
                assert!(bytes.len() <= data.len());
                good.push((name, bytes));
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let again = encode(good.iter().copied());
    let back: Vec<_> = decode(&again).map(|r| r.unwrap()).collect();
    assert_eq!(back, good);
});
