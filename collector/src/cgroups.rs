//! The memory cgroup hierarchy: finding its root (from mountinfo, or `--cgroup-root`),
//! and walking it for the kubepods subtree(s) whatever the driver naming, and for pod and
//! container cgroups wherever else their names put them (containerd's
//! `/system.slice/containerd.service/<pod slice>:cri-containerd:<id>` when it and the
//! kubelet disagree on the cgroup driver), capturing the memory files of every cgroup
//! found there plus the root and its top-level children.

use std::path::{Path, PathBuf};

use podmem_schema::cgroup_files;
use podmem_schema::parse::cgroup_path::{identify, Level};
use podmem_schema::parse::mountinfo::Mount;
use podmem_schema::snapshot::{CgroupMode, ContainerEntry, PodEntry, V1_FILES, V2_FILES};

use crate::archive::Entries;
use crate::budget::{Budget, Caps};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use crate::hostpaths::HostPaths;

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

/// Why no hierarchy could be captured.
#[derive(Debug, thiserror::Error)]
pub enum CgroupRootError {
    /// No memory cgroup mount in the host mountinfo.
    #[error(
        "no cgroup v1 memory or cgroup2 mount found in the host mountinfo (resolved under {})",
        host_root.display()
    )]
    NoMount {
        /// The host root the mount points were resolved under.
        host_root: PathBuf,
    },
    /// `--cgroup-root` names no directory.
    #[error("{}: --cgroup-root is not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
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
pub fn discover(mounts: &[Mount], paths: &HostPaths) -> Result<CgroupRoot, CgroupRootError> {
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
        return Err(CgroupRootError::NoMount {
            host_root: paths.host_root.clone(),
        });
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
/// path below the mount point (so a kernel path like `/machine.slice/abc/kubepods/...`
/// can be related to the archive's `kubepods/...`).
pub fn explicit(
    dir: &Path,
    mounts: &[Mount],
    paths: &HostPaths,
) -> Result<CgroupRoot, CgroupRootError> {
    if !dir.is_dir() {
        return Err(CgroupRootError::NotADirectory {
            path: dir.to_path_buf(),
        });
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

/// Whether a directory name, on its own, names a pod or a container of a pod (a pod
/// slice, `pod<uid>`, or containerd's `<pod slice>:<prefix>:<id>`): such a cgroup is
/// captured with its subtree wherever it sits, since the name, not the position, says
/// what it is.
pub fn is_pod_name(name: &str) -> bool {
    let id = identify(name);
    id.pod_uid.is_some() && matches!(id.level, Level::Pod | Level::Container)
}

/// What the walk captured.
#[derive(Debug, Default)]
pub struct WalkOutcome {
    /// Cgroup directories captured (relative paths, "" for the root).
    pub cgroups: Vec<String>,
    /// The kubepods subtree roots (relative).
    pub kubepods: Vec<String>,
    /// Pod or container cgroups found outside every kubepods subtree (relative), each
    /// captured with its subtree.
    pub outside: Vec<String>,
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

/// Threads reading cgroup files: the cost is per-file syscalls in the kernel, and two
/// readers halve the wall time of a 400-cgroup node on two cores, which keeps the
/// snapshot a consistent moment.
const READERS: usize = 2;

/// One cgroup directory's files as read.
#[derive(Debug, Default)]
struct DirRead {
    /// The files read, as one `files.podmem` entry (format 2).
    pack: Vec<u8>,
    /// Files in `pack`, and their bytes.
    files: u64,
    bytes: u64,
    cut: Vec<String>,
    errors: Vec<String>,
    gone: bool,
}

/// A cgroup (or one of its files) that vanished while being read: normal on a live
/// node, never an error.
fn is_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENODEV)
}

/// Orders relative paths component by component (the depth-first order, children by
/// name): byte order with `/` below every other byte, which is the same since names hold
/// no NUL, without splitting the paths on every comparison.
fn cmp_components(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |c: &u8| if *c == b'/' { 0 } else { *c };
    a.as_bytes()
        .iter()
        .map(key)
        .cmp(b.as_bytes().iter().map(key))
}

/// A cgroup file name, and the same as a C string for `openat` (made once per walk, not
/// once per directory, and passed to the kernel without a copy).
type CName = (&'static str, std::ffi::CString);

fn c_names(files: &[&'static str]) -> Vec<CName> {
    files
        .iter()
        .map(|f| {
            (
                *f,
                std::ffi::CString::new(*f).expect("no NUL in a kernel file name"),
            )
        })
        .collect()
}

/// Reads `files` of one cgroup directory through a directory fd (no per-file path walk
/// from `/`, and the directory cannot be swapped for a symlink between reads).
fn read_cgroup_dir(dir: &Path, files: &[CName], cap: u64, buf: &mut Vec<u8>) -> DirRead {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    let mut r = DirRead::default();
    let dfd = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
    {
        Ok(d) => d,
        Err(e) => {
            if is_gone(&e) {
                r.gone = true;
            } else {
                r.errors.push(format!("{}: {e}", dir.display()));
            }
            return r;
        }
    };
    for (f, name) in files {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let file = match rustix::fs::openat(&dfd, name.as_c_str(), flags, Mode::empty()) {
            Ok(fd) => std::fs::File::from(fd),
            // This kernel lacks the file (memsw without swap accounting, peak on old
            // kernels): not an error.
            Err(Errno::NOENT) => continue,
            Err(Errno::NODEV) => {
                r.gone = true;
                break;
            }
            Err(e) => {
                let e = std::io::Error::from(e);
                r.errors.push(format!("{}: {e}", dir.join(f).display()));
                continue;
            }
        };
        buf.clear();
        match std::io::Read::read_to_end(&mut std::io::Read::take(&file, cap + 1), buf) {
            Ok(_) => {
                if buf.len() as u64 > cap {
                    buf.truncate(cap as usize);
                    r.cut.push(format!(
                        "{}: cut at the {cap}-byte file cap",
                        dir.join(f).display()
                    ));
                }
                podmem_schema::cgroup_files::push(&mut r.pack, f, buf);
                r.files += 1;
                r.bytes += buf.len() as u64;
            }
            Err(e) if is_gone(&e) => {
                r.gone = true;
                break;
            }
            Err(e) => r.errors.push(format!("{}: {e}", dir.join(f).display())),
        }
    }
    r
}

/// The directory listing of the walk: which cgroups exist below the root, and which of
/// them to capture. Only directories are kept (a cgroup directory holds dozens of
/// files, and a walker that made an entry for each was a fifth of the collector's own
/// time); symlinks are never followed and another filesystem is never entered.
struct Lister<'a> {
    budget: &'a Budget,
    /// Device of the root, when it could be read.
    root_dev: Option<u64>,
    /// The root itself is in a kubepods subtree: capture everything.
    root_in_kp: bool,
    /// (relative path, path) of each directory to capture.
    dirs: Vec<(String, PathBuf)>,
    res: &'a mut WalkOutcome,
    /// The time budget ran out (or a signal came) during the listing.
    stopped: bool,
}

impl Lister<'_> {
    /// Records a failure at `path`: a cgroup that vanished (normal) or an error.
    fn failed(&mut self, path: &Path, e: &std::io::Error) {
        if is_gone(e) {
            self.res.vanished += 1;
        } else {
            self.res.errors.push(format!("{}: {e}", path.display()));
        }
    }

    /// Lists `dir` (at `depth` below the root; `in_kp` when inside a kubepods subtree)
    /// and the directories below it, depth first.
    fn visit(&mut self, dir: &Path, rel: &str, depth: usize, in_kp: bool) {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => return self.failed(dir, &e),
        };
        for ent in rd {
            if self.stopped {
                return;
            }
            let ent = match ent {
                Ok(e) => e,
                Err(e) => {
                    self.failed(dir, &e);
                    continue;
                }
            };
            // The type from the directory entry itself (no stat); a symlink is a
            // symlink here, never what it points to.
            if !ent.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            // The clock once per directory, not per file (a cgroup holds dozens).
            if self.budget.expired() {
                self.stopped = true;
                return;
            }
            let path = ent.path();
            if let Some(dev) = self.root_dev {
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.dev() == dev => {}
                    Ok(_) => continue,
                    Err(e) => {
                        self.failed(&path, &e);
                        continue;
                    }
                }
            }
            let name = ent.file_name();
            let name = name.to_string_lossy();
            let child_rel = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let starts_kp = !in_kp && is_kubepods_name(&name);
            if starts_kp {
                self.res.kubepods.push(child_rel.clone());
            }
            let starts_pod = !in_kp && !starts_kp && !self.root_in_kp && is_pod_name(&name);
            if starts_pod {
                self.res.outside.push(child_rel.clone());
            }
            let starts_kp = starts_kp || starts_pod;
            let child_depth = depth + 1;
            if child_depth <= 1 || in_kp || starts_kp || self.root_in_kp {
                self.dirs.push((child_rel.clone(), path.clone()));
            }
            if child_depth < MAX_DEPTH {
                self.visit(&path, &child_rel, child_depth, in_kp || starts_kp);
            }
        }
    }
}

/// Walks the hierarchy under `root`: captures the root, its direct children, and every
/// cgroup of each kubepods subtree, at any depth, never following symlinks nor leaving
/// the filesystem.
pub fn walk(root: &CgroupRoot, budget: &Budget, caps: &Caps, out: &mut Entries) -> WalkOutcome {
    let files: &[&'static str] = match root.mode {
        CgroupMode::V2 => V2_FILES,
        _ => V1_FILES,
    };
    let mut res = WalkOutcome::default();
    let budget_note = |res: &WalkOutcome, n: usize| {
        if budget.cancelled() {
            "stopped by signal before the walk finished".to_string()
        } else {
            format!(
                "time budget exhausted after {} cgroups; the rest of the tree was not read",
                res.cgroups.len().max(n)
            )
        }
    };

    // 1. Which directories to capture (directory listing only, cheap).
    // A root that is itself in a kubepods subtree (`--cgroup-root .../kubepods.slice`)
    // is all captured.
    let root_in_kp = root.root_in_hierarchy.split('/').any(is_kubepods_name)
        || root
            .dir
            .file_name()
            .is_some_and(|n| is_kubepods_name(&n.to_string_lossy()));
    if root_in_kp {
        res.kubepods.push(String::new());
    }
    let mut lister = Lister {
        budget,
        root_dev: std::fs::symlink_metadata(&root.dir).ok().map(|m| m.dev()),
        root_in_kp,
        dirs: vec![(String::new(), root.dir.clone())],
        res: &mut res,
        stopped: false,
    };
    lister.visit(&root.dir, "", 0, false);
    let stopped = lister.stopped;
    let mut dirs = lister.dirs;
    if stopped {
        res.partial = Some(budget_note(&res, dirs.len()));
    }

    // Sorted once here rather than per directory in the walk: component by component,
    // which is the depth-first order with children by name.
    dirs.sort_unstable_by(|a, b| cmp_components(&a.0, &b.0));
    res.kubepods.sort_by(|a, b| cmp_components(a, b));
    res.outside.sort_by(|a, b| cmp_components(a, b));

    // 2. Read their files, in contiguous chunks per reader so the order stays the walk's.
    let chunk = dirs.len().div_ceil(READERS).max(1);
    let names = c_names(files);
    let names = &names;
    let results: Vec<Vec<DirRead>> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut buf = Vec::with_capacity(16 << 10);
                    let mut v = Vec::with_capacity(part.len());
                    for (_, path) in part {
                        if budget.expired() {
                            break;
                        }
                        v.push(read_cgroup_dir(path, names, caps.per_file, &mut buf));
                    }
                    v
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let read_count: usize = results.iter().map(Vec::len).sum();
    if read_count < dirs.len() && res.partial.is_none() {
        res.partial = Some(budget_note(&res, read_count));
    }
    let chunks = dirs.chunks(chunk);
    for (part, reads) in chunks.zip(results) {
        for ((rel, _), r) in part.iter().zip(reads) {
            if r.gone {
                res.vanished += 1;
            }
            res.errors.extend(r.errors);
            res.errors.extend(r.cut);
            if r.files == 0 {
                continue;
            }
            // A cgroup counts as captured only when its entry is in the archive.
            if out.push(cgroup_files::entry_name(rel), r.pack) {
                res.files += r.files;
                res.bytes += r.bytes;
                res.cgroups.push(rel.clone());
            } else if res.partial.is_none() {
                res.partial = Some(format!("total size cap of {} bytes reached", caps.total));
            }
        }
    }
    res
}

/// The pods (and their containers) named by the captured cgroup paths. Paths are
/// identified as the kernel names them (`root_in_hierarchy` + relative path), so a root
/// inside a kubepods subtree, or below unknown prefixes, still yields its pods; the
/// paths recorded are relative to the root again. A container cgroup outside its pod
/// cgroup (containerd's colon form) is listed under the pod of the UID its name carries,
/// with its own path, when that pod's cgroup was captured.
pub fn pods_of(cgroups: &[String], root_in_hierarchy: &str) -> Vec<PodEntry> {
    let base = root_in_hierarchy.trim_end_matches('/');
    let to_rel = |hier: &str| -> String {
        hier.strip_prefix(base)
            .unwrap_or(hier)
            .trim_start_matches('/')
            .to_string()
    };
    let mut pods: Vec<PodEntry> = Vec::new();
    let mut outside: Vec<(String, ContainerEntry)> = Vec::new();
    for rel in cgroups {
        if rel.is_empty() && base.is_empty() {
            continue;
        }
        let full = if rel.is_empty() {
            base.to_string()
        } else {
            format!("{base}/{rel}")
        };
        let id = identify(&full);
        let (Some(uid), Some(pod_path)) = (id.pod_uid.clone(), id.pod_path.clone()) else {
            // The container's own directory (its name carries pod and id), not the
            // sub-cgroups below it, which name the same container.
            let own = rel.rsplit('/').next().is_some_and(is_pod_name);
            if let (true, Some(uid), Some(cid), Level::Container) =
                (own, id.pod_uid, id.container_id, id.level)
            {
                outside.push((
                    uid,
                    ContainerEntry {
                        id: cid,
                        runtime: id.runtime,
                        cgroup_path: rel.clone(),
                    },
                ));
            }
            continue;
        };
        // A pod cgroup above the root (root inside a pod) is not ours to report.
        if pod_path.len() < base.len() {
            continue;
        }
        let pod_rel = to_rel(&pod_path);
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
                // By id and runtime: cri-o's conmon scope carries its container's id
                // and must not take the container's place.
                if !pod
                    .containers
                    .iter()
                    .any(|c| c.id == cid && c.runtime == id.runtime)
                {
                    pod.containers.push(ContainerEntry {
                        id: cid,
                        runtime: id.runtime,
                        cgroup_path: rel.clone(),
                    });
                }
            }
        }
    }
    for (uid, c) in outside {
        if let Some(pod) = pods.iter_mut().find(|p| p.uid == uid) {
            if !pod.containers.iter().any(|x| x.id == c.id) {
                pod.containers.push(c);
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
        let e = discover(&mounts, &paths).unwrap_err();
        assert!(matches!(e, CgroupRootError::NoMount { .. }));
        assert!(e.to_string().contains("no cgroup"), "{e}");
    }

    fn v1_root(dir: &Path) -> CgroupRoot {
        CgroupRoot {
            mode: CgroupMode::V1,
            dir: dir.to_path_buf(),
            root_in_hierarchy: "/".into(),
            how: "test".into(),
        }
    }

    #[test]
    fn walk_finds_nested_kubepods_and_never_follows_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let pod = "system/docker/kubepods/burstable/pod0a1b2c3d-0000-4000-8000-000000000001";
        let cid = "ab".repeat(32);
        for rel in [
            "",
            "system",
            "system/docker",
            pod,
            &format!("{pod}/{cid}"),
            "other/deep/x",
        ] {
            let p = d.path().join(rel);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("memory.stat"), "rss 1\n").unwrap();
            std::fs::write(p.join("memory.kmem.slabinfo"), "never read").unwrap();
        }
        // A symlink to a kubepods tree elsewhere must not be walked.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(elsewhere.path().join("kubepods/podx")).unwrap();
        std::fs::write(elsewhere.path().join("kubepods/memory.stat"), "rss 1\n").unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("kubepods"), d.path().join("kubepods"))
            .unwrap();
        let mut out = Entries::new(1 << 20);
        let w = walk(
            &v1_root(d.path()),
            &Budget::new(std::time::Duration::from_secs(5), None),
            &Caps::default(),
            &mut out,
        );
        assert_eq!(w.kubepods, ["system/docker/kubepods"]);
        // root, the top-level `system` (`other` holds no files; `other/deep/x` is
        // neither top-level nor kubepods), the pod and its container; kubepods and
        // burstable hold no files here.
        assert_eq!(w.cgroups, ["", "system", pod, &format!("{pod}/{cid}")]);
        assert!(out.iter().all(|(n, _)| !n.contains("slabinfo")));
        let pods = pods_of(&w.cgroups, "/");
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].cgroup_path, pod);
        assert_eq!(pods[0].containers[0].id, cid);
    }

    #[test]
    fn walk_finds_containers_outside_the_pod_cgroup_by_their_names() {
        // The real containerd 1.4.4 path (fixtures/realworld/cgroup_paths, neuvector),
        // with the kubelet's (empty) pod slice where the systemd driver puts it.
        let uid = "2105e389-7471-476e-a50f-6074cef29bbd";
        let cid = "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e";
        let slice = format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_"));
        let pod = format!("kubepods.slice/kubepods-besteffort.slice/{slice}");
        let colon = format!("system.slice/containerd.service/{slice}:cri-containerd:{cid}");
        let d = tempfile::tempdir().unwrap();
        for rel in [
            "",
            "kubepods.slice",
            "kubepods.slice/kubepods-besteffort.slice",
            &pod,
            "system.slice",
            "system.slice/containerd.service",
            &colon,
            &format!("{colon}/sub"),
            "system.slice/other.service/pod-like",
        ] {
            let p = d.path().join(rel);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("memory.stat"), "rss 1\n").unwrap();
        }
        let mut out = Entries::new(1 << 20);
        let w = walk(
            &v1_root(d.path()),
            &Budget::new(std::time::Duration::from_secs(5), None),
            &Caps::default(),
            &mut out,
        );
        assert_eq!(w.kubepods, ["kubepods.slice"]);
        assert_eq!(w.outside, [colon.as_str()]);
        assert!(w.cgroups.contains(&colon), "{:?}", w.cgroups);
        assert!(
            w.cgroups.contains(&format!("{colon}/sub")),
            "{:?}",
            w.cgroups
        );
        assert!(!w
            .cgroups
            .iter()
            .any(|c| c.contains("containerd.service") && !c.contains(':')));
        assert!(!w.cgroups.iter().any(|c| c.contains("other.service")));
        let pods = pods_of(&w.cgroups, "/");
        assert_eq!(pods.len(), 1, "{pods:?}");
        assert_eq!(pods[0].uid, uid);
        assert_eq!(pods[0].cgroup_path, pod);
        assert_eq!(pods[0].containers.len(), 1, "{pods:?}");
        assert_eq!(pods[0].containers[0].id, cid);
        assert_eq!(pods[0].containers[0].cgroup_path, colon);
        assert_eq!(pods[0].containers[0].runtime.as_deref(), Some("containerd"));
    }

    #[test]
    fn component_order_is_the_split_order() {
        let paths = [
            "",
            "a",
            "a/b",
            "a-c",
            "a/b/c",
            "a.b",
            "a/b-c",
            "a/b/c/d",
            "ab",
            "a/",
            "b",
            "kubepods",
            "kubepods/burstable",
            "kubepods.slice",
            "kubepods/besteffort/pod1",
        ];
        for a in paths {
            for b in paths {
                assert_eq!(
                    cmp_components(a, b),
                    a.split('/').cmp(b.split('/')),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn vanished_cgroup_is_recorded_not_an_error() {
        let mut buf = Vec::new();
        let r = read_cgroup_dir(
            Path::new("/nonexistent/podmem/cg"),
            &c_names(V1_FILES),
            1 << 20,
            &mut buf,
        );
        assert!(r.gone && r.errors.is_empty() && r.files == 0);
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
