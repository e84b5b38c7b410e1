//! `/var/log/pods` directory names (`<namespace>_<name>_<uid>/<container>/<n>.log`) →
//! pod names and container names without any API.

/// A pod as named by its log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPod {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Canonical UID.
    pub uid: String,
    /// Container names with the highest restart-count file seen for each.
    pub containers: Vec<(String, Option<u32>)>,
}

/// Parses the `logs/pods.txt` listing (one relative path per line).
pub fn parse_log_pods(text: &str) -> Vec<LogPod> {
    let _ = text;
    todo!("parser helper implements")
}
