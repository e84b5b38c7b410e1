//! One parser per kernel or kubelet file, each a pure function over text named after
//! the file. Unknown keys are kept or ignored, never fatal; absent values are `None`.

pub mod cgroup_path;
pub mod kmsg;
pub mod kubelet_summary;
pub mod log_pods;
pub mod memory_stat;
pub mod mountinfo;
pub mod proc_files;

use thiserror::Error;

/// A parse failure, naming what was being parsed and why.
#[derive(Debug, Error, PartialEq)]
pub enum ParseError {
    /// A line that does not have the file's shape.
    #[error("{file}: line {line}: {reason}")]
    BadLine {
        /// File (or archive entry) being parsed.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A file whose whole content is unusable.
    #[error("{file}: {reason}")]
    BadFile {
        /// File (or archive entry) being parsed.
        file: String,
        /// What was wrong.
        reason: String,
    },
}
