//! The memory cgroup hierarchy: finding its root (from mountinfo, or `--cgroup-root`),
//! and walking it for the kubepods subtree(s) whatever the driver naming, capturing the
//! memory files of every cgroup found there plus the root and its top-level children.

use std::path::{Path, PathBuf};

use podmem_schema::parse::cgroup_path::{identify, Level};
use podmem_schema::parse::mountinfo::Mount;
use podmem_schema::snapshot::{
    CgroupMode, ContainerEntry, PodEntry, CGROUP_PREFIX, V1_FILES, V2_FILES,
};
use walkdir::WalkDir;

use crate::archive::Entries;
use crate::budget::{Budget, Caps};
use crate::hostpaths::{read_into, HostPaths};

/// Deepest directory visited below the root (kind-in-podman nests kubepods 8 deep,
/// plus pod and container levels).
pub const MAX_DEPTH: usize = 16;

/// The hierarchy to capture.
#[derive(Debug, Clone, PartialEq)]
pub struct CgroupRoot {
    /// v1, v2 or hybrid.
    pub mode: CgroupMode,
    /// Directory to read (on this machine).
    pub dir: PathBuf,
    /// The directory's path inside the hierarchy, as the kernel prints memcg paths.
    pub root_in_hierarchy: String,
    /// How it was found (for the manifest and messages).
    pub how: String,
}

fn is_v1_memory(m: &Mount) -> bool {
    m.fs_type == "cgroup"
        && m.super_options
            .split(',')
            .chain(m.mount_options.split(','))
            .any(|o| o == "memory")
}

fn is_v2(m: &Mount) -> bool {
    m.fs_type == "cgroup2"
}

/// Finds the memory hierarchy from the host mounts: the v1 `memory` controller mount
/// when there is one (hybrid when a cgroup2 mount sits beside it), else the unified
/// cgroup2 mount. Mount points are host paths, resolved under the host root.
pub fn discover(mounts: &[Mount], paths: &HostPaths) -> Result<CgroupRoot, String> {
    let has_v2 = mounts.iter().any(is_v2);
    let pick = |want: fn(&Mount) -> bool| {
        // Prefer the shortest mount point: a nested cgroup mount inside a container
        // tree is never the host's main one.
        mounts
            .iter()
            .filter(|m| want(m))
            .filter(|m| paths.on_host(&m.mount_point).is_dir())
            .min_by_key(|m| m.mount_point.len())
    };
    let (mode, m) = if let Some(m) = pick(is_v1_memory) {
        (
            if has_v2 {
                CgroupMode::Hybrid
            } else {
                CgroupMode::V1
            },
            m,
        )
    } else if let Some(m) = pick(is_v2) {
        (CgroupMode::V2, m)
    } else {
        return Err(format!(
            "no cgroup v1 memory or cgroup2 mount found in the host mountinfo (resolved under {})",
            paths.host_root.display()
        ));
    };
    Ok(CgroupRoot {
        mode,
        dir: paths.on_host(&m.mount_point),
        root_in_hierarchy: normalize_hier(&m.root),
        how: format!("{} mount at {}", m.fs_type, m.mount_point),
    })
}

/// Resolves an explicit `--cgroup-root`: any directory of the hierarchy, treated as the
/// node's root. Its path inside the hierarchy is the mount's root plus the directory's
/// path below the mount point (so a kernel path like `/process_api/abc/kubepods/...`
/// can be related to the archive's `kubepods/...`).
pub fn explicit(dir: &Path, mounts: &[Mount], paths: &HostPaths) -> Result<CgroupRoot, String> {
    if !dir.is_dir() {
        return Err(format!(
            "{}: --cgroup-root is not a directory",
            dir.display()
        ));
    }
    let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let has_v2 = mounts.iter().any(is_v2);
    let best = mounts
        .iter()
        .filter(|m| is_v1_memory(m) || is_v2(m))
        .filter_map(|m| {
            let mp = paths.on_host(&m.mount_point);
            let mp = mp.canonicalize().unwrap_or(mp);
            canon
                .strip_prefix(&mp)
                .ok()
                .map(|rel| (m, rel.to_path_buf(), mp))
        })
        .max_by_key(|(_, _, mp)| mp.as_os_str().len());
    let file_mode = if dir.join("cgroup.controllers").exists() {
        CgroupMode::V2
    } else {
        CgroupMode::V1
    };
    match best {
        Some((m, rel, _)) => {
            let mode = if is_v2(m) {
                CgroupMode::V2
            } else if has_v2 {
                CgroupMode::Hybrid
            } else {
                CgroupMode::V1
            };
            let base = normalize_hier(&m.root);
            let rel = rel.to_string_lossy();
            let hier = if rel.is_empty() {
                base
            } else if base == "/" {
                format!("/{rel}")
            } else {
                format!("{base}/{rel}")
            };
            Ok(CgroupRoot {
                mode,
                dir: dir.to_path_buf(),
                root_in_hierarchy: hier,
                how: format!("--cgroup-root, inside the {} mount at {}", m.fs_type, m.mount_point),
            })
        }
        None => Ok(CgroupRoot {
            mode: file_mode,
            dir: dir.to_path_buf(),
            root_in_hierarchy: "/".into(),
            how: "--cgroup-root (no matching cgroup mount in mountinfo; path inside the hierarchy unknown, assumed /)".into(),
        }),
    }
}

fn normalize_hier(root: &str) -> String {
    let t = root.trim_end_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        t.into()
    }
}

/// Whether a directory name starts a kubepods subtree.
pub fn is_kubepods_name(name: &str) -> bool {
    name == "kubepods" || name.ends_with("kubepods.slice")
}

/// What the walk captured.
#[derive(Debug, Default)]
pub struct WalkOutcome {
    /// Cgroup directories captured (relative paths, "" for the root).
    pub cgroups: Vec<String>,
    /// The kubepods subtree roots (relative).
    pub kubepods: Vec<String>,
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Cgroups or files that vanished mid-walk (normal).
    pub vanished: u64,
    /// Other failures, each naming the path and the reason.
    pub errors: Vec<String>,
    /// Why the walk is incomplete (budget, caps), if it is.
    pub partial: Option<String>,
}

/// Walks the hierarchy under `root`: captures the root, its direct children, and every
/// cgroup of each kubepods subtree, at any depth, never following symlinks nor leaving
/// the filesystem.
pub fn walk(root: &CgroupRoot, budget: &Budget, caps: &Caps, out: &mut Entries) -> WalkOutcome {
    let files: &[&str] = match root.mode {
        CgroupMode::V2 => V2_FILES,
        _ => V1_FILES,
    };
    let mut res = WalkOutcome::default();
    let mut buf = Vec::with_capacity(16 << 10);
    let mut it = WalkDir::new(&root.dir)
        .follow_links(false)
        .same_file_system(true)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_type().is_dir());
    // Relative path prefixes of kubepods roots found so far (walk order is depth-first,
    // so a subtree's members follow its root).
    let mut current_kp: Option<String> = None;
    loop {
        if budget.expired() {
            res.partial = Some(if budget.cancelled() {
                "stopped by signal before the walk finished".into()
            } else {
                format!(
                    "time budget exhausted after {} cgroups; the rest of the tree was not read",
                    res.cgroups.len()
                )
            });
            break;
        }
        let Some(next) = it.next() else { break };
        let ent = match next {
            Ok(e) => e,
            Err(e) => {
                let gone = e.io_error().is_some_and(|io| {
                    io.kind() == std::io::ErrorKind::NotFound
                        || io.raw_os_error() == Some(libc::ENODEV)
                });
                if gone {
                    res.vanished += 1;
                } else {
                    res.errors.push(e.to_string());
                }
                continue;
            }
        };
        let rel = ent
            .path()
            .strip_prefix(&root.dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let in_kp = current_kp
            .as_deref()
            .is_some_and(|kp| rel == kp || rel.starts_with(&format!("{kp}/")));
        if !in_kp {
            current_kp = None;
        }
        let starts_kp =
            !in_kp && ent.depth() > 0 && is_kubepods_name(&ent.file_name().to_string_lossy());
        if starts_kp {
            current_kp = Some(rel.clone());
            res.kubepods.push(rel.clone());
        }
        let capture = ent.depth() <= 1 || in_kp || starts_kp;
        if !capture {
            continue;
        }
        let prefix = if rel.is_empty() {
            CGROUP_PREFIX.to_string()
        } else {
            format!("{CGROUP_PREFIX}{rel}/")
        };
        let mut any = false;
        let mut gone = false;
        for f in files {
            let p = ent.path().join(f);
            match read_into(&p, caps.per_file, &mut buf) {
                Ok(cut) => {
                    if cut {
                        res.errors.push(format!(
                            "{}: cut at the {}-byte file cap",
                            p.display(),
                            caps.per_file
                        ));
                    }
                    let n = buf.len() as u64;
                    if out.push(format!("{prefix}{f}"), buf.clone()) {
                        res.files += 1;
                        res.bytes += n;
                        any = true;
                    } else if res.partial.is_none() {
                        res.partial =
                            Some(format!("total size cap of {} bytes reached", caps.total));
                    }
                }
                // A file this kernel lacks (memsw without swap accounting, peak on old
                // kernels) is not an error.
                Err(e) if e.not_found() => {
                    if !ent.path().exists() {
                        gone = true;
                        break;
                    }
                }
                Err(e) if e.vanished() => {
                    gone = true;
                    break;
                }
                Err(e) => res.errors.push(e.to_string()),
            }
        }
        if gone {
            res.vanished += 1;
        }
        if any {
            res.cgroups.push(rel);
        }
    }
    res
}

/// The pods (and their containers) named by the captured cgroup paths.
pub fn pods_of(cgroups: &[String]) -> Vec<PodEntry> {
    let mut pods: Vec<PodEntry> = Vec::new();
    for rel in cgroups {
        if rel.is_empty() {
            continue;
        }
        let id = identify(&format!("/{rel}"));
        let (Some(uid), Some(pod_path)) = (id.pod_uid.clone(), id.pod_path.clone()) else {
            continue;
        };
        let pod_rel = pod_path.trim_start_matches('/').to_string();
        let idx = match pods
            .iter()
            .position(|p| p.uid == uid && p.cgroup_path == pod_rel)
        {
            Some(i) => i,
            None => {
                pods.push(PodEntry {
                    uid: uid.clone(),
                    qos: id.qos,
                    cgroup_path: pod_rel,
                    containers: Vec::new(),
                });
                pods.len() - 1
            }
        };
        if id.level == Level::Container {
            if let Some(cid) = id.container_id {
                let pod = &mut pods[idx];
                if !pod.containers.iter().any(|c| c.id == cid) {
                    pod.containers.push(ContainerEntry {
                        id: cid,
                        runtime: id.runtime,
                        cgroup_path: rel.clone(),
                    });
                }
            }
        }
    }
    pods
}

#[cfg(test)]
mod tests {
    use super::*;
    use podmem_schema::parse::mountinfo::parse_mountinfo;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for p in ["sys/fs/cgroup/memory/a/b", "sys/fs/cgroup/unified"] {
            std::fs::create_dir_all(d.path().join(p)).unwrap();
        }
        d
    }

    #[test]
    fn discovers_hybrid_memory_mount_under_host_root() {
        let d = tree();
        let paths = HostPaths::new(d.path());
        let (mounts, _) = parse_mountinfo(HYBRID);
        let r = discover(&mounts, &paths).unwrap();
        assert_eq!(r.mode, CgroupMode::Hybrid);
        assert_eq!(r.dir, d.path().join("sys/fs/cgroup/memory"));
        assert_eq!(r.root_in_hierarchy, "/");
    }

    #[test]
    fn explicit_subdir_gets_its_path_inside_the_hierarchy() {
        let d = tree();
        let paths = HostPaths::new(d.path());
        let text = HYBRID.replace(" / /sys/fs/cgroup/memory ", " /ns /sys/fs/cgroup/memory ");
        let (mounts, _) = parse_mountinfo(&text);
        let r = explicit(&d.path().join("sys/fs/cgroup/memory/a/b"), &mounts, &paths).unwrap();
        assert_eq!(r.root_in_hierarchy, "/ns/a/b");
        assert_eq!(r.mode, CgroupMode::Hybrid);
    }

    #[test]
    fn v2_only_and_no_mount() {
        let d = tree();
        let paths = HostPaths::new(d.path());
        let (mounts, _) =
            parse_mountinfo("30 1 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        assert_eq!(discover(&mounts, &paths).unwrap().mode, CgroupMode::V2);
        let (mounts, _) = parse_mountinfo("30 1 0:26 / / rw - ext4 /dev/vda rw\n");
        assert!(discover(&mounts, &paths).unwrap_err().contains("no cgroup"));
    }

    #[test]
    fn kubepods_names() {
        for n in ["kubepods", "kubepods.slice", "kubelet-kubepods.slice"] {
            assert!(is_kubepods_name(n), "{n}");
        }
        for n in [
            "kubepods-burstable.slice",
            "system.slice",
            "kubepods-besteffort",
        ] {
            assert!(!is_kubepods_name(n), "{n}");
        }
    }
}
