//! `identify` and `canonical_uid` over every real cgroup path in the samples: the
//! pattern list (one path per line) and the `/proc/<pid>/cgroup` captures.

use std::collections::BTreeMap;
use std::path::PathBuf;

use podmem_schema::parse::cgroup_path::{canonical_uid, identify, CgroupIdent, Level};
use podmem_schema::snapshot::Qos;

fn samples() -> PathBuf {
    podmem_testkit::samples::realworld("cgroup_paths")
}

fn read(name: &str) -> String {
    let p = samples().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Expected identity, in the order the fields are easiest to read in a table.
fn id(
    level: Level,
    kubepods_prefix: Option<&str>,
    qos: Option<Qos>,
    pod_uid: Option<&str>,
    pod_path: Option<&str>,
    container_id: Option<&str>,
    runtime: Option<&str>,
) -> CgroupIdent {
    CgroupIdent {
        level,
        kubepods_prefix: kubepods_prefix.map(str::to_string),
        qos,
        pod_uid: pod_uid.map(str::to_string),
        pod_path: pod_path.map(str::to_string),
        container_id: container_id.map(str::to_string),
        runtime: runtime.map(str::to_string),
    }
}

use Level::*;
use Qos::*;

/// The pod path is the path up to the pod component; spelled out for each row.
fn expected() -> Vec<(&'static str, CgroupIdent)> {
    vec![
        (
            "/kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b",
            id(Container, Some("/kubepods"), Some(Guaranteed), Some("95387fa4-da9c-11e7-9d36-5254b24cbf5e"),
               Some("/kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e"),
               Some("6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b"), None),
        ),
        (
            "/kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/024952d653ef1cd852f875a61bd27cf45cb1fd6cab3659ca7e5f12f037d99aa9",
            id(Container, Some("/kubepods"), Some(Guaranteed), Some("951f6bc5-c5a5-11ea-8707-80e455f266a2"),
               Some("/kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2"),
               Some("024952d653ef1cd852f875a61bd27cf45cb1fd6cab3659ca7e5f12f037d99aa9"), None),
        ),
        (
            "/kubepods/pod200f55f9-b043-11ea-b578-fa163e82605e",
            id(Pod, Some("/kubepods"), Some(Guaranteed), Some("200f55f9-b043-11ea-b578-fa163e82605e"),
               Some("/kubepods/pod200f55f9-b043-11ea-b578-fa163e82605e"), None, None),
        ),
        (
            "/kubepods/burstable/podaf389229-5fc5-4617-ae95-9160d576eb49",
            id(Pod, Some("/kubepods"), Some(Burstable), Some("af389229-5fc5-4617-ae95-9160d576eb49"),
               Some("/kubepods/burstable/podaf389229-5fc5-4617-ae95-9160d576eb49"), None, None),
        ),
        (
            "/kubepods/burstable/podaf389229-5fc5-4617-ae95-9160d576eb49/3b3d031aca1bab63c359a8aac8c18e373ac90373faf12c69e5225aec01fc9c84",
            id(Container, Some("/kubepods"), Some(Burstable), Some("af389229-5fc5-4617-ae95-9160d576eb49"),
               Some("/kubepods/burstable/podaf389229-5fc5-4617-ae95-9160d576eb49"),
               Some("3b3d031aca1bab63c359a8aac8c18e373ac90373faf12c69e5225aec01fc9c84"), None),
        ),
        (
            "/kubepods/burstable/poddfc7f441-06db-11ea-842a-0227fba247b6/2933ad3a2edcc67620de713f945bfc71817d73e2df7bd235d08fca37832dd3ca",
            id(Container, Some("/kubepods"), Some(Burstable), Some("dfc7f441-06db-11ea-842a-0227fba247b6"),
               Some("/kubepods/burstable/poddfc7f441-06db-11ea-842a-0227fba247b6"),
               Some("2933ad3a2edcc67620de713f945bfc71817d73e2df7bd235d08fca37832dd3ca"), None),
        ),
        (
            "/kubepods/burstable/podfe3f7a38-b3f7-48aa-8997-a697ae3d0741/c7ebf4d756b284f6226cce820771afcf706a4e37afb77f052c61ece86d3b61f0",
            id(Container, Some("/kubepods"), Some(Burstable), Some("fe3f7a38-b3f7-48aa-8997-a697ae3d0741"),
               Some("/kubepods/burstable/podfe3f7a38-b3f7-48aa-8997-a697ae3d0741"),
               Some("c7ebf4d756b284f6226cce820771afcf706a4e37afb77f052c61ece86d3b61f0"), None),
        ),
        (
            "/kubepods/burstable/pod792adfde-d139-4c9c-a89e-ae94f36ea69d/7a982186b58cec345c4a3f635809c7e04afc930453a5dbb5cbc9d4d49f662761",
            id(Container, Some("/kubepods"), Some(Burstable), Some("792adfde-d139-4c9c-a89e-ae94f36ea69d"),
               Some("/kubepods/burstable/pod792adfde-d139-4c9c-a89e-ae94f36ea69d"),
               Some("7a982186b58cec345c4a3f635809c7e04afc930453a5dbb5cbc9d4d49f662761"), None),
        ),
        (
            "/kubepods/burstable/podd11ab7b0-d6db-4a24-a7de-4a2faf1e6980/9f02d9fa0049eb2655fc83c765f142362b2cb403b57b70ba3185071015ca3b64",
            id(Container, Some("/kubepods"), Some(Burstable), Some("d11ab7b0-d6db-4a24-a7de-4a2faf1e6980"),
               Some("/kubepods/burstable/podd11ab7b0-d6db-4a24-a7de-4a2faf1e6980"),
               Some("9f02d9fa0049eb2655fc83c765f142362b2cb403b57b70ba3185071015ca3b64"), None),
        ),
        (
            "/kubepods/besteffort/pod28478e30-384f-41e5-9d85-eae249ae8506/58a77afcbf0b16959d526758f6696677c862517acc97a562dc5c5b09afbf5236",
            id(Container, Some("/kubepods"), Some(Besteffort), Some("28478e30-384f-41e5-9d85-eae249ae8506"),
               Some("/kubepods/besteffort/pod28478e30-384f-41e5-9d85-eae249ae8506"),
               Some("58a77afcbf0b16959d526758f6696677c862517acc97a562dc5c5b09afbf5236"), None),
        ),
        (
            "/kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa/5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61",
            id(Container, Some("/kubepods"), Some(Besteffort), Some("a36d0c1d-0b26-4451-8d80-9c195e004afa"),
               Some("/kubepods/besteffort/poda36d0c1d-0b26-4451-8d80-9c195e004afa"),
               Some("5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61"), None),
        ),
        (
            "/kubepods/besteffort/podf8a694f2-7c08-11e9-98da-000c29077430/c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903/kube-proxy",
            id(Container, Some("/kubepods"), Some(Besteffort), Some("f8a694f2-7c08-11e9-98da-000c29077430"),
               Some("/kubepods/besteffort/podf8a694f2-7c08-11e9-98da-000c29077430"),
               Some("c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903"), None),
        ),
        (
            "/kubepods.slice",
            id(Kubepods, Some("/kubepods.slice"), None, None, None, None, None),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice",
            id(Pod, Some("/kubepods.slice"), Some(Burstable), Some("5931aa75-4603-4e65-b552-7c71cf55cfb5"),
               Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice"),
               None, None),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice/cri-containerd-25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca.scope",
            id(Container, Some("/kubepods.slice"), Some(Burstable), Some("5931aa75-4603-4e65-b552-7c71cf55cfb5"),
               Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice"),
               Some("25a38b5b8d556d7983d975577f5ac75ebbcfb4b269e6deaa0a0440c1ffc969ca"), Some("containerd")),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod10d16a28_60ff_475f_a631_510d9792219f.slice/cri-containerd-178ec18073cc6ac7be2de8d9869daf162a6349dd056b6535849112c53ec3102a.scope",
            id(Container, Some("/kubepods.slice"), Some(Burstable), Some("10d16a28-60ff-475f-a631-510d9792219f"),
               Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod10d16a28_60ff_475f_a631_510d9792219f.slice"),
               Some("178ec18073cc6ac7be2de8d9869daf162a6349dd056b6535849112c53ec3102a"), Some("containerd")),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poddfc377c9_c533_4d51_af9e_6e0e0b3db83b.slice/cri-containerd-2260b35b008a15bd118e629c0c5d74e7f3a1fe18c724fbac61a54862fea196dc.scope",
            id(Container, Some("/kubepods.slice"), Some(Burstable), Some("dfc377c9-c533-4d51-af9e-6e0e0b3db83b"),
               Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poddfc377c9_c533_4d51_af9e_6e0e0b3db83b.slice"),
               Some("2260b35b008a15bd118e629c0c5d74e7f3a1fe18c724fbac61a54862fea196dc"), Some("containerd")),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0330b2c1_a15b_4cdd_b5e5_72d4a90bee82.slice/docker-b27201334a41cd0749d053b18378d7ea65617b8e26277197ea25c974da1a5a8a.scope",
            id(Container, Some("/kubepods.slice"), Some(Burstable), Some("0330b2c1-a15b-4cdd-b5e5-72d4a90bee82"),
               Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0330b2c1_a15b_4cdd_b5e5_72d4a90bee82.slice"),
               Some("b27201334a41cd0749d053b18378d7ea65617b8e26277197ea25c974da1a5a8a"), Some("docker")),
        ),
        (
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod045b1e35_7f13_11e7_ac42_0050568ffca0.slice/docker-b5b6f2da8008be266864f896f93789762b2ce50792114a5c5f2cc3315af0bc70.scope",
            id(Container, Some("/kubepods.slice"), Some(Besteffort), Some("045b1e35-7f13-11e7-ac42-0050568ffca0"),
               Some("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod045b1e35_7f13_11e7_ac42_0050568ffca0.slice"),
               Some("b5b6f2da8008be266864f896f93789762b2ce50792114a5c5f2cc3315af0bc70"), Some("docker")),
        ),
        (
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod350bff31_89d4_429e_b653_86d8167bc60e.slice/docker-3a5881f09ab409d7ac174b59f20d003b28b76da368257eb1e3d23648920a742b.scope",
            id(Container, Some("/kubepods.slice"), Some(Besteffort), Some("350bff31-89d4-429e-b653-86d8167bc60e"),
               Some("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod350bff31_89d4_429e_b653_86d8167bc60e.slice"),
               Some("3a5881f09ab409d7ac174b59f20d003b28b76da368257eb1e3d23648920a742b"), Some("docker")),
        ),
        (
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poddd1bf9d1_241d_47f5_8e25_12de83135812.slice/cri-containerd-f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830.scope",
            id(Container, Some("/kubepods.slice"), Some(Besteffort), Some("dd1bf9d1-241d-47f5-8e25-12de83135812"),
               Some("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-poddd1bf9d1_241d_47f5_8e25_12de83135812.slice"),
               Some("f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830"), Some("containerd")),
        ),
        (
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice/crio-d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607.scope",
            id(Container, Some("/kubepods.slice"), Some(Besteffort), Some("8ca306fa-3c03-47fa-97dd-19979c345572"),
               Some("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod8ca306fa_3c03_47fa_97dd_19979c345572.slice"),
               Some("d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607"), Some("crio")),
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod487a0dc6dccaeefbcfedba7a7ce1ca18.slice/crio-7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e.scope",
            id(Container, Some("/kubepods.slice"), Some(Burstable), Some("487a0dc6dccaeefbcfedba7a7ce1ca18"),
               Some("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod487a0dc6dccaeefbcfedba7a7ce1ca18.slice"),
               Some("7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e"), Some("crio")),
        ),
        (
            "/system.slice/containerd.service/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
            id(Container, None, Some(Besteffort), Some("2105e389-7471-476e-a50f-6074cef29bbd"), None,
               Some("d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e"), Some("containerd")),
        ),
        (
            "/kubepods-besteffort-pod2105e389_7471_476e_a50f_6074cef29bbd.slice:cri-containerd:d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e",
            id(Container, None, Some(Besteffort), Some("2105e389-7471-476e-a50f-6074cef29bbd"), None,
               Some("d3d8ccf5cca91931c6285c1d7472c413dd5a7700fddc0aa9f89a9ac7008b003e"), Some("containerd")),
        ),
        (
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-11017d9ed95ddc35b24735fce395331554737a0676defb9930e07b0ee6d802e5.scope/container/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod304864fc_f2da_4bfb_b9a1_37d0f0f96863.slice",
            id(Pod,
               Some("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-11017d9ed95ddc35b24735fce395331554737a0676defb9930e07b0ee6d802e5.scope/container/kubelet.slice/kubelet-kubepods.slice"),
               Some(Burstable), Some("304864fc-f2da-4bfb-b9a1-37d0f0f96863"),
               Some("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-11017d9ed95ddc35b24735fce395331554737a0676defb9930e07b0ee6d802e5.scope/container/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod304864fc_f2da_4bfb_b9a1_37d0f0f96863.slice"),
               None, None),
        ),
        (
            "/system/docker/kubepods/burstable/pod6687d6d7-fcae-11e8-b0b0-5e61144ba466/58f8a9bf6a469f0c94d42be34ad1bdff84fad63f236baedde981139a15aa5287",
            id(Container, Some("/system/docker/kubepods"), Some(Burstable), Some("6687d6d7-fcae-11e8-b0b0-5e61144ba466"),
               Some("/system/docker/kubepods/burstable/pod6687d6d7-fcae-11e8-b0b0-5e61144ba466"),
               Some("58f8a9bf6a469f0c94d42be34ad1bdff84fad63f236baedde981139a15aa5287"), None),
        ),
        (
            "/docker/2e088fe462e25e60be1dafafe2c05c47bda1a97978648d10ad2b7484fc0b8f50",
            id(Other, None, None, None, None, None, None),
        ),
        (
            "/docker/a9a5ad238e59234193ee7ec3fcff5e735b3708ea1068826952255b69e3cfa413/docker/ec08435e04266c5ba381fccbb829f626d11d8ddf5f8f547263c7a2d79ab4787a",
            id(Other, None, None, None, None, None, None),
        ),
        ("/system.slice/varnish.service", id(Other, None, None, None, None, None, None)),
        (
            "/azure.slice/azure-walinuxagent.slice/azure-walinuxagent-logcollector.slice",
            id(Other, None, None, None, None, None, None),
        ),
        (
            "/system.slice/garden.service/garden/good/db315859-a870-4d77-50f9-02b6",
            id(Other, None, None, None, None, None, None),
        ),
    ]
}

#[test]
fn every_pattern_path_identifies_as_expected() {
    let text = read("real_kubepods_cgroup_path_patterns.txt");
    let table: BTreeMap<&str, CgroupIdent> = expected().into_iter().collect();
    let mut seen = 0;
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let path = line.split('\t').next().unwrap().trim();
        let want = table
            .get(path)
            .unwrap_or_else(|| panic!("new sample path without an expectation: {path}"));
        assert_eq!(&identify(path), want, "{path}");
        seen += 1;
    }
    assert_eq!(seen, table.len(), "every expectation matches a sample line");
}

/// (file, pod uid, container id, runtime, qos) of one `/proc/<pid>/cgroup` capture.
type ProcCgroupCase = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<Qos>,
);

/// Every `/proc/<pid>/cgroup` capture: each controller line's path (split on the first
/// two colons only, since the colon form carries more), with the identity expected for
/// the process's memory cgroup.
#[test]
fn proc_pid_cgroup_files_identify_the_container() {
    // (file, pod uid, container id, runtime, qos); None uid = not a pod.
    let want: &[ProcCgroupCase] = &[
        (
            "neuvector_bottlerocket_systemd_containerd_hybrid_v1_plus_0colon.cgroup",
            Some("dd1bf9d1-241d-47f5-8e25-12de83135812"),
            Some("f45298cd514d1930c4fe3afc4412e59547f7e3148fddd22ca33cefce046eb830"),
            Some("containerd"),
            Some(Besteffort),
        ),
        (
            "neuvector_containerd_1.2.13_cgroupfs_besteffort.cgroup",
            Some("a36d0c1d-0b26-4451-8d80-9c195e004afa"),
            Some("5dd96d5394ca930a854a390ea46f7515a8bc930123eb3251ba20f2708a38fc61"),
            None,
            Some(Besteffort),
        ),
        (
            "neuvector_crio_1.19_ocp4.6_systemd_besteffort.cgroup",
            Some("8ca306fa-3c03-47fa-97dd-19979c345572"),
            Some("d6d725b909f37c3e232aadfbafa950a58bfe7baa579ba8c47a12be88bb921607"),
            Some("crio"),
            Some(Besteffort),
        ),
        (
            "neuvector_rancheros_docker_in_docker.cgroup",
            None,
            None,
            None,
            None,
        ),
        (
            "neuvector_v1_cgroupfs_docker_besteffort_2017.cgroup",
            Some("74ba62da-1a3d-11e7-bb11-080027cb0e22"),
            Some("cb1eadb7abe3a6545e9856411207073277838e1bdc003337c2f8685faeedc32c"),
            None,
            Some(Besteffort),
        ),
        (
            "neuvector_v1_cgroupfs_merged_controllers_rdma.cgroup",
            Some("1fe19bf5-e8ef-11e8-900c-52daee5a874d"),
            Some("da31e536c8d61304a6d5998d163d12400a7a9a1003e1d86369e8fadb022fc17d"),
            None,
            Some(Besteffort),
        ),
        (
            "neuvector_v1_kube_proxy_extra_subcgroup.cgroup",
            Some("f8a694f2-7c08-11e9-98da-000c29077430"),
            Some("c04e0a88a1de067f25bece337d4dbb897396e0b623c2a65330850fc9823f1903"),
            None,
            Some(Besteffort),
        ),
        (
            "neuvector_v1_systemd_docker_besteffort_2017.cgroup",
            Some("045b1e35-7f13-11e7-ac42-0050568ffca0"),
            Some("b5b6f2da8008be266864f896f93789762b2ce50792114a5c5f2cc3315af0bc70"),
            Some("docker"),
            Some(Besteffort),
        ),
        (
            "proc_self_cgroup_v1_minikube_containerd_cgroupfs_besteffort.txt",
            Some("28478e30-384f-41e5-9d85-eae249ae8506"),
            Some("58a77afcbf0b16959d526758f6696677c862517acc97a562dc5c5b09afbf5236"),
            None,
            Some(Besteffort),
        ),
        (
            "proc_self_cgroup_v1_minikube_docker_systemd_besteffort.txt",
            Some("350bff31-89d4-429e-b653-86d8167bc60e"),
            Some("3a5881f09ab409d7ac174b59f20d003b28b76da368257eb1e3d23648920a742b"),
            Some("docker"),
            Some(Besteffort),
        ),
    ];
    let mut files: Vec<String> = std::fs::read_dir(samples())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".cgroup") || n.starts_with("proc_self_cgroup"))
        .collect();
    files.sort();
    let known: Vec<&str> = want.iter().map(|w| w.0).collect();
    for f in &files {
        assert!(
            known.contains(&f.as_str()),
            "new sample without an expectation: {f}"
        );
    }
    for &(file, uid, cid, runtime, qos) in want {
        let text = read(file);
        let mut memory_lines = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut parts = line.splitn(3, ':');
            let (_n, controllers, path) = (
                parts.next().unwrap(),
                parts.next().unwrap_or_else(|| panic!("{file}: {line}")),
                parts.next().unwrap_or_else(|| panic!("{file}: {line}")),
            );
            let got = identify(path);
            if path == "/" {
                assert_eq!(got.level, Other, "{file}: {line}");
                continue;
            }
            if controllers.split(',').any(|c| c == "memory") {
                memory_lines += 1;
            }
            let level = if uid.is_some() { Container } else { Other };
            assert_eq!(got.level, level, "{file}: {line}");
            assert_eq!(got.pod_uid.as_deref(), uid, "{file}: {line}");
            assert_eq!(got.container_id.as_deref(), cid, "{file}: {line}");
            assert_eq!(got.runtime.as_deref(), runtime, "{file}: {line}");
            assert_eq!(got.qos, qos, "{file}: {line}");
        }
        assert_eq!(
            memory_lines, 1,
            "{file}: exactly one memory controller line"
        );
    }
}

#[test]
fn relative_and_unprefixed_paths() {
    let rel = identify("kubepods.slice/kubepods-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice");
    assert_eq!(rel.level, Pod);
    assert_eq!(rel.qos, Some(Guaranteed));
    assert_eq!(rel.kubepods_prefix.as_deref(), Some("kubepods.slice"));
    assert_eq!(
        rel.pod_path.as_deref(),
        Some("kubepods.slice/kubepods-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice")
    );
    assert_eq!(identify("kubepods").level, Kubepods);
    assert_eq!(identify("/kubepods/").level, Kubepods);
    assert_eq!(identify("/kubepods/besteffort").level, QosClass);
    assert_eq!(identify("/kubepods/besteffort").qos, Some(Besteffort));
    let kind = identify("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice");
    assert_eq!((kind.level, kind.qos), (QosClass, Some(Besteffort)));
    assert_eq!(
        identify("/kubelet.slice/kubelet-kubepods.slice").level,
        Kubepods
    );
    // Relative to the kubepods cgroup itself (a cgroup namespace rooted there).
    let below = identify("burstable/podaf389229-5fc5-4617-ae95-9160d576eb49/3b3d031aca1b");
    assert_eq!(below.level, Container);
    assert_eq!(below.qos, Some(Burstable));
    assert_eq!(below.kubepods_prefix, None);
    assert_eq!(below.container_id.as_deref(), Some("3b3d031aca1b"));
    assert_eq!(identify("/").level, Other);
    assert_eq!(identify("").level, Other);
}

#[test]
fn crio_conmon_is_a_container_level_sibling() {
    let c = identify(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5931aa75_4603_4e65_b552_7c71cf55cfb5.slice/crio-conmon-7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e.scope",
    );
    assert_eq!(c.level, Container);
    assert_eq!(c.runtime.as_deref(), Some("crio-conmon"));
    assert_eq!(
        c.container_id.as_deref(),
        Some("7a1fd6fe8cdfbd44dc78c4cc85dad7031eaab4365801684cad0aabdeaf863f9e")
    );
    // cri-o on the cgroupfs driver names containers `crio-<id>` without `.scope`.
    let c = identify("/kubepods/besteffort/pod28478e30-384f-41e5-9d85-eae249ae8506/crio-58a77afcbf0b16959d526758f6696677c862517acc97a562dc5c5b09afbf5236");
    assert_eq!(c.runtime.as_deref(), Some("crio"));
    // A pod child that is not a container name.
    let c =
        identify("/kubepods/besteffort/pod28478e30-384f-41e5-9d85-eae249ae8506/not-a-container");
    assert_eq!((c.level, c.container_id), (Container, None));
}

#[test]
fn canonical_uid_accepts_every_naming() {
    let uid = "5931aa75-4603-4e65-b552-7c71cf55cfb5";
    for raw in [
        "pod5931aa75_4603_4e65_b552_7c71cf55cfb5",
        "5931aa75_4603_4e65_b552_7c71cf55cfb5",
        "pod5931aa75-4603-4e65-b552-7c71cf55cfb5",
        "5931AA75-4603-4E65-B552-7C71CF55CFB5",
    ] {
        assert_eq!(canonical_uid(raw).as_deref(), Some(uid), "{raw}");
    }
    assert_eq!(
        canonical_uid("pod487a0dc6dccaeefbcfedba7a7ce1ca18").as_deref(),
        Some("487a0dc6dccaeefbcfedba7a7ce1ca18")
    );
    for bad in [
        "",
        "pod",
        "besteffort",
        "5931aa75-4603-4e65-b552",
        "5931aa75-4603-4e65-b552-7c71cf55cfbz",
    ] {
        assert_eq!(canonical_uid(bad), None, "{bad}");
    }
}
