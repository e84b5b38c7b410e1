//! The `podmem-analyzer` binary end to end: `report` in JSON and text, `-o` written
//! through a temporary file and nothing else written, exit codes, broken pipes, and
//! `ooms` over the real-world kernel logs and standard input.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

use assert_cmd::Command;
use common::*;

fn analyzer() -> Command {
    Command::cargo_bin("podmem-analyzer").unwrap()
}

fn story_dir(v2: bool) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for s in story(v2) {
        s.write(d.path());
    }
    d
}

/// The story without its kernel log: for tests about the command line, not OOM parsing.
fn quiet_story_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for mut s in story(false) {
        s.kernel.clear();
        s.write(d.path());
    }
    d
}

fn listing(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect()
}

#[test]
fn report_json_on_the_story() {
    let d = story_dir(false);
    let out = analyzer()
        .args(["report", "--format", "json"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["format"], "podmem-report/2");
    assert_eq!(r["nodes"][0]["snapshots"], 3);
    assert_eq!(r["findings"][0]["severity"], "critical");
    let ids: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"orphaned-shmem") && ids.contains(&"pod-limit-oom"),
        "{ids:?}"
    );
    // Same bytes as the library renderer.
    let parsed: podmem_schema::report::Report = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(podmem_reports::render_json(&parsed), out.stdout);
}

#[test]
fn report_text_is_the_default() {
    let d = story_dir(true);
    let out = analyzer().arg("report").arg(d.path()).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("podmem report"), "{text}");
    assert!(text.contains("CRITICAL orphaned-shmem"), "{text}");
    assert!(text.contains("CRITICAL pod-limit-oom"), "{text}");
    assert!(text.contains("64.0 MiB"), "{text}");
}

#[test]
fn output_file_is_the_only_thing_written() {
    let work = tempfile::tempdir().unwrap();
    let inputs = quiet_story_dir();
    let bad = inputs.path().join("zz-bad.tar.gz");
    std::fs::write(&bad, b"not an archive").unwrap();
    let before_inputs = listing(inputs.path());
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let assert = analyzer()
        .current_dir(work.path())
        .args(["report", "--format", "json", "-o", "out/report.json"])
        .arg(inputs.path())
        .assert();
    let out = assert.get_output();
    // One input refused, a report still produced.
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("zz-bad.tar.gz: not a podmem snapshot"));
    assert!(out.stdout.is_empty());
    assert_eq!(
        listing(work.path()),
        ["", "out", "out/report.json"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(listing(inputs.path()), before_inputs);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["format"], "podmem-report/2");
}

#[test]
fn unwritable_output_fails_without_leftovers() {
    let work = tempfile::tempdir().unwrap();
    let inputs = quiet_story_dir();
    let out = analyzer()
        .current_dir(work.path())
        .args(["report", "-o", "missing-dir/report.txt"])
        .arg(inputs.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-dir"));
    assert_eq!(listing(work.path()), [String::new()].into_iter().collect());
}

#[test]
fn no_usable_input_exits_two() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("empty.tar.gz");
    std::fs::write(&p, b"").unwrap();
    let out = analyzer()
        .args(["report", "--format", "json"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty.tar.gz: empty file"));
}

#[test]
fn usage_errors_exit_two() {
    analyzer().arg("report").assert().code(2);
    analyzer()
        .args(["report", "--format", "pdf", "x"])
        .assert()
        .code(2);
    analyzer().arg("--help").assert().code(0);
}

#[test]
fn html_report_is_written() {
    let d = quiet_story_dir();
    let work = tempfile::tempdir().unwrap();
    let out = analyzer()
        .args(["report", "--format", "html", "-o"])
        .arg(work.path().join("report.html"))
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(work.path().join("report.html")).unwrap();
    assert!(html.to_ascii_lowercase().contains("<html"));
    assert!(html.contains("orphaned-shmem"));
}

/// A reader that stops early (`| head`) is not an error: no error message, exit 0, in
/// every output format of `report` and `ooms`.
#[test]
fn broken_pipe_is_not_an_error() {
    let d = quiet_story_dir();
    let log = realworld().join("oom_logs/cadvisor_docker_memcg_v1_4.8_gentoo_two_ooms_kmsg.log");
    let runs: [Vec<&std::ffi::OsStr>; 4] = [
        vec![
            "report".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            d.path().as_os_str(),
        ],
        vec!["report".as_ref(), d.path().as_os_str()],
        vec![
            "ooms".as_ref(),
            log.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        vec!["ooms".as_ref(), log.as_os_str()],
    ];
    for args in runs {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("podmem-analyzer"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("error"),
            "{args:?}"
        );
    }
}

#[test]
fn ooms_over_every_real_world_log() {
    let dir = realworld().join("oom_logs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 20);
    let out = analyzer()
        .args(["ooms", "--format", "json"])
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<podmem_schema::oom::OomEvent> = serde_json::from_slice(&out.stdout).unwrap();
    // Excerpts that hold part of a report but no kill line (see SOURCES.md).
    const NO_KILL: &[&str] = &[
        "containerd_cgroups_issue74_rhel7_3.10.0-862_docker_messages_excerpt.log",
        "dpservice_issue74_5.x_v2_kubepods_slice_journal_excerpt.log",
        "ingress_nginx_issue4756_4.x_hierarchical_pod_stats_syslog_excerpt.log",
        "kata_runtime_pr2775_dmesgT_kubepods_v2style_stats_indented_excerpt.log",
        "kind_in_podman_nested_kubelet_slice_v2_dmesgT_excerpt.log",
        "photon_issue1535_4.19_vmware_guest_log_printk_level_excerpt.log",
        "relate_issue1383_6.x_global_task_table_rss_split_columns_excerpt.log",
        "walinuxagent_issue2805_aks_5.4_v1_multiline_stats_indented_syslog_excerpt.log",
        "propolis_issue439_journal_short_memcg_header_cut_excerpt.log",
        "nixpkgs_pr81151_test_driver_prefix_global_header_cut_excerpt.log",
    ];
    for f in &files {
        let name = f.display().to_string();
        let found = events
            .iter()
            .any(|e| e.source.as_deref() == Some(name.as_str()));
        let expect = !NO_KILL.iter().any(|n| name.ends_with(n));
        assert_eq!(
            found, expect,
            "OOM kills found in {name}: {found}, expected {expect}"
        );
    }
    let by = |file: &str| -> Vec<&podmem_schema::oom::OomEvent> {
        events
            .iter()
            .filter(|e| e.source.as_deref().is_some_and(|s| s.ends_with(file)))
            .collect()
    };
    use podmem_schema::oom::OomScope;
    let old = by("camptocamp_dmesg_old_kernel_pod_level_limit.log");
    assert_eq!(old[0].scope, OomScope::Pod);
    assert_eq!(
        old[0].pod_uid.as_deref(),
        Some("af389229-5fc5-4617-ae95-9160d576eb49")
    );
    assert_eq!(
        old[0].container_id.as_deref(),
        Some("3b3d031aca1bab63c359a8aac8c18e373ac90373faf12c69e5225aec01fc9c84")
    );
    let new = by("camptocamp_dmesg_5x_oomkill_cgroupfs_kubepods.log");
    assert_eq!(new[0].scope, OomScope::Container);
    assert_eq!(new[0].pid, Some(10506));
    assert_eq!(
        new[0].pod_uid.as_deref(),
        Some("792adfde-d139-4c9c-a89e-ae94f36ea69d")
    );
    let aks = by("aks_syslog_cgroupv2_oom_group_node_allocatable.log");
    assert_eq!(aks[0].scope, OomScope::Kubepods);
    assert_eq!(
        aks[0].pod_uid.as_deref(),
        Some("10d16a28-60ff-475f-a631-510d9792219f")
    );
    assert_eq!(
        aks.iter().filter(|e| e.pid == Some(68061)).count(),
        1,
        "the repeated kill line is one kill"
    );
    let global = by("cadvisor_global_oom_ubuntu_3.13_gce_kmsg.log");
    assert_eq!(global[0].scope, OomScope::Global);

    let text = analyzer().arg("ooms").args(&files).output().unwrap();
    assert_eq!(text.status.code(), Some(0));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with(&format!("{} OOM kill(s)", events.len())),
        "{text}"
    );
    assert!(text.contains("scope: POD limit"));
}

#[test]
fn ooms_reads_standard_input_and_reports_unreadable_files() {
    let log = std::fs::read(
        realworld().join("oom_logs/camptocamp_dmesg_5x_oomkill_cgroupfs_kubepods.log"),
    )
    .unwrap();
    let out = analyzer()
        .args(["ooms", "--format", "json", "-", "/nonexistent/kern.log"])
        .write_stdin(log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kern.log: cannot open"));
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["source"], "-");
    assert_eq!(events[0]["pid"], 10506);
}

/// Syslog times carry no year: `--year` gives it, by default the year the file was last
/// modified, and the output says which. The sample's own runtime lines say 2020.
#[test]
fn ooms_dates_yearless_syslog_times_by_the_file_or_by_year() {
    let src = realworld()
        .join("oom_logs/doris_issue3525_syslog_sacrifice_child_uid_kill_then_runtime_lines.log");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("messages");
    std::fs::copy(&src, &log).unwrap();
    // 2020-05-09T05:06:40Z, the day after the kill.
    let mtime = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_589_000_800);
    std::fs::File::options()
        .write(true)
        .open(&log)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let time_of = |args: &[&str]| {
        let out = analyzer()
            .args(["ooms", "--format", "json"])
            .args(args)
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let ev: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["pid"], 18177);
        (
            ev[0]["time"].as_str().map(str::to_string),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (t, said) = time_of(&[]);
    assert_eq!(t.as_deref(), Some("2020-05-08T14:05:27Z"));
    assert!(
        said.contains("2020") && said.contains("modification time"),
        "{said}"
    );
    let (t, said) = time_of(&["--year", "2019"]);
    assert_eq!(t.as_deref(), Some("2019-05-08T14:05:27Z"));
    assert!(said.contains("2019") && said.contains("--year"), "{said}");

    let text = analyzer().arg("ooms").arg(&log).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Syslog times without a year are taken in 2020"),
        "{text}"
    );
    assert!(analyzer()
        .args(["ooms", "--year", "nineteen"])
        .arg(&log)
        .output()
        .unwrap()
        .status
        .code()
        .is_some_and(|c| c != 0));
}

/// The repository's root: `fixtures/reports/demo-report-1.json` was written there by
/// `report fixtures/demo --format json` of the analyzer before `podmem-report/2`, so
/// its input paths are relative to it.
fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `args` run from the repository's root: (exit code, stdout).
fn run_at_root(args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let out = analyzer()
        .current_dir(repo_root())
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), out.stdout)
}

/// The lines of `a` and `b` that differ, by position (both have as many lines).
fn differing_lines(a: &[u8], b: &[u8]) -> Vec<(String, String)> {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    assert_eq!(a.lines().count(), b.lines().count());
    a.lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect()
}

#[test]
fn render_reads_a_saved_report_of_either_format() {
    // A `podmem-report/1` report saved by the earlier analyzer, rendered as text, is
    // the text `report` writes now from the same archives, but for the one line that
    // carries the generation time: the header (`generated ...`, the fixture's time
    // against now). Its format reads `/2`: the report was upgraded when read.
    let (code, rendered) = run_at_root(&["render", "fixtures/reports/demo-report-1.json"]);
    assert_eq!(code, Some(0), "every input of the demo was good");
    let (code, fresh) = run_at_root(&["report", "fixtures/demo", "--format", "text"]);
    assert_eq!(code, Some(0));
    let diff = differing_lines(&rendered, &fresh);
    assert_eq!(diff.len(), 1, "{diff:#?}");
    for line in [&diff[0].0, &diff[0].1] {
        assert!(
            line.starts_with("podmem report (podmem-report/2, analyzer ")
                && line.contains("generated "),
            "{line}"
        );
    }

    // A fresh `/2` JSON report rendered as HTML is `report --format html`, but for the
    // line saying when it was generated (the two analyses ran at different times).
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("r.json");
    let (code, _) = run_at_root(&[
        "report",
        "fixtures/demo",
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0));
    let (code, rendered) = run_at_root(&["render", json.to_str().unwrap(), "--format", "html"]);
    assert_eq!(code, Some(0));
    let (_, fresh) = run_at_root(&["report", "fixtures/demo", "--format", "html"]);
    for (a, b) in differing_lines(&rendered, &fresh) {
        for line in [a, b] {
            assert!(line.contains("class=\"meta\">Generated "), "{line}");
        }
    }

    // `--format json` writes the report back as read: `/2`, the same bytes.
    let out = d.path().join("again.json");
    let (code, _) = run_at_root(&[
        "render",
        json.to_str().unwrap(),
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&json).unwrap());
}

#[test]
fn render_refuses_what_is_not_a_report_by_name() {
    let d = tempfile::tempdir().unwrap();
    let newer = d.path().join("newer.json");
    std::fs::write(&newer, br#"{"format":"podmem-report/9"}"#).unwrap();
    let gz = repo_root().join("fixtures/demo/podmem-demo-node-20261128T104641.540Z.tar.gz");
    for (path, says) in [
        (newer.as_path(), "\"podmem-report/9\""),
        (gz.as_path(), "not a podmem report"),
        (Path::new("missing.json"), "cannot read"),
    ] {
        let out = analyzer().arg("render").arg(path).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(err.contains(name) && err.contains(says), "{err}");
    }
}
