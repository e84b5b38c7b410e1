//! Every real node layout end to end, collector → analyzer, on the real kernel: each
//! layout's cgroup tree is built for real inside this test's own cgroup v1 memory
//! directory (the kernel's own files in every directory, a process writing a tmpfs file
//! in one container), the real collector binary snapshots it, and the analyzer must find
//! each pod with its dashed UID and each container with its id and runtime, and the
//! container's shmem where the kernel charged it.
//!
//! The cgroup paths are real ones (fixtures/realworld/cgroup_paths: the neuvector and
//! opentelemetry captures of `/proc/<pid>/cgroup`, and the consolidated list); the
//! expected UIDs and ids are read off those paths. Layouts that differ by their mounts
//! (merged v1 controllers, a v1 + cgroup2 hybrid) are run through `--host-root` with the
//! mountinfo line of that layout, the memory hierarchy bind-mounted where the line
//! says: the discovery reads the layout's mountinfo and the walk reads the real kernel.
//!
//! containerd's colon form, a container outside its pod cgroup, also shows for real that
//! the pod limit does not bound it: the container writes twice the pod limit into tmpfs.
//!
//! What cannot be built here (cgroup v2, and the fixture hosts' own mount tables) runs
//! on the fixture host trees instead.
//!
//! The real-kernel tests need root and a writable cgroup v1 memory hierarchy; elsewhere
//! they are reported as ignored (see `docs/testing.md`).

mod common;

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use podmem_schema::report::{Report, Severity};
use podmem_schema::snapshot::{CgroupMode, Manifest, Qos};
use podmem_testkit::kernel::Guard;

const MIB: u64 = 1 << 20;
/// What the process in a layout's first container writes into its tmpfs.
const WRITTEN: u64 = 4 * MIB;

/// How the collector finds the layout's hierarchy.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mounts {
    /// `--cgroup-root` at the node directory.
    Explicit,
    /// `--host-root` whose mountinfo has this cgroup v1 line (and a cgroup2 line beside
    /// it when `hybrid`); the node directory is bind-mounted at its mount point.
    HostRoot {
        mount_point: &'static str,
        options: &'static str,
        hybrid: bool,
    },
}

/// A container the analyzer must find.
struct Ctr {
    id: &'static str,
    runtime: Option<&'static str>,
    /// Its cgroup, relative to the node root.
    path: &'static str,
}

/// A pod the analyzer must find.
struct Pod {
    /// Dashed (or a static pod's 32-hex hash), read off the path.
    uid: &'static str,
    qos: Qos,
    /// Its pod cgroup, relative to the node root ("" when it has none).
    path: &'static str,
    containers: Vec<Ctr>,
}

struct Layout {
    name: &'static str,
    /// The real sample the paths come from.
    source: &'static str,
    mounts: Mounts,
    /// Cgroups to create beyond the pods' and containers' (with their parents).
    extra: &'static [&'static str],
    pods: Vec<Pod>,
    /// Where the writing process runs (the first container when None).
    writer: Option<&'static str>,
}

const EXPLICIT: Mounts = Mounts::Explicit;

fn layouts() -> Vec<Layout> {
    vec![
        Layout {
            name: "cgroupfs + docker",
            source: "neuvector_v1_cgroupfs_docker_besteffort_2017.cgroup",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "74ba62da-1a3d-11e7-bb11-080027cb0e22",
                qos: Qos::Besteffort,
                path: "kubepods/besteffort/pod74ba62da-1a3d-11e7-bb11-080027cb0e22",
                containers: vec![Ctr {
                    id: "cb1eadb7abe3a6545e9856411207073277838e1bdc003337c2f8685faeedc32c",
                    runtime: None,
                    path: "kubepods/besteffort/pod74ba62da-1a3d-11e7-bb11-080027cb0e22/cb1eadb7abe3a6545e9856411207073277838e1bdc003337c2f8685faeedc32c",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "cgroupfs + docker, guaranteed (no QoS level)",
            source: "real_kubepods_cgroup_path_patterns.txt (k8s issue 56891)",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "95387fa4-da9c-11e7-9d36-5254b24cbf5e",
                qos: Qos::Guaranteed,
                path: "kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e",
                containers: vec![Ctr {
                    id: "6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b",
                    runtime: None,
                    path: "kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "cgroupfs + containerd",
            source: "neuvector_containerd_1.2.13_cgroupfs_besteffort.cgroup",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "a36d0c1d-0b26-4451-8d80-9c195e004afa",
                qos: Qos::Besteffort,
                path: "kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa",
                containers: vec![Ctr {
                    id: "5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61",
                    runtime: None,
                    path: "kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa/5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "systemd + docker",
            source: "neuvector_v1_systemd_docker_besteffort_2017.cgroup",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "045b1e35-7f13-11e7-ac42-0050568ffca0",
                qos: Qos::Besteffort,
                path: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod045b1e35_7f13_11e7_ac42_0050568ffca0.slice",
                containers: vec![Ctr {
                    id: "b5b6f2da8008be266864f896f93789762b2ce50792114a5c5f2cc3315af0bc70",
                    runtime: Some("docker"),
                    path: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod045b1e35_7f13_11e7_ac42_0050568ffca0.slice/docker-b5b6f2da8008be266864f896f93789762b2ce50792114a5c5f2cc3315af0bc70.scope",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "systemd + containerd",
            source: "real_kubepods_cgroup_path_patterns.txt (AKS, oom_logs/aks_ubuntu_5.15)",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "5931aa75-4603-4e65-b552-7c71cf55cfb5",
                qos: Qos::Burstable,
                path: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice",
                containers: vec![Ctr {
                    id: "25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca",
                    runtime: Some("containerd"),
                    path: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice/cri-containerd-25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca.scope",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "CRI-O crio-<id>.scope (with its conmon scope)",
            source: "neuvector_crio_1.19_ocp4.6_systemd_besteffort.cgroup",
            mounts: EXPLICIT,
            extra: &["kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice/crio-conmon-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607.scope"],
            pods: vec![Pod {
                uid: "8ca306fa-3c03-47fa-97dd-19979c345572",
                qos: Qos::Besteffort,
                path: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice",
                containers: vec![Ctr {
                    id: "d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607",
                    runtime: Some("crio"),
                    path: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice/crio-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607.scope",
                }],
            }],
            writer: None,
        },
        Layout {
            // The id starts with a digit, so the conmon scope sorts after the
            // container's own: the conmon scope must not replace its figures.
            name: "CRI-O static pod, 32-hex hash UID (with its conmon scope)",
            source: "real_kubepods_cgroup_path_patterns.txt (neuvector CRI-O 1.17)",
            mounts: EXPLICIT,
            extra: &["kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod487a0dc6dccaeefbcfedba7a7ce1ca18.slice/crio-conmon-7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e.scope"],
            pods: vec![Pod {
                uid: "487a0dc6dccaeefbcfedba7a7ce1ca18",
                qos: Qos::Burstable,
                path: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod487a0dc6dccaeefbcfedba7a7ce1ca18.slice",
                containers: vec![Ctr {
                    id: "7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e",
                    runtime: Some("crio"),
                    path: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod487a0dc6dccaeefbcfedba7a7ce1ca18.slice/crio-7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e.scope",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "kube-proxy's extra sub-cgroup below the container",
            source: "neuvector_v1_kube_proxy_extra_subcgroup.cgroup",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "f8a694f2-7c08-11e9-98da-000c29077430",
                qos: Qos::Besteffort,
                path: "kubepods/besteffort/podf8a694f2-7c08-11e9-98da-000c29077430",
                containers: vec![Ctr {
                    id: "c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903",
                    runtime: None,
                    path: "kubepods/besteffort/podf8a694f2-7c08-11e9-98da-000c29077430/c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903",
                }],
            }],
            // The process runs in the sub-cgroup: its pages count in the container's
            // hierarchical figures, not as memory held by no container.
            writer: Some("kubepods/besteffort/podf8a694f2-7c08-11e9-98da-000c29077430/c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903/kube-proxy"),
        },
        Layout {
            name: "docker-in-docker: kubepods under /system/docker (Talos)",
            source: "real_kubepods_cgroup_path_patterns.txt (oom_logs/talos_pr289)",
            mounts: EXPLICIT,
            // RancherOS docker-in-docker: plain docker containers, no pod.
            extra: &["docker/a9a5ad238e59234193ee7ec3fcff5e735b3708ea1068826952255b69e3cfa413/docker/ec08435e04266c5ba381fccbb829f626d11d8ddf5f8f547263c7a2d79ab4787a"],
            pods: vec![Pod {
                uid: "6687d6d7-fcae-11e8-b0b0-5e61144ba466",
                qos: Qos::Burstable,
                path: "system/docker/kubepods/burstable/pod6687d6d7-fcae-11e8-b0b0-5e61144ba466",
                containers: vec![Ctr {
                    id: "58f8a9bf6a469f0c94d42be34ad1bdff84fad63f236baedde981139a15aa5287",
                    runtime: None,
                    path: "system/docker/kubepods/burstable/pod6687d6d7-fcae-11e8-b0b0-5e61144ba466/58f8a9bf6a469f0c94d42be34ad1bdff84fad63f236baedde981139a15aa5287",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "kind: kubelet.slice/kubelet-kubepods.slice",
            source: "real_kubepods_cgroup_path_patterns.txt (oom_logs/kind_in_podman)",
            mounts: EXPLICIT,
            extra: &[],
            pods: vec![Pod {
                uid: "304864fc-f2da-4bfb-b9a1-37d0f0f96863",
                qos: Qos::Burstable,
                path: "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod304864fc_f2da_4bfb_b9a1_37d0f0f96863.slice",
                containers: vec![],
            }],
            writer: Some("kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod304864fc_f2da_4bfb_b9a1_37d0f0f96863.slice"),
        },
        Layout {
            name: "merged v1 controllers (cpuset,cpu,cpuacct,memory,net_cls,net_prio,hugetlb)",
            source: "neuvector_v1_cgroupfs_merged_controllers_rdma.cgroup",
            mounts: Mounts::HostRoot {
                mount_point: "/sys/fs/cgroup/cpuset,cpu,cpuacct,memory,net_cls,net_prio,hugetlb",
                options: "rw,cpuset,cpu,cpuacct,memory,net_cls,net_prio,hugetlb",
                hybrid: false,
            },
            extra: &[],
            pods: vec![Pod {
                uid: "1fe19bf5-e8ef-11e8-900c-52daee5a874d",
                qos: Qos::Besteffort,
                path: "kubepods/besteffort/pod1fe19bf5-e8ef-11e8-900c-52daee5a874d",
                containers: vec![Ctr {
                    id: "da31e536c8d61304a6d5998d163d12400a7a9a1003e1d86369e8fadb022fc17d",
                    runtime: None,
                    path: "kubepods/besteffort/pod1fe19bf5-e8ef-11e8-900c-52daee5a874d/da31e536c8d61304a6d5998d163d12400a7a9a1003e1d86369e8fadb022fc17d",
                }],
            }],
            writer: None,
        },
        Layout {
            name: "Bottlerocket-style hybrid (v1 memory + cgroup2), systemd + containerd",
            source: "neuvector_bottlerocket_systemd_containerd_hybrid_v1_plus_0colon.cgroup",
            mounts: Mounts::HostRoot {
                mount_point: "/sys/fs/cgroup/memory",
                options: "rw,memory",
                hybrid: true,
            },
            extra: &[],
            pods: vec![Pod {
                uid: "dd1bf9d1-241d-47f5-8e25-12de83135812",
                qos: Qos::Besteffort,
                path: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poddd1bf9d1_241d_47f5_8e25_12de83135812.slice",
                containers: vec![Ctr {
                    id: "f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830",
                    runtime: Some("containerd"),
                    path: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poddd1bf9d1_241d_47f5_8e25_12de83135812.slice/cri-containerd-f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830.scope",
                }],
            }],
            writer: None,
        },
    ]
}

/// What one layout's run gave.
struct Run {
    manifest: Manifest,
    /// Hold the tmpfs mount point and the host root until the guard has unmounted them
    /// (removing them first would delete through the mounts).
    _volume: tempfile::TempDir,
    _host: Option<tempfile::TempDir>,
    report: Report,
    /// The node directory (the cgroup root given to the collector).
    node: PathBuf,
}

/// Creates `rel` and its missing parents under `node` as cgroups.
fn mkcgs(g: &mut Guard, made: &mut BTreeSet<PathBuf>, node: &Path, rel: &str) -> PathBuf {
    let mut p = node.to_path_buf();
    for comp in rel.split('/').filter(|c| !c.is_empty()) {
        p.push(comp);
        if made.insert(p.clone()) {
            g.mkcg(p.clone());
        }
    }
    p
}

fn bind(g: &mut Guard, from: &Path, at: &Path) {
    std::fs::create_dir_all(at).unwrap();
    let src = CString::new(from.as_os_str().as_bytes()).unwrap();
    let dst = CString::new(at.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid C strings; a bind mount of a directory onto one we created.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        r,
        0,
        "bind {} at {}: {}",
        from.display(),
        at.display(),
        std::io::Error::last_os_error()
    );
    // The guard unmounts it (lazily) before removing the cgroups.
    g.mounts.push(at.to_path_buf());
}

/// A host root for `--host-root`: its procfs files copied from this machine's, its
/// mountinfo the layout's cgroup lines, the node directory bind-mounted at the line's
/// mount point.
fn host_root(
    g: &mut Guard,
    node: &Path,
    mount_point: &str,
    options: &str,
    hybrid: bool,
) -> tempfile::TempDir {
    let h = tempfile::tempdir().unwrap();
    let proc = h.path().join("proc");
    std::fs::create_dir_all(proc.join("1")).unwrap();
    std::fs::create_dir_all(proc.join("sys/kernel/random")).unwrap();
    std::fs::create_dir_all(proc.join("pressure")).unwrap();
    for f in [
        "meminfo",
        "vmstat",
        "cgroups",
        "stat",
        "sys/kernel/random/boot_id",
        "sys/kernel/osrelease",
        "sys/kernel/hostname",
    ] {
        if let Ok(t) = std::fs::read(Path::new("/proc").join(f)) {
            std::fs::write(proc.join(f), t).unwrap();
        }
    }
    // Shapes of the lines of fixtures/realworld/mountinfo (k8s mount-utils cgroup v1).
    let mut mi = String::from(
        "28 18 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n",
    );
    mi.push_str(&format!(
        "39 28 0:35 / {mount_point} rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup {options}\n"
    ));
    if hybrid {
        mi.push_str("41 28 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:23 - cgroup2 cgroup2 rw\n");
        std::fs::create_dir_all(h.path().join("sys/fs/cgroup/unified")).unwrap();
    }
    std::fs::write(proc.join("1/mountinfo"), &mi).unwrap();
    bind(g, node, &h.path().join(mount_point.trim_start_matches('/')));
    h
}

fn collect(args: &[&std::ffi::OsStr], out: &Path) -> Manifest {
    let o = Command::new(bin())
        .args([
            "snapshot",
            "--no-kubelet",
            "--kernel-log",
            "none",
            "--node-name",
            "layout-node",
            "-o",
        ])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let archive = PathBuf::from(String::from_utf8(o.stdout).unwrap().trim());
    manifest(&raw_entries(&archive))
}

fn analyze(dir: &Path) -> Report {
    let r = podmem_analyzer::analyze(
        &[dir.to_path_buf()],
        &podmem_analyzer::load::Limits::default(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    assert!(r.inputs.iter().all(|i| i.status == "ok"), "{:#?}", r.inputs);
    r
}

/// Builds one layout for real, with a process writing [`WRITTEN`] bytes into a tmpfs
/// from its writer cgroup, and runs the collector and the analyzer on it.
fn run(l: &Layout, i: usize, g: &mut Guard, setup: impl FnOnce(&mut Guard, &Path)) -> Run {
    let own = podmem_testkit::kernel::own();
    let node = own
        .dir
        .join(format!("podmem-layout-{}-{i}", std::process::id()));
    g.mkcg(node.clone());
    let mut made = BTreeSet::new();
    for p in &l.pods {
        if !p.path.is_empty() {
            mkcgs(g, &mut made, &node, p.path);
        }
        for c in &p.containers {
            mkcgs(g, &mut made, &node, c.path);
        }
    }
    for e in l.extra {
        mkcgs(g, &mut made, &node, e);
    }
    setup(g, &node);
    let writer = l
        .writer
        .or_else(|| {
            l.pods
                .iter()
                .flat_map(|p| &p.containers)
                .map(|c| c.path)
                .next()
        })
        .expect("a writer cgroup");
    let writer = mkcgs(g, &mut made, &node, writer);
    let tmp = tempfile::tempdir().unwrap();
    let vol = tmp.path().join("vol");
    g.mount_tmpfs(&vol, "size=64m");
    g.spawn(
        Some(&writer),
        "dd if=/dev/zero of=\"$0/f\" bs=1M count=\"$1\" 2>/dev/null",
        &[&vol.display().to_string(), &(WRITTEN / MIB).to_string()],
        &[],
    );
    let out = tempfile::tempdir().unwrap();
    let mut host = None;
    let manifest = match l.mounts {
        Mounts::Explicit => collect(&["--cgroup-root".as_ref(), node.as_os_str()], out.path()),
        Mounts::HostRoot {
            mount_point,
            options,
            hybrid,
        } => {
            let h = host_root(g, &node, mount_point, options, hybrid);
            let m = collect(&["--host-root".as_ref(), h.path().as_os_str()], out.path());
            assert_eq!(
                m.cgroup.mode,
                if hybrid {
                    CgroupMode::Hybrid
                } else {
                    CgroupMode::V1
                },
                "{}",
                l.name
            );
            assert!(
                m.cgroup.root.ends_with(mount_point),
                "{}: {}",
                l.name,
                m.cgroup.root
            );
            host = Some(h);
            m
        }
    };
    let report = analyze(out.path());
    Run {
        manifest,
        _volume: tmp,
        _host: host,
        report,
        node,
    }
}

/// The pods and containers of the layout, as the collector listed them and as the
/// analyzer found them, and the written shmem where the kernel charged it.
fn check(l: &Layout, r: &Run) {
    let want: BTreeSet<&str> = l.pods.iter().map(|p| p.uid).collect();
    let listed: BTreeSet<&str> = r.manifest.pods.iter().map(|p| p.uid.as_str()).collect();
    let found: BTreeSet<&str> = r.report.pods.iter().map(|p| p.uid.as_str()).collect();
    assert_eq!(listed, want, "{}: manifest pods", l.name);
    assert_eq!(found, want, "{}: report pods", l.name);
    for p in &l.pods {
        let m = r.manifest.pods.iter().find(|x| x.uid == p.uid).unwrap();
        assert_eq!(m.cgroup_path, p.path, "{}", l.name);
        assert_eq!(m.qos, Some(p.qos), "{}", l.name);
        let rp = r.report.pods.iter().find(|x| x.uid == p.uid).unwrap();
        assert_eq!(rp.qos, Some(p.qos), "{}", l.name);
        assert_eq!(
            rp.cgroup_path.as_deref(),
            (!p.path.is_empty()).then_some(p.path),
            "{}",
            l.name
        );
        for c in &p.containers {
            let mc = m
                .containers
                .iter()
                .find(|x| x.id == c.id && x.runtime.as_deref() == c.runtime)
                .unwrap_or_else(|| {
                    panic!("{}: manifest lacks {}: {:#?}", l.name, c.id, m.containers)
                });
            assert_eq!(mc.runtime.as_deref(), c.runtime, "{}", l.name);
            assert_eq!(mc.cgroup_path, c.path, "{}", l.name);
            let rc = rp
                .containers
                .iter()
                .find(|x| x.id == c.id)
                .unwrap_or_else(|| {
                    panic!("{}: report lacks {}: {:#?}", l.name, c.id, rp.containers)
                });
            assert_eq!(rc.runtime.as_deref(), c.runtime, "{}", l.name);
            assert!(!rc.gone, "{}", l.name);
            assert_eq!(rc.outside_pod_cgroup, None, "{}", l.name);
        }
        // The tmpfs pages are charged where the process ran: the first container (its
        // hierarchical figures include a sub-cgroup such as kube-proxy's), or the pod.
        let last = rp.samples.last().unwrap();
        assert_eq!(last.pod.shmem, Some(WRITTEN), "{}: pod shmem", l.name);
        match p.containers.first() {
            Some(c) => {
                assert_eq!(
                    last.containers[c.id].shmem,
                    Some(WRITTEN),
                    "{}: container shmem",
                    l.name
                );
                assert_eq!(last.unattributed.shmem, Some(0), "{}: unattributed", l.name);
            }
            None => assert_eq!(last.unattributed.shmem, Some(WRITTEN), "{}", l.name),
        }
    }
    assert!(
        !r.report
            .findings
            .iter()
            .any(|f| f.id == "container-outside-pod-cgroup"),
        "{}: {:#?}",
        l.name,
        r.report.findings
    );
}

fn real_kernel_layouts_end_to_end() {
    for (i, l) in layouts().iter().enumerate() {
        eprintln!("layout: {} ({})", l.name, l.source);
        let mut g = Guard::default();
        let r = run(l, i, &mut g, |_, _| {});
        check(l, &r);
        drop(g);
        drop(r);
    }
}

const COLON_UID: &str = "2105e389-7471-476e-a50f-6074cef29bbd";
const COLON_CID: &str = "d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e";
const COLON_POD: &str = "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice";

/// containerd 1.4.4 with the kubelet's systemd driver and its own cgroupfs placement
/// (neuvector_containerd_1.4.4_systemd_colon_form_mixed_prefix.cgroup): the container
/// under `system.slice/containerd.service` as `<pod slice>:cri-containerd:<id>`, the
/// pod's slice empty, in the memory hierarchy as the sample shows it, and at the root
/// (the same host's other controllers).
fn real_kernel_colon_form_outside_the_pod_cgroup() {
    for (i, colon) in [
        "system.slice/containerd.service/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
        "kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
    ]
    .into_iter()
    .enumerate()
    {
        let mut g = Guard::default();
        let pod_limit = WRITTEN / 2;
        let l = Layout {
            name: "containerd colon form",
            source: "neuvector_containerd_1.4.4_systemd_colon_form_mixed_prefix.cgroup",
            mounts: EXPLICIT,
            extra: &["system.slice/containerd.service"],
            pods: vec![Pod {
                uid: COLON_UID,
                qos: Qos::Besteffort,
                path: COLON_POD,
                containers: vec![Ctr {
                    id: COLON_CID,
                    runtime: Some("containerd"),
                    path: colon,
                }],
            }],
            writer: None,
        };
        // The pod limit is half what the container writes: the write succeeds, since
        // the container is not under the pod cgroup.
        let r = run(&l, 100 + i, &mut g, |_, node| {
            std::fs::write(
                node.join(COLON_POD).join("memory.limit_in_bytes"),
                pod_limit.to_string(),
            )
            .unwrap();
        });
        let m = r.manifest.pods.iter().find(|p| p.uid == COLON_UID).expect("pod listed");
        assert_eq!(m.cgroup_path, COLON_POD);
        assert_eq!(m.containers.len(), 1, "{:#?}", m.containers);
        assert_eq!(m.containers[0].id, COLON_CID);
        assert_eq!(m.containers[0].cgroup_path, colon);
        assert_eq!(r.manifest.cgroup.outside, [colon]);
        let p = r.report.pods.iter().find(|p| p.uid == COLON_UID).expect("pod found");
        assert_eq!(p.limit, Some(pod_limit));
        let c = p.containers.iter().find(|c| c.id == COLON_CID).expect("container found");
        assert_eq!(c.runtime.as_deref(), Some("containerd"));
        assert_eq!(c.outside_pod_cgroup.as_deref(), Some(colon));
        let last = p.samples.last().unwrap();
        // As the kernel charged it: the container holds what it wrote, the pod nothing.
        assert_eq!(last.containers[COLON_CID].shmem, Some(WRITTEN));
        assert_eq!(last.pod.shmem, Some(0));
        assert_eq!(last.unattributed.shmem, Some(0));
        let f = r
            .report
            .findings
            .iter()
            .find(|f| f.id == "container-outside-pod-cgroup")
            .unwrap_or_else(|| panic!("{:#?}", r.report.findings));
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.pod_uid.as_deref(), Some(COLON_UID));
        assert_eq!(f.container_ids, [COLON_CID]);
        let usage: u64 = std::fs::read_to_string(r.node.join(colon).join("memory.usage_in_bytes"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let bytes = f.bytes.expect("bytes");
        assert!(bytes >= WRITTEN && bytes > pod_limit, "{bytes}");
        // Usage moves a little (kernel objects); the snapshot was a moment before.
        assert!(bytes.abs_diff(usage) < MIB, "{bytes} vs {usage}");
        assert!(!r.report.findings.iter().any(|f| f.id == "orphaned-shmem"));
        drop(g);
        drop(r);
    }
}

/// Every real cgroup path of the samples: the memory controller's line of each
/// `/proc/<pid>/cgroup` capture (the `0::` line when it has none), and every path of the
/// consolidated list; duplicates once.
fn real_paths() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in podmem_testkit::samples::realworld_files("cgroup_paths", "") {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("real_kubepods_cgroup_path_patterns") {
            for l in text.lines().filter(|l| l.starts_with('/')) {
                out.push(l.split('\t').next().unwrap().trim().to_string());
            }
            continue;
        }
        let line = |want: &dyn Fn(&str) -> bool| {
            text.lines().find_map(|l| {
                let mut it = l.splitn(3, ':');
                let (_, ctrl, path) = (it.next()?, it.next()?, it.next()?);
                want(ctrl).then(|| path.trim().to_string())
            })
        };
        let path = line(&|c| c.split(',').any(|c| c == "memory"))
            .or_else(|| line(&|c| c.is_empty()))
            .unwrap_or_else(|| panic!("{name}: no memory or unified line"));
        out.push(path);
    }
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// What a real path itself says, read off its text: the pod UID of a `pod<uid>`
/// component (underscores as dashes), and the 64-hex container id of the component after
/// it (or of the same one, containerd's colon form).
fn said_by(path: &str) -> Option<(String, Option<String>)> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let hexes = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    for (i, c) in comps.iter().enumerate() {
        // `kubepods-...-pod<uid>`: the `pod` followed by a UID, not the one in `kubepods`.
        let uid = c.match_indices("pod").find_map(|(at, _)| {
            let rest = &c[at + 3..];
            if rest.len() >= 36 && hexes(&rest[..36].replace(['-', '_'], ""), 32) {
                Some(rest[..36].replace('_', "-"))
            } else if rest.len() >= 32 && hexes(&rest[..32], 32) {
                Some(rest[..32].to_string())
            } else {
                None
            }
        });
        let Some(uid) = uid else { continue };
        let id_in = |s: &str| {
            (0..s.len().saturating_sub(63))
                .map(|k| &s[k..k + 64])
                .find(|w| hexes(w, 64))
                .map(str::to_string)
        };
        let cid = if c.contains(':') {
            id_in(c)
        } else {
            comps.get(i + 1).and_then(|n| id_in(n))
        };
        return Some((uid, cid));
    }
    None
}

/// Every real cgroup path of the samples, built for real in one node tree, collected and
/// analyzed: each pod the path names is found with that UID and container id, and the
/// paths naming no pod (plain docker, system services, a garden-runc lookalike) make none.
fn real_kernel_every_real_path() {
    let paths = real_paths();
    assert!(paths.len() >= 25, "{} real paths", paths.len());
    let own = podmem_testkit::kernel::own();
    let node = own.dir.join(format!("podmem-paths-{}", std::process::id()));
    let mut g = Guard::default();
    g.mkcg(node.clone());
    let mut made = BTreeSet::new();
    for p in &paths {
        mkcgs(&mut g, &mut made, &node, p);
    }
    let out = tempfile::tempdir().unwrap();
    collect(&["--cgroup-root".as_ref(), node.as_os_str()], out.path());
    let r = analyze(out.path());
    let mut want_pods = BTreeSet::new();
    let mut checked = 0;
    for p in &paths {
        let Some((uid, cid)) = said_by(p) else {
            continue;
        };
        let pod = r
            .pods
            .iter()
            .find(|x| x.uid == uid)
            .unwrap_or_else(|| panic!("{p}: pod {uid} not found"));
        if let Some(cid) = cid {
            assert!(
                pod.containers.iter().any(|c| c.id == cid),
                "{p}: container {cid} not found in {:#?}",
                pod.containers
            );
        }
        want_pods.insert(uid);
        checked += 1;
    }
    let found: BTreeSet<String> = r.pods.iter().map(|p| p.uid.clone()).collect();
    assert_eq!(found, want_pods);
    eprintln!(
        "{} real paths, {checked} naming a pod, {} pods found",
        paths.len(),
        found.len()
    );
    drop(g);
}

const G: &str = "6f1c2a4e-1b2c-4d5e-8f90-0a1b2c3d4e01";
const B: &str = "8a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02";
const E: &str = "9b3c4d5e-6f7a-4b2c-8d3e-4f5a6b7c8d03";
const STATIC: &str = "5795d0c442cb997ff93c49feeb9f6386";
const DB: &str = "ed9c0c083582d8cd726b19035a51b06e4c26226d0b0eb46f903c16fb566d08e0";
const DB_PAUSE: &str = "7bdc25d1694ef984782a16f6f1710c1c6bc83ba7a131b515baf532bea021d011";
const APP: &str = "a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333";
const SIDECAR: &str = "6c8b4535ccc87f19061c4646189e33d78f01c8b63dc4e3cb2f630b1796ee93b6";
const ETCD: &str = "c38cbd92fce41312f3fbdce60510013b7f0d4004a03b45c8e762f98f1ed4006c";
const JOB: &str = "5e8c9902207afaeb7120430c585a445f21e92932081d64bc99f80e4925bcb002";

/// The layouts this machine cannot build for real (cgroup v2; a v1 + v2 hybrid with its
/// own mount table), from the fixture host trees (`fixtures/hosts/`, generated by
/// `generate.py`): the pods and container ids are the tree's directory names.
fn fixture_layouts_end_to_end() {
    type Want = &'static [(&'static str, Qos, &'static [&'static str])];
    let cases: [(&str, CgroupMode, Option<&str>, Want); 3] = [
        (
            "v2-systemd-containerd",
            CgroupMode::V2,
            Some("containerd"),
            &[
                (G, Qos::Guaranteed, &[DB, DB_PAUSE]),
                (B, Qos::Burstable, &[APP, SIDECAR]),
                (STATIC, Qos::Burstable, &[ETCD]),
                (E, Qos::Besteffort, &[JOB]),
            ],
        ),
        (
            "v1-cgroupfs-docker",
            CgroupMode::V1,
            None,
            &[
                (G, Qos::Guaranteed, &[DB, DB_PAUSE]),
                (B, Qos::Burstable, &[APP, SIDECAR]),
                (E, Qos::Besteffort, &[JOB]),
            ],
        ),
        (
            "v1-systemd-containerd",
            CgroupMode::Hybrid,
            Some("containerd"),
            &[
                (G, Qos::Guaranteed, &[DB_PAUSE]),
                (B, Qos::Burstable, &[APP, SIDECAR]),
                (E, Qos::Besteffort, &[JOB]),
            ],
        ),
    ];
    for (name, mode, runtime, want) in cases {
        let out = tempfile::tempdir().unwrap();
        let m = collect(
            &[
                "--host-root".as_ref(),
                podmem_testkit::samples::host(name).as_os_str(),
            ],
            out.path(),
        );
        assert_eq!(m.cgroup.mode, mode, "{name}");
        let r = analyze(out.path());
        let got: BTreeSet<(String, Option<Qos>, BTreeSet<String>)> = r
            .pods
            .iter()
            .map(|p| {
                let ids = p.containers.iter().map(|c| c.id.clone()).collect();
                (p.uid.clone(), p.qos, ids)
            })
            .collect();
        let expected: BTreeSet<(String, Option<Qos>, BTreeSet<String>)> = want
            .iter()
            .map(|(u, q, ids)| {
                (
                    u.to_string(),
                    Some(*q),
                    ids.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{name}");
        for p in &r.pods {
            for c in &p.containers {
                assert_eq!(c.runtime.as_deref(), runtime, "{name}: {}", c.id);
            }
        }
    }
}

podmem_testkit::main! {
    [] => [fixture_layouts_end_to_end],
    [Need::Kernel] => [
        real_kernel_layouts_end_to_end,
        real_kernel_colon_form_outside_the_pod_cgroup,
        real_kernel_every_real_path,
    ],
}
