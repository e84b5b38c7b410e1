//! `oom::parse_log` over every real kernel log sample, with each file's events written
//! out by hand from reading it, plus the log forms the samples do not carry (journald
//! json, raw /dev/kmsg, `#012`, ISO prefixes) built from the real lines.

use std::path::PathBuf;

use jiff::Timestamp;
use podmem_schema::oom::{classify, parse_log, OomEvent, OomScope, ParseOptions};

fn samples() -> PathBuf {
    podmem_testkit::samples::realworld("oom_logs")
}

fn read(name: &str) -> String {
    let p = samples().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The fields checked for every event; None means "must be absent".
#[derive(Debug, Default, PartialEq)]
struct E {
    pid: Option<u32>,
    comm: Option<&'static str>,
    invoker: Option<&'static str>,
    scope: Option<OomScope>,
    pod_uid: Option<&'static str>,
    container_id: Option<&'static str>,
    oom_memcg: Option<&'static str>,
    task_memcg: Option<&'static str>,
    anon_kb: Option<u64>,
    file_kb: Option<u64>,
    shmem_kb: Option<u64>,
    total_vm_kb: Option<u64>,
    oom_score_adj: Option<i64>,
    usage_kb: Option<u64>,
    limit_kb: Option<u64>,
    uptime: Option<f64>,
    time: Option<&'static str>,
}

fn leak(s: &Option<String>) -> Option<&'static str> {
    s.clone().map(|s| &*Box::leak(s.into_boxed_str()))
}

fn view(e: &OomEvent) -> E {
    E {
        pid: e.pid,
        comm: leak(&e.comm),
        invoker: leak(&e.invoker),
        scope: Some(e.scope),
        pod_uid: leak(&e.pod_uid),
        container_id: leak(&e.container_id),
        oom_memcg: leak(&e.oom_memcg),
        task_memcg: leak(&e.task_memcg),
        anon_kb: e.anon_rss.map(|b| b / 1024),
        file_kb: e.file_rss.map(|b| b / 1024),
        shmem_kb: e.shmem_rss.map(|b| b / 1024),
        total_vm_kb: e.total_vm.map(|b| b / 1024),
        oom_score_adj: e.oom_score_adj,
        usage_kb: e.memcg_usage.map(|b| b / 1024),
        limit_kb: e.memcg_limit.map(|b| b / 1024),
        uptime: e.uptime_secs,
        time: leak(&e.time.map(|t| t.to_string())),
    }
}

fn check_with(file: &str, opts: &ParseOptions, want: &[E]) -> Vec<OomEvent> {
    let events = parse_log(&read(file), opts);
    let got: Vec<E> = events.iter().map(view).collect();
    assert_eq!(got.len(), want.len(), "{file}: event count; got {got:#?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{file}: event {i}");
    }
    for e in &events {
        assert!(
            !e.excerpt.is_empty() && e.excerpt.len() <= 400,
            "{file}: excerpt bounded"
        );
        assert_eq!(e.source, opts.source, "{file}: source stamped");
        assert_eq!(e.node, opts.node, "{file}: node stamped");
    }
    events
}

fn check(file: &str, want: &[E]) -> Vec<OomEvent> {
    let opts = ParseOptions {
        source: Some(file.to_string()),
        node: Some("node-a".to_string()),
        ..ParseOptions::default()
    };
    check_with(file, &opts, want)
}

const AKS_TASK: &str = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod10d16a28_60ff_475f_a631_510d9792219f.slice/cri-containerd-178ec18073cc6ac7be2de8d9869daf162a6349dd056b6535849112c53ec3102a.scope";

fn aks_event(time: Option<&'static str>) -> E {
    E {
        pid: Some(68061),
        comm: Some("stress"),
        scope: Some(OomScope::Kubepods),
        pod_uid: Some("10d16a28-60ff-475f-a631-510d9792219f"),
        container_id: Some("178ec18073cc6ac7be2de8d9869daf162a6349dd056b6535849112c53ec3102a"),
        oom_memcg: Some("/kubepods.slice"),
        task_memcg: Some(AKS_TASK),
        anon_kb: Some(2884696),
        file_kb: Some(288),
        shmem_kb: Some(0),
        total_vm_kb: Some(4195088),
        oom_score_adj: Some(872),
        uptime: Some(8341.85687),
        time,
        ..E::default()
    }
}

#[test]
fn aks_node_allocatable_oom_group_kill_printed_twice_is_one_event() {
    let ev = check(
        "aks_syslog_cgroupv2_oom_group_node_allocatable.log",
        &[aks_event(None)],
    );
    // The node-problem-detector line re-quoting the kill is not a kernel line.
    assert!(ev[0].excerpt.iter().all(|l| !l.contains("log_monitor")));
    // With the year known, syslog timestamps become wall time.
    let opts = ParseOptions {
        year: Some(2025),
        ..ParseOptions::default()
    };
    check_with(
        "aks_syslog_cgroupv2_oom_group_node_allocatable.log",
        &opts,
        &[aks_event(Some("2025-06-24T18:49:43Z"))],
    );
}

#[test]
fn cadvisor_docker_two_ooms_with_noise() {
    // Plain docker memcgs: the container id is the path's last component.
    let docker = |path: &'static str| E {
        pid: None,
        oom_memcg: Some(path),
        task_memcg: Some(path),
        container_id: path.strip_prefix("/docker/"),
        ..E::default()
    };
    let a = docker("/docker/2e088fe462e25e60be1dafafe2c05c47bda1a97978648d10ad2b7484fc0b8f50");
    let b = docker("/docker/6c6fcab8562fd3150854986b78552c732f234fd405b624207b8843528a145e70");
    let ev = check(
        "cadvisor_docker_memcg_v1_4.8_gentoo_two_ooms_kmsg.log",
        &[
            E {
                pid: Some(1381),
                comm: Some("gunpowder-memho"),
                invoker: Some("gunpowder-memho"),
                scope: Some(OomScope::Other),
                anon_kb: Some(18624),
                file_kb: Some(2140),
                shmem_kb: Some(0),
                total_vm_kb: Some(2121528),
                oom_score_adj: Some(0),
                usage_kb: Some(20480),
                limit_kb: Some(20480),
                ..a
            },
            E {
                pid: Some(1667),
                comm: Some("gunpowder-memho"),
                invoker: Some("gunpowder-memho"),
                scope: Some(OomScope::Other),
                anon_kb: Some(248180),
                file_kb: Some(2048),
                shmem_kb: Some(0),
                total_vm_kb: Some(843576),
                oom_score_adj: Some(0),
                usage_kb: Some(307112),
                limit_kb: Some(307200),
                ..b
            },
        ],
    );
    // Bridge/veth noise after the kill is not part of the block.
    for e in &ev {
        assert!(
            e.excerpt.last().unwrap().starts_with("oom_reaper:"),
            "{:?}",
            e.excerpt
        );
        assert!(e.excerpt.iter().all(|l| !l.contains("veth")));
    }
}

#[test]
fn cadvisor_global_oom() {
    let ev = check(
        "cadvisor_global_oom_ubuntu_3.13_gce_kmsg.log",
        &[E {
            pid: Some(1532),
            comm: Some("badsysprogram"),
            invoker: Some("badsysprogram"),
            scope: Some(OomScope::Global),
            anon_kb: Some(1595164),
            file_kb: Some(76),
            total_vm_kb: Some(1641388),
            oom_score_adj: Some(0),
            ..E::default()
        }],
    );
    assert_eq!(ev[0].excerpt.len(), 81, "the whole Mem-Info and task table");
}

#[test]
fn cadvisor_memcg_v1_3_13() {
    check(
        "cadvisor_memcg_v1_ubuntu_3.13_kmsg.log",
        &[E {
            pid: Some(13536),
            comm: Some("memorymonster"),
            invoker: Some("memorymonster"),
            scope: Some(OomScope::Other),
            oom_memcg: Some("/mem2"),
            task_memcg: Some("/mem2"),
            anon_kb: Some(920),
            file_kb: Some(452),
            total_vm_kb: Some(33558652),
            oom_score_adj: Some(0),
            usage_kb: Some(980),
            limit_kb: Some(980),
            ..E::default()
        }],
    );
}

#[test]
fn cadvisor_single_lines_awkward_names_and_stray_space() {
    let plex = |comm: &'static str| E {
        pid: Some(1234),
        comm: Some(comm),
        scope: Some(OomScope::Global),
        anon_kb: Some(1414008),
        file_kb: Some(4),
        total_vm_kb: Some(1460016),
        uptime: Some(62279.421192),
        ..E::default()
    };
    check(
        "cadvisor_single_lines_incl_5x_oomkill_kubepods.txt",
        &[
            E {
                pid: Some(19667),
                comm: Some("evil-program2"),
                invoker: Some("ruby"),
                scope: Some(OomScope::Global),
                anon_kb: Some(1414008),
                file_kb: Some(4),
                total_vm_kb: Some(1460016),
                ..E::default()
            },
            E {
                scope: Some(OomScope::Other),
                oom_memcg: Some("/mem3"),
                task_memcg: Some("/mem2"),
                ..E::default()
            },
            E {
                pid: Some(966),
                comm: Some("manager"),
                scope: Some(OomScope::Pod),
                pod_uid: Some("fbdfe8e3-1c87-4ff2-907c-b2ec8e25d012"),
                container_id: Some("ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8"),
                oom_memcg: Some("/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907 c-b2ec8e25d012"),
                task_memcg: Some("/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012/ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8"),
                ..E::default()
            },
            plex("Plex Media Server"),
            plex("x86_64-pc-linux-gnu-c++-5.4.0"),
            plex("()"),
            plex("\"with quotes\""),
        ],
    );
}

#[test]
fn camptocamp_5x_container_limit() {
    let c = "/kubepods/burstable/pod792adfde-d139-4c9c-a89e-ae94f36ea69d/7a982186b58cec345c4a3f635809c7e04afc930453a5dbb5cbc9d4d49f662761";
    check(
        "camptocamp_dmesg_5x_oomkill_cgroupfs_kubepods.log",
        &[E {
            pid: Some(10506),
            comm: Some("ruby"),
            scope: Some(OomScope::Container),
            pod_uid: Some("792adfde-d139-4c9c-a89e-ae94f36ea69d"),
            container_id: Some("7a982186b58cec345c4a3f635809c7e04afc930453a5dbb5cbc9d4d49f662761"),
            oom_memcg: Some(c),
            task_memcg: Some(c),
            uptime: Some(10657070.816698),
            ..E::default()
        }],
    );
}

#[test]
fn camptocamp_old_kernel_pod_limit() {
    check(
        "camptocamp_dmesg_old_kernel_pod_level_limit.log",
        &[E {
            pid: Some(8308),
            comm: Some("java"),
            scope: Some(OomScope::Pod),
            pod_uid: Some("af389229-5fc5-4617-ae95-9160d576eb49"),
            container_id: Some("3b3d031aca1bab63c359a8aac8c18e373ac90373faf12c69e5225aec01fc9c84"),
            oom_memcg: Some("/kubepods/burstable/podaf389229-5fc5-4617-ae95-9160d576eb49"),
            task_memcg: Some("/kubepods/burstable/podaf389229-5fc5-4617-ae95-9160d576eb49/3b3d031aca1bab63c359a8aac8c18e373ac90373faf12c69e5225aec01fc9c84"),
            uptime: Some(21013.57753),
            ..E::default()
        }],
    );
}

#[test]
fn debian_6_1_complete_v2_report() {
    let cg = "/user.slice/user-1000.slice/dans-slice";
    check(
        "debian_6.1_arm64_cgroupv2_memcg_oom_complete_timestamps_cut.log",
        &[E {
            pid: Some(4045),
            comm: Some("bigleak2"),
            invoker: Some("bigleak2"),
            scope: Some(OomScope::Other),
            oom_memcg: Some(cg),
            task_memcg: Some(cg),
            anon_kb: Some(20020),
            file_kb: Some(1172),
            shmem_kb: Some(0),
            total_vm_kb: Some(53392),
            oom_score_adj: Some(0),
            usage_kb: Some(20480),
            limit_kb: Some(20480),
            ..E::default()
        }],
    );
}

#[test]
fn rhel7_dmesg_t_child_sacrificed() {
    // The kernel chose 24572 but killed its child 28438; the excerpt starts at the
    // stats line, so the victim's cgroup comes from it and the limit is unknown.
    check(
        "k8s_issue56891_rhel7_3.10.0-327_dmesgT_cgroupfs_docker_excerpt.log",
        &[E {
            pid: Some(28438),
            comm: Some("java"),
            scope: Some(OomScope::Other),
            pod_uid: Some("95387fa4-da9c-11e7-9d36-5254b24cbf5e"),
            container_id: Some("6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b"),
            task_memcg: Some("/kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b"),
            anon_kb: Some(466160),
            file_kb: Some(13684),
            total_vm_kb: Some(20255636),
            oom_score_adj: Some(-998),
            time: Some("2017-12-07T00:05:15Z"),
            ..E::default()
        }],
    );
}

#[test]
fn kubedirector_paste_wrapped_mid_token() {
    let c = "/kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/024952d653ef1cd852f875a61bd27cf45cb1fd6cab3659ca7e5f12f037d99aa9";
    check(
        "kubedirector_issue356_4.x_cgroupfs_pastewrapped_excerpt.log",
        &[E {
            pid: Some(62685),
            comm: Some("bash"),
            scope: Some(OomScope::Container),
            pod_uid: Some("951f6bc5-c5a5-11ea-8707-80e455f266a2"),
            container_id: Some("024952d653ef1cd852f875a61bd27cf45cb1fd6cab3659ca7e5f12f037d99aa9"),
            oom_memcg: Some(c),
            task_memcg: Some(c),
            oom_score_adj: Some(-998),
            usage_kb: Some(524288),
            limit_kb: Some(524288),
            uptime: Some(5193605.506956),
            ..E::default()
        }],
    );
}

#[test]
fn lkml_6_18_mail_wrapped() {
    check(
        "lkml_6.18_arm64_memcg_v2_oom_debugkernel_mailwrapped_excerpt.log",
        &[E {
            pid: Some(1122),
            comm: Some("stress"),
            invoker: Some("stress"),
            scope: Some(OomScope::Other),
            oom_memcg: Some("/test512mb"),
            task_memcg: Some("/test512mb"),
            anon_kb: Some(522880),
            file_kb: Some(536),
            shmem_kb: Some(0),
            total_vm_kb: Some(719740),
            oom_score_adj: Some(0),
            usage_kb: Some(524288),
            limit_kb: Some(524288),
            uptime: Some(56.419663),
            ..E::default()
        }],
    );
}

#[test]
fn lkml_v1_v2_style_keys_mail_wrapped() {
    check(
        "lkml_memcg_v1_oom_5.x-6.4_v2_style_keys_mailwrapped.log",
        &[E {
            pid: Some(108),
            comm: Some("tail"),
            scope: Some(OomScope::Other),
            oom_memcg: Some("/a"),
            task_memcg: Some("/a"),
            anon_kb: Some(9216),
            file_kb: Some(0),
            shmem_kb: Some(1280),
            total_vm_kb: Some(11944),
            oom_score_adj: Some(0),
            usage_kb: Some(10240),
            limit_kb: Some(10240),
            uptime: Some(88.339588),
            ..E::default()
        }],
    );
}

#[test]
fn reportportal_kill_before_next_header() {
    check(
        "reportportal_issue203_ubuntu_5.4.0-77_memcg_dmesg_excerpt.log",
        &[E {
            pid: Some(63214),
            comm: Some("uwsgi"),
            scope: Some(OomScope::Other),
            anon_kb: Some(164992),
            file_kb: Some(52176),
            shmem_kb: Some(92),
            total_vm_kb: Some(3149468),
            oom_score_adj: Some(986),
            uptime: Some(7063.247407),
            ..E::default()
        }],
    );
}

#[test]
fn talos_limit_above_kubepods() {
    check(
        "talos_pr289_dind_nested_kubepods_printk_level_excerpt.log",
        &[E {
            scope: Some(OomScope::Other),
            pod_uid: Some("6687d6d7-fcae-11e8-b0b0-5e61144ba466"),
            container_id: Some("58f8a9bf6a469f0c94d42be34ad1bdff84fad63f236baedde981139a15aa5287"),
            oom_memcg: Some("/system/docker"),
            task_memcg: Some("/system/docker/kubepods/burstable/pod6687d6d7-fcae-11e8-b0b0-5e61144ba466/58f8a9bf6a469f0c94d42be34ad1bdff84fad63f236baedde981139a15aa5287"),
            uptime: Some(1205.517883),
            ..E::default()
        }],
    );
}

/// Excerpts that hold part of a report but no kill and no scope line: no event.
const NO_KILL: &[(&str, &str)] = &[
    (
        "propolis_issue439_journal_short_memcg_header_cut_excerpt.log",
        "header and call trace only",
    ),
    (
        "nixpkgs_pr81151_test_driver_prefix_global_header_cut_excerpt.log",
        "header and call trace only",
    ),
    (
        "containerd_cgroups_issue74_rhel7_3.10.0-862_docker_messages_excerpt.log",
        "header and call trace only",
    ),
    (
        "dpservice_issue74_5.x_v2_kubepods_slice_journal_excerpt.log",
        "registers and counters only",
    ),
    (
        "ingress_nginx_issue4756_4.x_hierarchical_pod_stats_syslog_excerpt.log",
        "stats and task table only",
    ),
    (
        "kata_runtime_pr2775_dmesgT_kubepods_v2style_stats_indented_excerpt.log",
        "counters and stats only",
    ),
    (
        "kind_in_podman_nested_kubelet_slice_v2_dmesgT_excerpt.log",
        "counters and stats only",
    ),
    (
        "photon_issue1535_4.19_vmware_guest_log_printk_level_excerpt.log",
        "stats and task table only",
    ),
    (
        "relate_issue1383_6.x_global_task_table_rss_split_columns_excerpt.log",
        "task table only",
    ),
    (
        "walinuxagent_issue2805_aks_5.4_v1_multiline_stats_indented_syslog_excerpt.log",
        "counters and stats only",
    ),
];

#[test]
fn excerpts_without_a_kill_yield_nothing() {
    for (file, why) in NO_KILL {
        check(file, &[]);
        let text = read(file);
        assert!(
            !text.contains("Killed process") && !text.contains("oom-kill:"),
            "{file}: {why}"
        );
    }
}

/// Every file in the directory is covered: ≥1 event, or listed in [`NO_KILL`].
#[test]
fn every_sample_file_is_accounted_for() {
    let mut n = 0;
    for entry in std::fs::read_dir(samples()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let events = parse_log(&read(&name), &ParseOptions::default());
        if NO_KILL.iter().any(|(f, _)| *f == name) {
            assert!(events.is_empty(), "{name}");
        } else {
            assert!(!events.is_empty(), "{name}: new sample yields no event");
        }
        n += 1;
    }
    assert!(n >= 22, "only {n} samples found");
}

// ------------------------------------------------ forms built from the real lines

/// The kernel lines of the AKS sample without their syslog prefix.
fn aks_kernel_lines() -> Vec<String> {
    read("aks_syslog_cgroupv2_oom_group_node_allocatable.log")
        .lines()
        .filter_map(|l| l.split_once(" kernel: ").map(|(_, m)| m.to_string()))
        .collect()
}

fn strip_uptime(l: &str) -> &str {
    l.split_once("] ").map(|(_, m)| m).unwrap_or(l)
}

#[test]
fn journalctl_json_records() {
    let mut text = String::from("{\"MESSAGE\":\"Started foo.\",\"_TRANSPORT\":\"journal\",\"SYSLOG_IDENTIFIER\":\"systemd\"}\n");
    for (i, l) in aks_kernel_lines().iter().enumerate() {
        let rec = serde_json::json!({
            "MESSAGE": strip_uptime(l),
            "_TRANSPORT": "kernel",
            "SYSLOG_IDENTIFIER": "kernel",
            "__REALTIME_TIMESTAMP": (1750790983405414u64 + i as u64).to_string(),
            "_SOURCE_MONOTONIC_TIMESTAMP": "8341856870",
        });
        text.push_str(&rec.to_string());
        text.push('\n');
    }
    let ev = parse_log(&text, &ParseOptions::default());
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0].pid, Some(68061));
    assert_eq!(ev[0].scope, OomScope::Kubepods);
    assert_eq!(ev[0].uptime_secs, Some(8341.85687));
    assert_eq!(
        ev[0].time,
        Some(Timestamp::from_microsecond(1750790983405415).unwrap())
    );
}

#[test]
fn raw_kmsg_records_with_boot_time() {
    let boot: Timestamp = "2025-06-24T16:30:42Z".parse().unwrap();
    let mut text = String::new();
    for (i, l) in aks_kernel_lines().iter().enumerate() {
        text.push_str(&format!(
            "6,{},{},-;{}\n",
            22743 + i,
            8341856870u64,
            strip_uptime(l)
        ));
        text.push_str(" SUBSYSTEM=memory\n");
    }
    let opts = ParseOptions {
        boot_time: Some(boot),
        ..ParseOptions::default()
    };
    let ev = parse_log(&text, &opts);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0].uptime_secs, Some(8341.85687));
    assert_eq!(
        ev[0].time,
        Some(
            boot.checked_add(jiff::SignedDuration::from_micros(8341856870))
                .unwrap()
        )
    );
    assert!(ev[0].excerpt.iter().all(|l| !l.contains("SUBSYSTEM")));
}

#[test]
fn rsyslog_012_and_iso_prefixes() {
    let body: Vec<String> = read("camptocamp_dmesg_old_kernel_pod_level_limit.log")
        .lines()
        .map(|l| strip_uptime(l).to_string())
        .collect();
    let one = format!(
        "2024-01-02T03:04:05.123456+0000 node-a kernel: {}\n",
        body.join("#012")
    );
    let ev = parse_log(&one, &ParseOptions::default());
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0].scope, OomScope::Pod);
    assert_eq!(ev[0].pid, Some(8308));
    assert_eq!(ev[0].excerpt.len(), 4);
    assert_eq!(
        ev[0].time,
        Some("2024-01-02T03:04:05.123456Z".parse().unwrap())
    );
    // short-iso with a colon offset, one line per record, and a foreign line between.
    let mut iso = String::new();
    for l in &body {
        iso.push_str(&format!("2024-01-02T03:04:05+01:00 node-a kernel: {l}\n"));
        iso.push_str("2024-01-02T03:04:05+01:00 node-a dockerd[12]: Killed process 8308 (java)\n");
    }
    let ev = parse_log(&iso, &ParseOptions::default());
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0].time, Some("2024-01-02T02:04:05Z".parse().unwrap()));
}

#[test]
fn dmesg_uptime_plus_boot_time_gives_wall_time() {
    let boot: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let opts = ParseOptions {
        boot_time: Some(boot),
        ..ParseOptions::default()
    };
    let ev = parse_log(
        &read("camptocamp_dmesg_old_kernel_pod_level_limit.log"),
        &opts,
    );
    assert_eq!(ev.len(), 1);
    let want = boot
        .checked_add(jiff::SignedDuration::from_secs_f64(21013.577527))
        .unwrap();
    let got = ev[0].time.unwrap();
    assert!(
        got.duration_since(want).abs().as_millis() < 1,
        "{got} vs {want}"
    );
}

#[test]
fn oom_group_members_are_separate_events_sharing_the_memcg() {
    let text = "\
[ 10.0] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod10d16a28_60ff_475f_a631_510d9792219f.slice,task_memcg=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod10d16a28_60ff_475f_a631_510d9792219f.slice/cri-containerd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope,task=a,pid=1,uid=0
[ 10.1] Memory cgroup out of memory: Killed process 1 (a) total-vm:10kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0
[ 10.2] Tasks in /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod10d16a28_60ff_475f_a631_510d9792219f.slice/cri-containerd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope are going to be killed due to memory.oom.group set
[ 10.3] Memory cgroup out of memory: Killed process 1 (a) total-vm:10kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0
[ 10.4] Memory cgroup out of memory: Killed process 2 (b) total-vm:10kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0
";
    let ev = parse_log(text, &ParseOptions::default());
    let pids: Vec<_> = ev.iter().map(|e| (e.pid, e.scope)).collect();
    assert_eq!(pids, [(Some(1), OomScope::Pod), (Some(2), OomScope::Pod)]);
    assert_eq!(ev[0].oom_memcg, ev[1].oom_memcg);
    assert_eq!(
        ev[1].container_id.as_deref(),
        Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    );
}

#[test]
fn global_oom_kill_line_forms() {
    let text = "[ 5.0] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/kubepods/besteffort/pod28478e30-384f-41e5-9d85-eae249ae8506/58a77afcbf0b16959d526758f6696677c862517acc97a562dc5c5b09afbf5236,task=java,pid=7,uid=0
[ 5.1] Out of memory: Killed process 7 (java) total-vm:100kB, anon-rss:80kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:1000
";
    let ev = parse_log(text, &ParseOptions::default());
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].scope, OomScope::Global);
    assert_eq!(
        ev[0].pod_uid.as_deref(),
        Some("28478e30-384f-41e5-9d85-eae249ae8506")
    );
    assert_eq!(ev[0].anon_rss, Some(80 * 1024));
}

#[test]
fn classify_by_limit_level() {
    let pod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice";
    let ctr = format!("{pod}/cri-containerd-25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca.scope");
    let uid = Some("5931aa75-4603-4e65-b552-7c71cf55cfb5".to_string());
    let cid = Some("25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca".to_string());
    assert_eq!(
        classify(Some(&ctr), Some(&ctr), Some("CONSTRAINT_MEMCG")),
        (OomScope::Container, uid.clone(), cid.clone())
    );
    assert_eq!(
        classify(Some(pod), Some(&ctr), None),
        (OomScope::Pod, uid.clone(), cid.clone())
    );
    assert_eq!(
        classify(
            Some("/kubepods.slice/kubepods-burstable.slice"),
            Some(&ctr),
            None
        )
        .0,
        OomScope::Kubepods
    );
    assert_eq!(
        classify(None, Some(&ctr), Some("CONSTRAINT_NONE")),
        (OomScope::Global, uid.clone(), cid.clone())
    );
    assert_eq!(
        classify(Some(pod), Some(&ctr), Some("CONSTRAINT_NONE")).0,
        OomScope::Global
    );
    assert_eq!(
        classify(Some("/azure.slice"), Some("/azure.slice/x"), None),
        (OomScope::Other, None, None)
    );
    // Pod from the limit when the victim's cgroup is unknown.
    assert_eq!(classify(Some(pod), None, None), (OomScope::Pod, uid, None));
}

#[test]
fn rhel7_kill_line_and_journalctl_short_precise() {
    let text = "\
Dec 07 00:05:14.250000 host kernel: Memory cgroup out of memory: Kill process 24572 (java) score 0 or sacrifice child
Dec 07 00:05:14.250001 host kernel: Killed process 28438 (java), UID 0, total-vm:20255636kB, anon-rss:466160kB, file-rss:13684kB, shmem-rss:0kB
";
    let opts = ParseOptions {
        year: Some(2017),
        ..ParseOptions::default()
    };
    let ev = parse_log(text, &opts);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(
        (ev[0].pid, ev[0].comm.as_deref()),
        (Some(28438), Some("java"))
    );
    assert_eq!(ev[0].anon_rss, Some(466160 * 1024));
    assert_eq!(
        ev[0].time,
        Some("2017-12-07T00:05:14.250001Z".parse().unwrap())
    );
    assert_eq!(
        ev[0].scope,
        OomScope::Other,
        "memcg OOM whose memcg is not in the text"
    );
}

// ------------------------------------------------ more log forms (issue 11)

/// pid, comm, scope, pod uid, container id of each event, as the log says them.
type Key = (
    Option<u32>,
    Option<&'static str>,
    OomScope,
    Option<&'static str>,
    Option<&'static str>,
);

fn keys(file: &str, year: Option<i16>) -> (Vec<Key>, Vec<OomEvent>) {
    let opts = ParseOptions {
        year,
        ..ParseOptions::default()
    };
    let ev = parse_log(&read(file), &opts);
    let k = ev
        .iter()
        .map(|e| {
            (
                e.pid,
                leak(&e.comm),
                e.scope,
                leak(&e.pod_uid),
                leak(&e.container_id),
            )
        })
        .collect();
    (k, ev)
}

fn t(s: &str) -> Option<Timestamp> {
    Some(s.parse().unwrap())
}

#[test]
fn rhel6_2_6_32_kill_line_names_the_victim_after_its_uid() {
    let (k, ev) = keys(
        "cpanel_ssp_issue76_centos6_2.6.32_syslog_uid_kill_line.log",
        Some(2016),
    );
    assert_eq!(
        k,
        [(Some(11726), Some("mysqld"), OomScope::Global, None, None)]
    );
    let e = &ev[0];
    assert_eq!(
        (e.total_vm, e.anon_rss, e.file_rss),
        (Some(7823732 * 1024), Some(2539268 * 1024), Some(768 * 1024))
    );
    assert_eq!(e.uptime_secs, Some(2858609.598568));
    assert_eq!(e.time, t("2016-03-02T17:35:10Z"));

    // Plain dmesg: the kill line, then the next report cut before its kill.
    let (k, ev) = keys(
        "odoo_issue26963_centos6_2.6.32_bare_dmesg_uid_kill_then_cut_block_excerpt.log",
        None,
    );
    assert_eq!(
        k,
        [(Some(31217), Some("python3"), OomScope::Global, None, None)]
    );
    assert_eq!(ev[0].anon_rss, Some(376376 * 1024));
}

#[test]
fn rhel7_comm_then_uid_kill_lines_keep_names_with_spaces() {
    let (k, ev) = keys(
        "oom_messages_exporter_systemd_1_rhel7_syslog_service_memcg_two_blocks_excerpt.log",
        Some(2023),
    );
    let svc = OomScope::Other;
    assert_eq!(
        k,
        [
            (Some(1847), Some("node /opt/www/p"), svc, None, None),
            (Some(29838), Some("node /opt/www/p"), svc, None, None),
        ]
    );
    assert_eq!(ev[0].invoker.as_deref(), Some("node /opt/www/p"));
    assert_eq!(ev[1].invoker.as_deref(), Some("node"));
    assert_eq!(
        ev[0].oom_memcg.as_deref(),
        Some("/system.slice/node-app.service")
    );
    assert_eq!(ev[0].anon_rss, Some(329556 * 1024));
    assert_eq!(ev[0].time, t("2023-09-04T00:05:58Z"));
    assert_eq!(ev[1].uptime_secs, Some(38470203.245101));

    let (k, _) = keys(
        "doris_issue3525_syslog_sacrifice_child_uid_kill_then_runtime_lines.log",
        None,
    );
    assert_eq!(
        k,
        [(Some(18177), Some("palo_be"), OomScope::Other, None, None)]
    );

    // Quoted with `> `: the syslog time is still read.
    let (k, ev) = keys(
        "k8s_issue50632_quoted_syslog_comm_then_uid_kill_lines_excerpt.log",
        Some(2017),
    );
    let pids: Vec<u32> = k.iter().filter_map(|k| k.0).collect();
    assert_eq!(
        pids,
        [799153, 799402, 799889, 799707, 799791, 800660, 800329, 801542]
    );
    assert!(k.iter().all(|k| k.1 == Some("node")));
    assert_eq!(ev[0].time, t("2017-11-30T10:16:57Z"));
    assert_eq!(ev[0].anon_rss, Some(68308 * 1024));

    // The last `Kill process` lost its kill line: the kernel's choice stands.
    let (k, _) = keys(
        "ltp_issue1080_syslog_no_uptime_comm_then_uid_kills_excerpt.log",
        None,
    );
    let pids: Vec<u32> = k.iter().filter_map(|k| k.0).collect();
    assert_eq!(pids, [42452, 42453, 42474, 42471, 42468, 42469]);
    assert!(k.iter().all(|k| k.1 == Some("memcg_test_1")));
}

#[test]
fn excerpts_starting_after_the_header_with_reaper_lines() {
    let (k, _) = keys(
        "docker_for_linux_issue1001_ubuntu_syslog_memcg_sacrifice_child_reaper_excerpt.log",
        None,
    );
    let other = OomScope::Other;
    assert_eq!(
        k,
        [
            (Some(4254), Some("python3"), other, None, None),
            (Some(4255), Some("python3"), other, None, None),
        ]
    );
    let (k, _) = keys(
        "docker_for_linux_issue1001_ubuntu_syslog_memcg_killed_reaper_no_header_excerpt.log",
        None,
    );
    let pids: Vec<u32> = k.iter().filter_map(|k| k.0).collect();
    assert_eq!(pids, [15617, 15674, 15623, 15694]);
    let (k, ev) = keys(
        "docker_for_linux_issue1001_ubuntu_syslog_global_parens_comm_reaper_excerpt.log",
        Some(2020),
    );
    let g = OomScope::Global;
    assert_eq!(
        k,
        [
            (Some(15784), Some("python3"), g, None, None),
            (Some(15925), Some("(resolved)"), g, None, None),
            (Some(15783), Some("python3"), g, None, None),
            (Some(15934), Some("(resolved)"), g, None, None),
        ]
    );
    assert_eq!(ev[1].total_vm, Some(168424 * 1024));
}

#[test]
fn docker_era_container_ids() {
    let id = "9f9cdbfd1ad345748869b4cbaaa0e71b573e54c30ed44071e9dbc948ecc7e857";
    let (k, ev) = keys(
        "wca_pr1690_bare_dmesg_docker_task_in_without_header_blank_lines_excerpt.log",
        None,
    );
    assert_eq!(k, [(None, None, OomScope::Other, None, Some(id))]);
    assert_eq!(ev[0].memcg_usage, Some(4194304 * 1024));
    let (k, _) = keys(
        "dyrnq_install_docker_issue14_dmesg_global_oomkill_docker_scope.log",
        None,
    );
    assert_eq!(
        k,
        [(
            Some(7134),
            Some("java"),
            OomScope::Global,
            None,
            Some("00748bf4e957f82c239a1db8a88579059b7d40c7b5fbd3f43617d31d3f646f12")
        )]
    );
}

#[test]
fn prefixes_of_the_field() {
    let (k, ev) = keys(
        "gpud_pr70_quoted_short_precise_oomkill_lxc_nested_kubepods.log",
        Some(2024),
    );
    assert_eq!(
        k,
        [(
            Some(461754),
            Some("pt_main_thread"),
            OomScope::Pod,
            Some("eded8c65-6e8e-4c6e-a889-3e427565c740"),
            Some("ec9ee26695deb4cc72bc665efff1cf3a03fdfb12f1303e02fe9252985e084a95")
        )]
    );
    assert_eq!(ev[0].time, t("2024-08-30T06:58:55.050705Z"));

    let (k, _) = keys(
        "ert_issue9320_numbered_dmesg_global_kill_lines_excerpt.log",
        None,
    );
    let g = OomScope::Global;
    assert_eq!(
        k,
        [
            (Some(328391), Some("fluvial_facies"), g, None, None),
            (Some(1597132), Some("eclipse.exe"), g, None, None),
            (Some(1595933), Some("rms"), g, None, None),
            (Some(1596142), Some("rms"), g, None, None),
            (Some(1596008), Some("rms"), g, None, None),
        ]
    );
    let (k, ev) = keys("bitcoin_sv_issue64_dmesgT_kill_lines_excerpt.log", None);
    let pids: Vec<u32> = k.iter().filter_map(|k| k.0).collect();
    assert_eq!(pids, [16153, 16293, 16427, 16559, 16704]);
    assert!(k.iter().all(|k| k.1 == Some("bitcoind")));
    assert_eq!(ev[4].time, t("2019-04-18T17:05:31Z"));
    assert_eq!(ev[0].anon_rss, Some(1851736 * 1024));
    let (k, ev) = keys("netdata_issue10875_dmesg_memcg_killed_line.log", None);
    assert_eq!(
        k,
        [(Some(4971), Some("netdata"), OomScope::Other, None, None)]
    );
    assert_eq!(ev[0].oom_score_adj, Some(1000));
    let (k, ev) = keys(
        "systemd_issue6966_syslog_numeric_host_task_row_and_kill_line.log",
        Some(2017),
    );
    assert_eq!(
        k,
        [(Some(7748), Some("python"), OomScope::Global, None, None)]
    );
    assert_eq!(ev[0].time, t("2017-08-18T03:19:11Z"));
}

/// Two real reports (RHEL7 syslog, process names with spaces) under every prefix form
/// the field uses, each line rebuilt from the sample's own kernel text, uptime and
/// time: the same kills and invokers, with the time where the prefix gives one.
#[test]
fn real_reports_under_every_prefix() {
    let file = "oom_messages_exporter_systemd_1_rhel7_syslog_service_memcg_two_blocks_excerpt.log";
    // (time, uptime, message) of each kernel line.
    let lines: Vec<(Timestamp, String, String)> = read(file)
        .lines()
        .filter_map(|l| {
            let (head, rest) = l.split_once(" other-server kernel: [")?;
            let (up, body) = rest.split_once("] ")?;
            let when: Timestamp = format!("2023-09-0{}T{}Z", &head[5..6], &head[7..15])
                .parse()
                .ok()?;
            Some((when, up.trim().to_string(), body.to_string()))
        })
        .collect();
    assert_eq!(lines.len(), 60);
    let syslog = |t: &Timestamp| t.strftime("%b %e %H:%M:%S").to_string();
    type Form = fn(&Timestamp, &str, &str, &dyn Fn(&Timestamp) -> String) -> String;
    let forms: &[(&str, Form, bool)] = &[
        (
            "syslog, no host",
            |t, u, b, sl| format!("{} kernel: [{u}] {b}", sl(t)),
            true,
        ),
        (
            "epoch host uptime (rsyslog template)",
            |t, u, b, _| format!("{} other-server [{u}] {b}", t.as_second()),
            true,
        ),
        (
            "dmesg --time-format iso",
            |t, _, b, _| format!("{},000000+00:00 {b}", t.strftime("%Y-%m-%dT%H:%M:%S")),
            true,
        ),
        (
            "journalctl -o short-iso",
            |t, _, b, _| {
                format!(
                    "{}+0000 other-server kernel: {b}",
                    t.strftime("%Y-%m-%dT%H:%M:%S")
                )
            },
            true,
        ),
        (
            "journalctl -o short-iso-precise",
            |t, _, b, _| {
                format!(
                    "{}.000000+00:00 other-server kernel: {b}",
                    t.strftime("%Y-%m-%dT%H:%M:%S")
                )
            },
            true,
        ),
        (
            "journalctl -o short-precise",
            |t, _, b, sl| format!("{}.000000 other-server kernel: {b}", sl(t)),
            true,
        ),
        (
            "journalctl -o short-monotonic",
            |_, u, b, _| format!("[{u}] other-server kernel: {b}"),
            false,
        ),
        (
            "dmesg -r (printk level)",
            |_, u, b, _| format!("<6>[{u}] {b}"),
            false,
        ),
        (
            "dmesg -T",
            |t, _, b, _| format!("[{}] {b}", t.strftime("%a %b %e %H:%M:%S %Y")),
            true,
        ),
        (
            "RFC 3164 with PRI",
            |t, u, b, sl| format!("<4>{} other-server kernel: [{u}] {b}", sl(t)),
            true,
        ),
        (
            "mail quote",
            |t, u, b, sl| format!("> {} other-server kernel: [{u}] {b}", sl(t)),
            true,
        ),
    ];
    for (name, form, timed) in forms {
        let text: String = lines
            .iter()
            .map(|(t, u, b)| form(t, u, b, &syslog) + "\n")
            .collect();
        let opts = ParseOptions {
            year: Some(2023),
            ..ParseOptions::default()
        };
        let ev = parse_log(&text, &opts);
        let got: Vec<_> = ev
            .iter()
            .map(|e| (e.pid, e.comm.as_deref(), e.invoker.as_deref(), e.scope))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some(1847),
                    Some("node /opt/www/p"),
                    Some("node /opt/www/p"),
                    OomScope::Other
                ),
                (
                    Some(29838),
                    Some("node /opt/www/p"),
                    Some("node"),
                    OomScope::Other
                ),
            ],
            "{name}:\n{}",
            &text[..600]
        );
        let want = timed.then(|| "2023-09-04T00:05:58Z".parse().unwrap());
        assert_eq!(ev[0].time, want, "{name}");
        assert_eq!(
            ev[0].oom_memcg.as_deref(),
            Some("/system.slice/node-app.service"),
            "{name}"
        );
    }
}

/// Lines another program logged with a kernel OOM line in them are not kills.
#[test]
fn foreign_programs_quoting_kernel_lines_are_not_kills() {
    for l in [
        "Jun 24 18:49:43 aks-node-1 node-problem-detector[12]: Killed process 68061 (stress) total-vm:1kB",
        "2025-06-24T18:49:43.500000+00:00 aks-node-1 kubelet[9]: Killed process 68061 (stress)",
        "Jun 24 18:49:43 dockerd[12]: Killed process 68061 (stress)",
    ] {
        assert!(parse_log(l, &ParseOptions::default()).is_empty(), "{l}");
    }
}

/// The reaper's line is the victim when the excerpt has no kill line; a late reaper
/// line of an earlier kill does not steal the next report.
#[test]
fn reaper_only_blocks() {
    let text = "\
[ 100.000001] main invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 100.000002] Task in /kubepods/burstable/pod3e2d1a50-3f1d-4c5f-9a8e-1b2c3d4e5f60/abc killed as a result of limit of /kubepods/burstable/pod3e2d1a50-3f1d-4c5f-9a8e-1b2c3d4e5f60
[ 100.000003] oom_reaper: reaped process 2292670 (main), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
[ 200.000001] java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 200.000002] oom_reaper: reaped process 2292670 (main), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
[ 200.000003] Memory cgroup out of memory: Killed process 7 (java) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB
[ 300.000001] oom_reaper: reaped process 99 (lonely), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB
";
    let ev = parse_log(text, &ParseOptions::default());
    let k: Vec<_> = ev
        .iter()
        .map(|e| (e.pid, e.comm.as_deref(), e.scope, e.invoker.as_deref()))
        .collect();
    assert_eq!(
        k,
        [
            (Some(2292670), Some("main"), OomScope::Pod, Some("main")),
            (Some(7), Some("java"), OomScope::Other, Some("java")),
            (Some(99), Some("lonely"), OomScope::Other, None),
        ]
    );
    assert_eq!(
        ev[0].anon_rss, None,
        "sizes after reaping are not the victim's"
    );
}
