//! The parsers against the running kernel's own files. A procfs or cgroupfs file that
//! cannot be read fails the test loudly: these tests are the proof that the parsers
//! match what kernels write today. Mounting a tmpfs and reading `/dev/kmsg` need the
//! real-kernel setup (root); without it those two are reported as ignored.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use podmem_schema::parse::kmsg::parse_record;
use podmem_schema::parse::memory_stat::{
    parse_limit_or_value, parse_memory_stat, v1_stats, v2_stats,
};
use podmem_schema::parse::mountinfo::{parse_mountinfo, parse_size_option};
use podmem_schema::parse::proc_files::{
    parse_flat_keyed, parse_meminfo, parse_pressure, parse_proc_cgroups,
};

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): these tests need a Linux kernel with procfs and cgroupfs",
            path.display()
        )
    })
}

fn non_empty_lines(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

fn proc_meminfo_every_line() {
    let text = read("/proc/meminfo");
    let m = parse_meminfo(&text);
    assert_eq!(m.len(), non_empty_lines(&text), "every meminfo line parsed");
    let total = m["MemTotal"];
    assert!(
        total > 64 << 20 && total.is_multiple_of(1024),
        "MemTotal {total} in bytes"
    );
    assert!(m["MemAvailable"] <= total);
    assert!(m.contains_key("Shmem"));
}

fn proc_vmstat_every_line() {
    let text = read("/proc/vmstat");
    let m = parse_flat_keyed(&text);
    assert_eq!(m.len(), non_empty_lines(&text));
    assert!(m.contains_key("nr_shmem"));
}

fn proc_cgroups_has_memory_controller() {
    let text = read("/proc/cgroups");
    let c = parse_proc_cgroups(&text);
    assert_eq!(
        c.len(),
        non_empty_lines(&text) - 1,
        "all rows but the header"
    );
    let memory = c.iter().find(|c| c.subsys == "memory").expect("memory row");
    assert!(memory.num_cgroups >= 1);
}

fn proc_pressure_memory() {
    let path = "/proc/pressure/memory";
    if !Path::new(path).exists() {
        panic!("{path} missing: this kernel was built or booted without PSI (psi=0)");
    }
    let p = parse_pressure(&read(path));
    let some = p.some.expect("some line");
    assert!(some.avg10 >= 0.0 && some.avg300 <= 100.0);
    assert!(p.full.is_some(), "memory pressure has a full line");
}

/// This process's memory cgroup directory (v1 `memory` line or v2 `0::` line).
fn own_memory_cgroup() -> (PathBuf, bool) {
    let cgroup = read("/proc/self/cgroup");
    for line in cgroup.lines() {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if controllers.split(',').any(|c| c == "memory") {
            return (
                Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/')),
                false,
            );
        }
    }
    let v2 = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("no memory controller line nor a v2 line in /proc/self/cgroup");
    (
        Path::new("/sys/fs/cgroup").join(v2.trim_start_matches('/')),
        true,
    )
}

fn own_memory_cgroup_stat_and_usage() {
    let (dir, v2) = own_memory_cgroup();
    let text = read(dir.join("memory.stat"));
    let stat = parse_memory_stat(&text);
    assert_eq!(
        stat.entries.len(),
        non_empty_lines(&text),
        "every memory.stat line kept"
    );
    let (usage_file, limit_file) = if v2 {
        ("memory.current", "memory.max")
    } else {
        ("memory.usage_in_bytes", "memory.limit_in_bytes")
    };
    let usage = parse_limit_or_value(&read(dir.join(usage_file))).unwrap();
    assert!(
        usage.is_some_and(|u| u > 0),
        "a running test process uses memory"
    );
    parse_limit_or_value(&read(dir.join(limit_file))).expect("limit parses (number or unlimited)");
    let m = if v2 {
        v2_stats(&stat, usage)
    } else {
        v1_stats(&stat, usage)
    };
    assert!(
        m.shmem.is_some() && m.cache.is_some() && m.rss.is_some(),
        "{m:?}"
    );
    assert!(m.working_set <= m.usage);
}

fn own_mountinfo_and_a_real_tmpfs_size() {
    let dir = std::env::temp_dir().join(format!("podmem-parsers-tmpfs-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m,mode=700", "podmem\\ test"])
        .arg(&dir)
        .status();
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "mounting a tmpfs at {} failed ({status:?}): this test needs root",
        dir.display()
    );
    let text = read("/proc/self/mountinfo");
    let _ = Command::new("umount").arg(&dir).status();
    let _ = fs::remove_dir(&dir);
    let (mounts, errors) = parse_mountinfo(&text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(mounts.len(), non_empty_lines(&text));
    let ours = mounts
        .iter()
        .find(|m| Path::new(&m.mount_point) == dir)
        .expect("our tmpfs in mountinfo");
    assert_eq!(ours.fs_type, "tmpfs");
    assert_eq!(ours.source, "podmem\\ test", "source escapes decoded");
    assert_eq!(ours.super_option("size").as_deref(), Some("3072k"));
    assert_eq!(
        ours.super_option("size")
            .as_deref()
            .and_then(parse_size_option),
        Some(3 << 20)
    );
}

fn dev_kmsg_first_record() {
    use std::io::Read;
    let mut f = fs::File::open("/dev/kmsg")
        .unwrap_or_else(|e| panic!("cannot open /dev/kmsg ({e}): needs root on a real kernel"));
    // One read returns one whole record; the buffer must hold the longest one.
    let mut buf = vec![0u8; 16 * 1024];
    let n = f.read(&mut buf).expect("read one kmsg record");
    let record = String::from_utf8_lossy(&buf[..n]);
    let r = parse_record(&record).unwrap_or_else(|| panic!("not a kmsg record: {record:?}"));
    assert!(r.prio <= 0xffff && !r.flags.is_empty());
    assert!(!r.text.contains('\n') || record.contains("\\x0a"));
}

podmem_testkit::main! {
    [] => [
        proc_meminfo_every_line,
        proc_vmstat_every_line,
        proc_cgroups_has_memory_controller,
        proc_pressure_memory,
        own_memory_cgroup_stat_and_usage,
    ],
    [Need::Kernel] => [own_mountinfo_and_a_real_tmpfs_size, dev_kmsg_first_record],
}
