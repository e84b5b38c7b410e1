//! The VM matrix: Debian's own kernels booted under QEMU with the test initramfs of
//! `scripts/vm/` (busybox, the static collector, a static allocator), which runs the
//! guest scenarios (`scripts/vm/guest/init`) and sends the collector's archives back.
//! This module runs `scripts/vm/run.sh` (the same command a person runs by hand) and
//! hands the tests what came back; the tests analyze it on the host.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The Debian kernel series of the matrix (`scripts/vm/fetch-kernel.sh` knows where each
/// comes from).
pub const KERNELS: &[&str] = &["6.1", "6.12", "7.2"];

/// The guest's cgroup mode and kubelet layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// cgroup v1 memory controller, cgroupfs driver (`/kubepods/burstable/pod<uid>/<id>`).
    V1,
    /// cgroup v2, systemd driver (`kubepods.slice/.../cri-containerd-<id>.scope`).
    V2,
}

impl Mode {
    /// `v1` or `v2`, as `scripts/vm/run.sh` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::V1 => "v1",
            Mode::V2 => "v2",
        }
    }
}

fn scripts() -> PathBuf {
    crate::samples::workspace().join("scripts/vm")
}

/// The static collector the guest runs: `PODMEM_COLLECTOR_STATIC`, else what
/// `scripts/build-static.sh` builds into this build's target directory, refused when
/// older than the collector's sources.
pub fn static_collector() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PODMEM_COLLECTOR_STATIC") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "PODMEM_COLLECTOR_STATIC={} does not exist",
                p.display()
            ))
        };
    }
    let target = crate::bins::profile_dir()
        .parent()
        .expect("<target>/<profile>")
        .to_path_buf();
    let p = target.join("x86_64-unknown-linux-gnu/release/podmem-collector");
    let hint = "build it with scripts/build-static.sh (scripts/test does)";
    let built = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .map_err(|e| format!("no static collector at {}: {e}; {hint}", p.display()))?;
    let ws = crate::samples::workspace();
    for package in ["collector", "schema"] {
        if crate::bins::newest(&ws.join(package)).is_some_and(|s| s > built) {
            return Err(format!(
                "the static collector {} is older than the sources in {package}/; {hint}",
                p.display()
            ));
        }
    }
    Ok(p)
}

/// Whether this machine can run the matrix: QEMU and the initramfs tools, the static
/// collector, and every kernel of [`KERNELS`] (fetched from Debian into the cache on
/// first use; see `scripts/vm/fetch-kernel.sh`).
pub fn check() -> Result<(), String> {
    for (cmd, package) in [
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("busybox", "busybox-static"),
        ("cpio", "cpio"),
        ("gcc", "gcc"),
    ] {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(cmd).is_file()));
        if !found {
            return Err(format!("no {cmd} on PATH (Debian package {package})"));
        }
    }
    static_collector()?;
    for k in KERNELS {
        let o = Command::new(scripts().join("fetch-kernel.sh"))
            .arg(k)
            .output()
            .map_err(|e| format!("scripts/vm/fetch-kernel.sh: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "cannot fetch Debian's {k} kernel: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// What one boot brought back.
#[derive(Debug)]
pub struct Guest {
    /// Kernel series booted (`6.1`, ...).
    pub kernel: String,
    /// cgroup mode.
    pub mode: Mode,
    /// `scripts/vm/run.sh`'s output directory.
    pub dir: PathBuf,
    /// The guest's `key=value` facts (`guest/facts`): what its kernel said.
    pub facts: BTreeMap<String, String>,
    /// The guest's serial console (kernel messages, guest progress).
    pub console: String,
    /// Wall time of the whole run (kernel fetch from cache, initramfs, boot, scenarios).
    pub seconds: f64,
}

impl Guest {
    /// A fact the guest recorded; panics (with the console's end) when it is missing.
    pub fn fact(&self, key: &str) -> &str {
        self.facts.get(key).map(String::as_str).unwrap_or_else(|| {
            panic!(
                "{} {}: no fact `{key}`; console ends:\n{}",
                self.kernel,
                self.mode.name(),
                tail(&self.console)
            )
        })
    }

    /// A numeric fact.
    pub fn num(&self, key: &str) -> u64 {
        let v = self.fact(key);
        v.parse()
            .unwrap_or_else(|_| panic!("fact {key}={v} is not a number"))
    }

    /// The archives of `podmem-collector snapshot`, one per scenario step.
    pub fn snapshots(&self) -> PathBuf {
        self.dir.join("guest/snap")
    }

    /// The archives of `podmem-collector watch`, running across all steps.
    pub fn watch(&self) -> PathBuf {
        self.dir.join("guest/watch")
    }

    /// The archives of `podmem-collector snapshot --kernel-log journal` after each OOM,
    /// read from the guest's systemd-journald.
    pub fn journal(&self) -> PathBuf {
        self.dir.join("guest/journal")
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Boots `kernel` in `mode` with `scripts/vm/run.sh` and returns what the guest sent
/// back; panics with the reason (and the console's end) when the run failed. Output
/// stays in `<target>/vm/<kernel>-<mode>/` for a look afterwards.
pub fn boot(kernel: &str, mode: Mode) -> Guest {
    let collector = static_collector().unwrap_or_else(|e| panic!("{e}"));
    let target = crate::bins::profile_dir()
        .parent()
        .expect("<target>/<profile>")
        .to_path_buf();
    let dir = target.join("vm").join(format!("{kernel}-{}", mode.name()));
    let t = Instant::now();
    let o = Command::new(scripts().join("run.sh"))
        .args([kernel, mode.name()])
        .arg(&dir)
        .env("PODMEM_COLLECTOR_STATIC", &collector)
        .output()
        .unwrap_or_else(|e| panic!("scripts/vm/run.sh: {e}"));
    let seconds = t.elapsed().as_secs_f64();
    let console = std::fs::read_to_string(dir.join("console.log")).unwrap_or_default();
    assert!(
        o.status.success(),
        "scripts/vm/run.sh {kernel} {} failed ({}): {}\nconsole ends:\n{}",
        mode.name(),
        o.status,
        String::from_utf8_lossy(&o.stderr).trim(),
        tail(&console)
    );
    let facts = std::fs::read_to_string(dir.join("guest/facts"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    eprintln!(
        "vm: {kernel} {} booted and ran in {seconds:.1} s ({})",
        mode.name(),
        dir.display()
    );
    Guest {
        kernel: kernel.to_string(),
        mode,
        dir,
        facts,
        console,
        seconds,
    }
}
