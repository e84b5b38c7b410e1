//! `/proc/<pid>/mountinfo` → mounts, with octal-escape decoding, and the Kubernetes
//! volume a mount point belongs to.

/// One mountinfo line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount id.
    pub mount_id: u64,
    /// Parent mount id.
    pub parent_id: u64,
    /// `major:minor`.
    pub major_minor: String,
    /// Root of the mount within its filesystem (decoded).
    pub root: String,
    /// Mount point (decoded).
    pub mount_point: String,
    /// Per-mount options.
    pub mount_options: String,
    /// Optional fields (`shared:N`, `master:N`...).
    pub optional: Vec<String>,
    /// Filesystem type.
    pub fs_type: String,
    /// Mount source (decoded).
    pub source: String,
    /// Per-superblock options (may contain commas inside quotes).
    pub super_options: String,
}

impl Mount {
    /// A super option's value (`size` → `Some("65536k")`), honouring quotes.
    pub fn super_option(&self, key: &str) -> Option<String> {
        let _ = key;
        todo!("parser helper implements")
    }
}

/// A Kubernetes pod volume a path names: `.../pods/<uid>/volumes/<plugin>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodVolume {
    /// Canonical pod UID.
    pub pod_uid: String,
    /// Plugin without the `kubernetes.io~` prefix (`empty-dir`, `secret`, `projected`).
    pub plugin: String,
    /// Volume name.
    pub name: String,
}

/// Parses a mountinfo file; returns the mounts and one error per malformed line.
pub fn parse_mountinfo(text: &str) -> (Vec<Mount>, Vec<super::ParseError>) {
    let _ = text;
    todo!("parser helper implements")
}

/// The pod volume a mount point belongs to, whatever the kubelet root dir.
pub fn pod_volume(mount_point: &str) -> Option<PodVolume> {
    let _ = mount_point;
    todo!("parser helper implements")
}

/// Parses a tmpfs `size=` value (`65536k`, `1g`, `104857600`, `50%` → None) into bytes.
pub fn parse_size_option(value: &str) -> Option<u64> {
    let _ = value;
    todo!("parser helper implements")
}
