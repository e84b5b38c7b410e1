//! The workspace's binaries for tests of another package (cargo names only a package's
//! own binaries to its tests). `cargo test --workspace` builds every binary before any
//! test runs, and `scripts/test` builds them first; a binary older than its package's
//! sources is refused rather than tested.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `<target>/<profile>`, the directory of the binaries built with this test.
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // <target>/<profile>/deps/<test exe>
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable is in <target>/<profile>/deps")
        .to_path_buf()
}

/// The newest modification time under `dir`, tests left out (they are not in the
/// binary).
pub(crate) fn newest(dir: &Path) -> Option<SystemTime> {
    let mut best = None;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if e.file_name() == "tests" || e.file_name() == "benches" {
            continue;
        }
        let t = if p.is_dir() {
            newest(&p)
        } else {
            e.metadata().ok().and_then(|m| m.modified().ok())
        };
        best = best.max(t);
    }
    best
}

/// The collector binary (`PODMEM_COLLECTOR_BIN` names another one, such as the static
/// release build).
pub fn collector() -> PathBuf {
    bin("podmem-collector", &["collector", "schema"])
}

/// The analyzer binary (`PODMEM_ANALYZER_BIN` names another one).
pub fn analyzer() -> PathBuf {
    bin("podmem-analyzer", &["analyzer", "reports", "schema"])
}

/// The analyzer's `gen_series` example, the synthetic series of snapshots
/// (`cargo build -p podmem-analyzer --example gen_series`; scripts/test builds it).
pub fn gen_series() -> PathBuf {
    bin("examples/gen_series", &["analyzer/examples", "schema"])
}

/// The workspace binary `name`, built from the packages in directories `packages`, or
/// the one named by the variable `PODMEM_<NAME>_BIN`.
fn bin(name: &str, packages: &[&str]) -> PathBuf {
    let var = format!(
        "PODMEM_{}_BIN",
        name.trim_start_matches("examples/")
            .trim_start_matches("podmem-")
            .to_uppercase()
    );
    if let Some(p) = std::env::var_os(&var) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{var}={} does not exist", p.display());
        return p;
    }
    let p = profile_dir().join(name);
    let hint = match name.strip_prefix("examples/") {
        Some(ex) => {
            format!("build it first: cargo build --workspace --examples (scripts/test does); {ex}")
        }
        None => format!("build it first: cargo build -p {name} (scripts/test does)"),
    };
    let built = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}; {hint}", p.display()));
    let ws = crate::samples::workspace();
    for package in packages {
        let src = ws.join(package);
        assert!(
            newest(&src).is_none_or(|s| s <= built),
            "{} is older than the sources in {}; {hint}",
            p.display(),
            src.display()
        );
    }
    p
}
