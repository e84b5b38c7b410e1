//! DESIGN §1 end to end on the real kernel: a pod cgroup with a 100 MiB limit inside
//! this test's own memory cgroup (v1), a real tmpfs emptyDir filled with 64 MiB by a
//! process in container A, A removed, a new container B OOM-killed at the pod limit,
//! the real `podmem-collector` binary run before, between and after, the analyzer on
//! its archives, and the HTML report opened in headless chromium.
//!
//! Needs root and a writable cgroup v1 memory hierarchy; without them the test FAILS,
//! unless `PODMEM_ALLOW_NO_KERNEL=1` (then it says loudly that it was skipped). Needs
//! `python3` to allocate memory, and `/usr/bin/chromium` unless `PODMEM_NO_BROWSER=1`.

use std::ffi::CString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod chromium;

use podmem_analyzer::{analyze, load::Limits};
use podmem_schema::oom::OomScope;

const MIB: u64 = 1 << 20;
/// What container A writes into the emptyDir.
const WRITTEN: u64 = 64 * MIB;
const POD_LIMIT: u64 = 100 * MIB;

/// Our own memory cgroup directory (v1) and its path in the hierarchy, or why it
/// cannot be used.
fn own_memory_cgroup() -> Result<(PathBuf, String), String> {
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
    Ok((dir, rel))
}

/// None (after printing loudly) when the kernel setup is impossible and skipping is
/// allowed; panics when it is not allowed.
fn kernel_or_skip(test: &str) -> Option<(PathBuf, String)> {
    match own_memory_cgroup() {
        Ok(x) => Some(x),
        Err(why) if std::env::var("PODMEM_ALLOW_NO_KERNEL").as_deref() == Ok("1") => {
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! {test}: SKIPPED (PODMEM_ALLOW_NO_KERNEL=1): {why}\n\
                 !!! DESIGN §1 was NOT reproduced on a real kernel.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
        Err(why) => panic!(
            "{test}: needs root and a writable cgroup v1 memory hierarchy: {why}. \
             Set PODMEM_ALLOW_NO_KERNEL=1 to skip (loudly) where this is impossible."
        ),
    }
}

/// Everything the test created, undone on drop (also when it panics): processes
/// killed, tmpfs unmounted, cgroups removed deepest first.
#[derive(Default)]
struct Guard {
    children: Vec<Child>,
    mounts: Vec<PathBuf>,
    cgroups: Vec<PathBuf>,
}

impl Guard {
    fn mkcg(&mut self, dir: PathBuf) -> PathBuf {
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        self.cgroups.push(dir.clone());
        dir
    }

    fn mount_tmpfs(&mut self, at: &Path, size: u64) {
        std::fs::create_dir_all(at).unwrap();
        let src = CString::new("tmpfs").unwrap();
        let target = CString::new(at.as_os_str().as_bytes()).unwrap();
        let data = CString::new(format!("size={size}")).unwrap();
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

    /// Starts `script` with its shell already moved into `cgroup`; returns once the
    /// script printed "ready" (it then sleeps, holding the cgroup).
    fn spawn_in(&mut self, cgroup: &Path, script: &str) -> u32 {
        let full = format!(
            "echo $$ > '{}/cgroup.procs' || exit 1; {script} || exit 1; echo ready; exec sleep 1000",
            cgroup.display()
        );
        let mut c = Command::new("sh")
            .arg("-c")
            .arg(full)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(c.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = c.id();
        self.children.push(c);
        assert_eq!(
            line.trim(),
            "ready",
            "process in {} did not start",
            cgroup.display()
        );
        pid
    }

    fn kill(&mut self, pid: u32) {
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

    /// Removes a cgroup now (its tasks are gone); a cgroup whose last task just exited
    /// can be busy for a moment.
    fn rmcg(&mut self, dir: &Path) {
        let mut last = None;
        for _ in 0..100 {
            match std::fs::remove_dir(dir) {
                Ok(()) => {
                    self.cgroups.retain(|d| d != dir);
                    return;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("rmdir {}: {last:?}", dir.display());
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
            for _ in 0..50 {
                if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// The collector binary of this build. Analyzer tests cannot name another package's
/// binary (`CARGO_BIN_EXE_*` is per package), so it is built into the same target
/// directory and profile as this test (a no-op when it is up to date, which also keeps
/// a stale binary from being tested). `PODMEM_COLLECTOR_BIN` names another one
/// instead, such as the static release build.
fn collector_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PODMEM_COLLECTOR_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.exists(),
            "PODMEM_COLLECTOR_BIN={} missing",
            bin.display()
        );
        eprintln!(
            "e2e: collector from PODMEM_COLLECTOR_BIN: {}",
            bin.display()
        );
        return bin;
    }
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<test exe>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable is in <target>/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev".to_string(),
        p => p.to_string(),
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let t = Instant::now();
    let st = Command::new(cargo)
        .args([
            "build",
            "-p",
            "podmem-collector",
            "--bin",
            "podmem-collector",
        ])
        .args(["--profile", &profile])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo to build podmem-collector");
    assert!(st.success(), "cargo build -p podmem-collector failed");
    let bin = profile_dir.join("podmem-collector");
    assert!(bin.exists(), "{} missing after cargo build", bin.display());
    eprintln!("e2e: collector ready in {:?}", t.elapsed());
    bin
}

/// One snapshot with the real collector (kernel log from /dev/kmsg, continuing where
/// the previous snapshot in `out` stopped); returns the archive path.
fn snapshot(bin: &Path, root: &Path, out: &Path, step: &str) -> PathBuf {
    let t = Instant::now();
    let o = Command::new(bin)
        .args([
            "snapshot",
            "--no-kubelet",
            "--kernel-log",
            "kmsg",
            "--node-name",
            "e2e-node",
        ])
        .arg("--cgroup-root")
        .arg(root)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "collector ({step}) failed: {stderr}"
    );
    let path = PathBuf::from(String::from_utf8(o.stdout).unwrap().trim());
    eprintln!(
        "e2e: snapshot {step} in {:?} ({} bytes)",
        t.elapsed(),
        std::fs::metadata(&path).unwrap().len()
    );
    path
}

/// Whether the kernel ring buffer holds a record containing every needle (read
/// through /dev/kmsg, non-blocking, from the oldest record).
fn kmsg_has(needles: &[&str]) -> bool {
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

/// A memory cgroup v1 figure.
fn stat(cg: &Path, key: &str) -> u64 {
    let s = std::fs::read_to_string(cg.join("memory.stat")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{key} not in {}/memory.stat", cg.display()))
}

#[test]
fn design_case_on_the_real_kernel() {
    let Some((own, own_rel)) = kernel_or_skip("design_case_on_the_real_kernel") else {
        return;
    };
    let started = Instant::now();
    let bin = collector_bin();
    let tmp = tempfile::tempdir().unwrap();
    let mut g = Guard::default();

    // Names unique to this run: the kernel log is shared by the whole machine.
    let run = format!(
        "{:08x}",
        (std::process::id() as u64) << 16
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
    );
    let run = &run[run.len() - 8..];
    let uid = format!("{run}-e2e0-4d0d-9e00-00000000a11c");
    let id_a = format!("{run}{}", "a".repeat(56));
    let id_b = format!("{run}{}", "b".repeat(56));
    let base_name = format!("podmem-e2e-{run}");

    let base = g.mkcg(own.join(&base_name));
    let kp = g.mkcg(base.join("kubepods"));
    let bu = g.mkcg(kp.join("burstable"));
    let pod = g.mkcg(bu.join(format!("pod{uid}")));
    std::fs::write(pod.join("memory.limit_in_bytes"), POD_LIMIT.to_string()).unwrap();
    let ctr_a = g.mkcg(pod.join(&id_a));

    // The memory emptyDir, mounted as the kubelet would (size = the pod limit), where
    // the collector's mountinfo matching finds it (any kubelet root).
    let vol = tmp.path().join(format!(
        "var/lib/kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/cache"
    ));
    g.mount_tmpfs(&vol, POD_LIMIT);

    // Container A writes 64 MiB into the emptyDir and stays alive: snapshot 1.
    let writer = g.spawn_in(
        &ctr_a,
        &format!("head -c {WRITTEN} /dev/zero > '{}/blob'", vol.display()),
    );
    assert_eq!(stat(&ctr_a, "shmem"), WRITTEN, "A holds the tmpfs pages");
    let out = tmp.path().join("snapshots");
    snapshot(&bin, &base, &out, "1 (A holds the tmpfs)");

    // A dies and its cgroup is removed: the pages stay charged to the pod, held by a
    // dying memcg no directory shows. Snapshot 2.
    g.kill(writer);
    g.rmcg(&ctr_a);
    let pod_total_shmem = stat(&pod, "total_shmem");
    let pod_own_shmem = stat(&pod, "shmem");
    eprintln!(
        "e2e: after removing A: pod total_shmem {pod_total_shmem}, shmem {pod_own_shmem} \
         (written {WRITTEN})"
    );
    assert_eq!(pod_own_shmem, 0);
    assert!(
        pod_total_shmem.abs_diff(WRITTEN) <= MIB,
        "pod total_shmem {pod_total_shmem}"
    );
    snapshot(&bin, &base, &out, "2 (A removed)");

    // A new container B allocates 48 MiB: 64 + 48 > 100, the pod limit is hit and B's
    // process is OOM-killed while B's own cgroup has no limit.
    let ctr_b = g.mkcg(pod.join(&id_b));
    let t = Instant::now();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}/cgroup.procs' || exit 1; exec python3 -c '\
             b = bytearray(48 << 20)\n\
             b[::4096] = b\"x\" * len(b[::4096])\n\
             print(\"survived\")'",
            ctr_b.display()
        ))
        .stdout(Stdio::piped())
        .output()
        .expect("run python3 in container B");
    let survived = String::from_utf8_lossy(&st.stdout).contains("survived");
    assert!(
        !survived && (st.status.signal() == Some(libc::SIGKILL) || st.status.code() == Some(137)),
        "B was not OOM-killed: {:?}, stdout {:?}, stderr {}",
        st.status,
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
    let killed_after = t.elapsed();
    // The kill report is in the ring buffer by the time the victim is reaped, but give
    // the kernel a moment rather than race it.
    let task_memcg = format!(
        "task_memcg={}/{base_name}/kubepods/burstable/pod{uid}/{id_b}",
        own_rel.trim_end_matches('/')
    );
    let t = Instant::now();
    while !kmsg_has(&["oom-kill:", &task_memcg]) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no `{task_memcg}` kill line in /dev/kmsg after 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "e2e: B OOM-killed {killed_after:?} after start; kill line in /dev/kmsg after {:?} more",
        t.elapsed()
    );
    snapshot(&bin, &base, &out, "3 (B OOM-killed)");

    // The analyzer on the three archives.
    let t = Instant::now();
    let report = analyze(
        std::slice::from_ref(&out),
        &Limits::default(),
        jiff::Timestamp::now(),
    );
    eprintln!("e2e: analysis in {:?}", t.elapsed());
    assert!(
        report.inputs.iter().all(|i| i.status == "ok"),
        "{:#?}",
        report.inputs
    );
    assert_eq!(report.nodes.len(), 1);
    assert_eq!(report.nodes[0].snapshots, 3);
    let p = report
        .pods
        .iter()
        .find(|p| p.uid == uid)
        .unwrap_or_else(|| panic!("pod {uid} not in the report"));
    assert_eq!(p.limit, Some(POD_LIMIT));
    assert!(
        p.containers.iter().any(|c| c.id == id_a && c.gone),
        "A is gone: {:#?}",
        p.containers
    );

    let mine = |f: &&podmem_schema::report::Finding| f.pod_uid.as_deref() == Some(uid.as_str());
    let orphan = report
        .findings
        .iter()
        .filter(mine)
        .find(|f| f.id == "orphaned-shmem")
        .unwrap_or_else(|| panic!("no orphaned-shmem finding: {:#?}", report.findings));
    let found = orphan.bytes.expect("orphaned-shmem bytes");
    eprintln!(
        "e2e: written {WRITTEN} bytes, orphaned-shmem finding {found} bytes ({:+.2} %)",
        (found as f64 - WRITTEN as f64) * 100.0 / WRITTEN as f64
    );
    assert!(
        found.abs_diff(WRITTEN) as f64 <= 0.05 * WRITTEN as f64,
        "orphaned {found} vs written {WRITTEN}"
    );
    assert!(
        orphan.container_ids.contains(&id_a),
        "the removed container A: {:?}",
        orphan.container_ids
    );

    let kills: Vec<_> = report
        .oom_events
        .iter()
        .filter(|e| e.pod_uid.as_deref() == Some(uid.as_str()))
        .collect();
    assert!(
        kills
            .iter()
            .any(|e| e.scope == OomScope::Pod && e.container_id.as_deref() == Some(id_b.as_str())),
        "no pod-scope OOM of container B: {kills:#?} (all events: {:#?})",
        report.oom_events
    );
    let limit_oom = report
        .findings
        .iter()
        .filter(mine)
        .find(|f| f.id == "pod-limit-oom")
        .unwrap_or_else(|| panic!("no pod-limit-oom finding: {:#?}", report.findings));
    assert!(limit_oom.container_ids.contains(&id_b));
    let ids: Vec<&str> = report
        .findings
        .iter()
        .filter(mine)
        .map(|f| f.id.as_str())
        .collect();
    eprintln!("e2e: findings for the pod: {ids:?}");

    // The HTML report of the same archives, through the analyzer binary, in a browser.
    let html = tmp.path().join("report.html");
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_podmem-analyzer"))
        .arg("report")
        .arg(&out)
        .args(["--format", "html", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "analyzer: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!(
        "e2e: HTML report in {:?} ({} bytes)",
        t.elapsed(),
        std::fs::metadata(&html).unwrap().len()
    );
    if let Some(browser) = chromium::chromium("the real-kernel report") {
        let t = Instant::now();
        let dom = chromium::dump_dom(browser, &html);
        eprintln!("e2e: chromium in {:?}", t.elapsed());
        let charts = report.pods.iter().filter(|p| !p.samples.is_empty()).count();
        chromium::assert_page_ok(&dom, charts);
        assert!(dom.contains(&uid), "the pod is in the page");
        assert!(dom.contains("orphaned-shmem"), "the finding is in the page");
    }
    eprintln!("e2e: whole test {:?}", started.elapsed());
}
