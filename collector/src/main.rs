//! `podmem-collector`: captures a Kubernetes node's memory state (cgroup memory files,
//! mountinfo, tmpfs usage, kubelet summary, kernel OOM reports) into a snapshot archive,
//! once (`snapshot`), on a schedule (`watch`), and packs archives to send (`bundle`).
//!
//! Exit codes: 0 success; 1 an archive was written but some source is partial or failed
//! (see its manifest), or `watch` refused/failed a slot; 2 usage error or nothing could be
//! written. A closed stdout (broken pipe) is not an error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;
use podmem_collector::budget::Caps;
use podmem_collector::hostpaths::HostPaths;
use podmem_collector::human::{parse_duration, parse_size};
use podmem_collector::kernel_log::KernelLogMode;
use podmem_collector::kubelet::{KubeletOptions, KubeletSource};
use podmem_collector::snapshot::{self, SnapshotOptions};
use podmem_collector::{bundle, redact, watch};

/// Capture a Kubernetes node's memory state into podmem snapshot archives.
///
/// Exit codes: 0 ok; 1 archive written but some source partial or failed (see the
/// manifest), or a watch slot refused or failed; 2 usage error or fatal error.
#[derive(Debug, Parser)]
#[command(name = "podmem-collector", version = VERSION.as_str(), max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The version with the formats this build writes.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use podmem_schema::snapshot::{
        BUNDLE_FORMAT_NAME, BUNDLE_FORMAT_VERSION, FORMAT_NAME, FORMAT_VERSION,
    };
    format!(
        "{} (writes {FORMAT_NAME} format {FORMAT_VERSION}, {BUNDLE_FORMAT_NAME} format {BUNDLE_FORMAT_VERSION})",
        env!("CARGO_PKG_VERSION")
    )
});

#[derive(Debug, Subcommand)]
enum Command {
    /// Take one snapshot and print the archive's path on stdout.
    Snapshot(SnapshotArgs),
    /// Take a snapshot every interval until a count, a duration or SIGTERM/SIGINT.
    Watch(WatchArgs),
    /// Pack the snapshots of a directory into one file to send.
    Bundle(BundleArgs),
    /// Print a shell completion script on stdout (e.g. `podmem-collector completions bash
    /// > /etc/bash_completion.d/podmem-collector`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages into DIR (scripts/gen-man.sh).
    #[command(hide = true)]
    Man {
        /// Directory the pages go to.
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
struct SnapshotArgs {
    /// Directory the archive goes to (created if missing; `--output` alike).
    #[arg(
        short,
        long,
        visible_alias = "output",
        value_name = "DIR",
        default_value = "."
    )]
    out: PathBuf,

    /// Root of the memory cgroup hierarchy (v1 memory mount or v2 unified root); any
    /// directory of the hierarchy may be given and is then treated as the node's root.
    /// Default: found from the host mountinfo.
    #[arg(long, value_name = "PATH")]
    cgroup_root: Option<PathBuf>,

    /// The host's / when running in a container with it mounted; host paths (also mount
    /// points found in mountinfo) are read under it.
    #[arg(long, value_name = "PATH", default_value = "/")]
    host_root: PathBuf,

    /// The host's procfs (default: <host-root>/proc).
    #[arg(long, value_name = "PATH")]
    proc_root: Option<PathBuf>,

    /// The host's /var/log/pods (default: <host-root>/var/log/pods).
    #[arg(long, value_name = "DIR")]
    log_pods_dir: Option<PathBuf>,

    /// The kernel ring buffer device (default: <host-root>/dev/kmsg, else /dev/kmsg).
    #[arg(long, value_name = "PATH")]
    kmsg_path: Option<PathBuf>,

    /// Kubernetes node name (default: $NODE_NAME, else the hostname).
    #[arg(long, value_name = "NAME", env = "NODE_NAME")]
    node_name: Option<String>,

    /// Kubelet base URL, or `auto`: https://NODE_IP:10250 (with --kubelet-node-ip) and
    /// https://127.0.0.1:10250 with the service-account token when one is mounted, then
    /// http://127.0.0.1:10255. A certificate valid for the node name rather than the IP
    /// is accepted (the node name checked, the IP connected to).
    #[arg(long, value_name = "URL|auto", default_value = "auto")]
    kubelet: String,

    /// Do not fetch the kubelet summary.
    #[arg(long, conflicts_with_all = ["kubelet_summary_file"])]
    no_kubelet: bool,

    /// Bearer token file for the kubelet (default: the pod's service-account token).
    /// The token is never written anywhere.
    #[arg(long, value_name = "FILE")]
    kubelet_token_file: Option<PathBuf>,

    /// CA bundle that signed the kubelet's serving certificate (default: the pod's
    /// service-account CA, the cluster CA, and the host's
    /// /var/lib/kubelet/pki/kubelet.crt, kubeadm's self-signed one, when present).
    #[arg(long, value_name = "FILE")]
    kubelet_ca: Option<PathBuf>,

    /// The node's IP, tried first by `--kubelet auto` (default: $NODE_IP, from the
    /// downward API's status.hostIP in the DaemonSet).
    #[arg(long, value_name = "IP", env = "NODE_IP")]
    kubelet_node_ip: Option<std::net::IpAddr>,

    /// Do not verify the kubelet's certificate: loopback (127.0.0.1, ::1) only, refused
    /// for any other host; recorded in the manifest and warned about on every run.
    #[arg(long)]
    kubelet_insecure: bool,

    /// Use a summary saved with
    /// `kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary` instead of the kubelet.
    #[arg(long, value_name = "FILE")]
    kubelet_summary_file: Option<PathBuf>,

    /// Kernel log source: auto (the journal if it holds kernel messages, else /dev/kmsg,
    /// else /var/log/kern.log or /var/log/messages), journal, kmsg, a FILE, or none.
    #[arg(
        long,
        value_name = "auto|journal|kmsg|FILE|none",
        default_value = "auto"
    )]
    kernel_log: KernelLogMode,

    /// Kernel-log window (e.g. 2h). Default: continue exactly where the previous
    /// snapshot in --out stopped (kmsg sequence number, journal cursor, file offset),
    /// else 24h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    since: Option<Duration>,

    /// Time budget of one snapshot; past it the walk stops and what was gathered is
    /// written, marked partial.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    budget: Duration,

    /// Largest file kept (a larger one is cut and marked partial).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "4MiB")]
    max_file_size: u64,

    /// Largest total of raw bytes in one snapshot (held in memory before writing).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB")]
    max_snapshot_size: u64,

    /// Keep only the newest N archives of this node in --out (applies to one-shot runs
    /// too, so cron alone suffices).
    #[arg(long, value_name = "N")]
    keep: Option<usize>,

    /// Remove the oldest archives of this node in --out until they use at most SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_disk: Option<u64>,

    /// Do not lower CPU and I/O priority (default: nice 10, lowest best-effort I/O).
    #[arg(long)]
    no_nice: bool,

    /// Replace pod, namespace, container, volume, node and host names in the archive
    /// with keyed hashes (r-<12 hex>). KEYFILE is created (random, mode 0600) when
    /// missing; use the same key on every node for the same hashes. The hash-to-name
    /// mapping is kept in KEYFILE.map.json, never in the archive.
    #[arg(long, value_name = "KEYFILE")]
    redact: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct WatchArgs {
    /// Time between snapshot starts (drift-free; an overrun skips slots).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    interval: Duration,

    /// Stop after N snapshots.
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    count: Option<u64>,

    /// Stop after this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Refuse to write while free space is under this percentage of the filesystem.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    min_free_percent: f64,

    #[command(flatten)]
    snapshot: SnapshotArgs,
}

#[derive(Debug, Args)]
struct BundleArgs {
    /// Directory holding the snapshots.
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// Bundle file to write (replaced atomically); `-` streams it to stdout (not a
    /// terminal), e.g. `kubectl exec POD -- /podmem-collector bundle DIR -o - > node.tar`.
    /// A missing folder is created (and said). `--out` alike.
    #[arg(short, long, visible_alias = "out", value_name = "FILE")]
    output: PathBuf,

    /// Only snapshots captured at or after TIME (RFC 3339, or a duration ago: 6h).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<Timestamp>,

    /// Only snapshots captured at or before TIME (RFC 3339, or a duration ago).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<Timestamp>,
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let d = parse_duration(s).map_err(|_| {
        format!("{s:?}: not an RFC 3339 time (2026-11-28T04:00:00Z) nor a duration ago (6h)")
    })?;
    let d = jiff::SignedDuration::try_from(d).map_err(|e| e.to_string())?;
    Timestamp::now().checked_sub(d).map_err(|e| e.to_string())
}

impl SnapshotArgs {
    /// The options, with the redaction key loaded (or created) when asked for.
    fn options_with_key(&self) -> Result<SnapshotOptions> {
        if let Some(root) = &self.cgroup_root {
            check_cgroup_root(root)?;
        }
        let mut opts = self.options();
        if let Some(path) = &self.redact {
            let key = redact::load_or_create_key(path)?;
            if key.created {
                note(&format!(
                    "created redaction key {} (keep it: the same key gives the same names; mapping in {})",
                    path.display(),
                    key.mapping_path().display()
                ));
            }
            opts.redact = Some(key);
        }
        Ok(opts)
    }

    fn options(&self) -> SnapshotOptions {
        let mut paths = HostPaths::new(&self.host_root);
        if let Some(p) = &self.proc_root {
            paths.proc_root = p.clone();
        }
        if let Some(p) = &self.log_pods_dir {
            paths.log_pods = p.clone();
        }
        if let Some(p) = &self.kmsg_path {
            paths.kmsg = p.clone();
        }
        let source = if self.no_kubelet {
            KubeletSource::Disabled
        } else if let Some(f) = &self.kubelet_summary_file {
            KubeletSource::File(f.clone())
        } else if self.kubelet == "auto" {
            KubeletSource::Auto
        } else {
            KubeletSource::Url(self.kubelet.clone())
        };
        SnapshotOptions {
            out: self.out.clone(),
            cgroup_root: self.cgroup_root.clone(),
            paths,
            node_name: self.node_name.clone(),
            kubelet: KubeletOptions {
                source,
                token_file: self.kubelet_token_file.clone(),
                ca_file: self.kubelet_ca.clone(),
                insecure: self.kubelet_insecure,
                node_ip: self.kubelet_node_ip,
                node_name: self.node_name.clone(),
            },
            kernel_log: self.kernel_log.clone(),
            since: self.since,
            budget: self.budget,
            caps: Caps {
                per_file: self.max_file_size,
                summary: self
                    .max_snapshot_size
                    .min(Caps::default().summary.max(self.max_file_size)),
                total: self.max_snapshot_size,
            },
            keep: self.keep,
            max_disk: self.max_disk,
            redact: None,
        }
    }
}

/// Prints a line on stdout; a closed pipe is not an error.
fn say(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let line = podmem_schema::display::escape(line);
    match writeln!(out, "{line}").and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}

/// A missing `--cgroup-root` is a usage error (nothing is written); one that is not a
/// cgroup filesystem (a copy, a fixture tree, a typo'd mount point) is read anyway, with
/// a warning, because the files in it may still be what the user wants.
fn check_cgroup_root(root: &std::path::Path) -> Result<()> {
    if !root.is_dir() {
        anyhow::bail!(
            "--cgroup-root {}: {}",
            root.display(),
            if root.exists() {
                "not a directory"
            } else {
                "no such directory"
            }
        );
    }
    const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    if let Ok(st) = rustix::fs::statfs(root) {
        #[allow(clippy::unnecessary_cast)]
        let magic = st.f_type as i64;
        if magic != CGROUP_SUPER_MAGIC && magic != CGROUP2_SUPER_MAGIC {
            note(&format!(
                "warning: --cgroup-root {} is not on a cgroup filesystem (statfs type {magic:#x}); reading it as one anyway",
                root.display()
            ));
        }
    }
    Ok(())
}

/// Prints a line on stderr. Lines carry names read from the node (cgroup directories,
/// mount points, kernel text): all go through the shared escaper.
fn note(line: &str) {
    eprintln!("podmem-collector: {}", podmem_schema::display::escape(line));
}

fn run_snapshot(args: &SnapshotArgs) -> Result<u8> {
    if !args.no_nice {
        snapshot::lower_priority();
    }
    let opts = args.options_with_key()?;
    let out = snapshot::run(&opts, None, &mut Default::default())?;
    for n in &out.captured.notes {
        note(n);
    }
    for line in problems(&out.captured.manifest) {
        note(&line);
    }
    if let Some(p) = &out.path {
        say(&p.display().to_string())?;
    }
    Ok(if out.captured.degraded() { 1 } else { 0 })
}

/// One line per partial or failed source, and the kubelet summary when missing: name,
/// status, and why.
fn problems(m: &podmem_schema::snapshot::Manifest) -> Vec<String> {
    use podmem_schema::snapshot::Status;
    m.sources
        .iter()
        .filter_map(|s| {
            let st = match s.status {
                Status::Partial => "partial",
                Status::Error => "error",
                // Said on every run: from cron or systemd a missing summary would
                // otherwise go unnoticed; its message names the option that fixes it.
                Status::Missing
                    if s.name == "kubelet-summary"
                        && !s.message.as_deref().unwrap_or("").contains("--no-kubelet)") =>
                {
                    "missing"
                }
                _ => return None,
            };
            Some(format!(
                "{} {st}: {}",
                s.name,
                s.message.as_deref().unwrap_or("")
            ))
        })
        .collect()
}

fn run_watch(args: &WatchArgs) -> Result<u8> {
    if !args.snapshot.no_nice {
        snapshot::lower_priority();
    }
    let stop = watch::install_stop_handler();
    let opts = watch::WatchOptions {
        interval: args.interval,
        count: args.count,
        duration: args.duration,
        snapshot: args.snapshot.options_with_key()?,
        min_free_fraction: (args.min_free_percent / 100.0).clamp(0.0, 1.0),
    };
    let mut print_err = None;
    // Source problems are printed when they change, not every interval.
    let mut last_problems: Vec<String> = Vec::new();
    let sum = watch::watch(
        &opts,
        stop,
        |p, out| {
            let problems = problems(&out.captured.manifest);
            if problems != last_problems {
                for line in &problems {
                    note(line);
                }
                last_problems = problems;
            }
            if let Err(e) = say(&p.display().to_string()) {
                print_err.get_or_insert(e);
            }
        },
        note,
    )?;
    if let Some(e) = print_err {
        return Err(e);
    }
    if sum.stopped {
        note(&format!(
            "stopped by signal after {} snapshot(s)",
            sum.written
        ));
    }
    Ok(if sum.degraded + sum.refused + sum.failed > 0 {
        1
    } else {
        0
    })
}

fn run_bundle(args: &BundleArgs) -> Result<u8> {
    let to_stdout = args.output.as_os_str() == "-";
    // A missing folder is created (by bundle::bundle), and said, so a mistyped path
    // does not go unnoticed.
    let missing_parent = (!to_stdout)
        .then(|| args.output.parent().filter(|p| !p.as_os_str().is_empty()))
        .flatten()
        .filter(|p| !p.exists())
        .map(|p| p.to_path_buf());
    let out = if to_stdout {
        bundle::bundle_to_stdout(&args.dir, args.since, args.until)?
    } else {
        bundle::bundle(&args.dir, &args.output, args.since, args.until)?
    };
    if let Some(p) = missing_parent.filter(|p| p.is_dir()) {
        note(&format!(
            "created the folder {} for the bundle",
            p.display()
        ));
    }
    if out.pipe_closed {
        note("stdout closed before the bundle was complete (broken pipe)");
        return Ok(0);
    }
    for s in &out.skipped {
        note(&format!("skipped unreadable snapshot: {s}"));
    }
    let m = &out.manifest;
    note(&format!(
        "{} snapshot(s) of {} node(s) from {} to {}",
        m.count,
        m.nodes.len(),
        m.first.map(|t| t.to_string()).unwrap_or_default(),
        m.last.map(|t| t.to_string()).unwrap_or_default()
    ));
    if !to_stdout {
        say(&args.output.display().to_string())?;
    }
    Ok(if out.skipped.is_empty() { 0 } else { 1 })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.command {
        Command::Snapshot(a) => run_snapshot(a),
        Command::Watch(a) => run_watch(a),
        Command::Bundle(a) => run_bundle(a),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "podmem-collector", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { dir } => {
            clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))
                .map(|()| 0)
        }
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            note(&format!("error: {e:#}"));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn times_parse() {
        assert!(parse_time("2026-11-28T04:00:00Z").is_ok());
        assert!(parse_time("6h").unwrap() < Timestamp::now());
        assert!(parse_time("yesterday").is_err());
    }
}
