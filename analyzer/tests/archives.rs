//! The archives people really send (issue 16): a gzipped tar of a folder of snapshots,
//! a zip of one, nested folders in either, a bundle of bundles one level down, all made
//! with the real `tar`, `gzip`, `zip` and python's `zipfile` from the real demo
//! recording. Each must give the same report as the folder itself; anything else is
//! named for what it is, with what to do; hostile forms are refused with the file named.

use std::path::{Path, PathBuf};
use std::process::Command;

use podmem_analyzer::{analyze, exit_status, load::Limits};
use podmem_schema::report::Report;

fn demo_archives() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(podmem_testkit::samples::demo())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "the demo recording is missing");
    v
}

/// Runs a tool; its failure fails the test with its output.
fn run(dir: &Path, cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A customer's folder: `snapshots/` with the demo archives, the later half one folder
/// further down, and a notes file beside them.
fn customer_folder(root: &Path) -> PathBuf {
    let dir = root.join("snapshots");
    let deeper = dir.join("node-a").join("later");
    std::fs::create_dir_all(&deeper).unwrap();
    let all = demo_archives();
    let half = all.len() / 2;
    for (i, a) in all.iter().enumerate() {
        let to = if i < half { &dir } else { &deeper };
        std::fs::copy(a, to.join(a.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        dir.join("NOTES.txt"),
        "collected on the night of the outage\n",
    )
    .unwrap();
    dir
}

fn report(paths: &[PathBuf]) -> Report {
    analyze(paths, &Limits::default(), jiff::Timestamp::UNIX_EPOCH)
}

/// What must not depend on the container: the snapshots read, the pods and the
/// findings.
fn essence(r: &Report) -> (u32, Vec<String>, Vec<String>) {
    let snaps = r.inputs.iter().map(|i| i.snapshots).sum();
    let mut pods: Vec<String> = r
        .pods
        .iter()
        .map(|p| format!("{:?}/{:?}/{}", p.namespace, p.name, p.uid))
        .collect();
    pods.sort();
    let mut findings: Vec<String> = r
        .findings
        .iter()
        .map(|f| format!("{} {:?} {:?}", f.id, f.severity, f.pod_uid))
        .collect();
    findings.sort();
    (snaps, pods, findings)
}

fn assert_read_whole(archive: &Path, folder_report: &Report) {
    let r = report(&[archive.to_path_buf()]);
    assert_eq!(r.inputs.len(), 1, "{:#?}", r.inputs);
    let input = &r.inputs[0];
    assert_eq!(input.kind, "bundle", "{input:#?}");
    assert_eq!(input.status, "ok", "{input:#?}");
    assert_eq!(exit_status(&r), 0);
    assert_eq!(
        input.snapshots as usize,
        demo_archives().len(),
        "{input:#?}"
    );
    assert_eq!(essence(&r), essence(folder_report));
    assert!(!r.findings.is_empty(), "the demo's findings are missing");
}

#[test]
fn gzipped_tar_and_zip_of_a_folder_read_as_bundles() {
    let t = tempfile::tempdir().unwrap();
    let folder = customer_folder(t.path());
    let by_folder = report(std::slice::from_ref(&folder));
    assert_eq!(
        by_folder.inputs.iter().map(|i| i.snapshots).sum::<u32>() as usize,
        demo_archives().len()
    );

    // tar czf cust.tgz snapshots/  (GNU tar, gzip through tar)
    run(t.path(), "tar", &["czf", "cust.tgz", "snapshots"]);
    assert_read_whole(&t.path().join("cust.tgz"), &by_folder);
    // tar cf + gzip -9 separately, named .tar.gz
    run(t.path(), "tar", &["cf", "cust2.tar", "snapshots"]);
    run(t.path(), "gzip", &["-9", "cust2.tar"]);
    assert_read_whole(&t.path().join("cust2.tar.gz"), &by_folder);
    // zip -r (Info-ZIP, deflate) and python's zipfile (stored and deflated)
    run(t.path(), "zip", &["-qr", "cust.zip", "snapshots"]);
    assert_read_whole(&t.path().join("cust.zip"), &by_folder);
    run(
        t.path(),
        "python3",
        &["-m", "zipfile", "-c", "cust-py.zip", "snapshots"],
    );
    assert_read_whole(&t.path().join("cust-py.zip"), &by_folder);
    // Windows' and macOS' own "compress" store deflate too; a stored (method 0) zip:
    run(t.path(), "zip", &["-qr0", "cust-stored.zip", "snapshots"]);
    assert_read_whole(&t.path().join("cust-stored.zip"), &by_folder);

    // A folder holding those archives reads each of them (the second copy of each
    // snapshot is named as a duplicate).
    let inbox = t.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::rename(t.path().join("cust.tgz"), inbox.join("cust.tgz")).unwrap();
    std::fs::rename(t.path().join("cust.zip"), inbox.join("cust.zip")).unwrap();
    let r = report(&[inbox]);
    assert_eq!(r.inputs.len(), 2, "{:#?}", r.inputs);
    assert_eq!(r.inputs[0].status, "ok", "{:#?}", r.inputs);
    assert_eq!(r.inputs[0].snapshots as usize, demo_archives().len());
    has(
        &r.inputs[1].problems,
        &["cust.zip!snapshots/", "duplicate of", "cust.tgz!"],
    );
}

#[test]
fn bundles_of_bundles_one_level_down() {
    let t = tempfile::tempdir().unwrap();
    let folder = customer_folder(t.path());
    let by_folder = report(&[folder]);
    // Two per-node bundles (plain tars, as `podmem-collector bundle` writes), then the
    // support engineer's tgz and zip of them.
    let first: Vec<PathBuf> = std::fs::read_dir(t.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    for p in &first {
        std::fs::remove_file(p).unwrap();
    }
    // node-a.tar: the later half (in its folders); node-b.tgz: the first half, gzipped.
    run(
        t.path(),
        "tar",
        &["cf", "node-a.tar", "-C", "snapshots", "."],
    );
    let firsts = t.path().join("firsts");
    std::fs::create_dir(&firsts).unwrap();
    for p in demo_archives().iter().take(demo_archives().len() / 2) {
        std::fs::copy(p, firsts.join(p.file_name().unwrap())).unwrap();
    }
    run(t.path(), "tar", &["czf", "node-b.tgz", "-C", "firsts", "."]);
    run(
        t.path(),
        "tar",
        &["cf", "all.tar", "node-a.tar", "node-b.tgz"],
    );
    assert_read_whole(&t.path().join("all.tar"), &by_folder);
    run(
        t.path(),
        "tar",
        &["czf", "all.tgz", "node-a.tar", "node-b.tgz"],
    );
    assert_read_whole(&t.path().join("all.tgz"), &by_folder);
    run(
        t.path(),
        "zip",
        &["-q", "all.zip", "node-a.tar", "node-b.tgz"],
    );
    assert_read_whole(&t.path().join("all.zip"), &by_folder);
    // A zip inside a tar, one level down.
    run(t.path(), "zip", &["-qr", "firsts.zip", "firsts"]);
    run(
        t.path(),
        "tar",
        &["cf", "mixed.tar", "node-a.tar", "firsts.zip"],
    );
    assert_read_whole(&t.path().join("mixed.tar"), &by_folder);

    // Two levels down is named, with what to do.
    run(t.path(), "tar", &["cf", "deeper.tar", "all.tar"]);
    let r = report(&[t.path().join("deeper.tar")]);
    let p = &r.inputs[0].problems;
    assert!(
        p.iter()
            .any(|p| p.contains("deeper.tar!all.tar!node-a.tar") && p.contains("one level")),
        "{p:#?}"
    );
    assert_eq!(exit_status(&r), 2);
}

/// The problems for one input that is not usable, each naming it.
fn refused(path: &Path) -> Vec<String> {
    let r = report(&[path.to_path_buf()]);
    assert_eq!(exit_status(&r), 2, "{:#?}", r.inputs);
    let name = path.display().to_string();
    let p: Vec<String> = r.inputs.iter().flat_map(|i| i.problems.clone()).collect();
    assert!(!p.is_empty());
    assert!(p.iter().all(|x| x.contains(&name)), "{p:#?}");
    p
}

fn has(p: &[String], words: &[&str]) {
    assert!(
        p.iter().any(|x| words.iter().all(|w| x.contains(w))),
        "no problem says {words:?}: {p:#?}"
    );
}

#[test]
fn anything_else_is_named_with_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    customer_folder(t.path());
    // xz and zstd tars (tar -J, and xz over a tar).
    run(t.path(), "tar", &["cJf", "cust.tar.xz", "snapshots"]);
    has(&refused(&t.path().join("cust.tar.xz")), &["xz", "repack"]);
    // An unpacked snapshot, gzipped and zipped, and as a folder.
    let unpacked = t.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    run(
        &unpacked,
        "tar",
        &["xzf", demo_archives()[0].to_str().unwrap()],
    );
    run(t.path(), "tar", &["czf", "unpacked.tgz", "unpacked"]);
    has(
        &refused(&t.path().join("unpacked.tgz")),
        &[
            "no manifest.json",
            "unpacked snapshot folder",
            "unpacked/",
            "tar czf",
        ],
    );
    run(t.path(), "zip", &["-qr", "unpacked.zip", "unpacked"]);
    has(
        &refused(&t.path().join("unpacked.zip")),
        &["unpacked snapshot", "unpacked.zip!unpacked", "tar czf"],
    );
    has(
        &refused(&unpacked),
        &["manifest.json", "unpacked snapshot", "tar czf"],
    );
    // A kernel log, a report, a tgz of text only.
    let log = t.path().join("kern.log");
    std::fs::write(
        &log,
        "Nov 28 10:46:41 node kernel: Memory cgroup out of memory: Killed process 4242 (python3)\n",
    )
    .unwrap();
    has(&refused(&log), &["text file", "podmem-analyzer ooms"]);
    let html = t.path().join("report.html");
    std::fs::write(&html, "<!DOCTYPE html>\n<html><body>report</body></html>\n").unwrap();
    has(&refused(&html), &["HTML"]);
    std::fs::create_dir(t.path().join("notes")).unwrap();
    std::fs::write(t.path().join("notes/a.txt"), "x\n").unwrap();
    run(t.path(), "zip", &["-qr", "notes.zip", "notes"]);
    has(
        &refused(&t.path().join("notes.zip")),
        &["zip holding no podmem snapshot archives", "bundle"],
    );
    // A folder holding only an unreadable form names it instead of passing it over.
    let inbox = t.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::rename(t.path().join("cust.tar.xz"), inbox.join("cust.tar.xz")).unwrap();
    let r = report(&[inbox]);
    let p: Vec<String> = r.inputs.iter().flat_map(|i| i.problems.clone()).collect();
    has(&p, &["cust.tar.xz", "xz"]);
}

#[test]
fn hostile_zips_and_gzipped_bundles_are_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    customer_folder(t.path());
    let py = |script: &str| run(t.path(), "python3", &["-c", script]);
    // A member escaping with `..`, an absolute one, a symlink, one over the per-archive
    // cap (declared), and a good one: the good one is read, the others named.
    let demo0 = demo_archives()[0].display().to_string();
    py(&format!(
        r#"
import zipfile, stat
z = zipfile.ZipFile("evil.zip", "w", zipfile.ZIP_DEFLATED)
good = open({demo0:?}, "rb").read()
z.writestr("../escape.tar.gz", good)
z.writestr("/abs.tar.gz", good)
i = zipfile.ZipInfo("link.tar.gz"); i.external_attr = (stat.S_IFLNK | 0o777) << 16
z.writestr(i, "/etc/shadow")
z.writestr("big.tar.gz", b"\0" * (3 << 20))
z.writestr("ok/good.tar.gz", good)
z.close()
"#
    ));
    let evil = t.path().join("evil.zip");
    let limits = Limits {
        max_archive_bytes: 1 << 20,
        ..Limits::default()
    };
    let r = analyze(
        std::slice::from_ref(&evil),
        &limits,
        jiff::Timestamp::UNIX_EPOCH,
    );
    let i = &r.inputs[0];
    assert_eq!(i.snapshots, 1, "{i:#?}");
    assert_eq!(i.status, "partial");
    let p = &i.problems;
    has(p, &["evil.zip!../escape.tar.gz", "`..`"]);
    has(p, &["evil.zip!/abs.tar.gz", "absolute"]);
    has(p, &["evil.zip!link.tar.gz", "symbolic link"]);
    has(p, &["evil.zip!big.tar.gz", "per-archive cap"]);
    assert!(p.iter().all(|x| x.contains(&evil.display().to_string())));

    // More entries than the cap: refused from the end record, before the directory is
    // read.
    py(r#"
import zipfile
z = zipfile.ZipFile("many.zip", "w")
for n in range(300):
    z.writestr(f"f{n}.txt", b"")
z.close()
"#);
    let limits = Limits {
        max_entries: 200,
        ..Limits::default()
    };
    let many = t.path().join("many.zip");
    let r = analyze(&[many], &limits, jiff::Timestamp::UNIX_EPOCH);
    has(
        &r.inputs[0].problems,
        &["many.zip", "300 entries", "refused"],
    );

    // A gzipped bundle that inflates past the per-bundle cap.
    run(t.path(), "tar", &["czf", "cust.tgz", "snapshots"]);
    let limits = Limits {
        max_bundle_bytes: 64 << 10,
        ..Limits::default()
    };
    let r = analyze(
        &[t.path().join("cust.tgz")],
        &limits,
        jiff::Timestamp::UNIX_EPOCH,
    );
    has(&r.inputs[0].problems, &["cust.tgz", "per-bundle cap"]);

    // Garbage with a zip header, and a zip cut in half.
    std::fs::write(t.path().join("junk.zip"), b"PK\x03\x04 not really a zip").unwrap();
    has(
        &refused(&t.path().join("junk.zip")),
        &["cannot read as zip"],
    );
    run(t.path(), "zip", &["-qr", "cut.zip", "snapshots"]);
    let bytes = std::fs::read(t.path().join("cut.zip")).unwrap();
    std::fs::write(t.path().join("cut.zip"), &bytes[..bytes.len() / 2]).unwrap();
    has(&refused(&t.path().join("cut.zip")), &["cannot read as zip"]);
}
