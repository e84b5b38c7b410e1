//! Kernel OOM logs in every form: never panic, and the collector's filter keeps what
//! the parser needs (the kept lines parse to exactly the events of the whole text).
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::oom::{classify, parse_log, LogFilter, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = ParseOptions::default();
    let events = parse_log(&text, &opts);
    for ev in &events {
        let _ = classify(
            ev.oom_memcg.as_deref(),
            ev.task_memcg.as_deref(),
            ev.constraint.as_deref(),
        );
    }
    // Each call's output in a fresh buffer, as the collector does.
    let mut filter = LogFilter::default();
    let mut kept = Vec::new();
    let mut out = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        out.clear();
        filter.push(line, &mut out);
        kept.extend_from_slice(&out);
    }
    out.clear();
    filter.finish(&mut out);
    kept.extend_from_slice(&out);
    let again = parse_log(&String::from_utf8_lossy(&kept), &opts);
    assert_eq!(events, again, "filtered text parses differently");
});
