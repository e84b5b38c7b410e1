//! `/var/log/pods` directory names (`<namespace>_<name>_<uid>/<container>/<n>.log`) →
//! pod names and container names without any API.

use std::collections::BTreeMap;

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
///
/// A line may name the pod directory alone, a container directory, or a log file
/// (`<n>.log`, also rotated `<n>.log.<date>[.gz]`); any leading components before the
/// pod directory (an absolute `/var/log/pods/` prefix, `./`) are skipped. Namespace and
/// pod names cannot contain `_`, so the namespace ends at the first `_` and the UID
/// starts after the last. Lines without a valid pod UID are ignored. The result is
/// sorted by UID, containers by name.
pub fn parse_log_pods(text: &str) -> Vec<LogPod> {
    // uid → (namespace, name, container → max restart count)
    type Entry = (String, String, BTreeMap<String, Option<u32>>);
    let mut pods: BTreeMap<String, Entry> = BTreeMap::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.trim().split('/').filter(|p| !p.is_empty()).collect();
        let Some((idx, (namespace, name, uid))) = parts
            .iter()
            .enumerate()
            .find_map(|(i, p)| pod_dir(p).map(|d| (i, d)))
        else {
            continue;
        };
        let entry = pods
            .entry(uid)
            .or_insert_with(|| (namespace.to_string(), name.to_string(), BTreeMap::new()));
        let Some(container) = parts.get(idx + 1) else {
            continue;
        };
        let restarts = parts.get(idx + 2).and_then(|f| restart_count(f));
        let slot = entry.2.entry(container.to_string()).or_insert(None);
        *slot = (*slot).max(restarts);
    }
    pods.into_iter()
        .map(|(uid, (namespace, name, containers))| LogPod {
            namespace,
            name,
            uid,
            containers: containers.into_iter().collect(),
        })
        .collect()
}

/// Splits a `<namespace>_<name>_<uid>` directory name; None when it is not one.
fn pod_dir(component: &str) -> Option<(&str, &str, String)> {
    let (namespace, rest) = component.split_once('_')?;
    let (name, uid) = rest.rsplit_once('_')?;
    if namespace.is_empty() || name.is_empty() {
        return None;
    }
    Some((namespace, name, super::canonical_pod_uid(uid)?))
}

/// `3.log` → 3; rotated `3.log.20240101-120000` and `3.log.20240101-120000.gz` too.
fn restart_count(file: &str) -> Option<u32> {
    let (n, rest) = file.split_once('.')?;
    if !(rest == "log" || rest.starts_with("log.")) {
        return None;
    }
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing() {
        let pods = parse_log_pods(
            "kube-system_coredns-66bff467f8-abcde_5f5e0b4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/coredns/0.log\n\
             kube-system_coredns-66bff467f8-abcde_5f5e0b4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/coredns/2.log\n\
             kube-system_coredns-66bff467f8-abcde_5f5e0b4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/coredns/1.log.20240101-000000.gz\n\
             /var/log/pods/default_app_0A6D6B05-0e8d-4920-8a38-926a33164d45/sidecar\n\
             default_app_0a6d6b05-0e8d-4920-8a38-926a33164d45\n\
             kube-system_etcd-minikube_5a5fbd34cfb43ee7bee976798370c910/etcd/0.log\n\
             not_a_pod/x/0.log\n\
             garbage\n",
        );
        assert_eq!(pods.len(), 3);
        assert_eq!(pods[0].uid, "0a6d6b05-0e8d-4920-8a38-926a33164d45");
        assert_eq!(pods[0].containers, vec![("sidecar".to_string(), None)]);
        assert_eq!(pods[1].namespace, "kube-system");
        assert_eq!(pods[1].uid, "5a5fbd34cfb43ee7bee976798370c910");
        assert_eq!(pods[1].containers, vec![("etcd".to_string(), Some(0))]);
        assert_eq!(pods[2].name, "coredns-66bff467f8-abcde");
        assert_eq!(pods[2].containers, vec![("coredns".to_string(), Some(2))]);
    }
}
