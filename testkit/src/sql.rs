//! The SQL engines the analyzer's Parquet export is read back with: DuckDB and Spark in
//! local mode, both through python3 (the `duckdb` and `pyspark` packages from PyPI,
//! which scripts/test installs; Spark needs a Java runtime).

use std::ffi::OsStr;
use std::process::Command;

fn python_imports(module: &str) -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "python3 cannot import {module} (pip install {module}): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

/// Whether python3 has the `duckdb` package, or why not.
pub fn duckdb() -> Result<(), String> {
    python_imports("duckdb")
}

/// Whether python3 has `pyspark` and a Java runtime is on `PATH`, or why not.
pub fn spark() -> Result<(), String> {
    python_imports("pyspark")?;
    let java = Command::new("java")
        .arg("-version")
        .output()
        .map_err(|e| format!("java: {e} (apt-get install openjdk-17-jre-headless)"))?;
    if !java.status.success() {
        return Err("java -version failed".into());
    }
    Ok(())
}

/// Runs a python3 script with arguments and returns its standard output; panics with
/// its standard error when it fails.
pub fn python<S: AsRef<OsStr>>(script: &str, args: &[S]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "python3 failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python3 printed UTF-8")
}
