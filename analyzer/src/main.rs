//! `podmem-analyzer`: the command line. Parses arguments, runs the library, and writes
//! at most one output (stdout, or `-o FILE` by the shared rules of
//! `podmem_schema::outfile`: a regular file is replaced only when complete, a device
//! is written in place, a directory refused); none when no input was usable.
//!
//! Exit codes: 0 every input was fully usable; 1 some inputs were refused or had
//! problems but a report was produced; 2 no input was usable, or a usage or output
//! error. A closed pipe on stdout (`| head`) is not an error.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use podmem_analyzer::{
    complete, exit_status, exit_status_of,
    load::{Limits, Progress},
    ooms_in_log, prepare_with, Filter,
};
use podmem_schema::display;

mod export_dir;

/// mimalloc: the analysis allocates millions of small strings and vectors
/// (`docs/performance.md` has the measurement).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Explain Kubernetes pod memory and OOM kills from podmem snapshots.
#[derive(Debug, Parser)]
#[command(name = "podmem-analyzer", version = VERSION.as_str(), about, max_term_width = 98)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The version with the formats this build reads and writes.
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use podmem_schema::snapshot::{
        BUNDLE_FORMAT_NAME, BUNDLE_FORMAT_VERSION, FORMAT_NAME, FORMAT_VERSION,
    };
    format!(
        "{} (reads {FORMAT_NAME} formats 1-{FORMAT_VERSION}, {BUNDLE_FORMAT_NAME} format {BUNDLE_FORMAT_VERSION}, {} and {}; writes {})",
        env!("CARGO_PKG_VERSION"),
        podmem_schema::report::REPORT_FORMAT_1,
        podmem_schema::report::REPORT_FORMAT,
        podmem_schema::report::REPORT_FORMAT
    )
});

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyze snapshots and write a report with findings.
    ///
    /// Exit status: 0 all inputs good, 1 some inputs refused or with problems (a report
    /// is still written), 2 no usable input or a usage/output error.
    Report {
        /// Snapshot archives (.tar.gz), bundles (a tar of snapshots) or directories of
        /// them (searched recursively), from one or many nodes.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        out: ReportOut,
        /// Threads reading archives (0 = one per core).
        #[arg(short, long, value_name = "N", default_value_t = 0)]
        jobs: usize,
        /// Only these nodes (repeat or comma-separate).
        #[arg(long, value_name = "NODE", value_delimiter = ',')]
        node: Vec<String>,
        /// Only snapshots captured at or after TIME (RFC 3339, or a duration ago: 6h).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        since: Option<jiff::Timestamp>,
        /// Only snapshots captured at or before TIME (RFC 3339, or a duration ago).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        until: Option<jiff::Timestamp>,
        /// Only these pods: a name, a UID (dashed or with underscores, as in cgroup
        /// paths) or NAMESPACE/NAME (repeat or comma-separate). Other pods are left out
        /// with their findings and OOM kills; node figures stay.
        #[arg(long, value_name = "POD", value_delimiter = ',')]
        pod: Vec<String>,
        /// Only pods in these namespaces (repeat or comma-separate).
        #[arg(long, value_name = "NS", value_delimiter = ',')]
        namespace: Vec<String>,
        /// For snapshots taken with `podmem-collector --redact`: the mapping file kept
        /// next to the key (KEYFILE.map.json); the report shows the real names instead
        /// of the hashes. The whole report is then built in memory.
        #[arg(long, value_name = "MAPPING")]
        names: Option<PathBuf>,
        /// No progress and no closing "wrote FILE" line on stderr (problems are still
        /// said). Both are shown only when stderr is a terminal anyway.
        #[arg(short, long)]
        quiet: bool,
        /// Samples of long series kept in the report, shared by all pods: each pod's
        /// latest 8 and every sample next to a change its findings rest on are always
        /// kept, the rest is thinned keeping each stretch's highest and lowest usage, so
        /// memory follows the number of pods, not of snapshots. 0 keeps every sample.
        #[arg(long, value_name = "N", default_value_t = podmem_analyzer::timeline::DEFAULT_SAMPLE_BUDGET)]
        max_samples: usize,
    },
    /// List the OOM kills in kernel log text of any form (dmesg, dmesg -T, journalctl,
    /// syslog, kern.log, /dev/kmsg records, pastes).
    Ooms {
        /// Log files; `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OomFormat::Text)]
        format: OomFormat,
        /// Year of syslog times that carry none (`Jan  5 15:19:27`); default: the year
        /// the file was last modified (the current year for standard input).
        #[arg(long, value_name = "YEAR", value_parser = clap::value_parser!(i16).range(1970..=9999))]
        year: Option<i16>,
        #[command(flatten)]
        out: OutFile,
    },
    /// Render a saved JSON report (`report --format json`; `podmem-report/1` or `/2`)
    /// as HTML, text or JSON, without the snapshots it came from.
    ///
    /// Exit status as `report`'s for the saved report's inputs: 0 all were good, 1 some
    /// were refused or had problems; 2 when REPORT cannot be read or is not a report, or
    /// a usage/output error.
    Render {
        /// The saved JSON report; `-` reads standard input.
        #[arg(value_name = "REPORT")]
        report: PathBuf,
        #[command(flatten)]
        out: ReportOut,
        /// No closing "wrote FILE" line on stderr (problems are still said). It is
        /// shown only when stderr is a terminal anyway.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write the report's data as tables for SQL engines (DuckDB, Spark, Trino,
    /// Polars): samples, pods, containers, tmpfs_volumes, oom_events, findings, each
    /// partitioned by node and day (DIR/TABLE/node=N/date=YYYY-MM-DD/part-K.parquet).
    ///
    /// Exit status as `report`'s; nothing is written when no input is usable.
    Export {
        /// Snapshot archives (.tar.gz), bundles (a tar of snapshots) or directories of
        /// them (searched recursively), from one or many nodes.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = export_dir::ExportFormat::Parquet)]
        format: export_dir::ExportFormat,
        /// Output directory: created, or an empty one. `--out` alike.
        #[arg(short, long, visible_alias = "out", value_name = "DIR")]
        output: PathBuf,
        /// Threads reading archives (0 = one per core).
        #[arg(short, long, value_name = "N", default_value_t = 0)]
        jobs: usize,
        /// No progress on stderr (shown only when stderr is a terminal anyway).
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print a shell completion script on stdout (e.g. `podmem-analyzer completions bash
    /// > /etc/bash_completion.d/podmem-analyzer`).
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

/// Where and how `report` and `render` write a report.
#[derive(Debug, clap::Args)]
struct ReportOut {
    /// Output format (`json` writes `podmem-report/2`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    #[command(flatten)]
    file: OutFile,
}

/// The `-o/--output` file of `report`, `render` and `ooms`.
#[derive(Debug, clap::Args)]
struct OutFile {
    /// Output file; `-` (the default) writes to standard output. `--out` alike.
    #[arg(
        short,
        long,
        visible_alias = "out",
        value_name = "FILE",
        default_value = "-"
    )]
    output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Html,
    Json,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OomFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "podmem-analyzer: error: {}",
                display::escape(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    // serde_json keeps the io::Error inside itself rather than as its source.
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| c.downcast_ref::<serde_json::Error>()?.io_error_kind())
            == Some(io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Report {
            inputs,
            out:
                ReportOut {
                    format,
                    file: OutFile { output },
                },
            jobs,
            names,
            node,
            since,
            until,
            pod,
            namespace,
            quiet,
            max_samples,
        } => {
            let names = names
                .map(|p| podmem_analyzer::names::Names::load(&p))
                .transpose()?;
            let bar = ProgressLine::start(quiet, "reading snapshots");
            let limits = Limits {
                workers: jobs,
                progress: Some(&PROGRESS),
                ..Limits::default()
            };
            let filter = Filter {
                nodes: node,
                since,
                until,
                pods: pod,
                namespaces: namespace,
            };
            let budget = podmem_analyzer::timeline::Budget {
                samples: (max_samples > 0).then_some(max_samples),
            };
            let (prepared, left_out) =
                prepare_with(&inputs, &limits, jiff::Timestamp::now(), &filter, budget);
            // What follows is said on stderr line by line: the bar comes back below
            // only while the report is built.
            bar.clear();
            for input in &prepared.head.inputs {
                for p in &input.problems {
                    eprintln!("podmem-analyzer: {}", display::escape(p));
                }
            }
            let code = exit_status_of(&prepared.head.inputs);
            if left_out > 0 {
                let read: u64 = prepared
                    .head
                    .inputs
                    .iter()
                    .map(|i| u64::from(i.snapshots))
                    .sum();
                eprintln!(
                    "podmem-analyzer: {left_out} of {read} snapshots left out by --node/--since/--until"
                );
                if left_out == read && code != 2 {
                    eprintln!("podmem-analyzer: no snapshot matches --node/--since/--until; no report written");
                    return Ok(2);
                }
            }
            // A report of nothing would read as "no findings": none is written.
            if code == 2 {
                eprintln!("podmem-analyzer: no usable snapshot in the inputs; no report written");
                return Ok(code);
            }
            let (pods_out, pods_all) = prepared.pods_left_out;
            if pods_out > 0 {
                eprintln!(
                    "podmem-analyzer: {pods_out} of {pods_all} pods left out by --pod/--namespace"
                );
            }
            if filter.filters_pods() && pods_out == pods_all {
                eprintln!("podmem-analyzer: no pod matches --pod/--namespace; no report written");
                return Ok(2);
            }
            let bar = ProgressLine::start(quiet, "building the report");
            match format {
                ReportFormat::Json if names.is_some() => {
                    let mut bytes = Vec::new();
                    prepared.write_json(&mut bytes)?;
                    bar.clear();
                    let bytes = unredact(names.as_ref(), bytes);
                    write_output(&output, |w| Ok(w.write_all(&bytes)?))?;
                }
                // Streamed pod by pod: a long series is large as JSON and larger in
                // memory. Same bytes as `podmem_reports::render_json`.
                ReportFormat::Json => {
                    write_output(&output, |w| Ok(prepared.write_json(w)?))?;
                    bar.clear();
                    say_written(&output, None, quiet);
                }
                ReportFormat::Text | ReportFormat::Html => {
                    let report = complete(prepared);
                    let critical = report
                        .findings
                        .iter()
                        .filter(|f| f.severity == podmem_schema::report::Severity::Critical)
                        .count();
                    let bytes = if format == ReportFormat::Html {
                        podmem_reports::render_html(&report).context("rendering the HTML report")?
                    } else {
                        podmem_reports::render_text(&report).into_bytes()
                    };
                    bar.clear();
                    let bytes = unredact(names.as_ref(), bytes);
                    write_output(&output, |w| Ok(w.write_all(&bytes)?))?;
                    say_written(&output, Some(critical), quiet);
                }
            }
            Ok(code)
        }
        Command::Render {
            report,
            out:
                ReportOut {
                    format,
                    file: OutFile { output },
                },
            quiet,
        } => {
            let bytes = if report.as_os_str() == "-" {
                let mut b = Vec::new();
                io::stdin()
                    .lock()
                    .read_to_end(&mut b)
                    .context("reading the report from standard input")?;
                b
            } else {
                std::fs::read(&report)
                    .with_context(|| format!("{}: cannot read", display::path(&report)))?
            };
            let name = if report.as_os_str() == "-" {
                "standard input".to_string()
            } else {
                display::path(&report).to_string()
            };
            let saved = podmem_schema::report::read_json(&bytes)
                .with_context(|| format!("{name}: cannot read as a podmem JSON report"))?;
            drop(bytes);
            for input in &saved.inputs {
                for p in &input.problems {
                    eprintln!("podmem-analyzer: {}", display::escape(p));
                }
            }
            let critical = saved
                .findings
                .iter()
                .filter(|f| f.severity == podmem_schema::report::Severity::Critical)
                .count();
            let bytes = match format {
                ReportFormat::Html => {
                    podmem_reports::render_html(&saved).context("rendering the HTML report")?
                }
                ReportFormat::Text => podmem_reports::render_text(&saved).into_bytes(),
                ReportFormat::Json => podmem_reports::render_json(&saved),
            };
            write_output(&output, |w| Ok(w.write_all(&bytes)?))?;
            say_written(
                &output,
                (format != ReportFormat::Json).then_some(critical),
                quiet,
            );
            Ok(exit_status(&saved))
        }
        Command::Export {
            inputs,
            format,
            output,
            jobs,
            quiet,
        } => {
            let bar = ProgressLine::start(quiet, "reading snapshots");
            let code = export_dir::run(&inputs, format, &output, jobs, &PROGRESS, &|| bar.clear());
            bar.clear();
            code
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "podmem-analyzer", &mut io::stdout());
            Ok(0)
        }
        Command::Man { dir } => {
            clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), &dir)
                .with_context(|| format!("writing manual pages into {}", display::path(&dir)))?;
            Ok(0)
        }
        Command::Ooms {
            files,
            format,
            year,
            out: OutFile { output },
        } => {
            let mut events = Vec::new();
            let mut reports = Vec::new();
            let mut years: Vec<(String, i16)> = Vec::new();
            for f in &files {
                let (ev, rep) = if f.as_os_str() == "-" {
                    let y = year.unwrap_or_else(|| year_of(jiff::Timestamp::now()));
                    years.push(("-".into(), y));
                    ooms_in_log(io::stdin().lock(), "-", Some(y))
                } else if is_kmsg(f) {
                    match read_kmsg(f) {
                        Ok(bytes) => {
                            let y = year.unwrap_or_else(|| year_of(jiff::Timestamp::now()));
                            ooms_in_log(bytes.as_slice(), &f.display().to_string(), Some(y))
                        }
                        Err(e) => {
                            eprintln!("podmem-analyzer: {}: cannot read: {e}", display::path(f));
                            continue;
                        }
                    }
                } else {
                    match std::fs::File::open(f) {
                        Ok(file) => {
                            let y = year.or_else(|| {
                                let m = file.metadata().ok()?.modified().ok()?;
                                jiff::Timestamp::try_from(m).ok().map(year_of)
                            });
                            if let Some(y) = y {
                                years.push((f.display().to_string(), y));
                            }
                            ooms_in_log(file, &f.display().to_string(), y)
                        }
                        Err(e) => {
                            eprintln!("podmem-analyzer: {}: cannot open: {e}", display::path(f));
                            continue;
                        }
                    }
                };
                for p in &rep.problems {
                    eprintln!("podmem-analyzer: {}", display::escape(p));
                }
                events.extend(ev);
                reports.push(rep);
            }
            let mut code = exit_status_of(&reports);
            if reports.len() < files.len() && code == 0 {
                code = 1;
            }
            // Said where it is read (stderr for JSON, which stays a plain list).
            let said = year_note(year.is_some(), &years);
            if format == OomFormat::Json && !years.is_empty() {
                eprint!("podmem-analyzer: {said}");
            }
            write_output(&output, |w| match format {
                OomFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &events)?;
                    w.write_all(b"\n")?;
                    Ok(())
                }
                OomFormat::Text => {
                    w.write_all(podmem_reports::text::render_oom_events(&events).as_bytes())?;
                    if !years.is_empty() {
                        w.write_all(b"\n")?;
                        w.write_all(said.as_bytes())?;
                    }
                    Ok(())
                }
            })?;
            Ok(code)
        }
    }
}

/// How far the loader got, shown by [`ProgressLine`].
static PROGRESS: Progress = Progress::new();

/// One line on stderr while a long run reads archives and builds the report: what it
/// is doing, the archives read and snapshots accepted so far, and the time taken.
/// indicatif draws it only when stderr is a terminal; `--quiet` hides it too. It is
/// cleared before anything else is said on stderr.
struct ProgressLine(indicatif::ProgressBar);

impl ProgressLine {
    fn start(quiet: bool, what: &'static str) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let target = if quiet {
            indicatif::ProgressDrawTarget::hidden()
        } else {
            indicatif::ProgressDrawTarget::stderr()
        };
        let bar = indicatif::ProgressBar::with_draw_target(None, target);
        let counts = |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(
                w,
                "{} archives read, {} snapshots",
                PROGRESS.archives.load(Relaxed),
                PROGRESS.snapshots.load(Relaxed)
            );
        };
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} podmem-analyzer: {msg}: {counts} [{elapsed}]",
        )
        .expect("the template is valid")
        .with_key("counts", counts);
        bar.set_style(style);
        bar.set_message(what);
        // Redrawn from indicatif's own thread, which reads the counters.
        bar.enable_steady_tick(std::time::Duration::from_millis(150));
        ProgressLine(bar)
    }

    fn clear(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Says what was written, when a person is watching (stderr is a terminal, no
/// `--quiet`) and the output went to a file: `wrote report.html: 2.7 MiB, 3 critical
/// findings`.
fn say_written(output: &Path, critical: Option<usize>, quiet: bool) {
    use std::io::IsTerminal;
    if quiet || output.as_os_str() == "-" || !io::stderr().is_terminal() {
        return;
    }
    let Ok(meta) = std::fs::metadata(output) else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    let findings = match critical {
        Some(1) => ", 1 critical finding".to_string(),
        Some(n) => format!(", {n} critical findings"),
        None => String::new(),
    };
    eprintln!(
        "podmem-analyzer: wrote {}: {}{findings}",
        display::path(output),
        podmem_schema::units::fmt_bytes(meta.len())
    );
}

/// Whether `path` is the kernel's ring buffer device (char 1:11), whatever its name.
fn is_kmsg(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(m) = std::fs::metadata(path) else {
        return false;
    };
    let rdev = m.rdev();
    let (major, minor) = (
        (rdev >> 8) & 0xfff,
        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    );
    m.file_type().is_char_device() && (major, minor) == (1, 11)
}

/// Cap on what is read from the ring buffer (the kernel's is at most a few MiB).
const MAX_KMSG_BYTES: usize = 64 << 20;

/// The records in the kernel ring buffer now: /dev/kmsg hands out one record per read
/// (a buffer smaller than a record is EINVAL, so it is larger than any record) and
/// blocks at the end unless opened non-blocking, when it says EAGAIN. EPIPE means
/// records were overwritten while reading; the reader then continues with the oldest
/// left.
fn read_kmsg(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut out = Vec::new();
    let mut rec = vec![0u8; 16 * 1024];
    while out.len() < MAX_KMSG_BYTES {
        match f.read(&mut rec) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&rec[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// RFC 3339, or a duration ago (`6h`, `2d`, `30m`).
fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let span: jiff::Span = s
        .parse()
        .map_err(|_| format!("{s:?} is neither an RFC 3339 time nor a duration such as 6h"))?;
    jiff::Timestamp::now()
        .checked_sub(span)
        .map_err(|e| format!("{s:?}: {e}"))
}

/// The line saying which year dates syslog times that carry none.
fn year_note(given: bool, years: &[(String, i16)]) -> String {
    let how = if given {
        "--year"
    } else {
        "the file's modification time; --year to change"
    };
    match years {
        [(_, y), rest @ ..] if rest.iter().all(|(_, r)| r == y) => {
            format!("Syslog times without a year are taken in {y} ({how}).\n")
        }
        _ => {
            let each: Vec<String> = years.iter().map(|(f, y)| format!("{f}: {y}")).collect();
            format!(
                "Syslog times without a year are taken in ({how}): {}.\n",
                each.join(", ")
            )
        }
    }
}

/// The UTC year of `t`.
fn year_of(t: jiff::Timestamp) -> i16 {
    t.to_zoned_datetime(jiff::tz::TimeZone::UTC).year()
}

/// The report with the real names of `--names`, saying how many were put back.
fn unredact(names: Option<&podmem_analyzer::names::Names>, bytes: Vec<u8>) -> Vec<u8> {
    let Some(n) = names else { return bytes };
    let (out, replaced) = n.apply(&bytes);
    eprintln!(
        "podmem-analyzer: --names: {replaced} redacted names replaced ({} in the mapping, {} left hashed: not plain names)",
        n.len(),
        n.unsafe_names
    );
    out
}

/// Writes to stdout (`-`) or to `path` by the rules of [`podmem_schema::outfile`]: a
/// regular file through a temporary file renamed into place only when complete, a
/// device or FIFO in place, a directory refused.
fn write_output(path: &Path, body: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    if path.as_os_str() == "-" {
        let stdout = io::stdout();
        let mut w = io::BufWriter::new(stdout.lock());
        body(&mut w)?;
        w.flush()?;
        return Ok(());
    }
    let mut out = podmem_schema::outfile::OutputFile::create(path)?;
    body(out.writer()).with_context(|| format!("writing {}", display::path(path)))?;
    out.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
