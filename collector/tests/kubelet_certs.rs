//! Kubelet serving certificates of each kind real clusters have, made with `openssl`
//! and served by `openssl s_server`: issued by the cluster CA for the IP, issued for the
//! node name only, self-signed by the kubelet's own CA (kubeadm without
//! serverTLSBootstrap), issued for another name, signed by an unknown CA; and
//! `--kubelet-insecure`, allowed on loopback and refused elsewhere. Each refusal names
//! the check that failed and the option that fixes it; the token is never written.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use podmem_schema::snapshot::Status;

const SECRET: &str = "certs-SECRET-token-0123456789";

/// A self-signed CA `<name>.pem` / `<name>.key`.
fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        ],
    );
}

/// A serving certificate `<name>.pem` / `<name>.key` with `san`, signed by `ca`.
fn leaf(dir: &Path, name: &str, ca: &str, san: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    std::fs::write(
        dir.join(format!("{name}.cnf")),
        format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.cnf"),
        ],
    );
}

struct Run {
    code: i32,
    status: Status,
    message: String,
    kept: bool,
    stderr: String,
}

/// One snapshot against `url`; asserts no piece of the token went anywhere.
fn run(dir: &Path, out: &str, url: &str, extra: &[&str]) -> Run {
    let token = dir.join("token");
    std::fs::write(&token, format!("{SECRET}\n")).unwrap();
    let out = dir.join(out);
    let mut cmd = Command::new(bin());
    cmd.args([
        "snapshot",
        "--no-nice",
        "--kernel-log",
        "none",
        "--node-name",
        "node-a",
        "-o",
    ])
    .arg(&out);
    if !extra.contains(&"--host-root") {
        cmd.arg("--host-root").arg(host("v2-systemd-containerd"));
    }
    let o = cmd
        .arg("--kubelet")
        .arg(url)
        .arg("--kubelet-token-file")
        .arg(&token)
        .args(extra)
        .env_remove("NODE_IP")
        .env_remove("NODE_NAME")
        .output()
        .unwrap();
    let a = &archives(&out)[0];
    let mut all = vec![
        o.stderr.clone(),
        o.stdout.clone(),
        std::fs::read(a).unwrap(),
    ];
    all.extend(raw_entries(a).into_iter().map(|e| e.1));
    let es = entries(a);
    all.extend(es.iter().map(|e| e.1.clone()));
    for data in &all {
        for piece in SECRET.as_bytes().windows(12) {
            assert!(
                !data.windows(12).any(|w| w == piece),
                "{url}: a piece of the token was written"
            );
        }
    }
    let m = manifest(&es);
    let s = m
        .sources
        .iter()
        .find(|s| s.name == "kubelet-summary")
        .unwrap();
    Run {
        code: o.status.code().unwrap(),
        status: s.status,
        message: s.message.clone().unwrap_or_default(),
        kept: entry(&es, "kubelet/summary.json").is_some(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn ok(r: &Run) {
    assert_eq!(
        (r.code, r.status, r.kept),
        (0, Status::Ok, true),
        "{}",
        r.message
    );
}

fn refused(r: &Run, says: &[&str]) {
    assert_eq!(r.status, Status::Error, "{}", r.message);
    assert!(!r.kept);
    for s in says {
        assert!(r.message.contains(s), "{s:?} not in {}", r.message);
        assert!(r.stderr.contains(s), "{s:?} not on stderr: {}", r.stderr);
    }
}

#[test]
fn certificate_issued_by_the_cluster_ca_for_the_ip_or_the_node_name() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ca(p, "cluster-ca");
    leaf(p, "for-ip", "cluster-ca", "IP:127.0.0.1,DNS:node-a");
    leaf(p, "for-name", "cluster-ca", "DNS:node-a");
    let (_a, port_ip) = serve(p, "for-ip", None);
    let (_b, port_name) = serve(p, "for-name", None);
    let ca_flag = ["--kubelet-ca", p.join("cluster-ca.pem").to_str().unwrap()].map(String::from);
    let ca_flag: Vec<&str> = ca_flag.iter().map(String::as_str).collect();

    ok(&run(
        p,
        "ip",
        &format!("https://127.0.0.1:{port_ip}"),
        &ca_flag,
    ));

    // Issued for node-a only: the node name is checked, 127.0.0.1 connected to.
    let r = run(
        p,
        "name",
        &format!("https://127.0.0.1:{port_name}"),
        &ca_flag,
    );
    ok(&r);
    assert!(r.message.contains("node name node-a"), "{}", r.message);
}

#[test]
fn self_signed_kubelet_certificate_kubeadm_default() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ca(p, "cluster-ca");
    // client-go's self-signed kubelet pair: its own CA, and a leaf for the host name,
    // both in kubelet.crt.
    ca(p, "node-a-ca@1700000000");
    leaf(p, "kubelet", "node-a-ca@1700000000", "DNS:node-a");
    let mut crt = std::fs::read(p.join("kubelet.pem")).unwrap();
    crt.extend(std::fs::read(p.join("node-a-ca@1700000000.pem")).unwrap());
    std::fs::write(p.join("kubelet.crt"), crt).unwrap();
    let (_s, port) = serve(p, "kubelet", Some("node-a-ca@1700000000"));
    let url = format!("https://127.0.0.1:{port}");

    let r = run(
        p,
        "a",
        &url,
        &["--kubelet-ca", p.join("cluster-ca.pem").to_str().unwrap()],
    );
    refused(
        &r,
        &[
            "self-signed",
            "--kubelet-ca",
            "/var/lib/kubelet/pki/kubelet.crt",
        ],
    );

    // Trusting the host's kubelet.crt (what the DaemonSet mounts) makes it verify.
    let r = run(
        p,
        "b",
        &url,
        &["--kubelet-ca", p.join("kubelet.crt").to_str().unwrap()],
    );
    ok(&r);

    // By default: the kubelet.crt under --host-root is trusted without any flag.
    let root = p.join("root");
    std::fs::create_dir_all(root.join("var/lib/kubelet/pki")).unwrap();
    std::fs::copy(
        p.join("kubelet.crt"),
        root.join("var/lib/kubelet/pki/kubelet.crt"),
    )
    .unwrap();
    let fx = host("v2-systemd-containerd");
    let r = run(
        p,
        "c",
        &url,
        &[
            "--host-root",
            root.to_str().unwrap(),
            "--cgroup-root",
            fx.join("sys/fs/cgroup").to_str().unwrap(),
            "--proc-root",
            fx.join("proc").to_str().unwrap(),
        ],
    );
    // Exit 1: the bare root lacks the host's other files; the summary itself is kept.
    assert_eq!((r.status, r.kept), (Status::Ok, true), "{}", r.message);
    assert!(
        r.message.contains("var/lib/kubelet/pki/kubelet.crt"),
        "{}",
        r.message
    );
}

#[test]
fn certificate_for_another_name_or_from_an_unknown_ca() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ca(p, "cluster-ca");
    ca(p, "other-ca");
    leaf(p, "wrong-name", "cluster-ca", "DNS:node-b,IP:10.1.2.3");
    leaf(p, "unknown", "other-ca", "IP:127.0.0.1,DNS:node-a");
    let (_a, port_wrong) = serve(p, "wrong-name", None);
    let (_b, port_unknown) = serve(p, "unknown", None);
    let ca_path = p.join("cluster-ca.pem");
    let ca_flag = ["--kubelet-ca", ca_path.to_str().unwrap()];

    let r = run(p, "a", &format!("https://127.0.0.1:{port_wrong}"), &ca_flag);
    refused(
        &r,
        &[
            "node-b",
            "not for 127.0.0.1 nor the node name node-a",
            "--kubelet-node-ip",
        ],
    );

    let r = run(
        p,
        "b",
        &format!("https://127.0.0.1:{port_unknown}"),
        &ca_flag,
    );
    refused(&r, &["unknown CA", "--kubelet-ca FILE"]);
}

#[test]
fn insecure_only_on_loopback() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ca(p, "own-ca");
    leaf(p, "kubelet", "own-ca", "DNS:elsewhere");
    let (_s, port) = serve(p, "kubelet", None);

    let r = run(
        p,
        "a",
        &format!("https://127.0.0.1:{port}"),
        &["--kubelet-insecure"],
    );
    ok(&r);
    assert!(
        r.stderr.contains("not verified (--kubelet-insecure)"),
        "{}",
        r.stderr
    );

    // Another host: refused before connecting (TEST-NET-1, nothing listens there).
    let t = Instant::now();
    let r = run(p, "b", "https://192.0.2.1:10250", &["--kubelet-insecure"]);
    refused(&r, &["--kubelet-insecure is refused", "--kubelet-ca FILE"]);
    assert!(t.elapsed() < Duration::from_secs(30));

    // In auto mode the node IP is not tried with verification off.
    let r = run(
        p,
        "c",
        "auto",
        &["--kubelet-insecure", "--kubelet-node-ip", "192.0.2.1"],
    );
    assert!(
        r.message
            .contains("https://192.0.2.1:10250/stats/summary not tried"),
        "{}",
        r.message
    );
}
