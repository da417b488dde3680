"""Role variables computed from the plan: what the roles are told to do per node."""

from __future__ import annotations

from aigrid.catalog import catalog
from aigrid.model.blueprint import Blueprint
from aigrid.plan import Plan, build_plan
from aigrid.render import cluster
from aigrid.rolevars import gpu_vars, host_vars
from aigrid.validate import validate_file
from conftest import BLUEPRINTS


def _plan(name: str) -> Plan:
    result = validate_file(BLUEPRINTS / "examples" / f"{name}.yaml")
    assert result.blueprint is not None
    return build_plan(result.blueprint, catalog())


def test_taints_put_gpu_work_where_the_placement_counted_gpus() -> None:
    """GPU workers take GPU work only. A control plane with GPUs (the placement counts them)
    or a site's only node loses kubeadm's taint; one without GPUs on a larger site keeps it.
    Control planes never get the GPU taint: on an all-GPU site CoreDNS and the GPU Operator
    must schedule there."""
    plan = _plan("lab-edge-site")
    worker = next(node for node in plan.nodes if node.gpu_model and node.role != "control-plane")
    cpu_plane = next(node for node in plan.nodes if node.role == "control-plane")
    assert cpu_plane.gpu_model is None
    assert host_vars(worker, plan)["kubernetes_node_taints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert host_vars(cpu_plane, plan)["kubernetes_node_taints"] == [
        "node-role.kubernetes.io/control-plane:NoSchedule"
    ]
    gh200 = _plan("gh200-edge-site")
    gpu_plane = next(node for node in gh200.nodes if node.role == "control-plane")
    assert gpu_plane.gpu_model is not None
    assert host_vars(gpu_plane, gh200)["kubernetes_node_taints"] == []
    init = cluster.kubeadm_config(gh200, gh200.sites[0])[0]
    assert init["nodeRegistration"]["taints"] == []  # kubeadm would taint it for an unset list
    # kubeadm's own init token would join nodes for 24 h: it gets the joins' 15 minutes.
    assert init["bootstrapTokens"] == [{"ttl": "15m0s"}]
    single = _plan("gpu-node-h100")
    assert host_vars(single.nodes[0], single)["kubernetes_node_taints"] == []


def test_driver_follows_nvidia_version_locking_scheme() -> None:
    """The pinning package of the exact version the blueprint pins, not the branch's, which
    would let the driver's dependencies move to the branch's newest release."""
    variables = gpu_vars(_plan("lab-edge-site"))
    assert variables["nvidia_driver_pinning_package"] == "nvidia-driver-pinning-580.126.20"
    assert variables["nvidia_driver_packages"] == ["nvidia-open"]  # open kernel modules
    assert variables["nvidia_driver_package_version"] == "580.126.20-*"
    assert variables["nvidia_driver_headers_package"] == "linux-headers-{kernel}"


def test_repositories_follow_the_node_architecture() -> None:
    """NVIDIA's CUDA repository has x86_64 and sbsa (Grace: GH200, GB200); the toolkit's amd64 and arm64."""
    variables = gpu_vars(_plan("lab-edge-site"))
    cuda = variables["nvidia_driver_repo_uris"]
    assert cuda["x86_64"].endswith("/repos/ubuntu2404/x86_64/")
    assert cuda["aarch64"].endswith("/repos/ubuntu2404/sbsa/")
    assert variables["nvidia_driver_repo_key_urls"]["aarch64"].endswith("/sbsa/3bf863cc.pub")
    toolkit = variables["nvidia_container_toolkit_repo_uris"]
    assert toolkit == {
        "x86_64": "https://nvidia.github.io/libnvidia-container/stable/deb/amd64",
        "aarch64": "https://nvidia.github.io/libnvidia-container/stable/deb/arm64",
    }


def test_an_nvswitch_board_gets_fabric_manager_at_the_driver_version() -> None:
    """HGX 8-GPU H100 boards need Fabric Manager at exactly the driver's version; one H100 does not."""
    result = validate_file(BLUEPRINTS / "examples" / "gpu-node-h100.yaml")
    assert result.blueprint is not None
    single = build_plan(result.blueprint, catalog())
    assert "nvidia_driver_fabric" not in host_vars(single.nodes[0], single)
    data = result.blueprint.model_dump(by_alias=True)
    node = next(node for site in data["sites"] for node in site["nodes"] if node["gpus"])
    node["gpus"]["count"] = 8
    plan = build_plan(Blueprint.model_validate(data), catalog())
    gpu_node = next(node for node in plan.nodes if node.gpu_model)
    fabric = host_vars(gpu_node, plan)["nvidia_driver_fabric"]
    assert [service["service"] for service in fabric] == ["fabricmanager"]
    assert fabric[0]["packages"] == {
        "names": ["nvidia-fabricmanager", "libnvidia-nscq"],  # unsuffixed from branch 580
        "version": f"{plan.stack.driver.version}-*",
    }
    assert fabric[0]["units"] == ["nvidia-fabricmanager"]


def test_the_host_toolkit_finds_the_gpu_operators_driver_root() -> None:
    """With the driver in the GPU Operator's container the host toolkit must look under
    /run/nvidia/driver (GPU Operator docs); with the driver on the host, under /."""
    result = validate_file(BLUEPRINTS / "carriers" / "aurora" / "grid.yaml")
    assert result.blueprint is not None and result.blueprint.stack.driver.install == "operator"
    operator = build_plan(result.blueprint, catalog())
    assert gpu_vars(operator)["nvidia_container_toolkit_driver_root"] == "/run/nvidia/driver"
    assert gpu_vars(_plan("lab-edge-site"))["nvidia_container_toolkit_driver_root"] == "/"


def test_nodes_get_the_blueprints_slice_interface() -> None:
    """The role has no default for it: the site's interface, or the node's own where it has one."""
    plan = _plan("multi-carrier-grid")
    parent = {node.hostname: host_vars(node, plan)["network_slice_parent_interface"] for node in plan.nodes}
    assert parent["nw-ash-rdc-01-gpu01"] == "bond0"  # the regional site's bond
    assert parent["nw-ash-rdc-01-cp"] == "eno1"  # the node's own overrides it
    assert parent["me-sgp-tower-07-n1"] == "eno1"  # a far-edge tower site
    lab = _plan("lab-edge-site")
    assert {host_vars(node, lab)["network_slice_parent_interface"] for node in lab.nodes} == {"eth0"}
