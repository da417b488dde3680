"""The GPU catalog's facts hold together: MIG families, form factors, PCI ids, product names.

Each test names the fact it guards and where it comes from; the data files cite the sources.
"""

from __future__ import annotations

import re

import pytest

from aigrid.catalog import GpuModel, catalog, major_minor
from aigrid.model.blueprint import Blueprint
from aigrid.plan import NodePlan, build_plan
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

# The 1g profile with media extensions (NVDEC/JPEG/OFA): `1g.10gb+me`, not `1g.24gb+me.all`.
ME_PROFILE = re.compile(r"^1g\.\d+gb\+me$")
# NVIDIA's die prefixes: GA100 (Ampere), GH100 (Hopper), GB100/GB110/GB202 (Blackwell).
DIE_PREFIX = {"ampere": "ga", "hopper": "gh", "blackwell": "gb"}


def counts(listing: str) -> dict[str, int]:
    """`1g.10gb x7, 1g.10gb+me x1`, as the MIG user guide and mig-parted list them."""
    return {name: int(count) for name, count in (item.split(" x") for item in listing.split(", "))}


def maxima(family: str) -> dict[str, int]:
    return {name: profile.max for name, profile in catalog().mig_families[family].profiles.items()}


def mig_models() -> list[GpuModel]:
    return [gpu for gpu in catalog().gpus.values() if gpu.mig_family]


def data_centre_mig_models() -> list[GpuModel]:
    """Hopper and Blackwell MIG GPUs of the data-centre line (CC 9.x and 10.x): 7 instances.
    The RTX PRO 6000 (GB202, CC 12.0) has `+me.all` variants instead (NVIDIA/mig-parted)."""
    return [
        gpu
        for gpu in mig_models()
        if gpu.architecture in ("hopper", "blackwell") and int(gpu.compute_capability.split(".")[0]) < 12
    ]


@pytest.mark.parametrize("gpu", data_centre_mig_models(), ids=lambda gpu: gpu.model)
def test_hopper_and_blackwell_families_offer_one_media_extension_profile(gpu: GpuModel) -> None:
    """A real H100 and H200 list exactly one `1g.*+me` profile, one instance at most
    (fixtures/gpu-node-h100, gpu-node-h200); mig-parted has all-1g.*.me for every such GPU."""
    family = catalog().mig_families[str(gpu.mig_family)]
    media = {name: profile.max for name, profile in family.profiles.items() if ME_PROFILE.match(name)}
    assert len(media) == 1 and list(media.values()) == [1], f"{family.family}: {media}"
    [name] = media
    assert name.removesuffix("+me") in family.profiles  # the same slice without media engines


def test_the_data_centre_list_is_not_empty() -> None:
    models = {gpu.model for gpu in data_centre_mig_models()}
    assert {"H100-SXM-80GB", "H200-141GB", "GH200-144GB", "B200", "GB200", "B300", "GB300"} <= models


@pytest.mark.parametrize("gpu", mig_models(), ids=lambda gpu: gpu.model)
def test_a_mig_family_is_named_after_the_models_die(gpu: GpuModel) -> None:
    """An A100 is a GA100, not a GH100: its family must not be a Hopper one."""
    assert str(gpu.mig_family).startswith(DIE_PREFIX[gpu.architecture]), (gpu.model, gpu.mig_family)


def test_a100_80gb_has_the_mig_user_guides_profiles() -> None:
    """MIG user guide, Supported MIG Profiles: the A100-SXM4-80GB names, counts as the 40GB table."""
    for model in ("A100-80GB", "A100-PCIe-80GB"):
        gpu = catalog().gpus[model]
        assert gpu.mig_family == "ga100-80gb" and gpu.architecture == "ampere"
    offered = "1g.10gb x7, 1g.10gb+me x1, 1g.20gb x4, 2g.20gb x3, 3g.40gb x2, 4g.40gb x1, 7g.80gb x1"
    assert maxima("ga100-80gb") == counts(offered)


@pytest.mark.parametrize("family", sorted(catalog().mig_families), ids=str)
def test_every_family_is_geometrically_sound(family: str) -> None:
    """Each profile fits its slots, a full-GPU profile exists and the balanced layout fits."""
    row = catalog().mig_families[family]
    for name, profile in row.profiles.items():
        assert all(start >= 0 and start + profile.size <= row.slots for start in profile.placements), name
        assert 1 <= profile.max <= len(profile.placements), name
    assert any(profile.size == row.slots for profile in row.profiles.values())
    assert set(row.balanced) <= set(row.profiles) and row.fits(row.balanced)


@pytest.mark.parametrize("gpu", list(catalog().gpus.values()), ids=lambda gpu: gpu.model)
def test_form_factor_matches_the_product_names(gpu: GpuModel) -> None:
    """An SXM model lists no PCIe product and a PCIe model no SXM one: the form factor
    bounds the GPUs per node and decides whether the node needs Fabric Manager."""
    names = " ".join(gpu.product_names).upper()
    if gpu.form_factor == "sxm":
        assert "PCIE" not in names
    if gpu.form_factor == "pcie":
        assert "SXM" not in names


# pci.ids (pciutils/pciids, vendor 10de): the board each device id is.
PCI_IDS = {
    "1DB5": ("V100-32GB", "sxm"),  # Tesla V100 SXM2 32GB
    "1DB6": ("V100-PCIe-32GB", "pcie"),  # Tesla V100 PCIe 32GB
    "20B0": ("A100-40GB", "sxm"),  # A100 SXM4 40GB
    "20B1": ("A100-PCIe-40GB", "pcie"),  # A100 PCIe 40GB
    "20F1": ("A100-PCIe-40GB", "pcie"),  # A100 PCIe 40GB
    "20B2": ("A100-80GB", "sxm"),  # A100 SXM4 80GB
    "20B5": ("A100-PCIe-80GB", "pcie"),  # A100 PCIe 80GB
    "2330": ("H100-SXM-80GB", "sxm"),  # H100 SXM5 80GB
    "2331": ("H100-PCIe-80GB", "pcie"),  # H100 PCIe
    "3182": ("B300", "sxm"),  # GB110 [B300 SXM6 AC]
    "31C2": ("GB300", "superchip"),  # GB110 [GB300]
}


@pytest.mark.parametrize(("device_id", "expected"), PCI_IDS.items(), ids=list(PCI_IDS))
def test_pci_ids_map_to_the_right_board(device_id: str, expected: tuple[str, str]) -> None:
    gpu = catalog().gpu_by_pci(device_id)
    assert gpu is not None and (gpu.model, gpu.form_factor) == expected


@pytest.mark.parametrize("device_id", ["20F3", "20F5", "20F6"])
def test_a800_ids_are_not_taken_for_an_a100(device_id: str) -> None:
    """pci.ids names 20F3/20F5/20F6 A800 (mig-parted groups them with the A100 for MIG only)."""
    assert catalog().gpu_by_pci(device_id) is None


def test_no_two_models_share_a_pci_id_or_a_product_name() -> None:
    """Facts map back to one model; a shared id would silently pick whichever came last."""
    ids = [pci.upper() for gpu in catalog().gpus.values() for pci in gpu.pci_device_ids]
    names = [name for gpu in catalog().gpus.values() for name in gpu.product_names]
    assert len(ids) == len(set(ids)) and len(names) == len(set(names))


def test_blackwell_ultra_is_in_the_catalog() -> None:
    """B300 and GB300: CC 10.3 (developer.nvidia.com/cuda-gpus), 288 GB HBM3e, 7 MIG
    instances with the profiles NVIDIA/mig-parted ships for devices 0x3182 and 0x31C2."""
    cat = catalog()
    b300, gb300 = cat.gpus["B300"], cat.gpus["GB300"]
    for gpu in (b300, gb300):
        assert (gpu.architecture, gpu.compute_capability, gpu.memory_gib) == ("blackwell", "10.3", 288)
        assert gpu.open_kernel_modules_required
    assert (b300.form_factor, gb300.form_factor) == ("sxm", "superchip")
    assert b300.product_names == ["NVIDIA B300 SXM6 AC"]
    assert maxima(str(b300.mig_family)) == counts(
        "1g.34gb x7, 1g.34gb+me x1, 1g.67gb x4, 2g.67gb x3, 3g.135gb x2, 4g.135gb x1, 7g.269gb x1"
    )
    assert maxima(str(gb300.mig_family)) == counts(
        "1g.35gb x7, 1g.35gb+me x1, 1g.70gb x4, 2g.70gb x3, 3g.139gb x2, 4g.139gb x1, 7g.278gb x1"
    )
    assert cat.fabric("B300", 8) == ["fabricmanager", "nvlsm"] and cat.fabric("GB300", 4) == ["imex"]


def test_fabric_manager_follows_the_form_factor() -> None:
    """Eight A100 SXM4 GPUs sit on an NVSwitch baseboard; eight PCIe cards do not."""
    assert catalog().fabric("A100-80GB", 8) == ["fabricmanager"]
    assert catalog().fabric("A100-PCIe-80GB", 8) == []


def _plan_with(model: str, count: int) -> NodePlan:
    result = validate_file(BLUEPRINTS / "examples" / "gpu-node-declares-a100.yaml")
    assert result.blueprint is not None
    data = result.blueprint.model_dump(by_alias=True)
    node = next(node for site in data["sites"] for node in site["nodes"] if node["gpus"])
    node["gpus"] = {"model": model, "count": count}
    plan = build_plan(Blueprint.model_validate(data), catalog())
    return next(node for node in plan.nodes if node.gpu_model)


def test_a_model_without_a_sourced_product_name_keeps_its_pci_id() -> None:
    """GB300 has no nvidia-smi name from a real system: the verify checks skip the name
    instead of failing on any name, and the PCI id still identifies it."""
    node = _plan_with("GB300", 4)
    assert node.gpu_product_names == []
    assert node.gpu_pci_device_ids == ["31C2"]


def test_the_shipped_a100_names_keep_their_meaning() -> None:
    """Blueprints say A100-80GB: it stays the SXM4 board."""
    node = _plan_with("A100-80GB", 1)
    assert node.gpu_product_names == ["NVIDIA A100-SXM4-80GB"] and node.gpu_pci_device_ids == ["20B2"]
    assert node.labels["aigrid.dev/gpu-model"] == "A100-80GB"


def test_every_mig_gpu_has_a_pci_id_for_mig_parteds_device_filter() -> None:
    """Per-model mig-parted entries are selected by PCI device id: a MIG GPU without one
    would get an entry that applies to every GPU of its node."""
    for gpu in catalog().gpus.values():
        if gpu.mig_capable:
            assert gpu.pci_device_ids, gpu.model
            assert all(len(pci) == 4 and int(pci, 16) >= 0 for pci in gpu.pci_device_ids), gpu.model


def test_runtimes_name_known_model_stores_and_fillable_args() -> None:
    data = catalog()
    for runtime in data.runtimes.values():
        assert set(runtime.model_repository_schemes) <= set(data.model_stores), runtime.runtime
        for arg in runtime.args:
            arg.format(model_repository="s3://bucket/path", port=8000)
        assert runtime.startup_seconds > 0 and runtime.run_as_user > 0


def test_every_kubernetes_minor_a_cni_release_supports_has_kubeadms_pause_image() -> None:
    """containerd is set to the pause image kubeadm uses for the cluster's minor: a minor the
    catalog's CNI releases admit but the pause table lacks would fail the compile."""
    cat = catalog()
    for row in cat.cni:
        (low_major, low), (_, high) = (major_minor(version) or (0, 0) for version in row.kubernetes)
        for minor in range(low, high + 1):
            assert f"{low_major}.{minor}" in cat.pause, (row.plugin, row.version, minor)


def test_the_sandbox_image_follows_the_kubernetes_minor() -> None:
    """kubeadm 1.34 moved to pause 3.10.1; the role's former fixed 3.10 was 1.33's."""
    from aigrid.rolevars import shared_vars

    images = {}
    for name in ("lab-edge-site.yaml", "day2/kubernetes-minor.yaml"):
        result = validate_file(BLUEPRINTS / "examples" / name)
        assert result.blueprint is not None
        plan = build_plan(result.blueprint, catalog())
        images[plan.stack.kubernetes.minor] = shared_vars(plan)["container_runtime_sandbox_image"]
    assert images == {"1.34": "registry.k8s.io/pause:3.10.1", "1.36": "registry.k8s.io/pause:3.10.2"}


@pytest.mark.parametrize(
    ("pinned", "release"),
    [
        ("13.0", "13.0.0"),
        ("13.0.2", "13.0.2"),
        # CUDA 13.4's GA is versioned 13.4.1 (13.4.0 was a developer preview outside the
        # production repository): pinning 13.4 must not ask apt for 13.4.0-*.
        ("13.4", "13.4.1"),
        ("13.4.2", "13.4.2"),
        # A minor the catalog lacks keeps the X.Y.0 reading (AG113 warns about it).
        ("13.9", "13.9.0"),
    ],
)
def test_a_cuda_minor_means_its_ga_release(pinned: str, release: str) -> None:
    result = validate_file(BLUEPRINTS / "examples" / "gpu-node-declares-a100.yaml")
    assert result.blueprint is not None
    data = result.blueprint.model_dump(by_alias=True)
    data["stack"]["cuda"]["version"] = pinned
    cuda = build_plan(Blueprint.model_validate(data), catalog()).stack.cuda
    assert (cuda.release, cuda.packages.version) == (release, f"{release}-*")


def test_a_branch_only_cuda_minimum_reads_as_the_branch() -> None:
    """From CUDA 13.4 the release notes name a driver branch, not a version."""
    assert [catalog().cuda_toolkit(v).minimum for v in ("13.4", "13.3.1")] == ["R615", "610.43.02"]  # type: ignore[union-attr]
