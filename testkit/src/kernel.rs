//! The real kernel for tests: this process's own cgroup v1 memory directory (test
//! cgroups go under it), the one check of what such a test needs (root, that directory
//! writable, a tmpfs mountable), and a [`Guard`] that undoes the processes, mounts and
//! cgroups a test made, also when the test fails.

use std::ffi::CString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Our own memory cgroup (v1).
#[derive(Debug, Clone)]
pub struct OwnCgroup {
    /// Its directory under the memory hierarchy's mount point.
    pub dir: PathBuf,
    /// Its path inside the hierarchy, as `/proc/self/cgroup` shows it.
    pub rel: String,
}

/// Whether real-kernel tests can run here: root, our own cgroup v1 memory directory
/// writable, and a tmpfs mountable; or why not. Checked once per process.
pub fn check() -> Result<&'static OwnCgroup, String> {
    static CHECKED: OnceLock<Result<OwnCgroup, String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let own = own_memory_cgroup()?;
            tmpfs_probe()?;
            Ok(own)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Our own memory cgroup, for a test registered with [`crate::Need::Kernel`] (which
/// only runs when [`check`] passed).
pub fn own() -> &'static OwnCgroup {
    check().unwrap_or_else(|why| panic!("real kernel needed: {why}"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn own_memory_cgroup() -> Result<OwnCgroup, String> {
    if !is_root() {
        return Err("not running as root".into());
    }
    let cg = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("/proc/self/cgroup: {e}"))?;
    let rel = cg
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            ctrl.split(',')
                .any(|c| c == "memory")
                .then(|| path.to_string())
        })
        .ok_or("no cgroup v1 memory controller in /proc/self/cgroup")?;
    let mi = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("/proc/self/mountinfo: {e}"))?;
    let (root, mount_point) = memory_mount(&mi).ok_or("no cgroup v1 memory mount")?;
    let sub = rel.strip_prefix(root.trim_end_matches('/')).unwrap_or(&rel);
    let dir = Path::new(&mount_point).join(sub.trim_start_matches('/'));
    let probe = dir.join(format!("podmem-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| format!("{}: not writable: {e}", dir.display()))?;
    std::fs::remove_dir(&probe).map_err(|e| format!("{}: {e}", probe.display()))?;
    Ok(OwnCgroup { dir, rel })
}

/// The root and mount point of the first cgroup v1 mount with the memory controller.
/// (Mount points with octal escapes are not expected for cgroup hierarchies.)
fn memory_mount(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let f: Vec<&str> = pre.split(' ').collect();
        let g: Vec<&str> = post.split(' ').collect();
        if g.first() != Some(&"cgroup") || !g.get(2)?.split(',').any(|o| o == "memory") {
            return None;
        }
        Some((f.get(3)?.to_string(), f.get(4)?.to_string()))
    })
}

fn tmpfs_probe() -> Result<(), String> {
    let d = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let at = d.path().join("probe");
    let mut g = Guard::default();
    g.try_mount_tmpfs(&at, "size=4k")
        .map_err(|e| format!("cannot mount a tmpfs: {e}"))
}

/// Everything a test created, undone on drop (also when the test fails): processes
/// killed, tmpfs unmounted, cgroups removed deepest first.
#[derive(Default)]
pub struct Guard {
    /// Processes started by [`Guard::spawn`], killed on drop.
    pub children: Vec<Child>,
    /// tmpfs mount points, unmounted on drop.
    pub mounts: Vec<PathBuf>,
    /// Cgroup directories, removed on drop in reverse order of creation.
    pub cgroups: Vec<PathBuf>,
}

impl Guard {
    /// Creates a cgroup directory and remembers it for removal.
    pub fn mkcg(&mut self, dir: PathBuf) -> PathBuf {
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        self.cgroups.push(dir.clone());
        dir
    }

    /// Removes a cgroup now (its tasks are gone), waiting while the kernel still calls
    /// it busy after its last task exited.
    pub fn rmcg(&mut self, dir: &Path) {
        let t = Instant::now();
        loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if t.elapsed() > Duration::from_secs(30) => {
                    panic!("rmdir {}: {e}", dir.display())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        self.cgroups.retain(|d| d != dir);
    }

    /// Mounts a fresh tmpfs at `at` (created) with mount data `data` (`size=64m`).
    pub fn mount_tmpfs(&mut self, at: &Path, data: &str) {
        self.try_mount_tmpfs(at, data)
            .unwrap_or_else(|e| panic!("mount tmpfs at {}: {e}", at.display()));
    }

    fn try_mount_tmpfs(&mut self, at: &Path, data: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(at)?;
        let src = CString::new("tmpfs").unwrap();
        let target = CString::new(at.as_os_str().as_bytes()).unwrap();
        let data = CString::new(data).unwrap();
        // SAFETY: valid C strings; mounting a fresh tmpfs on a directory we created.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                src.as_ptr(),
                0,
                data.as_ptr().cast(),
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        self.mounts.push(at.to_path_buf());
        Ok(())
    }

    /// Starts `sh -c script` (with `args` as `$0`, `$1`, ... and `env` added), its shell
    /// first moved into `cgroup` when given; returns its pid once the script succeeded
    /// and printed "ready" (it then sleeps, holding the cgroup).
    pub fn spawn(
        &mut self,
        cgroup: Option<&Path>,
        script: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> u32 {
        let enter = cgroup
            .map(|c| format!("echo $$ > '{}/cgroup.procs' || exit 1; ", c.display()))
            .unwrap_or_default();
        let full = format!("{enter}{script} || exit 1; echo ready; exec sleep 1000");
        let mut c = Command::new("sh")
            .arg("-c")
            .arg(full)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run sh");
        let mut line = String::new();
        BufReader::new(c.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = c.id();
        self.children.push(c);
        assert_eq!(
            line.trim(),
            "ready",
            "helper process{} did not start",
            cgroup
                .map(|c| format!(" in {}", c.display()))
                .unwrap_or_default()
        );
        pid
    }

    /// [`Guard::spawn`] inside `cgroup`, without arguments or environment.
    pub fn spawn_in(&mut self, cgroup: &Path, script: &str) -> u32 {
        self.spawn(Some(cgroup), script, &[], &[])
    }

    /// Kills and reaps the process `pid` started by [`Guard::spawn`].
    pub fn kill(&mut self, pid: u32) {
        self.children.retain_mut(|c| {
            if c.id() == pid {
                let _ = c.kill();
                let _ = c.wait();
                false
            } else {
                true
            }
        });
    }

    /// Kills and reaps every process started by [`Guard::spawn`].
    pub fn kill_all(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill_all();
        for m in self.mounts.drain(..).rev() {
            let t = CString::new(m.as_os_str().as_bytes()).unwrap();
            // SAFETY: unmounting a tmpfs this guard mounted.
            unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
        }
        for d in self.cgroups.drain(..).rev() {
            // A cgroup whose last task just exited can be busy for a moment.
            let t = Instant::now();
            while std::fs::remove_dir(&d).is_err()
                && d.exists()
                && t.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A memory cgroup v1 figure from `<cg>/memory.stat`.
pub fn stat(cg: &Path, key: &str) -> u64 {
    let p = cg.join("memory.stat");
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{key} not in {}", p.display()))
}

/// Whether the kernel ring buffer holds a record containing every needle (read through
/// `/dev/kmsg`, non-blocking, from the oldest record).
pub fn kmsg_has(needles: &[&str]) -> bool {
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
    else {
        return false;
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]);
                if needles.iter().all(|s| rec.contains(s)) {
                    return true;
                }
            }
            // EPIPE: a record was overwritten while reading; keep going.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(_) => return false,
        }
    }
}

/// Waits until `cond` holds, polling, for at most `ceiling` (generous: the machine may
/// be loaded); panics with `what` when it never does.
pub fn wait_until(what: &str, ceiling: Duration, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < ceiling, "{what}: not after {ceiling:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
