//! The report's pods, OOM events and findings as tidy tables (`samples`, `pods`,
//! `containers`, `tmpfs_volumes`, `oom_events`, `findings`) in Apache Arrow record
//! batches, split by node and UTC day, and their Parquet encoding. It reads only the
//! `podmem-report/1` types, so it follows the report whatever builds it; where the
//! parts go is the binary's business (`export -o DIR`).
//!
//! Every byte figure is a signed 64-bit column (`Int64`): Spark and Trino read no
//! unsigned 64-bit Parquet type as an integer, and no memory figure reaches 2^63. Times
//! are UTC microseconds. The node and the day are the partition (hive-style
//! `node=N/date=YYYY-MM-DD`), not columns of the files: Spark refuses a column that is
//! in both.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use jiff::Timestamp;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use podmem_schema::oom::OomEvent;
use podmem_schema::report::{Finding, MemStats, PodReport};

use crate::timeline::TapSample;

/// Rows of one Parquet row group: large enough for scans to read long runs of a column,
/// small enough that a reader's batch stays a few MiB per column.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Rows buffered per partition before a part file is written.
pub const PART_ROWS: usize = 4 * ROW_GROUP_ROWS;

/// Rows of `samples` held, all partitions together, before the largest partition is
/// written out: samples are streamed as they are folded, so a week or a fleet is
/// exported in the memory of this many rows (a part file of `samples` is at most one
/// row group).
pub const SAMPLE_ROWS_HELD: usize = ROW_GROUP_ROWS;

/// The partition value Hive, Spark and DuckDB read as NULL (a node or time unknown).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Float,
    Text,
    Time,
    Bool,
    TextList,
}

/// The tables, their columns and types: the one place the layout is defined.
const TABLES: [(&str, &[(&str, Kind)]); 6] = [
    (
        "samples",
        &[
            ("time", Kind::Time),
            ("snapshot", Kind::Text),
            ("pod_uid", Kind::Text),
            ("namespace", Kind::Text),
            ("pod_name", Kind::Text),
            ("level", Kind::Text),
            ("container_id", Kind::Text),
            ("container_name", Kind::Text),
            ("cgroup_path", Kind::Text),
            ("usage", Kind::Int),
            ("working_set", Kind::Int),
            ("rss", Kind::Int),
            ("cache", Kind::Int),
            ("shmem", Kind::Int),
            ("inactive_file", Kind::Int),
            ("memory_limit", Kind::Int),
            ("unattributed_usage", Kind::Int),
            ("unattributed_working_set", Kind::Int),
            ("unattributed_rss", Kind::Int),
            ("unattributed_cache", Kind::Int),
            ("unattributed_shmem", Kind::Int),
            ("kubectl_top", Kind::Int),
        ],
    ),
    (
        "pods",
        &[
            ("pod_uid", Kind::Text),
            ("namespace", Kind::Text),
            ("name", Kind::Text),
            ("qos", Kind::Text),
            ("cgroup_path", Kind::Text),
            ("memory_limit", Kind::Int),
            ("first_seen", Kind::Time),
            ("last_seen", Kind::Time),
            ("samples", Kind::Int),
            ("containers", Kind::Int),
            ("max_usage", Kind::Int),
            ("max_working_set", Kind::Int),
            ("max_unattributed_shmem", Kind::Int),
        ],
    ),
    (
        "containers",
        &[
            ("pod_uid", Kind::Text),
            ("container_id", Kind::Text),
            ("name", Kind::Text),
            ("runtime", Kind::Text),
            ("first_seen", Kind::Time),
            ("last_seen", Kind::Time),
            ("gone", Kind::Bool),
            ("last_usage", Kind::Int),
            ("last_working_set", Kind::Int),
            ("last_rss", Kind::Int),
            ("last_cache", Kind::Int),
            ("last_shmem", Kind::Int),
            ("last_inactive_file", Kind::Int),
            ("outside_pod_cgroup", Kind::Text),
        ],
    ),
    (
        "tmpfs_volumes",
        &[
            ("pod_uid", Kind::Text),
            ("name", Kind::Text),
            ("plugin", Kind::Text),
            ("size_bytes", Kind::Int),
            ("mount_point", Kind::Text),
            ("max_used", Kind::Int),
        ],
    ),
    (
        "oom_events",
        &[
            ("time", Kind::Time),
            ("uptime_secs", Kind::Float),
            ("pid", Kind::Int),
            ("comm", Kind::Text),
            ("invoker", Kind::Text),
            ("anon_rss", Kind::Int),
            ("file_rss", Kind::Int),
            ("shmem_rss", Kind::Int),
            ("total_vm", Kind::Int),
            ("oom_score_adj", Kind::Int),
            ("constraint", Kind::Text),
            ("oom_memcg", Kind::Text),
            ("task_memcg", Kind::Text),
            ("scope", Kind::Text),
            ("pod_uid", Kind::Text),
            ("container_id", Kind::Text),
            ("memcg_usage", Kind::Int),
            ("memcg_limit", Kind::Int),
            ("excerpt", Kind::TextList),
            ("source", Kind::Text),
        ],
    ),
    (
        "findings",
        &[
            ("time", Kind::Time),
            ("id", Kind::Text),
            ("severity", Kind::Text),
            ("pod_uid", Kind::Text),
            ("bytes", Kind::Int),
            ("container_ids", Kind::TextList),
            ("title", Kind::Text),
            ("detail", Kind::Text),
            ("recommendation", Kind::Text),
        ],
    ),
];

const SAMPLES: usize = 0;
const PODS: usize = 1;
const CONTAINERS: usize = 2;
const VOLUMES: usize = 3;
const OOMS: usize = 4;
const FINDINGS: usize = 5;

/// The names of the tables, in the order [`schema`] knows them.
pub fn tables() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|(n, _)| *n)
}

/// The Arrow schema of a table, or None for an unknown name.
pub fn schema(table: &str) -> Option<SchemaRef> {
    TABLES
        .iter()
        .find(|(n, _)| *n == table)
        .map(|(_, cols)| schema_of(cols))
}

fn schema_of(cols: &[(&str, Kind)]) -> SchemaRef {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(name, kind)| match kind {
            Kind::Int => Field::new(*name, DataType::Int64, true),
            Kind::Float => Field::new(*name, DataType::Float64, true),
            Kind::Text => Field::new(*name, DataType::Utf8, true),
            Kind::Time => Field::new(
                *name,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Kind::Bool => Field::new(*name, DataType::Boolean, false),
            Kind::TextList => Field::new(
                *name,
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                false,
            ),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// One value of a row, in column order.
enum V<'a> {
    I(Option<u64>),
    Signed(Option<i64>),
    F(Option<f64>),
    S(Option<&'a str>),
    T(Option<Timestamp>),
    B(bool),
    L(&'a [String]),
}

enum Col {
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Time(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
    TextList(ListBuilder<StringBuilder>),
}

/// The rows of one table in one partition not yet handed out.
struct Buffer {
    cols: Vec<Col>,
    rows: usize,
}

impl Buffer {
    fn new(table: usize) -> Buffer {
        let cols = TABLES[table]
            .1
            .iter()
            .map(|(_, k)| match k {
                Kind::Int => Col::Int(Int64Builder::new()),
                Kind::Float => Col::Float(Float64Builder::new()),
                Kind::Text => Col::Text(StringBuilder::new()),
                Kind::Time => Col::Time(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
                Kind::Bool => Col::Bool(BooleanBuilder::new()),
                Kind::TextList => Col::TextList(ListBuilder::new(StringBuilder::new())),
            })
            .collect();
        Buffer { cols, rows: 0 }
    }

    fn push(&mut self, row: &[V<'_>]) {
        debug_assert_eq!(row.len(), self.cols.len());
        for (col, v) in self.cols.iter_mut().zip(row) {
            match (col, v) {
                (Col::Int(b), V::I(x)) => b.append_option(x.map(clamp)),
                (Col::Int(b), V::Signed(x)) => b.append_option(*x),
                (Col::Float(b), V::F(x)) => b.append_option(*x),
                (Col::Text(b), V::S(x)) => b.append_option(*x),
                (Col::Time(b), V::T(x)) => b.append_option(x.map(|t| t.as_microsecond())),
                (Col::Bool(b), V::B(x)) => b.append_value(*x),
                (Col::TextList(b), V::L(xs)) => {
                    for x in xs.iter() {
                        b.values().append_value(x);
                    }
                    b.append(true);
                }
                _ => unreachable!("row values follow TABLES"),
            }
        }
        self.rows += 1;
    }

    fn finish(&mut self, table: usize) -> Result<RecordBatch, ParquetError> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Int(b) => Arc::new(b.finish()),
                    Col::Float(b) => Arc::new(b.finish()),
                    Col::Text(b) => Arc::new(b.finish()),
                    Col::Time(b) => Arc::new(b.finish()),
                    Col::Bool(b) => Arc::new(b.finish()),
                    Col::TextList(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(schema_of(TABLES[table].1), arrays)?)
    }
}

/// The six figures of a [`MemStats`] in the tables' column order.
fn mem(m: &MemStats) -> [V<'_>; 6] {
    [
        V::I(m.usage),
        V::I(m.working_set),
        V::I(m.rss),
        V::I(m.cache),
        V::I(m.shmem),
        V::I(m.inactive_file),
    ]
}

fn clamp(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// A batch of rows of one table for one node and one UTC day.
pub struct Part {
    /// Table name (`samples`, `pods`...).
    pub table: &'static str,
    /// The node partition value, hive-escaped ([`NULL_PARTITION`] when unknown).
    pub node: String,
    /// `YYYY-MM-DD` (UTC), or [`NULL_PARTITION`] for rows without a time.
    pub date: String,
    /// The rows.
    pub batch: RecordBatch,
}

/// Turns pod samples, pods, OOM events and findings into [`Part`]s, handed to `sink`
/// as each partition fills up and by [`Exporter::finish`].
#[derive(Default)]
pub struct Exporter {
    open: BTreeMap<(usize, String, String), Buffer>,
    /// Rows of `samples` in `open`.
    held: usize,
    /// Per node (partition value), the day of its latest sample.
    day: BTreeMap<String, String>,
    /// Per (node, pod UID), what the `pods` row says about all its samples.
    pods: BTreeMap<(String, String), PodStats>,
    /// Rows per table, for the summary.
    pub rows: [u64; 6],
}

/// A pod's samples summed up as they stream by.
#[derive(Default)]
struct PodStats {
    samples: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    max_usage: Option<u64>,
    max_working_set: Option<u64>,
    max_unattributed_shmem: Option<u64>,
}

/// A node name as a hive partition value: bytes other than letters, digits, `.`, `_`
/// and `-` are `%XX`-escaped (as Hive escapes them), so a hostile name cannot make a
/// path.
pub fn partition_value(v: Option<&str>) -> String {
    match v {
        None | Some("") => NULL_PARTITION.to_string(),
        Some(s) => {
            let mut out = String::with_capacity(s.len());
            for b in s.bytes() {
                if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            if out.starts_with('.') {
                out.replace_range(0..1, "%2E");
            }
            out
        }
    }
}

fn date_of(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => t.strftime("%Y-%m-%d").to_string(),
        None => NULL_PARTITION.to_string(),
    }
}

fn as_str<T: serde::Serialize>(v: &T) -> Option<String> {
    match serde_json::to_value(v).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

type Sink<'s> = dyn FnMut(Part) -> Result<(), ParquetError> + 's;

impl Exporter {
    /// An exporter with nothing buffered.
    pub fn new() -> Exporter {
        Exporter::default()
    }

    fn push(
        &mut self,
        table: usize,
        node: &str,
        time: Option<Timestamp>,
        row: &[V<'_>],
        sink: &mut Sink<'_>,
    ) -> Result<(), ParquetError> {
        let key = (table, node.to_string(), date_of(time));
        let buf = self
            .open
            .entry(key.clone())
            .or_insert_with(|| Buffer::new(table));
        buf.push(row);
        self.rows[table] += 1;
        if table == SAMPLES {
            self.held += 1;
            if buf.rows >= ROW_GROUP_ROWS {
                self.flush(&key, sink)?;
            }
            while self.held > SAMPLE_ROWS_HELD {
                let Some(largest) = self
                    .open
                    .iter()
                    .filter(|(k, _)| k.0 == SAMPLES)
                    .max_by_key(|(_, b)| b.rows)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                self.flush(&largest, sink)?;
            }
        } else if buf.rows >= PART_ROWS {
            let batch = buf.finish(table)?;
            sink(Part {
                table: TABLES[table].0,
                node: key.1,
                date: key.2,
                batch,
            })?;
        }
        Ok(())
    }

    /// Hands out the rows of one partition of `samples` and forgets it (its builders'
    /// memory goes with it).
    fn flush(
        &mut self,
        key: &(usize, String, String),
        sink: &mut Sink<'_>,
    ) -> Result<(), ParquetError> {
        let Some(mut buf) = self.open.remove(key) else {
            return Ok(());
        };
        self.held -= buf.rows;
        let batch = buf.finish(key.0)?;
        sink(Part {
            table: TABLES[key.0].0,
            node: key.1.clone(),
            date: key.2.clone(),
            batch,
        })
    }

    /// The `samples` rows of one pod sample (a pod row and a row per live container),
    /// as the fold gives it ([`crate::timeline::Tap`]): names are those known at that
    /// capture. A node's partitions of earlier days are written out when its first
    /// sample of a later day comes (the fold gives each node's samples in capture
    /// order).
    pub fn sample(&mut self, t: &TapSample<'_>, sink: &mut Sink<'_>) -> Result<(), ParquetError> {
        let (pod, s) = (t.pod, t.sample);
        let node = partition_value(Some(&pod.node));
        let date = date_of(s.time);
        if self.day.get(&node) != Some(&date) {
            let earlier: Vec<_> = self
                .open
                .keys()
                .filter(|k| k.0 == SAMPLES && k.1 == node && k.2 != date)
                .cloned()
                .collect();
            for k in earlier {
                self.flush(&k, sink)?;
            }
            self.day.insert(node.clone(), date);
        }
        let st = self
            .pods
            .entry((pod.node.clone(), pod.uid.clone()))
            .or_default();
        st.samples += 1;
        st.first = match (st.first, s.time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        st.last = st.last.max(s.time);
        st.max_usage = st.max_usage.max(s.pod.usage);
        st.max_working_set = st.max_working_set.max(s.pod.working_set);
        st.max_unattributed_shmem = st.max_unattributed_shmem.max(s.unattributed.shmem);
        let uid = Some(pod.uid.as_str());
        let (ns, pname) = (pod.namespace.as_deref(), pod.name.as_deref());
        let head = |level: &'static str| {
            [
                V::T(s.time),
                V::S(Some(t.archive)),
                V::S(uid),
                V::S(ns),
                V::S(pname),
                V::S(Some(level)),
            ]
        };
        let u = &s.unattributed;
        let mut row: Vec<V<'_>> = head("pod").into_iter().collect();
        row.extend([V::S(None), V::S(None), V::S(pod.cgroup_path.as_deref())]);
        row.extend(mem(&s.pod));
        row.push(V::I(s.limit));
        // The unattributed columns are the first five figures (no inactive file).
        row.extend(mem(u).into_iter().take(5));
        row.push(V::I(s.kubectl_top));
        self.push(SAMPLES, &node, s.time, &row, sink)?;
        for (cid, m) in &s.containers {
            let outside = pod
                .containers
                .iter()
                .find(|c| c.id == *cid)
                .and_then(|c| c.outside_pod_cgroup.as_deref());
            let mut row: Vec<V<'_>> = head("container").into_iter().collect();
            row.extend([
                V::S(Some(cid.as_str())),
                V::S(t.container_names.get(cid).map(String::as_str)),
                V::S(outside),
            ]);
            row.extend(mem(m));
            row.extend((0..7).map(|_| V::I(None)));
            self.push(SAMPLES, &node, s.time, &row, sink)?;
        }
        Ok(())
    }

    /// The rows of one pod: the pod, its containers and its tmpfs volumes (its samples
    /// came through [`Exporter::sample`], which the `pods` row sums up). The pod, its
    /// containers and volumes go to the day the pod was first seen (a container to its
    /// own).
    pub fn pod(&mut self, pod: &PodReport, sink: &mut Sink<'_>) -> Result<(), ParquetError> {
        let node = partition_value(Some(&pod.node));
        let uid = Some(pod.uid.as_str());
        let ns = pod.namespace.as_deref();
        let pname = pod.name.as_deref();
        let st = self
            .pods
            .remove(&(pod.node.clone(), pod.uid.clone()))
            .unwrap_or_default();
        let (first, last) = (st.first, st.last);
        let qos = pod.qos.as_ref().and_then(as_str);
        self.push(
            PODS,
            &node,
            first,
            &[
                V::S(uid),
                V::S(ns),
                V::S(pname),
                V::S(qos.as_deref()),
                V::S(pod.cgroup_path.as_deref()),
                V::I(pod.limit),
                V::T(first),
                V::T(last),
                V::I(Some(st.samples)),
                V::I(Some(pod.containers.len() as u64)),
                V::I(st.max_usage),
                V::I(st.max_working_set),
                V::I(st.max_unattributed_shmem),
            ],
            sink,
        )?;
        for c in &pod.containers {
            let mut row = vec![
                V::S(uid),
                V::S(Some(c.id.as_str())),
                V::S(c.name.as_deref()),
                V::S(c.runtime.as_deref()),
                V::T(c.first_seen),
                V::T(c.last_seen),
                V::B(c.gone),
            ];
            row.extend(mem(&c.last));
            row.push(V::S(c.outside_pod_cgroup.as_deref()));
            self.push(CONTAINERS, &node, c.first_seen, &row, sink)?;
        }
        for v in &pod.volumes {
            self.push(
                VOLUMES,
                &node,
                first,
                &[
                    V::S(uid),
                    V::S(Some(v.name.as_str())),
                    V::S(Some(v.plugin.as_str())),
                    V::I(v.size_bytes),
                    V::S(Some(v.mount_point.as_str())),
                    V::I(v.max_used),
                ],
                sink,
            )?;
        }
        Ok(())
    }

    /// The row of one OOM kill.
    pub fn oom(&mut self, e: &OomEvent, sink: &mut Sink<'_>) -> Result<(), ParquetError> {
        let node = partition_value(e.node.as_deref());
        let scope = as_str(&e.scope);
        self.push(
            OOMS,
            &node,
            e.time,
            &[
                V::T(e.time),
                V::F(e.uptime_secs),
                V::I(e.pid.map(u64::from)),
                V::S(e.comm.as_deref()),
                V::S(e.invoker.as_deref()),
                V::I(e.anon_rss),
                V::I(e.file_rss),
                V::I(e.shmem_rss),
                V::I(e.total_vm),
                V::Signed(e.oom_score_adj),
                V::S(e.constraint.as_deref()),
                V::S(e.oom_memcg.as_deref()),
                V::S(e.task_memcg.as_deref()),
                V::S(scope.as_deref()),
                V::S(e.pod_uid.as_deref()),
                V::S(e.container_id.as_deref()),
                V::I(e.memcg_usage),
                V::I(e.memcg_limit),
                V::L(&e.excerpt),
                V::S(e.source.as_deref()),
            ],
            sink,
        )
    }

    /// The row of one finding.
    pub fn finding(&mut self, f: &Finding, sink: &mut Sink<'_>) -> Result<(), ParquetError> {
        let node = partition_value(Some(&f.node));
        let severity = as_str(&f.severity);
        self.push(
            FINDINGS,
            &node,
            f.time,
            &[
                V::T(f.time),
                V::S(Some(f.id.as_str())),
                V::S(severity.as_deref()),
                V::S(f.pod_uid.as_deref()),
                V::I(f.bytes),
                V::L(&f.container_ids),
                V::S(Some(f.title.as_str())),
                V::S(Some(f.detail.as_str())),
                V::S(Some(f.recommendation.as_str())),
            ],
            sink,
        )
    }

    /// Hands out every partition still buffered, and an empty part for a table without
    /// rows (in the NULL partition), so that engines find every table with its schema.
    pub fn finish(mut self, sink: &mut Sink<'_>) -> Result<[u64; 6], ParquetError> {
        for (table, rows) in self.rows.iter().enumerate() {
            if *rows == 0 {
                let key = (table, NULL_PARTITION.into(), NULL_PARTITION.into());
                self.open.insert(key, Buffer::new(table));
            }
        }
        for ((table, node, date), mut buf) in std::mem::take(&mut self.open) {
            // A partition flushed at PART_ROWS and not refilled.
            if buf.rows == 0 && self.rows[table] > 0 {
                continue;
            }
            let batch = buf.finish(table)?;
            sink(Part {
                table: TABLES[table].0,
                node,
                date,
                batch,
            })?;
        }
        Ok(self.rows)
    }
}

/// Writes one batch as a Parquet file: snappy-compressed, row groups of
/// [`ROW_GROUP_ROWS`], column statistics for pruning.
pub fn write_parquet<W: Write + Send>(batch: &RecordBatch, w: W) -> Result<W, ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("podmem-analyzer {}", crate::VERSION))
        .build();
    let mut writer = ArrowWriter::try_new(w, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use podmem_schema::report::PodSample;

    fn pod(node: &str, uid: &str) -> PodReport {
        PodReport {
            node: node.into(),
            uid: uid.into(),
            namespace: None,
            name: None,
            qos: None,
            cgroup_path: Some(format!("kubepods/pod{uid}")),
            limit: None,
            containers: Vec::new(),
            volumes: Vec::new(),
            samples: Vec::new(),
            transitions: Vec::new(),
        }
    }

    /// Nodes and days interleaved, as bundles give them: every row is written once, no
    /// part is larger than a row group, and never more than `SAMPLE_ROWS_HELD` rows
    /// are held.
    #[test]
    fn samples_stream_in_bounded_memory() {
        let pods: Vec<PodReport> = (0..3).map(|n| pod(&format!("n{n}"), "u")).collect();
        let names = BTreeMap::new();
        let mut ex = Exporter::new();
        let mut parts: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut largest = 0;
        let start: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let per = 150_000;
        let mut sink = |p: Part| {
            largest = largest.max(p.batch.num_rows());
            *parts.entry((p.node, p.date)).or_default() += p.batch.num_rows();
            Ok(())
        };
        for i in 0..per {
            // Three days per node, each node's samples in capture order.
            let t = start + jiff::SignedDuration::from_secs(i as i64 * 3 * 86_400 / per as i64);
            for p in &pods {
                let s = PodSample {
                    time: Some(t),
                    ..PodSample::default()
                };
                let tap = TapSample {
                    archive: "a.tar.gz",
                    pod: p,
                    container_names: &names,
                    sample: &s,
                };
                ex.sample(&tap, &mut sink).unwrap();
                assert!(ex.held <= SAMPLE_ROWS_HELD, "{} rows held", ex.held);
            }
        }
        for p in &pods {
            ex.pod(p, &mut sink).unwrap();
        }
        let rows = ex.finish(&mut sink).unwrap();
        assert_eq!(rows[SAMPLES], 3 * per as u64);
        assert!(largest <= ROW_GROUP_ROWS, "a part of {largest} rows");
        let samples: usize = parts
            .iter()
            .filter(|((n, _), _)| n.starts_with('n'))
            .map(|(_, r)| r)
            .sum();
        // The pods rows (one per pod) are in the same partitions.
        assert_eq!(samples, 3 * per + 3);
        for n in 0..3 {
            let days = parts
                .keys()
                .filter(|(node, _)| *node == format!("n{n}"))
                .count();
            assert_eq!(days, 3, "{parts:?}");
        }
    }
}
