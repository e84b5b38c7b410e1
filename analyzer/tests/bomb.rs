//! A gzip bomb (1 GiB of zeros compressing to about 1 MiB) next to a good snapshot:
//! refused with a clear message, the good snapshot still reported, and the analyzer's
//! memory stays bounded. In its own test binary so the child's peak memory
//! (`RUSAGE_CHILDREN`) is the analyzer's alone.

mod common;

use std::io::Write;

use assert_cmd::Command;
use common::*;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Writes the bomb by streaming: one gzip member with the manifest and the header of a
/// 1 GiB entry, then the same compressed MiB of zeros 1024 times (gzip members
/// concatenate), so building it costs one MiB of compression.
fn write_bomb(path: &std::path::Path) -> u64 {
    let manifest = story(false)[0].manifest_json().into_bytes();
    let mut head = tar_of(&[("manifest.json".to_string(), manifest)]);
    head.truncate(head.len() - 1024); // drop the end-of-archive blocks
    let mut h = tar::Header::new_gnu();
    h.set_path("proc/vmstat").unwrap();
    h.set_size(1 << 30);
    h.set_mode(0o644);
    h.set_cksum();
    head.extend_from_slice(h.as_bytes());
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&gzip(&head)).unwrap();
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(&vec![0u8; 1 << 20]).unwrap();
    let zeros = e.finish().unwrap();
    for _ in 0..1024 {
        f.write_all(&zeros).unwrap();
    }
    f.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn peak_child_rss_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) },
        0
    );
    ru.ru_maxrss
}

#[test]
fn gzip_bomb_is_refused_with_bounded_memory() {
    let d = tempfile::tempdir().unwrap();
    let good = healthy("good-node", 1)[0].write(d.path());
    let bomb = d.path().join("bomb.tar.gz");
    let size = write_bomb(&bomb);
    assert!(size < 8 << 20, "bomb is {size} bytes");
    let out = Command::cargo_bin("podmem-analyzer")
        .unwrap()
        .args(["report", "--format", "json"])
        .arg(&good)
        .arg(&bomb)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: decompresses to more than 256.0 MiB",
            bomb.display()
        )),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["nodes"][0]["name"], "good-node");
    let peak = peak_child_rss_kib();
    eprintln!("analyzer peak RSS on the bomb: {peak} KiB");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}
