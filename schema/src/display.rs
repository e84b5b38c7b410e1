//! The one escaper for text taken from input (archive entry names, cgroup paths, pod
//! and container names, kernel-log text, file names) before it is shown to a person:
//! on a terminal, in the text report and in the HTML report. Control characters (C0,
//! DEL, C1: escape sequences that retitle, clear or write the clipboard of a terminal)
//! and the Unicode bidirectional controls (which reorder what is displayed, so a name
//! could look like another) are shown as `\u{..}`, never passed through.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Unicode bidirectional formatting characters: embeddings and overrides (U+202A..E),
/// isolates (U+2066..9), the implicit marks (U+200E, U+200F, U+061C).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A character that must not reach a display raw.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// `s` with every control and bidi character written as `\u{hex}`; borrowed when there
/// is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    replace_unsafe(
        s,
        |_| false,
        |c, o| {
            let _ = write!(o, "\\u{{{:x}}}", c as u32);
        },
    )
}

/// `s` with every unsafe character that `keep` does not allow written by `mark`;
/// borrowed when there is none. [`escape`] for terminals and text, the HTML report's
/// visible marks: one rule for what is unsafe, each output its own notation.
pub fn replace_unsafe(
    s: &str,
    keep: impl Fn(char) -> bool,
    mark: impl Fn(char, &mut String),
) -> Cow<'_, str> {
    let replaced = |c: char| is_unsafe(c) && !keep(c);
    if !s.chars().any(replaced) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if replaced(c) {
            mark(c, &mut o);
        } else {
            o.push(c);
        }
    }
    Cow::Owned(o)
}

/// A `Display` of a path with [`escape`] applied to its lossy UTF-8 form.
pub fn path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape("plain/name-1"), "plain/name-1");
        assert_eq!(
            escape("a\x1b]0;PWNED\x07b\u{9b}c"),
            "a\\u{1b}]0;PWNED\\u{7}b\\u{9b}c"
        );
        assert_eq!(escape("gpj.\u{202e}exe"), "gpj.\\u{202e}exe");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert!(!escape("x\ny\t").contains(['\n', '\t']));
        assert_eq!(escape("Zürich 東京"), "Zürich 東京");
    }
}
