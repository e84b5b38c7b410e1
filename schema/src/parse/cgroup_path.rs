//! Cgroup path → Kubernetes identity: which pod (canonical dashed UID), QoS class and
//! container a cgroup path names, for every driver and runtime naming (systemd and
//! cgroupfs drivers; containerd, cri-o, docker; static pods; kind's `kubelet.slice`;
//! unknown prefixes above `kubepods`; containerd's `slice:cri-containerd:<id>` form).
//!
//! The path may be absolute or relative, may carry any prefix above the kubepods
//! component (a cgroup namespace root, a docker-in-docker or kind node cgroup), and may
//! go deeper than the container (`<id>/kube-proxy`): the identity is read from the
//! components themselves, never from fixed positions.
//!
//! Decisions worth knowing:
//! - cri-o's `crio-conmon-<id>.scope` (the conmon monitor of container `<id>`, a
//!   sibling of `crio-<id>.scope`) is [`Level::Container`] with that id and runtime
//!   `crio-conmon`, so consumers can tell it from the container itself (it belongs in
//!   Σ pod children but is not the container's own memory).
//! - A child of a pod cgroup whose name is not a recognisable container is still
//!   [`Level::Container`], with `container_id` None.
//! - An unrecognised child of kubepods or of a QoS cgroup is [`Level::Other`], with
//!   `kubepods_prefix` (and `qos`) still set.
//! - containerd's colon form (`kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>`,
//!   a literal cgroup name when containerd and the kubelet disagree on the driver) is a
//!   container with no pod cgroup of its own: `pod_path` is None.

use crate::snapshot::Qos;

/// What level of the Kubernetes hierarchy a cgroup path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The kubepods cgroup itself (node allocatable).
    Kubepods,
    /// A QoS class cgroup (burstable or besteffort).
    QosClass,
    /// A pod cgroup.
    Pod,
    /// A container cgroup (direct child of a pod, or deeper).
    Container,
    /// Not a kubepods, QoS, pod or container cgroup: outside any kubepods subtree, or an
    /// unrecognised child of kubepods / a QoS cgroup.
    Other,
}

/// Kubernetes identity of a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupIdent {
    /// Level of this path.
    pub level: Level,
    /// Prefix of the path up to and including the kubepods component (e.g.
    /// `/kubepods.slice` or `/system/docker/kubepods`).
    pub kubepods_prefix: Option<String>,
    /// QoS class, when under kubepods.
    pub qos: Option<Qos>,
    /// Canonical pod UID (dashed; static pods keep their 32-hex hash).
    pub pod_uid: Option<String>,
    /// Pod cgroup path (the path up to and including the pod component).
    pub pod_path: Option<String>,
    /// Full container id.
    pub container_id: Option<String>,
    /// Runtime from the name: `containerd`, `crio`, `docker` (`crio-conmon` for cri-o's
    /// conmon scope; other prefixes verbatim; None for bare cgroupfs ids).
    pub runtime: Option<String>,
}

impl CgroupIdent {
    fn other() -> Self {
        CgroupIdent {
            level: Level::Other,
            kubepods_prefix: None,
            qos: None,
            pod_uid: None,
            pod_path: None,
            container_id: None,
            runtime: None,
        }
    }
}

/// Identifies the pod, QoS and container a cgroup path belongs to; `level` is
/// [`Level::Other`] for paths outside any kubepods subtree.
pub fn identify(path: &str) -> CgroupIdent {
    let path = path.trim();
    // (start, end) byte ranges of the non-empty components, so prefixes keep the
    // caller's spelling (leading slash or not).
    let mut comps: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, b) in path.bytes().enumerate() {
        if b == b'/' {
            if i > start {
                comps.push((start, i));
            }
            start = i + 1;
        }
    }
    if path.len() > start {
        comps.push((start, path.len()));
    }
    let name = |i: usize| &path[comps[i].0..comps[i].1];
    let upto = |i: usize| path[..comps[i].1].to_string();

    let mut id = CgroupIdent::other();
    let kubepods = (0..comps.len()).find(|&i| is_kubepods(name(i)));
    let mut i;
    match kubepods {
        Some(k) => {
            id.level = Level::Kubepods;
            id.kubepods_prefix = Some(upto(k));
            i = k + 1;
            if i < comps.len() {
                if let Some(q) = qos_component(name(i)) {
                    id.qos = Some(q);
                    id.level = Level::QosClass;
                    i += 1;
                }
            }
            if i >= comps.len() {
                return id;
            }
        }
        None => {
            // No kubepods component: only a self-describing pod component counts.
            let Some(p) = (0..comps.len()).find(|&i| {
                let n = name(i);
                colon_form(n).is_some()
                    || (n.contains("kubepods") && pod_slice(n).is_some())
                    || pod_dir(n).is_some()
            }) else {
                return id;
            };
            if p > 0 {
                id.qos = qos_component(name(p - 1));
            }
            i = p;
        }
    }

    let n = name(i);
    if let Some((uid, slice_qos, runtime, cid)) = colon_form(n) {
        id.level = Level::Container;
        id.pod_uid = Some(uid);
        id.qos = id.qos.or(slice_qos);
        id.runtime = Some(runtime);
        id.container_id = Some(cid);
        return id;
    }
    let pod = pod_slice(n).or_else(|| pod_dir(n).map(|uid| (uid, None)));
    let Some((uid, slice_qos)) = pod else {
        id.level = Level::Other;
        return id;
    };
    id.level = Level::Pod;
    id.pod_uid = Some(uid);
    id.pod_path = Some(upto(i));
    id.qos = id.qos.or(slice_qos);
    if id.qos.is_none() && kubepods.is_some() {
        id.qos = Some(Qos::Guaranteed);
    }
    if i + 1 < comps.len() {
        id.level = Level::Container;
        if let Some((runtime, cid)) = container_component(name(i + 1)) {
            id.runtime = runtime;
            id.container_id = Some(cid);
        }
    }
    id
}

/// Canonical dashed UID from a cgroup-name form (`pod<uid>`, underscores or dashes),
/// or None when it is neither a UUID nor a 32-hex static-pod hash.
pub fn canonical_uid(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = s.strip_prefix("pod").unwrap_or(s);
    let b = s.as_bytes();
    match b.len() {
        32 if b.iter().all(u8::is_ascii_hexdigit) => Some(s.to_ascii_lowercase()),
        36 => {
            let mut out = String::with_capacity(36);
            for (i, &c) in b.iter().enumerate() {
                if matches!(i, 8 | 13 | 18 | 23) {
                    if c != b'-' && c != b'_' {
                        return None;
                    }
                    out.push('-');
                } else if c.is_ascii_hexdigit() {
                    out.push(c.to_ascii_lowercase() as char);
                } else {
                    return None;
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// `kubepods`, `kubepods.slice`, or a systemd slice ending in `-kubepods.slice`
/// (kind's `kubelet-kubepods.slice` under its `kubelet.slice` cgroup root).
fn is_kubepods(name: &str) -> bool {
    name == "kubepods" || name == "kubepods.slice" || name.ends_with("-kubepods.slice")
}

/// QoS cgroup: cgroupfs `burstable`/`besteffort`, systemd `<…>-burstable.slice`.
fn qos_component(name: &str) -> Option<Qos> {
    let base = name.strip_suffix(".slice").unwrap_or(name);
    if base == "burstable" || base.ends_with("-burstable") {
        Some(Qos::Burstable)
    } else if base == "besteffort" || base.ends_with("-besteffort") {
        Some(Qos::Besteffort)
    } else {
        None
    }
}

/// systemd pod slice `<…>[-burstable|-besteffort]-pod<uid>.slice` → (uid, qos from the
/// name: Guaranteed when the part before `-pod` is the kubepods slice itself).
fn pod_slice(name: &str) -> Option<(String, Option<Qos>)> {
    let base = name.strip_suffix(".slice")?;
    let at = base.rfind("-pod")?;
    let uid = canonical_uid(&base[at + 4..])?;
    let head = &base[..at];
    let qos = if head.ends_with("-burstable") {
        Some(Qos::Burstable)
    } else if head.ends_with("-besteffort") {
        Some(Qos::Besteffort)
    } else if head == "kubepods" || head.ends_with("-kubepods") {
        Some(Qos::Guaranteed)
    } else {
        None
    };
    Some((uid, qos))
}

/// cgroupfs pod directory `pod<uid>`.
fn pod_dir(name: &str) -> Option<String> {
    name.strip_prefix("pod").and_then(canonical_uid)
}

/// containerd's `<pod slice>:<prefix>:<id>` → (uid, qos, runtime, id).
fn colon_form(name: &str) -> Option<(String, Option<Qos>, String, String)> {
    let mut parts = name.splitn(3, ':');
    let (slice, prefix, cid) = (parts.next()?, parts.next()?, parts.next()?);
    let (uid, qos) = pod_slice(slice)?;
    if !is_container_id(cid) {
        return None;
    }
    Some((uid, qos, runtime_name(prefix), cid.to_ascii_lowercase()))
}

/// Container cgroup name: bare id (cgroupfs) or `<runtime>-<id>[.scope]`.
fn container_component(name: &str) -> Option<(Option<String>, String)> {
    let base = name.strip_suffix(".scope").unwrap_or(name);
    if is_container_id(base) {
        return Some((None, base.to_ascii_lowercase()));
    }
    let at = base.rfind('-')?;
    let (prefix, cid) = (&base[..at], &base[at + 1..]);
    if prefix.is_empty() || !is_container_id(cid) {
        return None;
    }
    Some((Some(runtime_name(prefix)), cid.to_ascii_lowercase()))
}

fn runtime_name(prefix: &str) -> String {
    match prefix {
        "cri-containerd" | "containerd" => "containerd".to_string(),
        other => other.to_string(),
    }
}

/// Container ids are hex (64 for docker/containerd/cri-o); shorter hex is accepted so
/// truncated ids in pastes still identify, but not so short that words match.
fn is_container_id(s: &str) -> bool {
    s.len() >= 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uid_forms() {
        assert_eq!(
            canonical_uid("pod5931aa75_4603_4e65_b552_7c71cf55cfb5").as_deref(),
            Some("5931aa75-4603-4e65-b552-7c71cf55cfb5")
        );
        assert_eq!(
            canonical_uid("5931AA75-4603-4e65-b552-7c71cf55cfb5").as_deref(),
            Some("5931aa75-4603-4e65-b552-7c71cf55cfb5")
        );
        assert_eq!(
            canonical_uid("487a0dc6dccaeefbcfedba7a7ce1ca18").as_deref(),
            Some("487a0dc6dccaeefbcfedba7a7ce1ca18")
        );
        assert_eq!(canonical_uid("db315859-a870-4d77-50f9-02b6"), None);
        assert_eq!(canonical_uid("pod"), None);
        assert_eq!(canonical_uid("5931aa75x4603-4e65-b552-7c71cf55cfb5"), None);
    }
}
