//! What a test needs from this machine, and the libtest-compatible runner that reports
//! a test whose need is missing as ignored (with the reason), or as failed when
//! `PODMEM_REQUIRE` names that need.

use std::sync::OnceLock;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// The variable that turns a missing requirement into a failure: a comma-separated list
/// of [`Need`] names (`kernel,browser`), or `all`.
pub const REQUIRE_VAR: &str = "PODMEM_REQUIRE";

/// Something a test needs from the machine it runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Root, a writable cgroup v1 memory hierarchy (our own memory cgroup) and tmpfs
    /// mounts: see [`crate::kernel::check`].
    Kernel,
    /// A headless chromium: see [`crate::chromium::find`].
    Browser,
}

impl Need {
    /// The name used in `PODMEM_REQUIRE` and in the ignore reason.
    pub fn name(self) -> &'static str {
        match self {
            Need::Kernel => "kernel",
            Need::Browser => "browser",
        }
    }

    /// Whether this machine has it (checked once per process), or why not.
    pub fn check(self) -> Result<(), String> {
        static KERNEL: OnceLock<Result<(), String>> = OnceLock::new();
        static BROWSER: OnceLock<Result<(), String>> = OnceLock::new();
        match self {
            Need::Kernel => KERNEL.get_or_init(|| crate::kernel::check().map(|_| ())),
            Need::Browser => BROWSER.get_or_init(|| crate::chromium::find().map(|_| ())),
        }
        .clone()
    }

    /// Whether `PODMEM_REQUIRE` makes this need mandatory.
    pub fn required(self) -> bool {
        let Ok(v) = std::env::var(REQUIRE_VAR) else {
            return false;
        };
        v.split(',')
            .map(str::trim)
            .any(|w| w == "all" || w == self.name())
    }
}

/// One test: runs `test` when every need is met; otherwise it is ignored with the
/// reason, or fails when `PODMEM_REQUIRE` names the missing need.
pub fn trial(name: &str, needs: &[Need], test: fn()) -> Trial {
    let needs = needs.to_vec();
    Trial::ignorable_test(name, move || {
        for need in needs {
            if let Err(why) = need.check() {
                if need.required() {
                    return Err(Failed::from(format!(
                        "needs {} ({REQUIRE_VAR} requires it): {why}",
                        need.name()
                    )));
                }
                return Ok(Completion::ignored_with(format!(
                    "needs {}: {why}",
                    need.name()
                )));
            }
        }
        test();
        Ok(Completion::Completed)
    })
}

/// Runs the trials with the standard test-runner arguments and exits with its status.
pub fn run(trials: Vec<Trial>) -> ! {
    if let Ok(v) = std::env::var(REQUIRE_VAR) {
        for w in v.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if w != "all" && ![Need::Kernel, Need::Browser].iter().any(|n| n.name() == w) {
                eprintln!("{REQUIRE_VAR}: unknown need `{w}` (known: kernel, browser, all)");
            }
        }
    }
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}
