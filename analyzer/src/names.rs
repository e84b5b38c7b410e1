//! `report --names MAPPING`: puts real names back into a report of redacted snapshots
//! (collector `--redact`), locally, from the mapping file the collector kept next to its
//! key (`{"r-<12 hex>": "name", ...}`). The archives and the analysis stay redacted;
//! only the rendered output changes.
//!
//! A hash is replaced only where it stands as a whole token, and only by a name made of
//! the characters Kubernetes and host names use (letters, digits, `.`, `-`, `_`), so
//! the replacement needs no escaping in text, JSON or HTML, whichever part of the
//! output it lands in. Other names are left hashed and counted.

use std::collections::BTreeMap;
use std::path::Path;

/// Length of a redacted name: `r-` and 12 hex digits.
const HASH_LEN: usize = 14;

/// Why a mapping file cannot be used.
#[derive(Debug)]
pub enum NamesError {
    /// The file could not be read.
    Read {
        /// Mapping file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON object of strings.
    Bad {
        /// Mapping file.
        path: std::path::PathBuf,
        /// Parser message.
        reason: String,
    },
}

impl std::fmt::Display for NamesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NamesError::Read { path, source } => {
                write!(
                    f,
                    "{}: cannot read the name mapping: {source}",
                    path.display()
                )
            }
            NamesError::Bad { path, reason } => write!(
                f,
                "{}: not a name mapping (a JSON object of \"r-<12 hex>\": \"name\"): {reason}",
                path.display()
            ),
        }
    }
}

// The message already holds the io error: no `source()`, so `{:#}` says it once.
impl std::error::Error for NamesError {}

/// Hash → name, keeping only entries that can be put back safely.
#[derive(Debug, Default, Clone)]
pub struct Names {
    map: BTreeMap<String, String>,
    /// Entries left out (a key that is not a hash, or a name with other characters).
    pub unsafe_names: usize,
}

impl Names {
    /// Reads a mapping file.
    pub fn load(path: &Path) -> Result<Names, NamesError> {
        let bytes = std::fs::read(path).map_err(|source| NamesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|e| NamesError::Bad {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Names::from_map(raw))
    }

    /// From hash → name pairs.
    pub fn from_map(raw: BTreeMap<String, String>) -> Names {
        let mut n = Names::default();
        for (h, name) in raw {
            let safe_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if is_hash(h.as_bytes()) && safe_name {
                n.map.insert(h, name);
            } else {
                n.unsafe_names += 1;
            }
        }
        n
    }

    /// Number of names that can be put back.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No usable name.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `out` with every whole-token hash of the mapping replaced by its name; returns
    /// how many were replaced.
    pub fn apply(&self, out: &[u8]) -> (Vec<u8>, usize) {
        let mut res = Vec::with_capacity(out.len());
        let mut replaced = 0;
        let mut i = 0;
        while i < out.len() {
            let at_token = out[i] == b'r'
                && (i == 0 || !is_word(out[i - 1]))
                && out.len() >= i + HASH_LEN
                && is_hash(&out[i..i + HASH_LEN])
                && out.get(i + HASH_LEN).is_none_or(|&b| !is_word(b));
            if at_token {
                let h = std::str::from_utf8(&out[i..i + HASH_LEN]).unwrap_or_default();
                if let Some(name) = self.map.get(h) {
                    res.extend_from_slice(name.as_bytes());
                    replaced += 1;
                    i += HASH_LEN;
                    continue;
                }
            }
            res.push(out[i]);
            i += 1;
        }
        (res, replaced)
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_hash(b: &[u8]) -> bool {
    b.len() == HASH_LEN
        && b.starts_with(b"r-")
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::from_map(
            [
                ("r-0123456789ab", "cache-7d9f8b6c5-x2x4q"),
                ("r-ffffffffffff", "shop"),
                ("r-aaaaaaaaaaaa", "<script>"),
                ("not-a-hash", "x"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        )
    }

    #[test]
    fn whole_tokens_replaced_unsafe_names_left_hashed() {
        let n = names();
        assert_eq!((n.len(), n.unsafe_names), (2, 2));
        let (out, k) = n.apply(
            b"pod r-ffffffffffff/r-0123456789ab \"r-0123456789ab\" r-0123456789abc xr-ffffffffffff r-aaaaaaaaaaaa",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "pod shop/cache-7d9f8b6c5-x2x4q \"cache-7d9f8b6c5-x2x4q\" r-0123456789abc xr-ffffffffffff r-aaaaaaaaaaaa"
        );
        assert_eq!(k, 3);
    }

    #[test]
    fn bad_mapping_names_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.json");
        std::fs::write(&p, "[1,2]").unwrap();
        let e = Names::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("m.json") && e.contains("not a name mapping"),
            "{e}"
        );
        assert!(Names::load(&d.path().join("none")).is_err());
    }
}
