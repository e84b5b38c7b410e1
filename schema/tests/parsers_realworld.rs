//! Every real sample in `fixtures/realworld/` parses, with values read from the
//! files by hand. Directories are iterated so samples added later are covered too.

use std::fs;
use std::path::PathBuf;

use podmem_schema::parse::kubelet_summary::parse_summary;
use podmem_schema::parse::memory_stat::{
    parse_figure_keys, parse_limit_or_value, parse_memory_stat, v1_stats, v2_stats, MemoryStat,
};
use podmem_schema::parse::mountinfo::{parse_mountinfo, parse_size_option, pod_volume, Mount};
use podmem_schema::parse::proc_files::parse_flat_keyed;
use podmem_schema::parse::ParseError;
use podmem_testkit::samples::{realworld, realworld_files as samples};

fn read(sub: &str, name: &str) -> String {
    let path = realworld(sub).join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stat(sub: &str, name: &str) -> MemoryStat {
    parse_memory_stat(&read(sub, name))
}

fn non_empty_lines(text: &str) -> usize {
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

// ---------------------------------------------------------------- memory.stat

#[test]
fn every_memory_stat_keeps_every_line() {
    for sub in ["memory_stat_v1", "memory_stat_v2"] {
        for path in samples(sub, ".memory.stat") {
            let text = fs::read_to_string(&path).unwrap();
            let stat = parse_memory_stat(&text);
            assert_eq!(
                stat.entries.len(),
                non_empty_lines(&text),
                "{}: every line is `key value`",
                path.display()
            );
        }
    }
}

/// The figures from the reduced parse are those from the whole file, on every sample.
#[test]
fn figure_keys_give_the_figures_of_the_whole_file() {
    let mut seen = 0;
    for sub in ["memory_stat_v1", "memory_stat_v2"] {
        for path in samples(sub, ".memory.stat") {
            let text = fs::read_to_string(&path).unwrap();
            let full = parse_memory_stat(&text);
            let keys = parse_figure_keys(&text);
            assert!(!keys.entries().is_empty(), "{}", path.display());
            for usage in [None, Some(1 << 30)] {
                assert_eq!(
                    v1_stats(&keys, usage),
                    v1_stats(&full, usage),
                    "{}",
                    path.display()
                );
                assert_eq!(
                    v2_stats(&keys, usage),
                    v2_stats(&full, usage),
                    "{}",
                    path.display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} memory.stat samples found");
}

#[test]
fn every_single_value_file_is_a_number() {
    for sub in ["memory_stat_v1", "memory_stat_v2"] {
        for suffix in [
            ".memory.current",
            ".memory.max",
            "usage_in_bytes",
            ".memory.limit_in_bytes",
        ] {
            let files: Vec<PathBuf> = fs::read_dir(realworld(sub))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect();
            for path in files {
                let v = parse_limit_or_value(&fs::read_to_string(&path).unwrap());
                assert!(matches!(v, Ok(Some(_))), "{}: {v:?}", path.display());
            }
        }
    }
}

#[test]
fn v1_pagecache_heavy_nonleaf() {
    let s = stat(
        "memory_stat_v1",
        "v1_nonleaf_with_swap_accounting_pagecache_heavy_no_trailing_newline.memory.stat",
    );
    assert_eq!(s.entries.len(), 36);
    assert_eq!(s.get("total_swap"), Some(0));
    // No usage file came with this sample: use cache + rss as the usage.
    let usage = 21_492_334_592 + 9_384_980_480;
    let m = v1_stats(&s, Some(usage));
    assert_eq!(m.shmem, Some(654_385_152), "total_shmem, not the local 0");
    assert_eq!(m.cache, Some(21_492_334_592));
    assert_eq!(m.rss, Some(9_384_980_480));
    assert_eq!(m.inactive_file, Some(19_150_966_784));
    assert_eq!(m.working_set, Some(usage - 19_150_966_784));
    assert_eq!(m.usage, Some(usage));
    let limit = s.get("hierarchical_memory_limit").unwrap();
    assert_eq!(parse_limit_or_value(&limit.to_string()), Ok(None));
}

#[test]
fn v1_large_totals_use_hierarchical_keys() {
    let s = stat(
        "memory_stat_v1",
        "v1_nonleaf_no_swap_accounting_large_totals.memory.stat",
    );
    assert_eq!(s.get("total_swap"), None);
    let m = v1_stats(&s, None);
    assert_eq!(m.shmem, Some(943_890_432));
    assert_eq!(m.cache, Some(7_228_424_192));
    assert_eq!(m.rss, Some(7_746_449_408));
    assert_eq!(m.inactive_file, Some(2_238_832_640));
    assert_eq!(m.working_set, None, "no usage given");
}

#[test]
fn v1_container_and_shmem_estimate_on_real_numbers() {
    let mut s = stat(
        "memory_stat_v1",
        "k8s_pod_container_5Gi_limit_no_swap_keys.memory.stat",
    );
    assert_eq!(s.get("hierarchical_memory_limit"), Some(5 << 30));
    assert_eq!(v1_stats(&s, None).shmem, Some(5_525_504));
    // As on a kernel without shmem keys: anon LRUs − rss estimates it.
    s.entries.remove("shmem");
    s.entries.remove("total_shmem");
    let estimate = v1_stats(&s, None).shmem.unwrap();
    assert_eq!(estimate, 611_213_312 + 1_687_552 - 607_436_800);
    assert!(
        estimate.abs_diff(5_525_504) < 5_525_504 / 50,
        "within 2% of the real shmem"
    );
}

#[test]
fn v1_small_container() {
    let s = stat("memory_stat_v1", "v1_small_container_no_swap.memory.stat");
    let m = v1_stats(&s, Some(8_388_608));
    assert_eq!(m.working_set, Some(8_388_608 - 3_244_032));
    assert_eq!((m.shmem, m.rss), (Some(0), Some(5_406_720)));
}

#[test]
fn v1_pod_burstable_values() {
    let v = |name: &str| parse_limit_or_value(&read("memory_stat_v1", name)).unwrap();
    assert_eq!(
        v("k8s_issue114142_pod_burstable.memory.usage_in_bytes"),
        Some(501_346_304)
    );
    assert_eq!(
        v("k8s_issue114142_pod_burstable.memory.max_usage_in_bytes"),
        Some(524_292_096)
    );
    assert_eq!(
        v("k8s_issue114142_pod_burstable.memory.limit_in_bytes"),
        Some(524_288_000)
    );
}

#[test]
fn v2_anon_heavy_pod() {
    let s = stat(
        "memory_stat_v2",
        "sysinfo_issue1219_pod_v2_anon_heavy.memory.stat",
    );
    let current = parse_limit_or_value(&read(
        "memory_stat_v2",
        "sysinfo_issue1219_pod_v2.memory.current",
    ))
    .unwrap();
    assert_eq!(current, Some(2_481_475_584));
    let max = parse_limit_or_value(&read(
        "memory_stat_v2",
        "sysinfo_issue1219_pod_v2.memory.max",
    ));
    assert_eq!(max, Ok(Some(7_864_320_000)));
    let m = v2_stats(&s, current);
    assert_eq!(m.working_set, Some(2_481_475_584 - 4096));
    assert_eq!(m.rss, Some(2_472_849_408));
    assert_eq!((m.cache, m.shmem), (Some(57_344), Some(0)));
}

#[test]
fn v2_runc_large_file_cache() {
    let s = stat(
        "memory_stat_v2",
        "runc_fs2_v2_kernel5.9-5.17_no_trailing_newline.memory.stat",
    );
    assert_eq!(s.get("swapcached"), Some(10));
    let m = v2_stats(&s, Some(7_500_000_000));
    assert_eq!(m.cache, Some(6_502_666_240));
    assert_eq!(m.rss, Some(790_425_600));
    assert_eq!(m.shmem, Some(6_721_536));
    assert_eq!(m.working_set, Some(7_500_000_000 - 5_307_346_944));
}

#[test]
fn v2_trimmed_files_give_none_for_missing_keys() {
    let s = stat(
        "memory_stat_v2",
        "workspace_pod_8GiB_v2_trimmed_slab_heavy.memory.stat",
    );
    assert_eq!(s.get("kernel"), Some(1_693_286_400));
    let current = parse_limit_or_value(&read(
        "memory_stat_v2",
        "workspace_pod_8GiB_v2.memory.current",
    ))
    .unwrap();
    assert_eq!(current, Some(7_872_479_232));
    let m = v2_stats(&s, current);
    assert_eq!(m.cache, Some(4_198_756_352));
    // Trimmed without inactive_file: the working set falls back to the usage.
    assert_eq!(m.inactive_file, None);
    assert_eq!(m.working_set, Some(7_872_479_232));
    assert_eq!(m.shmem, Some(0));
    let head = stat(
        "memory_stat_v2",
        "systemd_slice_kernel7.0_head_only.memory.stat",
    );
    let m = v2_stats(&head, None);
    assert_eq!(
        (m.rss, m.cache, m.shmem),
        (Some(117_321_728), Some(338_522_112), Some(5_251_072))
    );
}

#[test]
fn v2_memory_events_with_newest_keys() {
    for path in samples("memory_stat_v2", ".memory.events") {
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            parse_flat_keyed(&text).len(),
            non_empty_lines(&text),
            "{}",
            path.display()
        );
    }
    let e = parse_flat_keyed(&read(
        "memory_stat_v2",
        "systemd_slice_kernel7.0_with_sock_throttled.memory.events",
    ));
    assert_eq!(e.get("max"), Some(&3));
    assert_eq!(e.get("oom_kill"), Some(&1));
    assert_eq!(e.get("oom_group_kill"), Some(&0));
    assert_eq!(e.get("sock_throttled"), Some(&0));
}

// ---------------------------------------------------------------- mountinfo

const MALFORMED: &str = "k8s_mount_utils_malformed_lines.mountinfo";

fn mounts(name: &str) -> Vec<Mount> {
    let (m, errors) = parse_mountinfo(&read("mountinfo", name));
    assert!(errors.is_empty(), "{name}: {errors:?}");
    m
}

fn at<'a>(mounts: &'a [Mount], mount_point: &str) -> &'a Mount {
    mounts
        .iter()
        .find(|m| m.mount_point == mount_point)
        .unwrap_or_else(|| panic!("no mount at {mount_point}"))
}

#[test]
fn every_mountinfo_parses_every_line() {
    for path in samples("mountinfo", ".mountinfo") {
        if path.ends_with(MALFORMED) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let (mounts, errors) = parse_mountinfo(&text);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert_eq!(mounts.len(), non_empty_lines(&text), "{}", path.display());
        for m in &mounts {
            assert!(m.mount_point.starts_with('/'), "{}: {m:?}", path.display());
            assert!(
                !m.fs_type.is_empty() && !m.super_options.is_empty(),
                "{m:?}"
            );
        }
    }
}

#[test]
fn malformed_lines_are_reported_with_their_numbers() {
    let (mounts, errors) = parse_mountinfo(&read("mountinfo", MALFORMED));
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].major_minor, "253:0");
    let lines: Vec<usize> = errors
        .iter()
        .map(|e| match e {
            ParseError::BadLine { file, line, reason } => {
                assert_eq!(file, "mountinfo");
                assert!(reason.contains("major:minor"), "{reason}");
                *line
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6]);
}

#[test]
fn cifs_escapes_and_raw_backslashes() {
    let m = mounts("moby_fedora20_docker_devicemapper_cifs_escapes.mountinfo");
    let cifs = at(&m, "/DATA/foo_bla_bla");
    assert_eq!(cifs.fs_type, "cifs");
    assert_eq!(cifs.source, "//foo/BLA BLA BLA/");
    assert_eq!(
        cifs.super_option("unc").as_deref(),
        Some(r"\\foo\BLA BLA BLA")
    );
    assert_eq!(cifs.super_option("username").as_deref(), Some("my_login"));
    assert_eq!(cifs.super_option("actimeo").as_deref(), Some("1"));
    assert_eq!(cifs.super_option("forceuid").as_deref(), Some(""));
    assert!(cifs.optional.is_empty());
    assert_eq!(
        m.iter().filter(|m| m.mount_id == 31).count(),
        2,
        "duplicate id kept"
    );
    let dev = at(&m, "/dev");
    assert_eq!(dev.optional, vec!["shared:2"]);
    assert_eq!(
        dev.super_option("size")
            .as_deref()
            .and_then(parse_size_option),
        Some(8_056_484 * 1024)
    );
}

#[test]
fn selinux_context_commas_and_emptydir_root_is_not_a_mount_point_match() {
    let m = mounts(
        "container_view_containerd_cgroup2_selinux_emptydir_disk_FILE_UID_placeholder.mountinfo",
    );
    let root = at(&m, "/");
    assert_eq!(
        root.super_option("context").as_deref(),
        Some("system_u:object_r:data_t:s0:c171,c852")
    );
    assert!(root
        .super_option("lowerdir")
        .unwrap()
        .starts_with("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/25"));
    let shm = at(&m, "/dev/shm");
    assert_eq!(
        (shm.fs_type.as_str(), shm.source.as_str()),
        ("tmpfs", "shm")
    );
    assert_eq!(
        shm.super_option("size")
            .as_deref()
            .and_then(parse_size_option),
        Some(65536 * 1024)
    );
    let html = at(&m, "/html");
    assert_eq!(
        html.root,
        "/var/lib/kubelet/pods/${FILE_UID}/volumes/kubernetes.io~empty-dir/html"
    );
    // The host path is only in the ROOT field: the container-side mount point is no
    // volume, and the templated UID is no UID either.
    assert!(m.iter().all(|m| pod_volume(&m.mount_point).is_none()));
    assert_eq!(pod_volume(&html.root), None);
    let real = html
        .root
        .replace("${FILE_UID}", "0A6D6B05-0e8d-4920-8a38-926a33164d45");
    let v = pod_volume(&real).unwrap();
    assert_eq!(v.pod_uid, "0a6d6b05-0e8d-4920-8a38-926a33164d45");
    assert_eq!((v.plugin.as_str(), v.name.as_str()), ("empty-dir", "html"));
    let sa = at(&m, "/run/secrets/kubernetes.io/serviceaccount");
    assert_eq!(
        sa.super_option("size")
            .as_deref()
            .and_then(parse_size_option),
        Some(3_380_568 * 1024)
    );
}

#[test]
fn kubelet_volume_mount_points_and_subpaths() {
    let m = mounts("k8s_mount_utils_kubelet_volumes_subpaths_cgroupv1.mountinfo");
    let vols: Vec<(u64, String, String, String)> = m
        .iter()
        .filter_map(|m| {
            pod_volume(&m.mount_point).map(|v| (m.mount_id, v.pod_uid, v.plugin, v.name))
        })
        .collect();
    let c254 = "c25464af-e52e-11e7-ab4d-42010a800002".to_string();
    assert_eq!(
        vols,
        vec![
            (818, c254.clone(), "gce-pd".into(), "vol1".into()),
            (819, c254, "gce-pd".into(), "vol1".into()),
            (
                134,
                "43219158-e5e1-11e7-a392-0e858b8eaf40".into(),
                "nfs".into(),
                "nfs1".into()
            ),
            (
                187,
                "1fc5ea21-eff4-11e7-ac80-0e858b8eaf40".into(),
                "nfs".into(),
                "nfs2".into()
            ),
            (
                347,
                "13195d46-f9fa-11e7-bbf1-5254007a695a".into(),
                "nfs".into(),
                "vol2".into()
            ),
        ],
        "volume-subpaths bind mounts and the non-UID pod dir `2345` do not match"
    );
    // Deeper paths in ROOT (a subdirectory of an emptyDir) are not the volume itself.
    assert!(m.iter().all(|m| pod_volume(&m.root).is_none()));
    let shared = m.iter().find(|m| m.mount_id == 224).unwrap();
    assert_eq!(shared.optional, vec!["master:1", "shared:44"]);
    let bar = at(&m, "/var/lib/bar");
    assert!(bar.optional.is_empty());
    assert_eq!(bar.parent_id, 63);
    assert_eq!(m.iter().filter(|m| m.mount_id == 80).count(), 2);
    let memcg = at(&m, "/sys/fs/cgroup/memory");
    assert_eq!(memcg.super_option("memory").as_deref(), Some(""));
}

#[test]
fn container_view_cgroup_root_and_no_trailing_newline() {
    let m = mounts(
        "container_view_minikube_containerd_cgroupv1_besteffort_no_trailing_newline.mountinfo",
    );
    assert_eq!(
        at(&m, "/sys/fs/cgroup/memory").root,
        "/kubepods/besteffort/pod28478e30-384f-41e5-9d85-eae249ae8506/\
         58a77afcbf0b16959d526758f6696677c862517acc97a562dc5c5b09afbf5236"
    );
    assert_eq!(at(&m, "/").optional, vec!["master:510"]);
    let podman =
        mounts("container_view_rootless_podman_fuse_overlayfs_no_trailing_newline.mountinfo");
    assert_eq!(at(&podman, "/").fs_type, "fuse.fuse-overlayfs");
    assert_eq!(
        at(&podman, "/dev").super_option("uid").as_deref(),
        Some("1000")
    );
}

#[test]
fn df_excerpt_paths_are_memory_emptydir_volumes() {
    // Not mountinfo: a `df` listing whose last column is a kubelet volume mount point.
    let text = read(
        "mountinfo",
        "k3s_issue11801_host_df_kubelet_tmpfs_emptydir_NOT_MOUNTINFO_excerpt.txt",
    );
    let (mounts, errors) = parse_mountinfo(&text);
    assert!(mounts.is_empty(), "a df listing is not mountinfo");
    assert_eq!(errors.len(), non_empty_lines(&text));
    let vols: Vec<_> = text
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter_map(pod_volume)
        .collect();
    assert!(
        vols.iter()
            .any(|v| v.plugin == "empty-dir" && v.name == "keys-tmp-dir"),
        "{vols:?}"
    );
    assert!(vols.iter().any(|v| v.plugin == "projected"));
}

// ---------------------------------------------------------------- kubelet summary

#[test]
fn every_summary_parses() {
    for path in samples("kubelet_summary", ".json") {
        let text = fs::read_to_string(&path).unwrap();
        let s = parse_summary(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(s.node.is_some() || !s.pods.is_empty(), "{}", path.display());
    }
}

#[test]
fn telegraf_tmpfs_volumes_and_stopped_pod() {
    let s = parse_summary(&read(
        "kubelet_summary",
        "telegraf_2016_k8s1.4_summary_tmpfs_volumes_stopped_pod.json",
    ))
    .unwrap();
    let node = s.node.as_ref().unwrap();
    assert_eq!(node.node_name.as_deref(), Some("node1"));
    let mem = node.memory.as_ref().unwrap();
    assert_eq!(mem.usage_bytes, Some(12_313_182_208));
    assert_eq!(mem.working_set_bytes, Some(5_081_538_560));
    assert_eq!(node.system_containers.len(), 2);
    assert_eq!(s.pods.len(), 2);
    let foo = &s.pods[0];
    assert_eq!(
        foo.pod_ref.as_ref().unwrap().name.as_deref(),
        Some("foopod")
    );
    let vols: Vec<(&str, Option<u64>, Option<u64>)> = foo
        .volumes
        .iter()
        .map(|v| (v.name.as_deref().unwrap(), v.used_bytes, v.capacity_bytes))
        .collect();
    let cap = Some(7_903_961_088);
    assert_eq!(
        vols,
        vec![
            ("volume1", Some(12288), cap),
            ("volume2", Some(4096), cap),
            ("volume3", Some(12288), cap),
            ("volume4", Some(8192), cap),
        ]
    );
    let stopped = &s.pods[1];
    assert_eq!(stopped.start_time, None);
    assert_eq!(stopped.containers.len(), 1);
    assert_eq!(stopped.containers[0].memory, None);
    assert_eq!(
        stopped.containers[0].start_time.as_deref(),
        Some("2016-09-26T18:46:43Z")
    );
}

#[test]
fn otel_static_pod_uids_and_container_available_bytes() {
    let s = parse_summary(&read(
        "kubelet_summary",
        "otel_minikube_2020_k8s1.18_summary.json",
    ))
    .unwrap();
    assert_eq!(s.pods.len(), 9);
    let node = s.node.as_ref().unwrap();
    let names: Vec<_> = node
        .system_containers
        .iter()
        .filter_map(|c| c.name.as_deref())
        .collect();
    assert_eq!(names, ["kubelet", "runtime", "pods"]);
    let scheduler = s
        .pods
        .iter()
        .find(|p| p.pod_ref.as_ref().unwrap().name.as_deref() == Some("kube-scheduler-minikube"))
        .unwrap();
    assert_eq!(
        scheduler.pod_ref.as_ref().unwrap().uid.as_deref(),
        Some("5795d0c442cb997ff93c49feeb9f6386")
    );
    assert_eq!(
        scheduler.memory.as_ref().unwrap().working_set_bytes,
        Some(12_230_656)
    );
    assert!(scheduler.volumes.is_empty());
    let coredns = s
        .pods
        .iter()
        .find(|p| p.pod_ref.as_ref().unwrap().name.as_deref() == Some("coredns-66bff467f8-szddj"))
        .unwrap();
    let c = coredns.containers[0].memory.as_ref().unwrap();
    assert_eq!(c.available_bytes, Some(172_007_424));
    assert_eq!(c.working_set_bytes, Some(6_250_496));
    assert_eq!(
        coredns.memory.as_ref().unwrap().available_bytes,
        Some(171_323_392)
    );
    let token = coredns
        .volumes
        .iter()
        .find(|v| v.name.as_deref() == Some("coredns-token-dzc5t"))
        .unwrap();
    assert_eq!(
        (token.used_bytes, token.capacity_bytes),
        (Some(12288), Some(2_015_715_328))
    );
}

#[test]
fn gke_pod_fragment_with_incomplete_container_memory() {
    let s = parse_summary(&read(
        "kubelet_summary",
        "gke_2025_podstats_fragment_swap_incomplete_container_memory.json",
    ))
    .unwrap();
    assert_eq!(s.node, None);
    assert_eq!(s.pods.len(), 1);
    let pod = &s.pods[0];
    assert_eq!(
        pod.pod_ref.as_ref().unwrap().uid.as_deref(),
        Some("43780f1ce6e2171bc9e70cae3118ab6b")
    );
    let c = &pod.containers[0];
    assert_eq!(c.name.as_deref(), Some("auditproxy"));
    let cm = c.memory.as_ref().unwrap();
    assert_eq!(cm.working_set_bytes, Some(76_451_840));
    assert_eq!(
        (cm.usage_bytes, cm.rss_bytes, cm.page_faults),
        (None, None, None)
    );
    assert_eq!(c.swap.as_ref().unwrap().swap_available_bytes, Some(0));
    let pod_swap = pod.swap.as_ref().unwrap();
    assert_eq!(
        (pod_swap.swap_usage_bytes, pod_swap.swap_available_bytes),
        (Some(0), None)
    );
    let pm = pod.memory.as_ref().unwrap();
    assert_eq!(pm.usage_bytes, Some(91_631_616));
    assert_eq!(pm.working_set_bytes, Some(88_707_072));
}

#[test]
fn node_memory_fragment_is_a_node_only_summary() {
    let s = parse_summary(&read(
        "kubelet_summary",
        "k8s_issue118916_gke_5.15_cgroupv1_node_memory_fragment.json",
    ))
    .unwrap();
    assert!(s.pods.is_empty());
    let m = s.node.unwrap().memory.unwrap();
    assert_eq!(m.working_set_bytes, Some(928_534_528));
    assert_eq!(m.usage_bytes, Some(1_406_832_640));
    assert_eq!(m.available_bytes, Some(3_182_673_920));
    assert_eq!(m.major_page_faults, Some(201));
}

#[test]
fn beats_secret_token_volume() {
    let s = parse_summary(&read(
        "kubelet_summary",
        "beats_gke_2017_stats_summary.json",
    ))
    .unwrap();
    assert_eq!(
        s.node.unwrap().memory.unwrap().working_set_bytes,
        Some(2_111_090_688)
    );
    let v = &s.pods[0].volumes[0];
    assert_eq!(v.name.as_deref(), Some("default-token-sg8x5"));
    assert_eq!(
        (v.used_bytes, v.capacity_bytes),
        (Some(12288), Some(1_939_701_760))
    );
}
