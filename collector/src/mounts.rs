//! The host mountinfo and the statfs of every pod tmpfs (memory-backed emptyDir and
//! other tmpfs-backed pod volumes), matched by mount point whatever the kubelet root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use podmem_schema::parse::mountinfo::{parse_size_option, pod_volume, Mount};
use podmem_schema::snapshot::TmpfsUsage;

use crate::hostpaths::{read_small, HostPaths, ReadError};

/// Reads the host mountinfo from the first readable candidate; returns where it came
/// from and its bytes, or every failure.
pub fn read_mountinfo(paths: &HostPaths, cap: u64) -> Result<(PathBuf, Vec<u8>), Vec<ReadError>> {
    let mut errs = Vec::new();
    for p in paths.mountinfo_candidates() {
        match read_small(&p, cap) {
            Ok(b) => return Ok((p, b)),
            Err(e) => errs.push(e),
        }
    }
    Err(errs)
}

/// statfs of every tmpfs mounted on a pod volume path, once per mount point, and of
/// every pod sandbox's `/dev/shm` tmpfs the runtime mounts on the host (containerd
/// `.../sandboxes/<id>/shm`, docker `.../containers/<id>/mounts/shm`, cri-o
/// `.../<id>/userdata/shm`), matched to its pod by the sandbox (pause) container id
/// found in the cgroup tree (`sandbox_pods`: container id → pod UID).
pub fn tmpfs_usage(
    mounts: &[Mount],
    paths: &HostPaths,
    sandbox_pods: &BTreeMap<String, String>,
) -> Vec<TmpfsUsage> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for m in mounts {
        if m.fs_type != "tmpfs" || !seen.insert(m.mount_point.clone()) {
            continue;
        }
        let (pod_uid, volume, plugin) = if let Some(vol) = pod_volume(&m.mount_point) {
            (vol.pod_uid, vol.name, vol.plugin)
        } else if let Some(uid) = shm_sandbox(&m.mount_point).and_then(|id| sandbox_pods.get(id)) {
            (uid.clone(), "dev-shm".to_string(), "shm".to_string())
        } else {
            continue;
        };
        let size_option = m.super_option("size").and_then(|s| parse_size_option(&s));
        let (total_bytes, used_bytes, error) = match statvfs(&paths.on_host(&m.mount_point)) {
            Ok((t, u)) => (Some(t), Some(u), None),
            Err(e) => (None, None, Some(e.to_string())),
        };
        out.push(TmpfsUsage {
            pod_uid,
            volume,
            plugin,
            mount_point: m.mount_point.clone(),
            size_option,
            total_bytes,
            used_bytes,
            error,
        });
    }
    out
}

/// The 64-hex container id of a runtime's sandbox `/dev/shm` mount point.
pub fn shm_sandbox(mount_point: &str) -> Option<&str> {
    let rest = mount_point.strip_suffix("/shm")?;
    let rest = rest
        .strip_suffix("/mounts")
        .or_else(|| rest.strip_suffix("/userdata"))
        .unwrap_or(rest);
    let id = rest.rsplit('/').next()?;
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// A filesystem that could not be measured.
#[derive(Debug, thiserror::Error)]
#[error("{}: statfs: {source}", path.display())]
pub struct StatfsError {
    /// The path given.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

fn statvfs_of(path: &Path) -> Result<rustix::fs::StatVfs, StatfsError> {
    rustix::fs::statvfs(path).map_err(|e| StatfsError {
        path: path.to_path_buf(),
        source: e.into(),
    })
}

/// (total, used) bytes of the filesystem holding `path`.
pub fn statvfs(path: &Path) -> Result<(u64, u64), StatfsError> {
    let st = statvfs_of(path)?;
    let total = st.f_blocks * st.f_frsize;
    let used = st.f_blocks.saturating_sub(st.f_bfree) * st.f_frsize;
    Ok((total, used))
}

/// (free bytes available to us, total bytes) of the filesystem holding `path`.
pub fn free_space(path: &Path) -> Result<(u64, u64), StatfsError> {
    let st = statvfs_of(path)?;
    Ok((st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use podmem_schema::parse::mountinfo::parse_mountinfo;

    #[test]
    fn finds_pod_tmpfs_and_statfs_them() {
        let d = tempfile::tempdir().unwrap();
        let vol = "var/lib/kubelet/pods/0a1b2c3d-0000-4000-8000-000000000001/volumes/kubernetes.io~empty-dir/cache";
        std::fs::create_dir_all(d.path().join(vol)).unwrap();
        let text = format!(
            "100 1 0:50 / /{vol} rw,relatime shared:5 - tmpfs tmpfs rw,size=65536k\n\
             101 1 0:50 / /{vol} rw,relatime shared:5 - tmpfs tmpfs rw,size=65536k\n\
             102 1 0:51 / /dev/shm rw - tmpfs tmpfs rw\n\
             103 1 8:1 / /var/lib/kubelet/pods/0a1b2c3d-0000-4000-8000-000000000001/volumes/kubernetes.io~empty-dir/disk rw - ext4 /dev/vda rw\n"
        );
        let (mounts, errs) = parse_mountinfo(&text);
        assert!(errs.is_empty());
        let t = tmpfs_usage(&mounts, &HostPaths::new(d.path()), &BTreeMap::new());
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].plugin, "empty-dir");
        assert_eq!(t[0].volume, "cache");
        assert_eq!(t[0].size_option, Some(64 << 20));
        assert!(t[0].total_bytes.is_some() && t[0].error.is_none());
    }

    #[test]
    fn sandbox_shm_mounts_map_to_their_pod() {
        let id = "a".repeat(64);
        for mp in [
            format!("/run/containerd/io.containerd.grpc.v1.cri/sandboxes/{id}/shm"),
            format!("/var/lib/docker/containers/{id}/mounts/shm"),
            format!("/run/containers/storage/overlay-containers/{id}/userdata/shm"),
        ] {
            assert_eq!(shm_sandbox(&mp), Some(id.as_str()), "{mp}");
        }
        assert_eq!(shm_sandbox("/dev/shm"), None);
        let d = tempfile::tempdir().unwrap();
        let mp = format!("run/containerd/io.containerd.grpc.v1.cri/sandboxes/{id}/shm");
        std::fs::create_dir_all(d.path().join(&mp)).unwrap();
        let (mounts, _) = parse_mountinfo(&format!(
            "100 1 0:60 / /{mp} rw - tmpfs shm rw,size=65536k\n"
        ));
        let pods = BTreeMap::from([(id.clone(), "uid-1".to_string())]);
        let t = tmpfs_usage(&mounts, &HostPaths::new(d.path()), &pods);
        assert_eq!(t.len(), 1);
        assert_eq!(
            (
                t[0].pod_uid.as_str(),
                t[0].plugin.as_str(),
                t[0].volume.as_str()
            ),
            ("uid-1", "shm", "dev-shm")
        );
        assert!(tmpfs_usage(&mounts, &HostPaths::new(d.path()), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn statfs_error_names_the_path() {
        let e = statvfs(Path::new("/nonexistent/podmem")).unwrap_err();
        assert_eq!(e.path, Path::new("/nonexistent/podmem"));
        assert!(e.to_string().contains("/nonexistent/podmem"), "{e}");
    }
}
