//! Cgroup path → Kubernetes identity: which pod (canonical dashed UID), QoS class and
//! container a cgroup path names, for every driver and runtime naming (systemd and
//! cgroupfs drivers; containerd, cri-o, docker; static pods; kind's `kubelet.slice`;
//! unknown prefixes above `kubepods`; containerd's `slice:cri-containerd:<id>` form).

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
    /// Not under kubepods.
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
    /// Runtime from the name: `containerd`, `crio`, `docker`.
    pub runtime: Option<String>,
}

/// Identifies the pod, QoS and container a cgroup path belongs to; `level` is
/// [`Level::Other`] for paths outside any kubepods subtree.
pub fn identify(path: &str) -> CgroupIdent {
    let _ = path;
    todo!("parser helper implements")
}

/// Canonical dashed UID from a cgroup-name form (`pod<uid>`, underscores or dashes),
/// or None when it is neither a UUID nor a 32-hex static-pod hash.
pub fn canonical_uid(raw: &str) -> Option<String> {
    let _ = raw;
    todo!("parser helper implements")
}
