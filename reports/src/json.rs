//! The JSON renderer: a [`Report`] as compact JSON, one line (a day of a full node is
//! hundreds of MiB pretty-printed; `jq .` prints it indented). [`write_streaming`] gives
//! the same bytes while the pods arrive one at a time, so a long series is never held
//! whole; [`render_json`] is the whole-report form.

use std::cell::RefCell;
use std::io::{self, Write};

use podmem_schema::report::{Finding, PodReport, Report};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

/// Renders the whole report as compact JSON followed by a newline.
pub fn render_json(report: &Report) -> Vec<u8> {
    let mut out = serde_json::to_vec(report).expect("report serializes");
    out.push(b'\n');
    out
}

/// Writes the report whose every field but `pods` and `findings` is in `head`: the pods
/// as `pods` yields them, then the findings `findings` gives once the last pod was
/// written. The bytes are those of [`render_json`] of the complete report.
pub fn write_streaming<P, F>(
    w: &mut dyn Write,
    head: &Report,
    pods: P,
    findings: F,
) -> io::Result<()>
where
    P: Iterator<Item = PodReport>,
    F: FnOnce() -> Vec<Finding>,
{
    let streamed = Streamed {
        head,
        pods: RefCell::new(Some(pods)),
        findings: RefCell::new(Some(findings)),
    };
    // serde_json makes many small writes: buffered here, not through `dyn Write`.
    let mut out = io::BufWriter::with_capacity(1 << 20, w);
    serde_json::to_writer(&mut out, &streamed)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// [`Report`]'s fields in its declared order, with the pods and findings produced while
/// they are written.
struct Streamed<'a, P, F> {
    head: &'a Report,
    pods: RefCell<Option<P>>,
    findings: RefCell<Option<F>>,
}

impl<P, F> Serialize for Streamed<'_, P, F>
where
    P: Iterator<Item = PodReport>,
    F: FnOnce() -> Vec<Finding>,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Destructured whole: a field added to `Report` does not compile here until it
        // is written in its place.
        let Report {
            format,
            generated_at,
            analyzer_version,
            inputs,
            nodes,
            pods: _,
            oom_events,
            findings: _,
            oom_events_omitted,
        } = self.head;
        let mut st = s.serialize_struct("Report", 9)?;
        st.serialize_field("format", format)?;
        st.serialize_field("generated_at", generated_at)?;
        st.serialize_field("analyzer_version", analyzer_version)?;
        st.serialize_field("inputs", inputs)?;
        st.serialize_field("nodes", nodes)?;
        st.serialize_field("pods", &Once(&self.pods))?;
        st.serialize_field("oom_events", oom_events)?;
        let findings = self.findings.borrow_mut().take().map(|f| f());
        st.serialize_field("findings", &findings.unwrap_or_default())?;
        match oom_events_omitted {
            Some(o) => st.serialize_field("oom_events_omitted", o)?,
            None => st.skip_field("oom_events_omitted")?,
        }
        st.end()
    }
}

/// An iterator serialized as a sequence, once.
struct Once<'a, I>(&'a RefCell<Option<I>>);

impl<I: Iterator<Item = PodReport>> Serialize for Once<'_, I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.borrow_mut().take() {
            Some(it) => s.collect_seq(it),
            None => s.collect_seq(std::iter::empty::<PodReport>()),
        }
    }
}
