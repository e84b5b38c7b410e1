//! mountinfo lines and pod volume paths: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::parse::mountinfo::{parse_mountinfo, parse_size_option, pod_volume};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (mounts, _errors) = parse_mountinfo(&text);
    for m in &mounts {
        let _ = m.super_option("size").as_deref().map(parse_size_option);
        let _ = pod_volume(&m.mount_point);
    }
});
