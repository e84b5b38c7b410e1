//! Assertions on a finished process: its exit code or the signal that ended it, with
//! its stderr in the failure message.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};

/// Asserts a run's exit code, showing its stderr when it is not the one expected.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status {:?}; stderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Whether a process was killed by `signal` (directly, or a shell reporting 128 + it).
pub fn killed_by(status: ExitStatus, signal: i32) -> bool {
    status.signal() == Some(signal) || status.code() == Some(128 + signal)
}
