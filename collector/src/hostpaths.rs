//! Every host path the collector reads, derived from `--host-root` and overridable one
//! by one, plus the one file-reading primitive all readers share.
//!
//! Paths found inside host files (mount points in mountinfo) are host paths and are
//! resolved under the host root with [`HostPaths::on_host`], so the collector works the
//! same on the node itself and in a container with the host's `/` mounted at `/host`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// A read failure naming the path and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct ReadError {
    /// File that failed.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

impl ReadError {
    /// The cgroup (or file) went away while being read: normal on a busy node, where
    /// containers come and go, so callers record it instead of failing.
    pub fn vanished(&self) -> bool {
        self.source.kind() == io::ErrorKind::NotFound
            || self.source.raw_os_error() == Some(libc::ENODEV)
            || self.source.raw_os_error() == Some(libc::ESRCH)
    }

    /// Missing altogether (the file does not exist on this kernel or node).
    pub fn not_found(&self) -> bool {
        self.source.kind() == io::ErrorKind::NotFound
    }
}

/// Where each host input lives.
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// The host's `/` (default `/`).
    pub host_root: PathBuf,
    /// The host's procfs (default `<host-root>/proc`).
    pub proc_root: PathBuf,
    /// `/var/log/pods` of the host.
    pub log_pods: PathBuf,
    /// `/var/log` of the host (kern.log, messages).
    pub var_log: PathBuf,
    /// The kernel ring buffer device.
    pub kmsg: PathBuf,
    /// Service-account token of the collector's own pod (never the host's).
    pub sa_token: PathBuf,
    /// Service-account CA of the collector's own pod.
    pub sa_ca: PathBuf,
}

impl HostPaths {
    /// Paths for a host whose `/` is at `host_root`.
    pub fn new(host_root: &Path) -> Self {
        let host_root = host_root.to_path_buf();
        let under = |p: &str| join_host(&host_root, p);
        let kmsg = {
            let on_host = under("/dev/kmsg");
            if host_root != Path::new("/") && !on_host.exists() {
                PathBuf::from("/dev/kmsg")
            } else {
                on_host
            }
        };
        HostPaths {
            proc_root: under("/proc"),
            log_pods: under("/var/log/pods"),
            var_log: under("/var/log"),
            kmsg,
            sa_token: PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token"),
            sa_ca: PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"),
            host_root,
        }
    }

    /// Whether the host root is this process's own `/`.
    pub fn is_own_root(&self) -> bool {
        self.host_root == Path::new("/")
    }

    /// A host path (as found in host files) resolved under the host root.
    pub fn on_host(&self, host_path: &str) -> PathBuf {
        join_host(&self.host_root, host_path)
    }

    /// A file under the host procfs (`meminfo`, `pressure/memory`...).
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.proc_root.join(rel)
    }

    /// The host's mountinfo, in order of preference. On the host itself our own view
    /// is the host's; in a container, pid 1 of the host procfs (hostPID) is the host's
    /// init and its mountinfo is the host's view.
    pub fn mountinfo_candidates(&self) -> Vec<PathBuf> {
        if self.is_own_root() && self.proc_root == Path::new("/proc") {
            vec![self.proc("self/mountinfo"), self.proc("1/mountinfo")]
        } else {
            vec![self.proc("1/mountinfo"), self.proc("self/mountinfo")]
        }
    }
}

/// Joins a host-absolute path under `root`, dropping `..` and `.` so a crafted mount
/// point cannot escape the root.
pub fn join_host(root: &Path, host_path: &str) -> PathBuf {
    let mut out = root.to_path_buf();
    for c in Path::new(host_path).components() {
        if let Component::Normal(n) = c {
            out.push(n);
        }
    }
    out
}

/// Reads a whole file into `buf` (cleared first), up to `cap` bytes; returns whether it
/// was cut at the cap. Reads until EOF because cgroupfs and procfs files stat as size 0
/// or 4096 and the kernel may return less than asked per read. Never follows a symlink.
pub fn read_into(path: &Path, cap: u64, buf: &mut Vec<u8>) -> Result<bool, ReadError> {
    buf.clear();
    let err = |source| ReadError {
        path: path.to_path_buf(),
        source,
    };
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(err)?;
    let mut limited = file.take(cap + 1);
    loop {
        match limited.read_to_end(buf) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        }
    }
    if buf.len() as u64 > cap {
        buf.truncate(cap as usize);
        return Ok(true);
    }
    Ok(false)
}

/// [`read_into`] returning a fresh buffer and failing when the cap is hit.
pub fn read_small(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    if read_into(path, cap, &mut buf)? {
        return Err(ReadError {
            path: path.to_path_buf(),
            source: io::Error::other(format!("larger than the {cap}-byte cap")),
        });
    }
    Ok(buf)
}

/// Reads a short text file (hostname, boot id) trimmed; None when unreadable.
pub fn read_trimmed(path: &Path) -> Option<String> {
    let b = read_small(path, 64 << 10).ok()?;
    let s = String::from_utf8_lossy(&b).trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_host_paths_without_escaping() {
        let r = Path::new("/host");
        assert_eq!(
            join_host(r, "/sys/fs/cgroup"),
            Path::new("/host/sys/fs/cgroup")
        );
        assert_eq!(join_host(r, "/../etc/../x"), Path::new("/host/etc/x"));
        assert_eq!(join_host(Path::new("/"), "/proc"), Path::new("/proc"));
    }

    #[test]
    fn default_paths_follow_host_root() {
        let p = HostPaths::new(Path::new("/host"));
        assert_eq!(p.proc_root, Path::new("/host/proc"));
        assert_eq!(p.log_pods, Path::new("/host/var/log/pods"));
        assert_eq!(
            p.mountinfo_candidates()[0],
            Path::new("/host/proc/1/mountinfo")
        );
        let own = HostPaths::new(Path::new("/"));
        assert_eq!(
            own.mountinfo_candidates()[0],
            Path::new("/proc/self/mountinfo")
        );
    }

    #[test]
    fn reads_real_procfs_file_beyond_its_stat_size() {
        let mut buf = Vec::new();
        let cut = read_into(Path::new("/proc/self/status"), 1 << 20, &mut buf).unwrap();
        assert!(!cut);
        assert_eq!(std::fs::metadata("/proc/self/status").unwrap().len(), 0);
        assert!(String::from_utf8_lossy(&buf).contains("VmRSS") || buf.len() > 100);
    }

    #[test]
    fn cap_cuts_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, vec![b'x'; 100]).unwrap();
        let mut buf = Vec::new();
        assert!(read_into(&f, 10, &mut buf).unwrap());
        assert_eq!(buf.len(), 10);
        assert!(!read_into(&f, 100, &mut buf).unwrap());
        assert_eq!(buf.len(), 100);
        let e = read_small(&f, 10).unwrap_err().to_string();
        assert!(e.contains("cap") && e.contains(f.to_str().unwrap()), "{e}");
    }

    #[test]
    fn refuses_symlinks_and_names_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut buf = Vec::new();
        assert!(read_into(&link, 10, &mut buf).is_err());
        let e = read_into(&dir.path().join("nope"), 10, &mut buf).unwrap_err();
        assert!(e.vanished() && e.not_found());
        assert!(e.to_string().contains("nope"));
    }
}
