//! Helpers shared by the collector's integration tests: the binary and fixture paths;
//! reading archives back and exit codes come from the test kit.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};

pub use podmem_testkit::archive::*;
pub use podmem_testkit::exit::assert_exit;

/// The collector binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_podmem-collector"))
}

/// A fixture host tree (`fixtures/hosts/<name>`).
pub fn host(name: &str) -> PathBuf {
    podmem_testkit::samples::host(name)
}
