//! Every threshold of the rules, in one place (documented in `docs/findings.md`).

pub(super) const MIB: u64 = 1 << 20;
pub(super) const GIB: u64 = 1 << 30;

/// `orphaned-shmem` fires at this much unattributed shmem.
pub const ORPHAN_MIN_BYTES: u64 = 16 * MIB;
/// ... and is critical at this fraction of the pod limit ...
pub const ORPHAN_CRITICAL_OF_LIMIT: f64 = 0.10;
/// ... or, for a pod without a limit, at this many bytes.
pub const ORPHAN_CRITICAL_NO_LIMIT: u64 = GIB;
/// A rise of unattributed shmem between two captures smaller than this is noise.
pub const ORPHAN_RISE_MIN_BYTES: u64 = MIB;
/// `hidden-from-kubectl-top`: pod working set − Σ container working sets at least this ...
pub const HIDDEN_MIN_BYTES: u64 = 32 * MIB;
/// ... and at least this fraction of the pod working set.
pub const HIDDEN_MIN_FRACTION: f64 = 0.20;
/// `memory-emptydir-unbounded`: tmpfs size ≥ this fraction of the pod limit ...
pub const EMPTYDIR_OF_POD_LIMIT: f64 = 0.98;
/// ... or of node allocatable (the kubepods limit) ...
pub const EMPTYDIR_OF_ALLOCATABLE: f64 = 0.90;
/// ... or of node memory (tmpfs defaults to half of RAM without `size=`).
pub const EMPTYDIR_OF_MEMTOTAL: f64 = 0.45;
/// `near-limit`: working set ≥ this fraction of the limit (warning) ...
pub const NEAR_LIMIT_WARNING: f64 = 0.90;
/// ... critical from this fraction.
pub const NEAR_LIMIT_CRITICAL: f64 = 0.97;
/// Samples used for the working-set trend.
pub const TREND_SAMPLES: usize = 30;
/// `dying-cgroups`: memory cgroups in the kernel more than this multiple of the live tree ...
pub const DYING_RATIO: u64 = 2;
/// ... and more than this many above it.
pub const DYING_MIN_EXCESS: u64 = 100;
/// Rises of unattributed shmem (and removed containers) told in a finding's detail; the
/// evidence and `container_ids` keep them all.
pub const MAX_STORY: usize = 3;
/// `oom-restart-loop`: OOM kills in one pod (one boot) ...
pub const LOOP_MIN_OOMS: usize = 2;
