//! Cgroup path identity: never panic; a pod uid, when found, is canonical.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::parse::cgroup_path::{canonical_uid, identify};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let id = identify(&text);
    if let Some(uid) = id.pod_uid {
        assert_eq!(canonical_uid(&uid).as_deref(), Some(uid.as_str()));
    }
});
