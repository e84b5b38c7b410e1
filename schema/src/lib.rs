//! podmem's shared vocabulary: the snapshot archive format written by the collector,
//! the report format produced by the analyzer, and one pure parser per raw input
//! (kernel and kubelet files), all free of I/O so they apply to old snapshots and can be
//! fuzzed. Two small shared helpers for what both binaries show and write follow the
//! same rules everywhere: [`display`] (the escaper for input text shown to a person) and
//! [`outfile`] (the only file I/O here: how `-o FILE` is written).
//!
//! Data flows one way: collector → [`snapshot`] archive → parsers in [`parse`] and
//! [`oom`] → analyzer model → [`report`] → renderers.
#![deny(missing_docs)]

pub mod cgroup_files;
pub mod display;
pub mod oom;
pub mod outfile;
pub mod parse;
pub mod report;
pub mod snapshot;
pub mod tar;
pub mod units;
