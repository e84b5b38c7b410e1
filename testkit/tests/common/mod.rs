//! What the collector tests moved here share with the collector's own: its binary
//! (of this build), the fixture hosts, archives read back and exit codes.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

pub use podmem_testkit::archive::*;
pub use podmem_testkit::exit::assert_exit;
pub use podmem_testkit::samples::host;

/// The collector binary of this build.
pub fn bin() -> PathBuf {
    podmem_testkit::bins::collector()
}
