//! meminfo, flat keyed files, PSI, /proc/cgroups and /var/log/pods listings: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use podmem_schema::parse::{log_pods, proc_files};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = proc_files::parse_meminfo(&text);
    let _ = proc_files::parse_flat_keyed(&text);
    let _ = proc_files::parse_pressure(&text);
    let _ = proc_files::parse_proc_cgroups(&text);
    let _ = log_pods::parse_log_pods(&text);
});
