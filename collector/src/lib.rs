//! `podmem-collector`'s library: readers of host sources (each taking its root as a
//! parameter), the snapshot orchestration, and the archive writer. Data flows readers →
//! in-memory entries + manifest → archive; only `main.rs` knows about the command line.

pub mod archive;
pub mod budget;
pub mod bundle;
pub mod cgroups;
pub mod hostpaths;
pub mod human;
pub mod kernel_log;
pub mod kubelet;
pub mod kubelet_cert;
pub mod mounts;
pub mod redact;
pub mod snapshot;
pub mod watch;
