//! Pure renderers from a [`podmem_schema::report::Report`] to bytes: HTML (minijinja
//! templates embedded in the binary, autoescaped), JSON and text.
#![deny(missing_docs)]

mod downsample;
pub mod html;
pub mod json;
pub mod text;
pub use html::render_html;
pub use json::render_json;
pub use text::render_text;
