//! Real-kernel helpers for the privacy and fault tests: our own cgroup v1 memory
//! directory (test cgroups go under it), a loud skip only when PODMEM_ALLOW_NO_KERNEL=1,
//! and a guard that undoes mounts, processes and cgroups even when a test fails.
#![allow(dead_code)]

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Our own memory cgroup directory (v1), or why it cannot be used.
pub fn own_memory_cgroup() -> Result<PathBuf, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
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
    let mi = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    let (mounts, _) = podmem_schema::parse::mountinfo::parse_mountinfo(&mi);
    let m = mounts
        .iter()
        .find(|m| m.fs_type == "cgroup" && m.super_options.split(',').any(|o| o == "memory"))
        .ok_or("no cgroup v1 memory mount")?;
    let sub = rel
        .strip_prefix(m.root.trim_end_matches('/'))
        .unwrap_or(&rel);
    let dir = Path::new(&m.mount_point).join(sub.trim_start_matches('/'));
    let probe = dir.join(format!("podmem-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).map_err(|e| format!("{}: not writable: {e}", dir.display()))?;
    std::fs::remove_dir(&probe).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Whether we are root (mounting tmpfs needs it).
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    skip_or_fail(test, "not running as root".into());
    false
}

/// Our memory cgroup, or None after printing loudly that the test was skipped (only
/// with PODMEM_ALLOW_NO_KERNEL=1; otherwise the test fails with the reason).
pub fn kernel_or_skip(test: &str) -> Option<PathBuf> {
    match own_memory_cgroup() {
        Ok(x) => Some(x),
        Err(why) => {
            skip_or_fail(test, why);
            None
        }
    }
}

fn skip_or_fail(test: &str, why: String) {
    if std::env::var("PODMEM_ALLOW_NO_KERNEL").as_deref() == Ok("1") {
        eprintln!("\n!!!!!!!! {test}: SKIPPED, real kernel setup impossible: {why} !!!!!!!!\n");
    } else {
        panic!(
            "{test}: needs root and a writable cgroup v1 memory hierarchy: {why}. \
             Set PODMEM_ALLOW_NO_KERNEL=1 to skip (loudly) where this is impossible."
        );
    }
}

/// Everything a test created, undone on drop (also when the test fails): processes
/// killed, tmpfs unmounted, cgroups removed deepest first.
#[derive(Default)]
pub struct Guard {
    pub children: Vec<Child>,
    pub mounts: Vec<PathBuf>,
    pub cgroups: Vec<PathBuf>,
}

impl Guard {
    /// Creates a cgroup directory and remembers it for removal.
    pub fn mkcg(&mut self, dir: PathBuf) -> PathBuf {
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        self.cgroups.push(dir.clone());
        dir
    }

    /// Mounts a fresh tmpfs at `at` with mount data `data` (`size=64k`).
    pub fn mount_tmpfs(&mut self, at: &Path, data: &str) {
        std::fs::create_dir_all(at).unwrap();
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
        assert_eq!(
            r,
            0,
            "mount tmpfs at {}: {}",
            at.display(),
            std::io::Error::last_os_error()
        );
        self.mounts.push(at.to_path_buf());
    }

    /// Starts `sh -c script` (with `args` as $0...), its shell first moved into
    /// `cgroup` when given; waits for it to print "ready".
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
        let full = format!("{enter}{script}; echo ready; exec sleep 1000");
        let mut c = Command::new("sh")
            .arg("-c")
            .arg(full)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(c.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = c.id();
        self.children.push(c);
        assert_eq!(line.trim(), "ready", "helper process did not start");
        pid
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for m in self.mounts.drain(..).rev() {
            let t = CString::new(m.as_os_str().as_bytes()).unwrap();
            // SAFETY: unmounting a tmpfs this test mounted.
            unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
        }
        for d in self.cgroups.drain(..).rev() {
            // A cgroup whose last task just exited can be busy for a moment.
            for _ in 0..50 {
                if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
