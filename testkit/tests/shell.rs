//! Shell habits of both binaries (issue 16): `--version` names the formats, completion
//! scripts for bash, zsh and fish, the manual pages in `docs/man/` match what the
//! binaries generate now (`scripts/gen-man.sh`), every flag `--help` shows is documented
//! in `docs/collector.md` / `docs/analyzer.md` and every flag those pages document
//! exists, and `-o`, `--out` and `--output` are accepted alike.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use podmem_testkit::{bins, samples};

fn run(bin: &Path, args: &[&str]) -> Output {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(bin: &Path, args: &[&str]) -> String {
    String::from_utf8(run(bin, args).stdout).unwrap()
}

/// The binaries with their subcommands (hidden ones left out).
fn binaries() -> Vec<(PathBuf, &'static str, &'static [&'static str])> {
    vec![
        (
            bins::collector(),
            "docs/collector.md",
            &["snapshot", "watch", "bundle", "completions"],
        ),
        (
            bins::analyzer(),
            "docs/analyzer.md",
            &["report", "render", "ooms", "export", "completions"],
        ),
    ]
}

#[test]
fn version_names_the_formats() {
    let c = stdout(&bins::collector(), &["--version"]);
    assert!(c.starts_with("podmem-collector 0."), "{c}");
    assert!(c.contains("podmem-snapshot format 2"), "{c}");
    assert!(c.contains("podmem-bundle format 1"), "{c}");
    let a = stdout(&bins::analyzer(), &["--version"]);
    assert!(a.starts_with("podmem-analyzer 0."), "{a}");
    assert!(a.contains("podmem-snapshot formats 1-2"), "{a}");
    assert!(a.contains("writes podmem-report/2"), "{a}");
    // -V alike.
    assert_eq!(stdout(&bins::analyzer(), &["-V"]), a);
}

#[test]
fn completion_scripts_for_each_shell() {
    for (bin, _, subs) in binaries() {
        let name = bin.file_name().unwrap().to_string_lossy().into_owned();
        for shell in ["bash", "zsh", "fish"] {
            let script = stdout(&bin, &["completions", shell]);
            for sub in subs.iter() {
                assert!(script.contains(sub), "{name} {shell}: no {sub}");
            }
        }
        // The bash script is valid bash (bash itself parses it).
        let script = stdout(&bin, &["completions", "bash"]);
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), &script).unwrap();
        let out = Command::new("bash")
            .arg("-n")
            .arg(t.path())
            .output()
            .unwrap();
        podmem_testkit::exit::assert_exit(&out, 0);
        let unknown = Command::new(&bin)
            .args(["completions", "tcsh"])
            .output()
            .unwrap();
        assert_eq!(unknown.status.code(), Some(2));
    }
}

#[test]
fn man_pages_match_the_binaries() {
    let fresh = tempfile::tempdir().unwrap();
    for (bin, _, _) in binaries() {
        run(&bin, &["man", fresh.path().to_str().unwrap()]);
    }
    let checked_in = samples::workspace().join("docs/man");
    let names = |d: &Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".1"))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(fresh.path()),
        names(&checked_in),
        "docs/man/ is out of date: run scripts/gen-man.sh"
    );
    for n in names(fresh.path()) {
        let a = std::fs::read_to_string(fresh.path().join(&n)).unwrap();
        let b = std::fs::read_to_string(checked_in.join(&n)).unwrap();
        assert!(
            a == b,
            "docs/man/{n} is out of date: run scripts/gen-man.sh"
        );
    }
    assert!(names(fresh.path()).contains("podmem-collector-snapshot.1"));
}

/// Long flags defined in `--help` output: at the start of an option line, and aliases.
fn help_flags(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in help.lines() {
        let t = line.trim_start();
        if t.starts_with('-') {
            let first = t
                .split([' ', '<', '='])
                .find(|w| w.starts_with("--"))
                .map(|w| w.trim_end_matches(','));
            out.extend(first.map(str::to_string));
        }
        let mut rest = line;
        while let Some(i) = rest.find("[alias: ").or_else(|| rest.find("[aliases: ")) {
            rest = &rest[i..];
            let end = rest.find(']').unwrap_or(rest.len());
            for a in rest[..end].split([' ', ',']) {
                if a.starts_with("--") {
                    out.insert(a.to_string());
                }
            }
            rest = &rest[end..];
        }
    }
    out
}

/// `--flag` words of a page.
fn doc_flags(page: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = page.as_bytes();
    let mut i = 0;
    while let Some(k) = page[i..].find("--") {
        let s = i + k;
        let prev_ok = s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'-');
        let mut e = s + 2;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'-') {
            e += 1;
        }
        if prev_ok && e > s + 2 && b[s + 2].is_ascii_lowercase() {
            out.insert(page[s..e].trim_end_matches('-').to_string());
        }
        i = e;
    }
    out
}

/// Flags the pages quote from other tools: cargo, kubectl, docker, journalctl, dmesg;
/// and the redaction section's anchor.
const OTHER_TOOLS: &[&str] = &[
    "--release",
    "--target",
    "--workspace",
    "--locked",
    "--example",
    "--raw",
    "--rm",
    "--pid",
    "--root",
    "--show-cursor",
    "--time-format",
    "--redact-keyfile",
];

#[test]
fn every_flag_is_documented_and_every_documented_flag_exists() {
    let mut defined_by = Vec::new();
    for (bin, page, subs) in binaries() {
        let mut defined = help_flags(&stdout(&bin, &["--help"]));
        for sub in subs.iter() {
            defined.extend(help_flags(&stdout(&bin, &[sub, "--help"])));
        }
        defined.remove("--help");
        defined_by.push((bin, page, defined));
    }
    // A page may name the other binary's flags (the collector's page shows the
    // analyzer's `--names`).
    let any: BTreeSet<&String> = defined_by.iter().flat_map(|(_, _, d)| d).collect();
    for (bin, page, defined) in &defined_by {
        let text = std::fs::read_to_string(samples::workspace().join(page)).unwrap();
        let documented = doc_flags(&text);
        let undocumented: Vec<&String> = defined.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "{page} does not document {undocumented:?} of {}",
            bin.display()
        );
        let unknown: Vec<&String> = documented
            .iter()
            .filter(|f| !any.contains(f) && *f != "--help" && !OTHER_TOOLS.contains(&f.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "{page} documents {unknown:?}, which no podmem binary has"
        );
    }
}

#[test]
fn out_and_output_alike() {
    let t = tempfile::tempdir().unwrap();
    let a = bins::analyzer();
    let demo = samples::demo();
    for flag in ["-o", "--out", "--output"] {
        let to = t.path().join(format!("r{flag}.json"));
        run(
            &a,
            &[
                "report",
                demo.to_str().unwrap(),
                "--format",
                "json",
                flag,
                to.to_str().unwrap(),
            ],
        );
        assert!(to.metadata().unwrap().len() > 1000);
        let log = t.path().join("k.log");
        std::fs::write(
            &log,
            "[ 1.0] Memory cgroup out of memory: Killed process 42 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0\n",
        )
        .unwrap();
        let to = t.path().join(format!("o{flag}.txt"));
        let out = Command::new(&a)
            .args(["ooms", log.to_str().unwrap(), flag, to.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.stdout.is_empty());
        assert!(std::fs::read_to_string(&to).unwrap().contains("42"));
    }
    let c = bins::collector();
    for flag in ["-o", "--out", "--output"] {
        let to = t.path().join(format!("b{flag}.tar"));
        run(
            &c,
            &["bundle", demo.to_str().unwrap(), flag, to.to_str().unwrap()],
        );
        assert!(to.metadata().unwrap().len() > 1000);
        // snapshot/watch: the flag parses (the run itself is the collector's tests').
        let h = stdout(&c, &["snapshot", "--help"]);
        assert!(
            h.contains("-o, --out <DIR>") && h.contains("--output"),
            "{h}"
        );
    }
}

#[test]
fn bundle_into_a_missing_folder_says_it_created_it() {
    let t = tempfile::tempdir().unwrap();
    let to = t.path().join("no-such-dir").join("node.tar");
    let out = Command::new(bins::collector())
        .args([
            "bundle",
            samples::demo().to_str().unwrap(),
            "-o",
            to.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("created the folder") && err.contains("no-such-dir"),
        "{err}"
    );
    assert!(to.is_file());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        to.to_str().unwrap()
    );
}
