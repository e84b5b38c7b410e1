//! Pure renderers from a [`podmem_schema::report::Report`] to bytes: HTML (minijinja
//! templates embedded in the binary, autoescaped), JSON and text.
#![deny(missing_docs)]

use podmem_schema::report::Report;

pub mod html;
pub mod text;
pub use html::render_html;
pub use text::render_text;

/// Renders the report as compact JSON (`podmem-report/1`), one line: a day of a full
/// node is hundreds of MiB pretty-printed; `jq .` prints it indented.
pub fn render_json(report: &Report) -> Vec<u8> {
    let mut out = serde_json::to_vec(report).expect("report serializes");
    out.push(b'\n');
    out
}
