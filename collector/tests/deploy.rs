//! `deploy/` checked against what `docs/deploy.md` promises: the DaemonSet's mounts,
//! security context, RBAC and resources, and every command line (DaemonSet args,
//! systemd ExecStart, cron line) parsed by the real collector.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::bin;
use yaml_rust2::{Yaml, YamlLoader};

fn deploy(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn docs() -> Vec<Yaml> {
    YamlLoader::load_from_str(&deploy("daemonset.yaml")).expect("daemonset.yaml is YAML")
}

fn kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn strs(y: &Yaml) -> Vec<&str> {
    y.as_vec()
        .unwrap_or_else(|| panic!("not a list: {y:?}"))
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

/// The collector's real argument parser accepts `args` (`--help` last: clap parses and
/// checks every argument before it, then prints help instead of running).
fn parses(args: &[&str]) {
    let o = Command::new(bin())
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?} rejected by the collector: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_help_trick_does_reject_bad_arguments() {
    for bad in [
        &["watch", "--interval=60s", "--no-such-flag"][..],
        &["watch", "--interval=sixty"],
        &["snapshot", "--max-snapshot-size=lots"],
    ] {
        let o = Command::new(bin())
            .args(bad)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?} was accepted");
    }
}

#[test]
fn daemonset_mounts_read_only_but_the_output() {
    let docs = docs();
    let ds = kind(&docs, "DaemonSet");
    assert_eq!(ds.len(), 1);
    let pod = &ds[0]["spec"]["template"]["spec"];
    let containers = pod["containers"].as_vec().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let volumes = pod["volumes"].as_vec().unwrap();
    let host_path = |name: &str| -> &str {
        volumes
            .iter()
            .find(|v| v["name"].as_str() == Some(name))
            .and_then(|v| v["hostPath"]["path"].as_str())
            .unwrap_or_else(|| panic!("volume {name} is not a hostPath"))
    };
    let mut writable = Vec::new();
    for m in c["volumeMounts"].as_vec().unwrap() {
        let name = m["name"].as_str().unwrap();
        let path = host_path(name);
        if m["readOnly"].as_bool() != Some(true) {
            writable.push((path, m["mountPath"].as_str().unwrap()));
        }
    }
    assert_eq!(
        writable,
        [("/var/lib/podmem", "/var/lib/podmem")],
        "only the output is writable"
    );
    // Every volume is a hostPath and mounted (no unused host access).
    assert_eq!(volumes.len(), c["volumeMounts"].as_vec().unwrap().len());
    assert!(pod["hostPID"].is_badvalue() || pod["hostPID"].as_bool() == Some(false));
}

#[test]
fn daemonset_security_context_is_what_the_docs_promise() {
    let docs = docs();
    let c = &kind(&docs, "DaemonSet")[0]["spec"]["template"]["spec"]["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["privileged"].as_bool(), Some(false));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(strs(&sc["capabilities"]["add"]), ["DAC_READ_SEARCH"]);
    assert_eq!(
        sc["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    let md = deploy("../docs/deploy.md");
    for promise in [
        "`privileged: false`",
        "`allowPrivilegeEscalation: false`",
        "read-only root filesystem",
        "`DAC_READ_SEARCH`",
        "RuntimeDefault seccomp",
    ] {
        assert!(
            md.contains(promise),
            "docs/deploy.md no longer says {promise}"
        );
    }
}

#[test]
fn daemonset_rbac_is_get_on_node_stats_only() {
    let docs = docs();
    let roles: Vec<&Yaml> = kind(&docs, "ClusterRole")
        .into_iter()
        .chain(kind(&docs, "Role"))
        .collect();
    assert_eq!(roles.len(), 1);
    let rules = roles[0]["rules"].as_vec().unwrap();
    for r in rules {
        assert_eq!(strs(&r["apiGroups"]), [""]);
        for res in strs(&r["resources"]) {
            assert!(
                ["nodes/stats", "nodes/proxy"].contains(&res),
                "unexpected resource {res}"
            );
        }
        assert_eq!(strs(&r["verbs"]), ["get"]);
    }
    assert!(rules
        .iter()
        .any(|r| strs(&r["resources"]).contains(&"nodes/stats")));
    let binding = &kind(&docs, "ClusterRoleBinding")[0];
    assert_eq!(binding["roleRef"]["name"], roles[0]["metadata"]["name"]);
    let ds = &kind(&docs, "DaemonSet")[0];
    assert_eq!(
        binding["subjects"][0]["name"],
        ds["spec"]["template"]["spec"]["serviceAccountName"]
    );
}

#[test]
fn daemonset_resources_and_arguments() {
    let docs = docs();
    let c = &kind(&docs, "DaemonSet")[0]["spec"]["template"]["spec"]["containers"][0];
    let res = &c["resources"];
    assert!(res["requests"]["cpu"].as_str().is_some());
    assert!(res["requests"]["memory"].as_str().is_some());
    assert_eq!(res["limits"]["memory"].as_str(), Some("64Mi"));
    let args = strs(&c["args"]);
    assert_eq!(args[0], "watch");
    // The in-memory snapshot cap leaves room under the 64Mi limit (docs/deploy.md).
    assert!(args.contains(&"--max-snapshot-size=32MiB"), "{args:?}");
    assert!(args.contains(&"--out=/var/lib/podmem"), "{args:?}");
    assert!(args.contains(&"--host-root=/host"), "{args:?}");
    parses(&args);
    // Every host path the collector reads under --host-root is mounted there.
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    for need in ["/host/sys/fs/cgroup", "/host/proc", "/host/var/log"] {
        assert!(mounts.contains(&need), "{need} not mounted: {mounts:?}");
    }
    // The kubelet's names come from the downward API (node IP tried first, node name
    // checked in its certificate), and kubeadm's self-signed kubelet.crt is mounted
    // where the collector trusts it by default, without its key.
    let env: Vec<(&str, &str)> = c["env"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(env.contains(&("NODE_NAME", "spec.nodeName")), "{env:?}");
    assert!(env.contains(&("NODE_IP", "status.hostIP")), "{env:?}");
    assert!(
        mounts.contains(&"/host/var/lib/kubelet/pki/kubelet.crt"),
        "{mounts:?}"
    );
    assert!(!mounts.iter().any(|m| m.ends_with(".key")), "{mounts:?}");
    assert!(args.contains(&"--kubelet=auto"), "{args:?}");
    assert!(!args.contains(&"--kubelet-insecure"), "{args:?}");
    // The docs' fetch command uses the flags that exist.
    let md = deploy("../docs/deploy.md");
    assert!(md.contains("bundle /var/lib/podmem -o - > NODE.tar"));
    parses(&["bundle", "/var/lib/podmem", "-o", "-"]);
}

#[test]
fn systemd_unit_and_cron_line_parse() {
    let unit = deploy("systemd/podmem-snapshot.service");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words[0], "/usr/local/bin/podmem-collector");
    parses(&words[1..]);
    assert!(unit.contains("MemoryMax=64M") && exec.contains("--max-snapshot-size 32MiB"));
    assert!(unit.contains("ReadWritePaths=/var/lib/podmem"));
    let timer = deploy("systemd/podmem-snapshot.timer");
    assert!(timer.contains("OnUnitActiveSec=") && timer.contains("WantedBy=timers.target"));

    let cron = deploy("podmem.cron");
    let line = cron
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .expect("a cron line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    // /etc/cron.d format: five time fields, the user, the command.
    assert_eq!(&fields[..6], ["*", "*", "*", "*", "*", "root"]);
    assert_eq!(fields[6], "/usr/local/bin/podmem-collector");
    let args: Vec<&str> = fields[7..]
        .iter()
        .take_while(|w| !w.starts_with('>') && !w.starts_with("2>"))
        .copied()
        .collect();
    parses(&args);
}
