//! The real journal tools: `systemd-journal-remote` writes journal files from
//! export-format entries, `journalctl` reads them (Debian packages
//! systemd-journal-remote and systemd).

use std::path::PathBuf;
use std::process::Command;

/// Where Debian and others install it (it is not on `PATH`).
const JOURNAL_REMOTE: &[&str] = &[
    "/lib/systemd/systemd-journal-remote",
    "/usr/lib/systemd/systemd-journal-remote",
];

/// `systemd-journal-remote`, once `journalctl` is known to run too; or why not.
pub fn remote() -> Result<PathBuf, String> {
    match Command::new("journalctl").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => return Err(format!("journalctl --version: {}", o.status)),
        Err(e) => return Err(format!("no journalctl: {e}")),
    }
    JOURNAL_REMOTE
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no systemd-journal-remote (looked at {}; Debian package systemd-journal-remote)",
                JOURNAL_REMOTE.join(", ")
            )
        })
}
