//! The kubelet HTTPS path against a real TLS server (`openssl s_server`) with a serving
//! certificate signed by a private CA, as kubelets have: refused without the CA (and the
//! message says what to pass), accepted with `--kubelet-ca`, accepted with
//! `--kubelet-insecure` (recorded in the manifest), and the bearer token never written.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use podmem_schema::snapshot::Status;

/// A CA, a serving certificate for IP 127.0.0.1 signed by it, and `s_server -WWW`
/// serving `stats/summary` from `dir`. Returns the server guard and its port.
fn tls_kubelet(dir: &Path) -> (Server, u16) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=podmem-test-ca",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    serve(dir, "srv", None)
}

fn snap(
    out: &Path,
    port: u16,
    token: &Path,
    extra: &[&str],
) -> (
    i32,
    podmem_schema::snapshot::Manifest,
    Vec<(String, Vec<u8>)>,
    String,
) {
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-nice",
            "--kernel-log",
            "none",
            "--node-name",
            "tls",
            "-o",
        ])
        .arg(out)
        .arg("--host-root")
        .arg(host("v2-systemd-containerd"))
        .arg("--kubelet")
        .arg(format!("https://127.0.0.1:{port}"))
        .arg("--kubelet-token-file")
        .arg(token)
        .args(extra)
        .output()
        .unwrap();
    let path = String::from_utf8(o.stdout).unwrap();
    let es = entries(Path::new(path.trim()));
    let m = manifest(&es);
    (
        o.status.code().unwrap(),
        m,
        es,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn kubelet_over_tls_with_ca_insecure_and_refused() {
    let d = tempfile::tempdir().unwrap();
    let (_server, port) = tls_kubelet(d.path());
    let token = d.path().join("token");
    std::fs::write(&token, "tok-SECRET-123\n").unwrap();
    let summary = std::fs::read(host("kubelet-summary.json")).unwrap();

    // Unknown CA: an error that says what to pass.
    let (code, m, es, err) = snap(&d.path().join("a"), port, &token, &[]);
    assert_eq!(code, 1);
    let s = m
        .sources
        .iter()
        .find(|s| s.name == "kubelet-summary")
        .unwrap();
    assert_eq!(s.status, Status::Error, "{s:?}");
    assert!(
        s.message.as_deref().unwrap().contains("--kubelet-ca"),
        "{s:?}"
    );
    assert!(entry(&es, "kubelet/summary.json").is_none());
    assert!(err.contains("kubelet-summary error"));

    // The CA that signed the serving certificate.
    let ca = d.path().join("ca.pem");
    let (code, m, es, _) = snap(
        &d.path().join("b"),
        port,
        &token,
        &["--kubelet-ca", ca.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert_eq!(
        entry(&es, "kubelet/summary.json").unwrap(),
        summary.as_slice()
    );
    assert_eq!(
        m.options.get("kubelet_tls").map(String::as_str),
        Some("ca-file")
    );

    // Verification off, and recorded.
    let (code, m, es, _) = snap(&d.path().join("c"), port, &token, &["--kubelet-insecure"]);
    assert_eq!(code, 0);
    assert_eq!(
        entry(&es, "kubelet/summary.json").unwrap(),
        summary.as_slice()
    );
    assert_eq!(
        m.options.get("kubelet_tls").map(String::as_str),
        Some("insecure")
    );

    // The token is nowhere in any archive.
    for dir in ["a", "b", "c"] {
        for a in archives(&d.path().join(dir)) {
            let raw = entries(&a);
            assert!(
                raw.iter()
                    .all(|(_, data)| !String::from_utf8_lossy(data).contains("tok-SECRET-123")),
                "{}",
                a.display()
            );
        }
    }
}

/// Issue 13, hole 1, over TLS: a server holding the token (a complete JSON page echoing
/// it, or a body over the cap with the cap falling inside the token) never gets any of
/// it into the archive, the manifest or stderr.
#[test]
fn token_echoed_over_tls_is_never_kept() {
    let d = tempfile::tempdir().unwrap();
    let (_server, port) = tls_kubelet(d.path());
    let secret = "tls-SECRET-0123456789-abcdefghij";
    let token = d.path().join("token");
    std::fs::write(&token, format!("{secret}\n")).unwrap();
    std::fs::write(
        d.path().join("echo"),
        format!("{{\"headers\":{{\"Authorization\":\"Bearer {secret}\"}}}}"),
    )
    .unwrap();
    // 1 MiB cap: the token starts 10 bytes before it.
    let mut big = std::fs::read(host("kubelet-summary.json")).unwrap();
    big.resize((1 << 20) - 10, b' ');
    big.extend_from_slice(secret.as_bytes());
    std::fs::write(d.path().join("big"), big).unwrap();
    for (i, path) in ["echo", "big"].iter().enumerate() {
        let out = d.path().join(format!("out{i}"));
        let o = Command::new(bin())
            .args([
                "snapshot",
                "--no-nice",
                "--kernel-log",
                "none",
                "--node-name",
                "tls",
            ])
            .arg("-o")
            .arg(&out)
            .arg("--host-root")
            .arg(host("v2-systemd-containerd"))
            .arg("--kubelet")
            .arg(format!("https://127.0.0.1:{port}/{path}"))
            .arg("--kubelet-token-file")
            .arg(&token)
            .args(["--kubelet-insecure", "--max-snapshot-size", "1MiB"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let a = &archives(&out)[0];
        let es = entries(a);
        assert!(entry(&es, "kubelet/summary.json").is_none(), "{path}: kept");
        let mut all = vec![
            o.stderr.clone(),
            o.stdout.clone(),
            std::fs::read(a).unwrap(),
        ];
        all.extend(raw_entries(a).into_iter().map(|e| e.1));
        for data in all {
            for piece in secret.as_bytes().windows(12) {
                assert!(
                    !data.windows(12).any(|w| w == piece),
                    "{path}: a piece of the token was written"
                );
            }
        }
    }
}
