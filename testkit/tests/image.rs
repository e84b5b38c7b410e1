//! `scripts/build-image.sh` (issue 16): an OCI image archive of the static collector,
//! built without a container daemon, read back with the real `skopeo` and unpacked with
//! the real `umoci`: the binary alone in the rootfs, runnable, entrypoint the collector,
//! a non-root default user; and the DaemonSet names the tag it builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use podmem_testkit::samples;

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn version() -> String {
    let cargo = std::fs::read_to_string(samples::workspace().join("Cargo.toml")).unwrap();
    cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .to_string()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() {
            v.extend(
                files_under(&e.path())
                    .into_iter()
                    .map(|f| format!("{name}/{f}")),
            );
        } else {
            v.push(name);
        }
    }
    v
}

#[test]
fn image_archive_holds_the_static_collector_alone() {
    let bin = podmem_testkit::vm::static_collector()
        .unwrap_or_else(|why| panic!("the static collector: {why} (scripts/test builds it)"));
    let t = tempfile::tempdir().unwrap();
    let out = Command::new(samples::workspace().join("scripts/build-image.sh"))
        .env("PODMEM_COLLECTOR_BIN", &bin)
        .env("CARGO_TARGET_DIR", t.path())
        .output()
        .unwrap();
    podmem_testkit::exit::assert_exit(&out, 0);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let archive = PathBuf::from(stdout.lines().last().unwrap());
    assert!(archive.is_file(), "last line is not the archive: {stdout}");
    let v = version();
    let reference = format!("oci-archive:{}:{v}", archive.display());

    let inspect: serde_json::Value =
        serde_json::from_str(&run("skopeo", &["inspect", &reference])).unwrap();
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.version"],
        v.as_str()
    );
    let config: serde_json::Value =
        serde_json::from_str(&run("skopeo", &["inspect", "--config", &reference])).unwrap();
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/podmem-collector"])
    );
    assert_eq!(config["config"]["User"], "65534:65534");

    // Unpacked by umoci: the binary and nothing else, and it runs.
    let layout = t.path().join("layout");
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &reference,
            &format!("oci:{}:{v}", layout.display()),
        ],
    );
    let bundle = t.path().join("bundle");
    run(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:{v}", layout.display()),
            bundle.to_str().unwrap(),
        ],
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(files_under(&rootfs), vec!["podmem-collector".to_string()]);
    let shipped = rootfs.join("podmem-collector");
    assert_eq!(
        std::fs::read(&shipped).unwrap(),
        std::fs::read(&bin).unwrap(),
        "the image holds another binary"
    );
    let said = run(shipped.to_str().unwrap(), &["--version"]);
    assert!(said.starts_with(&format!("podmem-collector {v}")), "{said}");

    // The DaemonSet names the tag the script builds.
    let ds = std::fs::read_to_string(samples::workspace().join("deploy/daemonset.yaml")).unwrap();
    let image = ds
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap();
    assert!(
        image.ends_with(&format!("/podmem-collector:{v}")),
        "deploy/daemonset.yaml names {image}"
    );
}
