"""Facts about NVIDIA and 3GPP, read from the data files beside this module.

Rules and renderers ask the catalog; no version number lives in code. Every row in the
data files names its source.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field

Architecture = Literal[
    "kepler", "maxwell", "pascal", "volta", "turing", "ampere", "ada", "hopper", "blackwell"
]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GpuModel(_Row):
    model: str
    architecture: Architecture
    compute_capability: str
    memory_gib: int
    form_factor: str
    mig_family: str | None = None
    open_kernel_modules_required: bool = False
    min_driver: str | None = None
    product_names: list[str]
    pci_device_ids: list[str]
    source: str

    @property
    def mig_capable(self) -> bool:
        return self.mig_family is not None


class FormFactor(_Row):
    form_factor: str
    max_per_node: int | None = None
    # The CPU architectures (Ansible's fact) such a server can have; None: any aigrid supports.
    cpu_architectures: list[str] | None = None
    source: str


class MigProfile(_Row):
    size: int
    placements: list[int]
    max: int


class MigFamily(_Row):
    family: str
    slots: int
    profiles: dict[str, MigProfile]
    balanced: dict[str, int]
    source: str

    def named_layout(self, name: str) -> dict[str, int] | None:
        """mig-parted style names: all-balanced and all-<profile>."""
        if name == "all-balanced":
            return dict(self.balanced)
        if name.startswith("all-") and name[4:] in self.profiles:
            profile = name[4:]
            return {profile: self.profiles[profile].max}
        return None

    def fits(self, layout: dict[str, int]) -> bool:
        """Whether the instances can be placed on one GPU without overlapping slots."""
        if any(count > self.profiles[name].max for name, count in layout.items()):
            return False
        wanted = sorted(
            (name for name, count in layout.items() for _ in range(count)),
            key=lambda name: -self.profiles[name].size,
        )
        return _place(wanted, [self.profiles[name] for name in wanted], 0, 0)


def _place(names: list[str], profiles: list[MigProfile], index: int, used: int) -> bool:
    if index == len(profiles):
        return True
    profile = profiles[index]
    for start in profile.placements:
        mask = ((1 << profile.size) - 1) << start
        if not used & mask and _place(names, profiles, index + 1, used | mask):
            return True
    return False


class CudaToolkit(_Row):
    version: str
    # An exact driver version, or a branch alone ("615") where the release notes give only
    # the branch (from CUDA 13.4 on).
    min_driver: str
    source: str

    @property
    def minimum(self) -> str:
        """The minimum driver as a message names it: 580.95.05, or R615 for a whole branch."""
        return self.min_driver if "." in self.min_driver else f"R{self.min_driver}"


class CudaMajor(_Row):
    major: int
    min_driver: str
    max_driver_below: str | None = None
    source: str


class ArchitectureDrop(_Row):
    cuda: str
    architectures: list[str]
    source: str


class TensorRTRelease(_Row):
    from_: str = Field(alias="from")
    until: str
    cuda: list[tuple[str, str]]
    source: str


class GpuOperatorRelease(_Row):
    version: str
    kubernetes: dict[str, tuple[str, str]]
    operands: dict[str, str]
    # The chart's image repository per component (values key path -> registry/path).
    repositories: dict[str, str]
    source: str

    def kubernetes_range(self, os: str) -> tuple[str, str]:
        return self.kubernetes.get(os, self.kubernetes["default"])


class UpstreamManifest(_Row):
    """One upstream file at a release tag; sha256 where pinned (null: fetched unchecked)."""

    url: str
    sha256: str | None


class MemoryLimit(_Row):
    daemonset: str
    container: str
    limit: str


class CniRelease(_Row):
    plugin: str
    version: str
    kubernetes: tuple[str, str]
    manifests: list[UpstreamManifest]
    crds: list[str]
    images: dict[str, str]
    # The registries its images come from where `images` pins none (an operator picks them).
    image_registries: list[str]
    source: str


class AddOn(_Row):
    name: str
    version: str
    manifests: list[UpstreamManifest]
    images: dict[str, str]
    memory_limit: MemoryLimit | None
    # Deployments upstream leaves without tolerations: on a site whose control planes keep
    # kubeadm's taint and whose workers all carry the GPU taint they would fit nowhere.
    control_plane_deployments: list[str] = []
    source: str


class ContainerdConfig(_Row):
    major: int
    config_version: int
    min_version: str
    source: str


class OperatingSystem(_Row):
    os: str
    cuda_repo: str
    docker_repo: str
    docker_suite: str
    network_backend: Literal["netplan", "networkd"]
    cuda_arches: list[str]
    gpu_operator_driver: bool
    # Components of the OS's own archive the NVIDIA driver packages need enabled.
    archive_components: list[str]
    source: str


class Runtime(_Row):
    runtime: str
    image: str
    port: int
    ready_path: str
    live_path: str
    startup_seconds: int
    # {model_repository} and {port} are filled in by the plan.
    args: list[str]
    shm_size: str | None
    run_as_user: int
    model_repository_schemes: list[str]
    # The port of the runtime's Prometheus endpoint (/metrics); None: it has none aigrid knows.
    metrics_port: int | None = None
    source: str


class StoreVariable(_Row):
    optional: bool


class CredentialsFile(_Row):
    env: str
    key: str


class ModelStore(_Row):
    """How a pod reaches a model repository of one URL scheme."""

    scheme: str
    env: dict[str, StoreVariable] = {}
    credentials_file: CredentialsFile | None = None
    mount: bool = False
    source: str


class PackageRow(_Row):
    component: Literal["driver", "cuda", "tensorrt", "container_toolkit", "container_runtime", "kubernetes"]
    names: list[str]
    version: str
    source: str


class DriverPackages(_Row):
    """How the driver is installed from NVIDIA's repository on a family of OSes."""

    os: list[str]
    pinning: str
    open: list[str]
    proprietary: list[str]
    # The first branch NVIDIA ships without the proprietary kernel modules.
    open_only_from_branch: int
    version: str
    headers: str
    source: str


class FabricService(_Row):
    service: Literal["fabricmanager", "nvlsm", "imex"]
    packages: list[str]
    packages_before_580: list[str]
    units: list[str]
    modules: list[str] = []
    source: str


class FabricBoard(_Row):
    models: list[str]
    gpus: int
    services: list[Literal["fabricmanager", "nvlsm", "imex"]]
    source: str


class Repository(_Row):
    name: Literal["nvidia-cuda", "nvidia-container-toolkit", "docker", "kubernetes"]
    uri: str
    key_url: str
    # Ansible architecture fact -> the repository's name for it; None: one URI for all.
    arches: dict[str, str] | None = None
    source: str


class FiveQI(_Row):
    qi: int
    type: Literal["GBR", "Non-GBR", "Delay-critical GBR"]
    priority: int
    pdb_ms: int
    per: str
    max_data_burst_bytes: int | None = None
    averaging_window_ms: int | None = None
    dscp: int
    example: str

    @property
    def guaranteed(self) -> bool:
        return self.type != "Non-GBR"


class StandardSst(_Row):
    sst: int
    name: str


def version(text: str) -> Version | None:
    """A comparable version, or None when the text is not one."""
    try:
        return Version(text.removeprefix("v"))
    except InvalidVersion:
        return None


def _release3(text: str) -> tuple[int, int, int] | None:
    parsed = version(text)
    if parsed is None:
        return None
    major, minor, update = (*parsed.release, 0, 0)[:3]
    return (major, minor, update)


def major_minor(text: str) -> tuple[int, int] | None:
    parsed = version(text)
    if parsed is None:
        return None
    return (parsed.major, parsed.minor)


def _load(name: str) -> Any:
    # libyaml's parser: the same safe constructor as yaml.safe_load, at a tenth of its time.
    text = resources.files("aigrid.catalog").joinpath("data", name).read_text("utf-8")
    return yaml.load(text, Loader=yaml.CSafeLoader)


class Catalog:
    """Typed, indexed view over the data files."""

    def __init__(self) -> None:
        gpu_data = _load("gpus.yaml")
        self.gpus = {row["model"]: GpuModel.model_validate(row) for row in gpu_data["gpus"]}
        self.form_factors = {
            row["form_factor"]: FormFactor.model_validate(row) for row in gpu_data["form_factors"]
        }
        mig = _load("mig.yaml")["families"]
        self.mig_families = {row["family"]: MigFamily.model_validate(row) for row in mig}
        cuda = _load("cuda.yaml")
        self.cuda_toolkits = [CudaToolkit.model_validate(row) for row in cuda["toolkits"]]
        self.cuda_majors = {row["major"]: CudaMajor.model_validate(row) for row in cuda["majors"]}
        self.architecture_drops = [ArchitectureDrop.model_validate(row) for row in cuda["architecture_drops"]]
        self.tensorrt = [TensorRTRelease.model_validate(row) for row in _load("tensorrt.yaml")["releases"]]
        operator = _load("gpu_operator.yaml")["releases"]
        self.gpu_operator = {row["version"]: GpuOperatorRelease.model_validate(row) for row in operator}
        cluster = _load("cluster.yaml")
        self.cni = [CniRelease.model_validate(row) for row in cluster["cni"]]
        # Kubernetes minor -> the pause image's tag kubeadm uses.
        self.pause: dict[str, str] = {str(minor): str(tag) for minor, tag in cluster["pause"].items()}
        self.addons = [AddOn.model_validate(row) for row in cluster["addons"]]
        containerd = _load("containerd.yaml")["config_versions"]
        self.containerd = {row["major"]: ContainerdConfig.model_validate(row) for row in containerd}
        self.systems = {row["os"]: OperatingSystem.model_validate(row) for row in _load("os.yaml")["systems"]}
        runtimes = _load("runtimes.yaml")
        self.runtimes = {row["runtime"]: Runtime.model_validate(row) for row in runtimes["runtimes"]}
        stores = runtimes["model_stores"]
        self.model_stores = {row["scheme"]: ModelStore.model_validate(row) for row in stores}
        self.helm: dict[str, str] = runtimes["helm"]
        packages = _load("packages.yaml")
        self.packages = {row["component"]: PackageRow.model_validate(row) for row in packages["packages"]}
        self.drivers = {
            os: DriverPackages.model_validate(row) for row in packages["drivers"] for os in row["os"]
        }
        self.fabric_services = {
            row["service"]: FabricService.model_validate(row) for row in packages["fabric"]
        }
        self.fabric_boards = [FabricBoard.model_validate(row) for row in _load("fabric.yaml")["boards"]]
        repos = _load("repositories.yaml")["repositories"]
        self.repositories = {row["name"]: Repository.model_validate(row) for row in repos}
        qos = _load("qos.yaml")
        self.five_qi = {row["qi"]: FiveQI.model_validate(row) for row in qos["five_qi"]}
        self.sst = {row["sst"]: StandardSst.model_validate(row) for row in qos["sst"]}
        low, high = qos["sst_operator_range"]
        self.sst_operator_range = range(low, high + 1)
        self._toolkits = {_release3(row.version): row for row in self.cuda_toolkits}
        self._by_product = {name: gpu for gpu in self.gpus.values() for name in gpu.product_names}
        self._by_pci = {pci.upper(): gpu for gpu in self.gpus.values() for pci in gpu.pci_device_ids}

    def fabric(self, model: str, count: int) -> list[str]:
        """The fabric services a node with `count` GPUs of `model` needs (empty: none)."""
        for board in self.fabric_boards:
            if model in board.models and count == board.gpus:
                return list(board.services)
        return []

    def mig_family(self, gpu: GpuModel) -> MigFamily | None:
        return self.mig_families.get(gpu.mig_family) if gpu.mig_family else None

    def cuda_toolkit(self, cuda: str) -> CudaToolkit | None:
        """The toolkit row for `13.0.2` (that release) or `13.0` (the minor's GA: its lowest
        catalogued release, 13.0.0, but 13.4.1 for 13.4, whose 13.4.0 was a developer
        preview outside the production repository)."""
        parsed = version(cuda)
        if parsed is not None and len(parsed.release) == 2:
            minor = [row for key, row in self._toolkits.items() if key and key[:2] == parsed.release]
            return min(minor, key=lambda row: _release3(row.version) or (0, 0, 0), default=None)
        return self._toolkits.get(_release3(cuda))

    def cuda_release(self, cuda: str) -> str:
        """The release NVIDIA's packages carry for a pinned CUDA version: `13.0.2` as written,
        `13.0` as its GA's release (13.0.0; 13.4.1 for 13.4), a minor the catalog lacks as X.Y.0."""
        toolkit = self.cuda_toolkit(cuda)
        if toolkit is not None:
            return toolkit.version
        parts = cuda.split(".")
        return ".".join(parts + ["0"] * (3 - len(parts)))

    def tensorrt_release(self, trt: str) -> TensorRTRelease | None:
        wanted = version(trt)
        if wanted is None:
            return None
        for row in self.tensorrt:
            low, high = version(row.from_), version(row.until)
            if low is not None and high is not None and low <= wanted < high:
                return row
        return None

    @staticmethod
    def tensorrt_supports(row: TensorRTRelease, cuda: str) -> bool:
        wanted = major_minor(cuda)
        return wanted is not None and any(
            (major_minor(low) or (0, 0)) <= wanted <= (major_minor(high) or (0, 0)) for low, high in row.cuda
        )

    def operator_release(self, operator: str) -> GpuOperatorRelease | None:
        wanted = version(operator)
        return next((row for row in self.gpu_operator.values() if version(row.version) == wanted), None)

    def cni_release(self, plugin: str, release: str | None, kubernetes_minor: str) -> CniRelease | None:
        """The CNI release a blueprint pins, or (unpinned) the newest one tested on its
        Kubernetes minor."""
        rows = [row for row in self.cni if row.plugin == plugin]
        if release is not None:
            return next((row for row in rows if version(row.version) == version(release)), None)
        minor = major_minor(kubernetes_minor)
        fits = [
            row
            for row in rows
            if minor is not None
            and (major_minor(row.kubernetes[0]) or (0, 0))
            <= minor
            <= (major_minor(row.kubernetes[1]) or (0, 0))
        ]
        return max(fits, key=lambda row: version(row.version) or Version("0"), default=None)

    def containerd_config_version(self, major: int) -> int | None:
        row = self.containerd.get(major)
        return row.config_version if row else None

    def gpu_by_product(self, product_name: str) -> GpuModel | None:
        return self._by_product.get(product_name.strip())

    def gpu_by_pci(self, device_id: str) -> GpuModel | None:
        """Map a PCI device id (`2330`, `0x2330` or NVML's `233010DE`) to a catalog GPU."""
        text = device_id.upper().removeprefix("0X")
        if len(text) == 8 and text.endswith("10DE"):
            text = text[:4]
        return self._by_pci.get(text)


@cache
def catalog() -> Catalog:
    return Catalog()
