//! Small procfs and cgroupfs files: `/proc/meminfo`, flat keyed files (`/proc/vmstat`,
//! `memory.events`, `cgroup.stat`), PSI `pressure` files, `/proc/cgroups`, and
//! v1 `memory.oom_control`.

use std::collections::BTreeMap;

/// Parses `/proc/meminfo` into bytes (`kB` values ×1024).
pub fn parse_meminfo(text: &str) -> BTreeMap<String, u64> {
    let _ = text;
    todo!("parser helper implements")
}

/// Parses a flat `key value` file (vmstat, memory.events, cgroup.stat, oom_control).
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    let _ = text;
    todo!("parser helper implements")
}

/// One PSI line's averages and total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PressureLine {
    /// avg10 (percent).
    pub avg10: f64,
    /// avg60.
    pub avg60: f64,
    /// avg300.
    pub avg300: f64,
    /// total stall time, microseconds.
    pub total: u64,
}

/// A PSI file (`/proc/pressure/memory`, `memory.pressure`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pressure {
    /// `some` line.
    pub some: Option<PressureLine>,
    /// `full` line.
    pub full: Option<PressureLine>,
}

/// Parses a PSI pressure file.
pub fn parse_pressure(text: &str) -> Pressure {
    let _ = text;
    todo!("parser helper implements")
}

/// One `/proc/cgroups` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerCount {
    /// Controller name.
    pub subsys: String,
    /// Hierarchy id.
    pub hierarchy: u32,
    /// num_cgroups (includes dying cgroups).
    pub num_cgroups: u64,
    /// enabled flag.
    pub enabled: bool,
}

/// Parses `/proc/cgroups`.
pub fn parse_proc_cgroups(text: &str) -> Vec<ControllerCount> {
    let _ = text;
    todo!("parser helper implements")
}
