//! One parser per kernel or kubelet file, each a pure function over text named after
//! the file. Unknown keys are kept or ignored, never fatal; absent values are `None`.

pub mod cgroup_path;
pub mod kmsg;
pub mod kubelet_summary;
pub mod log_pods;
pub mod memory_stat;
pub mod mountinfo;
pub mod proc_files;

use thiserror::Error;

/// A parse failure, naming what was being parsed and why.
#[derive(Debug, Error, PartialEq)]
pub enum ParseError {
    /// A line that does not have the file's shape.
    #[error("{file}: line {line}: {reason}")]
    BadLine {
        /// File (or archive entry) being parsed.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A file whose whole content is unusable.
    #[error("{file}: {reason}")]
    BadFile {
        /// File (or archive entry) being parsed.
        file: String,
        /// What was wrong.
        reason: String,
    },
}

/// Canonical pod UID from a directory-name form (mountinfo, `/var/log/pods`): a UUID
/// with dashes or underscores (lowercased, dashed), or a 32-hex static-pod hash
/// (lowercased); anything else is `None`.
pub(crate) fn canonical_pod_uid(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let is_hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if lower.len() == 32 && is_hex(&lower) {
        return Some(lower);
    }
    let dashed = lower.replace('_', "-");
    let groups: Vec<&str> = dashed.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if groups.len() == lens.len()
        && groups
            .iter()
            .zip(lens)
            .all(|(g, len)| g.len() == len && is_hex(g))
    {
        return Some(dashed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::canonical_pod_uid;

    #[test]
    fn pod_uids() {
        assert_eq!(
            canonical_pod_uid("22697648_CC63_47d6_ba97_fe420988dfc1").as_deref(),
            Some("22697648-cc63-47d6-ba97-fe420988dfc1")
        );
        assert_eq!(
            canonical_pod_uid("5795D0C442CB997FF93C49FEEB9F6386").as_deref(),
            Some("5795d0c442cb997ff93c49feeb9f6386")
        );
        assert_eq!(canonical_pod_uid("2345"), None);
        assert_eq!(canonical_pod_uid("${FILE_UID}"), None);
        assert_eq!(
            canonical_pod_uid("22697648-cc63-47d6-ba97_fe420988dfc1x"),
            None
        );
    }
}
