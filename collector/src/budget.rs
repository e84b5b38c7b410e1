//! Time budget and size caps: a snapshot runs on a sick node, so every reader checks
//! the clock (and a stop flag set by SIGTERM in `watch`) and every byte kept counts
//! against a cap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Default total time budget of one snapshot.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5);
/// Largest single file kept (cgroupfs and procfs files are far smaller).
pub const DEFAULT_FILE_CAP: u64 = 4 << 20;
/// Largest kubelet summary body kept.
pub const DEFAULT_SUMMARY_CAP: u64 = 32 << 20;
/// Largest total of raw bytes kept in one snapshot (held in memory before writing).
pub const DEFAULT_TOTAL_CAP: u64 = 64 << 20;

/// Deadline and stop flag shared by the readers of one snapshot.
#[derive(Debug, Clone)]
pub struct Budget {
    start: Instant,
    deadline: Instant,
    stop: Option<&'static AtomicBool>,
}

impl Budget {
    /// A budget of `limit` starting now, optionally cancelled by `stop`.
    pub fn new(limit: Duration, stop: Option<&'static AtomicBool>) -> Self {
        let start = Instant::now();
        Budget {
            start,
            deadline: start + limit,
            stop,
        }
    }

    /// Past the deadline, or asked to stop.
    pub fn expired(&self) -> bool {
        self.cancelled() || Instant::now() >= self.deadline
    }

    /// Asked to stop (SIGTERM/SIGINT in `watch`).
    pub fn cancelled(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Time left before the deadline (zero when past it).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Time since the budget started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Size limits of one snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Per file read from the host.
    pub per_file: u64,
    /// For the kubelet summary body.
    pub summary: u64,
    /// Total raw bytes kept.
    pub total: u64,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            per_file: DEFAULT_FILE_CAP,
            summary: DEFAULT_SUMMARY_CAP,
            total: DEFAULT_TOTAL_CAP,
        }
    }
}

/// Milliseconds of a duration, for manifest fields.
pub fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_flag_expires_budget() {
        let stop: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let b = Budget::new(Duration::from_secs(60), Some(stop));
        assert!(!b.expired());
        assert!(b.remaining() > Duration::from_secs(30));
        stop.store(true, Ordering::Relaxed);
        assert!(b.expired() && b.cancelled());
    }

    #[test]
    fn zero_budget_is_expired() {
        let b = Budget::new(Duration::ZERO, None);
        assert!(b.expired());
        assert_eq!(b.remaining(), Duration::ZERO);
    }
}
