//! `export -o DIR`: where the tables of [`podmem_analyzer::export`] go on disk. The
//! directory must be new or empty (an export is never mixed into older parts) and is
//! made when the first part is written; each part is written to a hidden temporary name beside its final one and renamed
//! when complete, so a reader never sees half a file; parts are
//! `DIR/<table>/node=<node>/date=<YYYY-MM-DD>/part-<N>.parquet`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use parquet::errors::ParquetError;
use podmem_analyzer::export::{self, Exporter, Part};
use podmem_analyzer::{
    exit_status_of,
    load::{Limits, Progress},
    prepare_tapped,
    timeline::{Budget, Fold},
    Filter,
};
use podmem_schema::display;

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet, snappy-compressed, hive-partitioned by node and day.
    Parquet,
}

/// The export directory being filled.
struct OutDir {
    root: PathBuf,
    parts: BTreeMap<(&'static str, String, String), u32>,
    files: u64,
}

impl OutDir {
    /// Takes `root` when it does not exist (it is made with the first part) or is an
    /// empty directory.
    fn create(root: &Path) -> Result<OutDir> {
        match fs::symlink_metadata(root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(format!("{}: cannot inspect", display::path(root))),
            Ok(_) if !root.is_dir() => bail!(
                "{}: exists and is not a directory; give a new or empty directory",
                display::path(root)
            ),
            Ok(_) => {
                let mut entries = fs::read_dir(root)
                    .with_context(|| format!("{}: cannot read", display::path(root)))?;
                if entries.next().is_some() {
                    bail!(
                        "{}: is not empty; give a new or empty directory (an export is never mixed with older parts)",
                        display::path(root)
                    );
                }
            }
        }
        Ok(OutDir {
            root: root.to_path_buf(),
            parts: BTreeMap::new(),
            files: 0,
        })
    }

    fn write(&mut self, part: Part) -> Result<(), ParquetError> {
        let n = self
            .parts
            .entry((part.table, part.node.clone(), part.date.clone()))
            .or_insert(0);
        let dir = self
            .root
            .join(part.table)
            .join(format!("node={}", part.node))
            .join(format!("date={}", part.date));
        let name = format!("part-{n}.parquet");
        *n += 1;
        let fail = |what: &str, p: &Path, e: io::Error| {
            ParquetError::General(format!("{}: {what}: {e}", display::path(p)))
        };
        fs::create_dir_all(&dir).map_err(|e| fail("cannot create", &dir, e))?;
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = fs::File::create(&tmp).map_err(|e| fail("cannot create", &tmp, e))?;
        let w = export::write_parquet(&part.batch, BufWriter::new(file))?;
        w.into_inner()
            .map_err(|e| fail("cannot write", &tmp, e.into_error()))?
            .sync_all()
            .map_err(|e| fail("cannot write", &tmp, e))?;
        let dest = dir.join(name);
        fs::rename(&tmp, &dest).map_err(|e| fail("cannot rename into place", &dest, e))?;
        self.files += 1;
        Ok(())
    }
}

/// Runs `export`: the exit status as `report`'s (0 all inputs good, 1 some refused or
/// with problems, 2 nothing usable: no directory is then made). The loader advances
/// `progress`; `loaded` is called once the inputs are read, before anything is said on
/// stderr (it clears the progress line).
pub fn run(
    inputs: &[PathBuf],
    format: ExportFormat,
    output: &Path,
    jobs: usize,
    progress: &'static Progress,
    loaded: &dyn Fn(),
) -> Result<u8> {
    let ExportFormat::Parquet = format;
    let limits = Limits {
        workers: jobs,
        progress: Some(progress),
        ..Limits::default()
    };
    let mut out = OutDir::create(output)?;
    let mut ex = Exporter::new();
    // One row per captured cgroup per snapshot: the tables keep every sample, streamed
    // from the fold as each snapshot is folded; the report's own pods are thinned as
    // `report`'s are, and give the pods, containers and volumes tables.
    let mut failed = None;
    let tap = |t: &podmem_analyzer::timeline::TapSample<'_>| {
        if failed.is_none() {
            failed = ex.sample(t, &mut |p| out.write(p)).err();
        }
    };
    let (mut prepared, _) = prepare_tapped(
        inputs,
        &limits,
        jiff::Timestamp::now(),
        &Filter::default(),
        Fold::new(Budget::default()).with_tap(Box::new(tap)),
    );
    loaded();
    if let Some(e) = failed {
        return Err(e.into());
    }
    for input in &prepared.head.inputs {
        for p in &input.problems {
            eprintln!("podmem-analyzer: {}", display::escape(p));
        }
    }
    let code = exit_status_of(&prepared.head.inputs);
    if code == 2 {
        eprintln!("podmem-analyzer: no usable snapshot in the inputs; nothing exported");
        return Ok(code);
    }
    let rows = {
        let mut sink = |p: Part| out.write(p);
        for e in &prepared.head.oom_events {
            ex.oom(e, &mut sink)?;
        }
        while let Some(pod) = prepared.next_pod() {
            ex.pod(&pod, &mut sink)?;
        }
        for f in prepared.finish() {
            ex.finding(&f, &mut sink)?;
        }
        ex.finish(&mut sink)?
    };
    let counts: Vec<String> = export::tables()
        .zip(rows)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    eprintln!(
        "podmem-analyzer: exported {} rows in {} files into {}",
        counts.join(", "),
        out.files,
        display::path(output)
    );
    io::stderr().flush().ok();
    Ok(code)
}
