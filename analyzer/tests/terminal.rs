//! What a person at a terminal sees (issue 16): after writing a file, one line on
//! stderr saying what was written, only when stderr is a terminal (a real pty made by
//! `script`); a progress line while archives are read, likewise only on a terminal and
//! not with `--quiet` (issue 14); and `ooms /dev/kmsg` reading this machine's live ring buffer without
//! blocking.

use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podmem-analyzer");

fn demo() -> String {
    podmem_testkit::samples::demo().display().to_string()
}

fn wrote_line_on_a_terminal_only() {
    let t = tempfile::tempdir().unwrap();
    let html = t.path().join("report.html");
    // Inside a pty (util-linux `script`), stdout and stderr are the terminal.
    let cmd = format!(
        "{BIN} report {} --format html -o {}",
        demo(),
        html.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script (util-linux) runs");
    assert!(out.status.success(), "{out:?}");
    let seen = String::from_utf8_lossy(&out.stdout);
    // The critical findings of the same input, counted from its JSON report.
    let json = Command::new(BIN)
        .args(["report", &demo(), "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let critical = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .count();
    assert!(critical > 0);
    let size = podmem_schema::units::fmt_bytes(std::fs::metadata(&html).unwrap().len());
    let want = format!(
        "podmem-analyzer: wrote {}: {size}, {critical} critical findings",
        html.display()
    );
    assert!(seen.contains(&want), "want {want:?} in {seen:?}");

    // Not a terminal: nothing said.
    let out = Command::new(BIN)
        .args(["report", &demo(), "--format", "html", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrote"));
}

/// `report` in a pty made by `script`, returning what the terminal received.
fn in_a_pty(args: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", &format!("{BIN} {args}"), "/dev/null"])
        .output()
        .expect("script (util-linux) runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn progress_on_a_terminal_only() {
    let t = tempfile::tempdir().unwrap();
    let html = t.path().join("report.html");
    let args = format!("report {} --format html -o {}", demo(), html.display());
    // The line is drawn when reading starts and cleared before the closing line.
    let seen = in_a_pty(&args);
    assert!(
        seen.contains("podmem-analyzer: reading snapshots:"),
        "no progress line in {seen:?}"
    );
    assert!(seen.contains("archives read"), "{seen:?}");
    assert!(seen.contains("podmem-analyzer: wrote"), "{seen:?}");
    // --quiet: neither the progress line nor the closing line.
    let seen = in_a_pty(&format!("{args} --quiet"));
    assert!(!seen.contains("archives read"), "{seen:?}");
    assert!(!seen.contains("wrote"), "{seen:?}");

    // Not a terminal: nothing of it on stderr, not even a control sequence.
    for format in ["html", "json", "text"] {
        let out = Command::new(BIN)
            .args(["report", &demo(), "--format", format, "-o"])
            .arg(&html)
            .output()
            .unwrap();
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("archives read"), "{format}: {err:?}");
        assert!(
            !err.contains('\x1b') && !err.contains('\r'),
            "{format}: {err:?}"
        );
    }
    let out = Command::new(BIN)
        .args(["export", &demo(), "-o"])
        .arg(t.path().join("export"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("archives read") && !err.contains('\x1b'),
        "{err:?}"
    );
}

fn ooms_reads_live_kmsg_without_blocking() {
    // What dmesg shows now (read the same device through util-linux).
    let dmesg = Command::new("dmesg").arg("--raw").output().unwrap();
    assert!(dmesg.status.success());
    let from_dmesg = Command::new(BIN)
        .args(["ooms", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&dmesg.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    let dmesg_kills: Vec<serde_json::Value> = serde_json::from_slice(&from_dmesg.stdout).unwrap();

    // Output goes to files, not pipes: a ring buffer holding many kills gives more JSON
    // than a pipe holds, and an unread pipe would block the writer, not the reader.
    let t = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (t.path().join("out.json"), t.path().join("err"));
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(["ooms", "/dev/kmsg", "--format", "json"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    // Blocking would never end: a generous bound, far above the fraction of a second
    // it takes.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("ooms /dev/kmsg blocked at the end of the ring buffer");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{}",
        String::from_utf8_lossy(&std::fs::read(&err_path).unwrap())
    );
    let out_bytes = std::fs::read(&out_path).unwrap();
    let kills: Vec<serde_json::Value> = serde_json::from_slice(&out_bytes).unwrap();
    // Every kill dmesg showed a moment before is still there (the ring buffer only
    // loses records when it wraps, far beyond what a test run writes).
    for k in &dmesg_kills {
        assert!(
            kills
                .iter()
                .any(|x| x["pid"] == k["pid"] && x["comm"] == k["comm"]),
            "{k} from dmesg missing from /dev/kmsg"
        );
    }
}

podmem_testkit::main! {
    [] => [wrote_line_on_a_terminal_only, progress_on_a_terminal_only],
    [Need::Kernel] => [ooms_reads_live_kmsg_without_blocking],
}
