//! Report fixtures shared by the HTML tests: the DESIGN §1 story built by hand, a copy
//! with hostile strings in every position an archive string can reach, and a synthetic
//! day-long, 110-pod node for the scale test.
#![allow(dead_code)]

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use podmem_schema::oom::{OomEvent, OomScope};
use podmem_schema::report::*;
use podmem_schema::snapshot::{CgroupMode, Qos};

pub const MIB: u64 = 1024 * 1024;
pub const POD_UID: &str = "3f1c2a9e-5b7d-4e21-9c0a-7d8e6f5a4b3c";
pub const NODE: &str = "node-1";

pub fn cid(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn at(min: i64, sec: i64) -> Timestamp {
    ts("2026-11-27T10:00:00Z") + SignedDuration::from_secs(min * 60 + sec)
}

fn stats(usage: u64, shmem: u64, rss: u64) -> MemStats {
    MemStats {
        usage: Some(usage),
        working_set: Some(usage),
        shmem: Some(shmem),
        cache: Some(shmem),
        rss: Some(rss),
        inactive_file: Some(0),
    }
}

/// The headline case: a 100 MiB pod; container A (`app`, now gone) wrote 64 MiB into a
/// memory emptyDir and was removed; container B (`app`, restarted) is live; the pod
/// cgroup still holds the 64 MiB as shmem no live container has; B is OOM-killed at the
/// pod limit while `kubectl top` shows ~30 MiB.
pub fn fixture_report() -> Report {
    let a = cid('a');
    let b = cid('b');
    let vol = "cache";
    let pod_path = format!("kubepods/burstable/pod{POD_UID}");
    let sample = |min: i64, live: &[(&str, MemStats)], unattr: MemStats| {
        let containers: BTreeMap<String, MemStats> = live
            .iter()
            .map(|(id, m)| ((*id).to_owned(), m.clone()))
            .collect();
        let sum = |f: fn(&MemStats) -> Option<u64>| {
            containers.values().filter_map(f).sum::<u64>() + f(&unattr).unwrap_or(0)
        };
        let pod = MemStats {
            usage: Some(sum(|m| m.usage)),
            working_set: Some(sum(|m| m.working_set)),
            shmem: Some(sum(|m| m.shmem)),
            cache: Some(sum(|m| m.cache)),
            rss: Some(sum(|m| m.rss)),
            inactive_file: Some(0),
        };
        let top: u64 = containers.values().filter_map(|m| m.working_set).sum();
        PodSample {
            time: Some(at(min, 0)),
            snapshot: u32::try_from(min).unwrap(),
            kubelet: Some(KubeletView {
                pod_working_set: pod.working_set,
                containers: [("app".to_owned(), top)].into(),
                volumes: [(vol.to_owned(), 64 * MIB)].into(),
            }),
            pod,
            limit: Some(100 * MIB),
            containers,
            unattributed: unattr,
            kubectl_top: Some(top),
            tmpfs_used: [(vol.to_owned(), 64 * MIB)].into(),
        }
    };
    let a_stats = stats(70 * MIB, 64 * MIB, 6 * MIB);
    let orphan = stats(64 * MIB, 64 * MIB, 0);
    let samples = vec![
        sample(0, &[(&a, a_stats.clone())], MemStats::default()),
        sample(1, &[(&a, a_stats.clone())], MemStats::default()),
        sample(2, &[(&b, stats(5 * MIB, 0, 5 * MIB))], orphan.clone()),
        sample(3, &[(&b, stats(30 * MIB, 0, 30 * MIB))], orphan.clone()),
        sample(4, &[(&b, stats(4 * MIB, 0, 4 * MIB))], orphan.clone()),
    ];
    let row = |cg: &str, before: MemStats, after: MemStats| TransitionRow {
        cgroup: cg.to_owned(),
        before,
        after,
    };
    let transitions = vec![
        Transition {
            reason: "container-restart".into(),
            before: Some(at(1, 0)),
            after: Some(at(2, 0)),
            appeared: vec![b.clone()],
            disappeared: vec![a.clone()],
            rows: vec![
                row("pod", samples[1].pod.clone(), samples[2].pod.clone()),
                row("unattributed", stats(0, 0, 0), orphan.clone()),
                row(&a, a_stats.clone(), MemStats::default()),
                row(&b, MemStats::default(), stats(5 * MIB, 0, 5 * MIB)),
            ],
        },
        Transition {
            reason: "oom".into(),
            before: Some(at(3, 0)),
            after: Some(at(4, 0)),
            appeared: vec![],
            disappeared: vec![],
            rows: vec![
                row("pod", samples[3].pod.clone(), samples[4].pod.clone()),
                row("unattributed", orphan.clone(), orphan.clone()),
                row(&b, stats(30 * MIB, 0, 30 * MIB), stats(4 * MIB, 0, 4 * MIB)),
            ],
        },
    ];
    let pod = PodReport {
        node: NODE.into(),
        uid: POD_UID.into(),
        namespace: Some("shop".into()),
        name: Some("java-cache-0".into()),
        qos: Some(Qos::Burstable),
        cgroup_path: Some(pod_path.clone()),
        limit: Some(100 * MIB),
        containers: vec![
            ContainerReport {
                id: a.clone(),
                name: Some("app".into()),
                runtime: Some("containerd".into()),
                first_seen: Some(at(0, 0)),
                last_seen: Some(at(1, 0)),
                gone: true,
                last: a_stats.clone(),
                outside_pod_cgroup: None,
            },
            ContainerReport {
                id: b.clone(),
                name: Some("app".into()),
                runtime: Some("containerd".into()),
                first_seen: Some(at(2, 0)),
                last_seen: Some(at(4, 0)),
                gone: false,
                last: stats(4 * MIB, 0, 4 * MIB),
                outside_pod_cgroup: None,
            },
        ],
        volumes: vec![VolumeReport {
            name: vol.into(),
            plugin: VolumePlugin::EmptyDir,
            size_bytes: Some(100 * MIB),
            mount_point: format!(
                "/var/lib/kubelet/pods/{POD_UID}/volumes/kubernetes.io~empty-dir/{vol}"
            ),
            max_used: Some(64 * MIB),
        }],
        samples,
        transitions,
    };
    let oom = OomEvent {
        node: Some(NODE.into()),
        time: Some(at(3, 30)),
        uptime_secs: Some(12345.678901),
        pid: Some(4242),
        comm: Some("java".into()),
        invoker: Some("java".into()),
        anon_rss: Some(30 * MIB),
        file_rss: Some(0),
        shmem_rss: Some(0),
        total_vm: Some(300 * MIB),
        oom_score_adj: Some(968),
        constraint: Some("CONSTRAINT_MEMCG".into()),
        oom_memcg: Some(format!("/{pod_path}")),
        task_memcg: Some(format!("/{pod_path}/{b}")),
        scope: OomScope::Pod,
        pod_uid: Some(POD_UID.into()),
        container_id: Some(b.clone()),
        memcg_usage: Some(100 * MIB),
        memcg_limit: Some(100 * MIB),
        excerpt: vec![
            "java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=968"
                .into(),
            format!("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset={b},mems_allowed=0,oom_memcg=/{pod_path},task_memcg=/{pod_path}/{b},task=java,pid=4242,uid=0"),
            "Memory cgroup out of memory: Killed process 4242 (java) total-vm:307200kB, anon-rss:30720kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:968".into(),
        ],
        source: Some("podmem-node-1-20261127T1004Z.tar.gz:kernel/kmsg.txt".into()),
    };
    let src = |e: &str| Some(format!("podmem-{NODE}-20261127T100300Z.tar.gz:{e}"));
    let findings = vec![
        Finding {
            id: RuleId::PodLimitOom.into(),
            severity: Severity::Critical,
            node: NODE.into(),
            pod_uid: Some(POD_UID.into()),
            bytes: Some(100 * MIB),
            container_ids: vec![b.clone()],
            title: "OOM kill at the pod limit, not the container's".into(),
            detail: "At 10:03:30 the kernel killed java (pid 4242) in container app because the pod cgroup reached its 100 MiB limit (oom_memcg is the pod cgroup). kubectl top showed 30 MiB.".into(),
            recommendation: "Find what else is charged to the pod cgroup (see the orphaned shmem finding) rather than raising the container limit.".into(),
            evidence: vec![
                Evidence { label: "oom_memcg".into(), value: format!("/{pod_path}"), source: oom.source.clone() },
                Evidence { label: "kubectl top at 10:03".into(), value: "30.0 MiB".into(), source: None },
            ],
            time: oom.time,
        },
        Finding {
            id: RuleId::OrphanedShmem.into(),
            severity: Severity::Critical,
            node: NODE.into(),
            pod_uid: Some(POD_UID.into()),
            bytes: Some(64 * MIB),
            container_ids: vec![a.clone()],
            title: "64 MiB of tmpfs held by a removed container".into(),
            detail: "The pod cgroup holds 64.0 MiB of shmem that no live container has. The emptyDir cache (medium: Memory) uses 64.0 MiB. It was written by container app (aaaaaaaaaaaa), which was removed between 10:01 and 10:02; its pages stay charged to the pod.".into(),
            recommendation: "Delete the files in the emptyDir or set a sizeLimit; restart the pod to release the charge.".into(),
            evidence: vec![
                Evidence { label: "pod total_shmem".into(), value: "67108864".into(), source: src("cgroup/kubepods/burstable/pod/memory.stat") },
                Evidence { label: "Σ live containers' shmem".into(), value: "0".into(), source: None },
                Evidence { label: "tmpfs used (cache)".into(), value: "64.0 MiB".into(), source: src("statfs.json") },
            ],
            time: Some(at(2, 0)),
        },
        Finding {
            id: RuleId::NearLimit.into(),
            severity: Severity::Info,
            node: NODE.into(),
            pod_uid: None,
            bytes: None,
            container_ids: vec![],
            title: "Node context".into(),
            detail: "Nothing else stood out on the node.".into(),
            recommendation: "None.".into(),
            evidence: vec![],
            time: None,
        },
    ];
    let node_samples = (0..5)
        .map(|m| NodeSample {
            time: Some(at(m, 0)),
            mem_total: Some(4096 * MIB),
            mem_available: Some((2048 - m as u64 * 10) * MIB),
            shmem: Some(80 * MIB),
            kubepods_usage: Some(1000 * MIB),
            kubepods_limit: Some(3500 * MIB),
            psi_some_avg10: Some(0.5 * m as f64),
            psi_full_avg10: Some(0.0),
            memcg_count: Some(120 + m as u64),
            live_cgroups: Some(118),
            dying_descendants: None,
        })
        .collect();
    Report {
        format: REPORT_FORMAT.into(),
        generated_at: ts("2026-11-27T12:00:00Z"),
        analyzer_version: "0.1.0".into(),
        inputs: vec![
            InputReport {
                path: "podmem-node-1-20261127T100000Z.tar.gz".into(),
                kind: InputKind::Snapshot,
                snapshots: 1,
                status: InputStatus::Ok,
                problems: vec![],
            },
            InputReport {
                path: "broken.tar.gz".into(),
                kind: InputKind::Snapshot,
                snapshots: 0,
                status: InputStatus::Rejected,
                problems: vec!["broken.tar.gz: not a gzip file".into()],
            },
        ],
        nodes: vec![NodeReport {
            name: NODE.into(),
            snapshots: 5,
            first: Some(at(0, 0)),
            last: Some(at(4, 0)),
            kernel: Some("5.10.0-32-amd64".into()),
            cgroup_mode: Some(CgroupMode::V1),
            collector_versions: vec!["0.1.0".into()],
            boots: vec!["6f1e0c6a-6c55-4f36-a3c0-2d9a3f3c8e11".into()],
            archives: (0..5)
                .map(|min| format!("podmem-{NODE}-20261127T10{min:02}00Z.tar.gz"))
                .collect(),
            samples: node_samples,
        }],
        pods: vec![pod],
        oom_events: vec![oom],
        findings,
        oom_events_omitted: None,
    }
}

/// [`fixture_report`] plus a pod without samples or limit and a pod whose only sample
/// knows nothing (no time, no figures, no names).
pub fn sparse_report() -> Report {
    let mut r = fixture_report();
    let mut empty = r.pods[0].clone();
    empty.uid = "11111111-2222-3333-4444-555555555555".into();
    empty.samples.clear();
    empty.transitions.clear();
    empty.limit = None;
    let mut unknown = empty.clone();
    unknown.uid = "66666666-2222-3333-4444-555555555555".into();
    unknown.name = None;
    unknown.namespace = None;
    unknown.samples = vec![PodSample {
        snapshot: 0,
        ..PodSample::default()
    }];
    r.pods.push(empty);
    r.pods.push(unknown);
    r
}

/// Strings that would run or inject markup if any reached the page unescaped. Each
/// that could execute sets `window.__podmemCanary`, which the page's self-check reports.
pub const HOSTILE: &[&str] = &[
    "<script>window.__podmemCanary=1</script>",
    "\"><img src=x onerror=\"window.__podmemCanary=1\">",
    "'><svg onload=window.__podmemCanary=1>",
    "</script><script>window.__podmemCanary=1</script>",
    "{{ 7*7 }}{% if true %}tmpl{% endif %}",
    "it's \"quoted\" & ünïcødé ✓ 名前",
    "\u{2028}line\u{2029}sep<!--",
];

fn h(i: usize) -> String {
    format!("h{i}-{}", HOSTILE[i % HOSTILE.len()])
}

/// [`fixture_report`] with a hostile string in every string an archive can supply.
pub fn hostile_report() -> Report {
    let mut r = fixture_report();
    let mut k = 0;
    let mut next = || {
        k += 1;
        h(k)
    };
    let node = next();
    r.analyzer_version = next();
    for i in &mut r.inputs {
        i.path = next();
        // Kind and status are enumerations that no archive string reaches; their
        // strings are drawn all the same so every later field keeps its own.
        let _ = (next(), next());
        i.problems = vec![next(), next()];
    }
    for n in &mut r.nodes {
        n.name = node.clone();
        n.kernel = Some(next());
        let _ = next(); // the cgroup mode, an enumeration
        n.collector_versions = vec![next()];
        n.boots = vec![next()];
    }
    let a = cid('a');
    let b = cid('b');
    let ha = format!("{a}{}", next());
    let hb = format!("{b}{}", next());
    let rename = |id: &str| -> String {
        if id == a {
            ha.clone()
        } else if id == b {
            hb.clone()
        } else {
            id.to_owned()
        }
    };
    let vol = next();
    // Container names go to the chart legend (drawn by uPlot) too: use the payloads
    // that would inject elements or run script.
    let name_a = format!("A{}", HOSTILE[1]);
    let name_b = format!("B{}", HOSTILE[2]);
    for p in &mut r.pods {
        p.node = node.clone();
        p.namespace = Some(next());
        p.name = Some(next());
        p.cgroup_path = Some(next());
        for c in &mut p.containers {
            c.id = rename(&c.id);
            c.name = Some(if c.id == ha {
                name_a.clone()
            } else {
                name_b.clone()
            });
            c.runtime = Some(next());
        }
        for v in &mut p.volumes {
            v.name = vol.clone();
            v.plugin = next().into();
            v.mount_point = next();
        }
        for s in &mut p.samples {
            r.nodes[0].archives[s.snapshot as usize] = next();
            let kname = if s.containers.contains_key(&a) {
                name_a.clone()
            } else {
                name_b.clone()
            };
            s.containers = std::mem::take(&mut s.containers)
                .into_iter()
                .map(|(id, m)| (rename(&id), m))
                .collect();
            s.tmpfs_used = std::mem::take(&mut s.tmpfs_used)
                .into_values()
                .map(|v| (vol.clone(), v))
                .collect();
            if let Some(kv) = &mut s.kubelet {
                kv.containers = std::mem::take(&mut kv.containers)
                    .into_values()
                    .map(|v| (kname.clone(), v))
                    .collect();
                kv.volumes = std::mem::take(&mut kv.volumes)
                    .into_values()
                    .map(|v| (vol.clone(), v))
                    .collect();
            }
        }
        for t in &mut p.transitions {
            t.reason = next();
            t.appeared = t.appeared.iter().map(|c| rename(c)).collect();
            t.disappeared = t.disappeared.iter().map(|c| rename(c)).collect();
            for row in &mut t.rows {
                row.cgroup = rename(&row.cgroup);
            }
        }
    }
    for e in &mut r.oom_events {
        e.node = Some(node.clone());
        e.comm = Some(next());
        e.invoker = Some(next());
        e.constraint = Some(next());
        e.oom_memcg = Some(next());
        e.task_memcg = Some(next());
        e.container_id = e.container_id.as_deref().map(rename);
        e.excerpt = vec![next(), next(), next()];
        e.source = Some(next());
    }
    for f in &mut r.findings {
        f.id = next().into();
        f.node = node.clone();
        f.title = next();
        f.detail = next();
        f.recommendation = next();
        f.container_ids = f.container_ids.iter().map(|c| rename(c)).collect();
        for e in &mut f.evidence {
            e.label = next();
            e.value = next();
            e.source = Some(next());
        }
    }
    r
}

/// A node of `pods` pods over `samples` captures a minute apart, two containers each
/// (one restarted halfway with its tmpfs left behind), a memory emptyDir, and an OOM
/// kill every few hours in every tenth pod.
pub fn synthetic_report(pods: usize, samples: usize) -> Report {
    let start = ts("2026-11-27T00:00:00Z");
    let mut out = Vec::new();
    let mut ooms = Vec::new();
    for p in 0..pods {
        let uid = format!("00000000-0000-4000-8000-{p:012}");
        let sidecar = format!("{:064x}", p * 3 + 1);
        let app1 = format!("{:064x}", p * 3 + 2);
        let app2 = format!("{:064x}", p * 3 + 3);
        let half = samples / 2;
        let mut ss = Vec::with_capacity(samples);
        for i in 0..samples {
            let wobble = ((i * 7919 + p * 31) % 97) as u64 * MIB / 4;
            let app = if i < half { &app1 } else { &app2 };
            let app_usage = 800 * MIB + wobble + (i % 60) as u64 * MIB;
            let side_usage = 50 * MIB + wobble / 3;
            let orphan = if i < half { 0 } else { 256 * MIB };
            // Realistic noise: page cache makes working set differ from usage, and the
            // kubelet reads a moment later than the collector.
            let inactive = wobble / 2 + (i % 13) as u64 * 4096;
            let real = |usage: u64, shmem: u64| MemStats {
                working_set: Some(usage - inactive),
                inactive_file: Some(inactive),
                ..stats(usage, shmem, usage - shmem - inactive)
            };
            let containers: BTreeMap<String, MemStats> = [
                (sidecar.clone(), real(side_usage, 0)),
                (app.clone(), real(app_usage, 10 * MIB)),
            ]
            .into();
            let top = app_usage + side_usage - 2 * inactive;
            let pod = real(app_usage + side_usage + orphan, orphan + 10 * MIB);
            let late = (i % 5) as u64 * 4096 + 12288;
            ss.push(PodSample {
                time: Some(start + SignedDuration::from_secs(i as i64 * 60)),
                snapshot: u32::try_from(i).unwrap(),
                pod: pod.clone(),
                limit: Some(2048 * MIB),
                containers,
                unattributed: stats(orphan, orphan, 0),
                kubectl_top: Some(top),
                tmpfs_used: [("scratch".to_owned(), orphan + 10 * MIB)].into(),
                kubelet: Some(KubeletView {
                    pod_working_set: pod.working_set.map(|w| w + late),
                    containers: [
                        ("app".to_owned(), app_usage - inactive + late),
                        ("sidecar".to_owned(), side_usage - inactive + late),
                    ]
                    .into(),
                    volumes: [("scratch".to_owned(), orphan + 10 * MIB)].into(),
                }),
            });
        }
        if p % 10 == 0 {
            for k in (90..samples).step_by(240) {
                ooms.push(OomEvent {
                    node: Some("node-big".into()),
                    time: Some(start + SignedDuration::from_secs(k as i64 * 60 + 20)),
                    uptime_secs: None,
                    pid: Some(1000 + k as u32),
                    comm: Some("java".into()),
                    invoker: None,
                    anon_rss: None,
                    file_rss: None,
                    shmem_rss: None,
                    total_vm: None,
                    oom_score_adj: None,
                    constraint: Some("CONSTRAINT_MEMCG".into()),
                    oom_memcg: Some(format!("/kubepods/burstable/pod{uid}")),
                    task_memcg: None,
                    scope: OomScope::Pod,
                    pod_uid: Some(uid.clone()),
                    container_id: None,
                    memcg_usage: Some(2048 * MIB),
                    memcg_limit: Some(2048 * MIB),
                    excerpt: vec!["Memory cgroup out of memory: Killed process".into(); 40],
                    source: None,
                });
            }
        }
        let t = |i: usize| Some(start + SignedDuration::from_secs(i as i64 * 60));
        out.push(PodReport {
            node: "node-big".into(),
            uid,
            namespace: Some(format!("team-{}", p % 7)),
            name: Some(format!("service-{p}-7d9f8c6b5-x2x9z")),
            qos: Some(Qos::Burstable),
            cgroup_path: Some(format!("kubepods/burstable/pod{p}")),
            limit: Some(2048 * MIB),
            containers: vec![
                ContainerReport {
                    id: sidecar,
                    name: Some("sidecar".into()),
                    runtime: Some("containerd".into()),
                    first_seen: t(0),
                    last_seen: t(samples - 1),
                    gone: false,
                    last: MemStats::default(),
                    outside_pod_cgroup: None,
                },
                ContainerReport {
                    id: app1,
                    name: Some("app".into()),
                    runtime: Some("containerd".into()),
                    first_seen: t(0),
                    last_seen: t(half - 1),
                    gone: true,
                    last: MemStats::default(),
                    outside_pod_cgroup: None,
                },
                ContainerReport {
                    id: app2,
                    name: Some("app".into()),
                    runtime: Some("containerd".into()),
                    first_seen: t(half),
                    last_seen: t(samples - 1),
                    gone: false,
                    last: MemStats::default(),
                    outside_pod_cgroup: None,
                },
            ],
            volumes: vec![VolumeReport {
                name: "scratch".into(),
                plugin: VolumePlugin::EmptyDir,
                size_bytes: Some(1024 * MIB),
                mount_point: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~empty-dir/scratch"
                    .into(),
                max_used: Some(266 * MIB),
            }],
            samples: ss,
            transitions: vec![],
        });
    }
    let mut r = fixture_report();
    r.nodes[0].name = "node-big".into();
    r.nodes[0].archives = (0..samples)
        .map(|i| format!("podmem-node-big-{i:05}.tar.gz"))
        .collect();
    r.nodes[0].samples = (0..samples)
        .map(|i| NodeSample {
            time: Some(start + SignedDuration::from_secs(i as i64 * 60)),
            mem_total: Some(64 * 1024 * MIB),
            mem_available: Some((20 * 1024 + (i % 100) as u64) * MIB),
            ..NodeSample::default()
        })
        .collect();
    r.pods = out;
    r.oom_events = ooms;
    r.findings.truncate(0);
    r
}

/// One finding of the fleet fixture.
fn finding(id: &str, severity: Severity, node: &str, pod: Option<&str>, bytes: u64) -> Finding {
    Finding {
        id: id.into(),
        severity,
        node: node.into(),
        pod_uid: pod.map(str::to_owned),
        bytes: Some(bytes),
        container_ids: vec![],
        title: format!("{id} on {node}"),
        detail: format!("{id}: {bytes} bytes."),
        recommendation: "Look at the pod.".into(),
        evidence: vec![Evidence {
            label: "amount".into(),
            value: bytes.to_string(),
            source: None,
        }],
        time: None,
    }
}

/// A fleet: one [`synthetic_report`] node per name (pods' UIDs made unique per node),
/// with findings that differ by node: every pod with OOM kills has an
/// `oom-restart-loop`, every fourth pod of even nodes `orphaned-shmem` (256 MiB), every
/// ninth pod a `near-limit` warning, and every third node a node-level
/// `dying-cgroups`.
pub fn fleet_report(names: &[&str], pods: usize, samples: usize) -> Report {
    let mut out: Option<Report> = None;
    for (n, name) in names.iter().enumerate() {
        let mut r = synthetic_report(pods, samples);
        let uid = |u: &str| format!("{n:08}{}", &u[8..]);
        r.nodes[0].name = (*name).to_owned();
        r.nodes[0].snapshots = samples as u32;
        r.nodes[0].first = r.nodes[0].samples.first().and_then(|s| s.time);
        r.nodes[0].last = r.nodes[0].samples.last().and_then(|s| s.time);
        for e in &mut r.oom_events {
            e.node = Some((*name).to_owned());
            e.pod_uid = e.pod_uid.as_deref().map(uid);
            e.excerpt.truncate(8);
        }
        let mut findings = Vec::new();
        for (p, pod) in r.pods.iter_mut().enumerate() {
            pod.node = (*name).to_owned();
            pod.uid = uid(&pod.uid);
            let u = Some(pod.uid.as_str());
            if p % 10 == 0 {
                findings.push(finding(
                    "oom-restart-loop",
                    Severity::Critical,
                    name,
                    u,
                    2048 * MIB,
                ));
            }
            if n % 2 == 0 && p % 4 == 1 {
                findings.push(finding(
                    "orphaned-shmem",
                    Severity::Critical,
                    name,
                    u,
                    256 * MIB,
                ));
            }
            if p % 9 == 4 {
                findings.push(finding(
                    "near-limit",
                    Severity::Warning,
                    name,
                    u,
                    1900 * MIB,
                ));
            }
        }
        if n % 3 == 0 {
            findings.push(finding(
                "dying-cgroups",
                Severity::Info,
                name,
                None,
                40 * MIB,
            ));
        }
        r.findings = findings;
        match &mut out {
            None => out = Some(r),
            Some(all) => {
                all.nodes.append(&mut r.nodes);
                all.pods.append(&mut r.pods);
                all.oom_events.append(&mut r.oom_events);
                all.findings.append(&mut r.findings);
            }
        }
    }
    let mut r = out.expect("at least one node");
    // As the analyzer orders them: most severe first, then by rule.
    r.findings.sort_by_key(|f| f.severity);
    r
}
