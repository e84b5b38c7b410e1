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
    /// `journalctl` and `systemd-journal-remote`: see [`crate::journal::remote`].
    Journal,
    /// QEMU, the initramfs tools, the static collector and Debian's kernels of the VM
    /// matrix: see [`crate::vm::check`].
    Vm,
    /// python3 with the `duckdb` package: see [`crate::sql::duckdb`].
    DuckDb,
    /// python3 with `pyspark` and a Java runtime: see [`crate::sql::spark`].
    Spark,
}

impl Need {
    /// Every need, for `PODMEM_REQUIRE`'s check of its words.
    pub const ALL: [Need; 6] = [
        Need::Kernel,
        Need::Browser,
        Need::Journal,
        Need::Vm,
        Need::DuckDb,
        Need::Spark,
    ];
}

impl Need {
    /// The name used in `PODMEM_REQUIRE` and in the ignore reason.
    pub fn name(self) -> &'static str {
        match self {
            Need::Kernel => "kernel",
            Need::Browser => "browser",
            Need::Journal => "journal",
            Need::Vm => "vm",
            Need::DuckDb => "duckdb",
            Need::Spark => "spark",
        }
    }

    /// Whether this machine has it (checked once per process), or why not.
    pub fn check(self) -> Result<(), String> {
        static KERNEL: OnceLock<Result<(), String>> = OnceLock::new();
        static BROWSER: OnceLock<Result<(), String>> = OnceLock::new();
        static JOURNAL: OnceLock<Result<(), String>> = OnceLock::new();
        static VM: OnceLock<Result<(), String>> = OnceLock::new();
        static DUCKDB: OnceLock<Result<(), String>> = OnceLock::new();
        static SPARK: OnceLock<Result<(), String>> = OnceLock::new();
        match self {
            Need::Kernel => KERNEL.get_or_init(|| crate::kernel::check().map(|_| ())),
            Need::Browser => BROWSER.get_or_init(|| crate::chromium::find().map(|_| ())),
            Need::Journal => JOURNAL.get_or_init(|| crate::journal::remote().map(|_| ())),
            Need::Vm => VM.get_or_init(crate::vm::check),
            Need::DuckDb => DUCKDB.get_or_init(crate::sql::duckdb),
            Need::Spark => SPARK.get_or_init(crate::sql::spark),
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
pub fn trial(
    name: impl Into<String>,
    needs: &[Need],
    test: impl FnOnce() + Send + 'static,
) -> Trial {
    let needs = needs.to_vec();
    Trial::ignorable_test(name, move || {
        for &need in &needs {
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
        // Real-kernel tests of one binary run one at a time: the collector reads the whole
        // machine's mount table, so another test's tmpfs coming and going mid-snapshot
        // would change what it sees.
        let _serial = needs
            .contains(&Need::Kernel)
            .then(|| KERNEL_TESTS.lock().unwrap_or_else(|e| e.into_inner()));
        test();
        Ok(Completion::Completed)
    })
}

static KERNEL_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the trials with the standard test-runner arguments and exits with its status.
pub fn run(trials: Vec<Trial>) -> ! {
    if let Ok(v) = std::env::var(REQUIRE_VAR) {
        for w in v.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if w != "all" && !Need::ALL.iter().any(|n| n.name() == w) {
                let known: Vec<&str> = Need::ALL.iter().map(|n| n.name()).collect();
                eprintln!(
                    "{REQUIRE_VAR}: unknown need `{w}` (known: {}, all)",
                    known.join(", ")
                );
            }
        }
    }
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}
