//! `watch`: a snapshot every interval on a drift-free schedule (slot k starts at
//! start + k·interval; a slow snapshot skips the slots it overran, never piles up),
//! retention after each, a refusal to write on a nearly full filesystem, and a prompt
//! clean exit on SIGTERM/SIGINT leaving only complete archives.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use podmem_schema::units::fmt_bytes;

use crate::archive;
use crate::mounts::{free_space, StatfsError};
use crate::snapshot::{self, Outcome, SnapshotOptions};

/// Set by SIGTERM/SIGINT once [`install_stop_handler`] ran.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// Routes SIGTERM and SIGINT to [`STOP`]: their default action (exit) is replaced by
/// setting the flag, which the schedule and the capture check.
pub fn install_stop_handler() -> &'static AtomicBool {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // Only fails for the signals that cannot be caught, which these are not.
        let _ = signal_hook::flag::register(sig, &STOP);
    }
    &STOP
}

/// `watch` options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Time between snapshot starts.
    pub interval: Duration,
    /// Stop after this many snapshots.
    pub count: Option<u64>,
    /// Stop when the next slot is later than this after the start.
    pub duration: Option<Duration>,
    /// Per-snapshot options (incl. out, keep, max_disk).
    pub snapshot: SnapshotOptions,
    /// Refuse when free space is under this fraction of the filesystem.
    pub min_free_fraction: f64,
}

/// What a watch run did.
#[derive(Debug, Default)]
pub struct WatchSummary {
    /// Archives written.
    pub written: u64,
    /// Written but with partial or failed sources.
    pub degraded: u64,
    /// Slots refused for lack of disk space.
    pub refused: u64,
    /// Snapshots that failed to write.
    pub failed: u64,
    /// Slots skipped because a snapshot overran.
    pub skipped: u64,
    /// Stopped by a signal.
    pub stopped: bool,
}

/// Why a slot is refused: no room for another archive.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The filesystem could not be measured.
    #[error(transparent)]
    Statfs(#[from] StatfsError),
    /// Free space under the minimum fraction.
    #[error(
        "{}: filesystem nearly full ({} free of {}, under {:.0}%); not writing a snapshot",
        dir.display(),
        fmt_bytes(*free),
        fmt_bytes(*total),
        min_fraction * 100.0
    )]
    NearlyFull {
        /// The output directory.
        dir: PathBuf,
        /// Bytes free to us.
        free: u64,
        /// Size of the filesystem.
        total: u64,
        /// `--min-free-percent` / 100.
        min_fraction: f64,
    },
    /// Free space under twice the last archive.
    #[error(
        "{}: only {} free, under twice the last archive ({}); not writing a snapshot",
        dir.display(),
        fmt_bytes(*free),
        fmt_bytes(*last_size)
    )]
    UnderTwiceLast {
        /// The output directory.
        dir: PathBuf,
        /// Bytes free to us.
        free: u64,
        /// Size of the last archive written.
        last_size: u64,
    },
}

/// Checks there is room for another archive in `dir`.
pub fn disk_ok(dir: &Path, last_size: u64, min_fraction: f64) -> Result<(), DiskError> {
    let (free, total) = free_space(dir)?;
    if total > 0 && (free as f64) < total as f64 * min_fraction {
        return Err(DiskError::NearlyFull {
            dir: dir.to_path_buf(),
            free,
            total,
            min_fraction,
        });
    }
    if free < last_size.saturating_mul(2) {
        return Err(DiskError::UnderTwiceLast {
            dir: dir.to_path_buf(),
            free,
            last_size,
        });
    }
    Ok(())
}

/// Sleeps until `when` in small steps; false when stopped first.
fn sleep_until(when: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= when {
            return true;
        }
        std::thread::sleep((when - now).min(Duration::from_millis(50)));
    }
}

/// Runs the schedule; `on_snapshot` sees each written archive, `on_note` each message.
pub fn watch(
    opts: &WatchOptions,
    stop: &'static AtomicBool,
    mut on_snapshot: impl FnMut(&PathBuf, &Outcome),
    mut on_note: impl FnMut(&str),
) -> Result<WatchSummary> {
    anyhow::ensure!(
        !opts.interval.is_zero(),
        "--interval must be more than zero"
    );
    let start = Instant::now();
    let mut k: u64 = 0;
    let mut sum = WatchSummary::default();
    let mut last_size = 0u64;
    let mut taken = 0u64;
    let mut sizes = archive::Sizes::default();
    loop {
        let offset = opts.interval * k as u32;
        if opts.duration.is_some_and(|d| offset > d) {
            break;
        }
        if !sleep_until(start + offset, stop) {
            sum.stopped = true;
            break;
        }
        std::fs::create_dir_all(&opts.snapshot.out).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot create output directory: {e}",
                opts.snapshot.out.display()
            )
        })?;
        match disk_ok(&opts.snapshot.out, last_size, opts.min_free_fraction) {
            Err(e) => {
                on_note(&e.to_string());
                sum.refused += 1;
            }
            Ok(()) => match snapshot::run(&opts.snapshot, Some(stop), &mut sizes) {
                Ok(out) => {
                    for n in &out.captured.notes {
                        if taken == 0 {
                            on_note(n);
                        }
                    }
                    match &out.path {
                        Some(p) => {
                            last_size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                            sum.written += 1;
                            if out.captured.degraded() {
                                sum.degraded += 1;
                            }
                            on_snapshot(p, &out);
                        }
                        None => {
                            on_note("stopped: the snapshot in flight was discarded");
                        }
                    }
                }
                Err(e) => {
                    on_note(&format!("snapshot failed: {e:#}"));
                    sum.failed += 1;
                }
            },
        }
        taken += 1;
        if stop.load(Ordering::Relaxed) {
            sum.stopped = true;
            break;
        }
        if opts.count.is_some_and(|c| taken >= c) {
            break;
        }
        let due = (start.elapsed().as_nanos() / opts.interval.as_nanos().max(1)) as u64 + 1;
        let next = (k + 1).max(due);
        if next > k + 1 {
            sum.skipped += next - k - 1;
            on_note(&format!(
                "snapshot overran the {:?} interval; skipped {} slot(s)",
                opts.interval,
                next - k - 1
            ));
        }
        k = next;
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_check_refuses_when_last_archive_would_not_fit_twice() {
        let d = tempfile::tempdir().unwrap();
        assert!(disk_ok(d.path(), 0, 0.0).is_ok());
        let e = disk_ok(d.path(), u64::MAX / 4, 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice the last archive"), "{e}");
        let e = disk_ok(d.path(), 0, 1.01).unwrap_err().to_string();
        assert!(e.contains("nearly full"), "{e}");
    }

    #[test]
    fn sleep_until_returns_false_on_stop() {
        let stop: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(true)));
        assert!(!sleep_until(Instant::now() + Duration::from_secs(10), stop));
        let go: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        assert!(sleep_until(Instant::now(), go));
    }
}
