//! podmem's test kit, used only as a dev-dependency: where the samples are
//! ([`samples`]), the one harness that knows what a test needs from this machine
//! ([`Need`], [`main!`]), the real-kernel guard ([`kernel`]), headless chromium
//! ([`chromium`]), the workspace's binaries ([`bins`]), run-output assertions
//! ([`exit`]), snapshot archives read back ([`archive`]), a kubelet stand-in
//! ([`fake_kubelet`]), the real journal tools ([`journal`]) and the VM matrix of Debian
//! kernels ([`vm`]), the SQL engines that read the export back ([`sql`]).
//!
//! A test that cannot run here (no root, no writable cgroup v1 memory hierarchy, no
//! browser) is reported as `ignored` in the runner's own summary, with the reason,
//! never as `ok`. `PODMEM_REQUIRE` (comma-separated needs, or `all`) turns a missing
//! requirement into a failure, so CI cannot skip silently. See `docs/testing.md`.

pub mod archive;
pub mod bins;
pub mod chromium;
pub mod exit;
pub mod fake_kubelet;
pub mod journal;
pub mod kernel;
pub mod samples;
pub mod sql;
pub mod vm;

mod harness;

pub use harness::{run, trial, Need, REQUIRE_VAR};
pub use libtest_mimic::Trial;

/// The `main` of a test target with `harness = false`: each group of test functions
/// (`fn()`) is listed after what it needs from this machine.
///
/// ```text
/// podmem_testkit::main! {
///     [] => [parses_every_sample, rejects_garbage],
///     [Need::Kernel] => [snapshot_matches_the_kernel],
///     [Need::Kernel, Need::Browser] => [design_case_end_to_end],
/// }
/// ```
#[macro_export]
macro_rules! main {
    ($([$($need:expr),* $(,)?] => [$($test:path),* $(,)?]),* $(,)?) => {
        fn main() {
            #[allow(unused_imports)]
            use $crate::Need;
            let mut trials = Vec::new();
            $({
                let needs: &[$crate::Need] = &[$($need),*];
                $(trials.push($crate::trial(
                    $crate::__last_segment(stringify!($test)),
                    needs,
                    $test,
                ));)*
            })*
            $crate::run(trials)
        }
    };
}

#[doc(hidden)]
pub fn __last_segment(path: &'static str) -> &'static str {
    path.rsplit("::").next().unwrap_or(path).trim()
}
