"""The resolved grid every renderer reads: per site its nodes, GPU layouts, slices with
derived QoS, and the workloads placed there. Renderers never re-derive what the plan knows.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from aigrid import cluster_network
from aigrid.catalog import AddOn, Catalog, CniRelease, GpuModel, Runtime, major_minor, version
from aigrid.model.blueprint import (
    Blueprint,
    Mirrors,
    Node,
    Site,
    Slice,
    Stack,
    Workload,
    site_carrier,
    site_mirrors,
    slice_interface,
)
from aigrid.placement import Placements, mig_layout
from aigrid.placement_solver import solve

# From this driver branch on, the fabric packages carry no branch suffix.
UNSUFFIXED_FABRIC_BRANCH = 580
# Slice addresses on nodes start after the first few, which networks keep for gateways.
FIRST_NODE_HOST = 10
# Where a model repository on a volume is mounted in a workload's pods.
MODEL_MOUNT_PATH = "/models"
# The claim a runtime that needs a model repository reads when the blueprint names none.
DEFAULT_MODEL_CLAIM = "{workload}-models"
# Node labels aigrid sets through the kubelet (rolevars.node_labels), which workloads select
# on: GPU Feature Discovery rewrites its own nvidia.com/gpu.product under the single MIG
# strategy (GPU Operator docs, gpu-operator-mig.rst), so that label cannot be selected on.
SITE_LABEL = "aigrid.dev/site"
GPU_MODEL_LABEL = "aigrid.dev/gpu-model"
# The MIG configuration the mig-manager applies to the node (GPU Operator docs,
# gpu-operator-mig.rst: nvidia.com/mig.config).
MIG_CONFIG_LABEL = "nvidia.com/mig.config"


class _Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlicePlan(_Plan):
    name: str
    sst: int
    sd: str | None
    five_qi: int
    resource_type: str
    priority: int
    packet_delay_budget_ms: int
    dscp: int
    guaranteed_bps: int | None
    maximum_bps: int
    vlan: int
    interface: str
    ipv4: str | None
    ipv6: str | None
    # (destination, next hop) the slice's pods route through the slice's VLAN.
    routes: tuple[tuple[str, str], ...] = ()


class NodeSlice(_Plan):
    """A slice as it lands on one node: its VLAN interface and the node's addresses on it."""

    name: str
    vlan: int
    interface: str
    ipv4: str | None
    ipv6: str | None
    ipv4_network: str | None
    ipv6_network: str | None
    dscp: int
    guaranteed_bps: int | None
    maximum_bps: int


class NodePlan(_Plan):
    hostname: str
    site: str
    carrier: str
    tier: str
    region: str
    role: str
    address: str
    gpu_model: str | None
    gpu_count: int
    # What the GPUs report as their product name and PCI device ids (catalog facts).
    gpu_product_names: list[str]
    gpu_pci_device_ids: list[str]
    # Fabric services the board needs (stack.driver.fabric names them): empty for most nodes.
    fabric_services: list[str]
    # The CPU architectures the node's hardware allows (a Grace superchip is Arm only).
    cpu_architectures: list[str]
    mig_config: str | None
    mig_layout: dict[str, int] | None
    slices: list[NodeSlice]
    # The interface the slice VLANs ride on (the node's network.sliceInterface, else its
    # site's); validation insists on one where the node carries slices.
    slice_interface: str | None
    labels: dict[str, str]


class ClusterPlan(_Plan):
    """How the site's nodes form one Kubernetes cluster (kubeadm)."""

    # `kubeadm init` runs here; the other nodes join through it.
    first_control_plane: str
    control_planes: list[str]
    # The blueprint's stable API endpoint (host[:port]); None: the first control plane's address.
    endpoint: str | None
    pod_subnet: str
    service_subnet: str


class CarrierStackPlan(_Plan):
    """A site whose carrier names its own mirrors (blueprint `carriers`): the grid's stack with
    those mirrors, and the images its workloads pull through the carrier's registry."""

    stack: StackPlan
    # Workload name -> image, for the workloads placed at the site.
    images: dict[str, str]


class SitePlan(_Plan):
    name: str
    carrier: str
    tier: str
    region: str
    rtt_ms: float
    # A secret reference (secret://... or env://...) to the cluster's kubeconfig, never its content.
    kubeconfig_ref: str | None
    slices: list[str]
    nodes: list[NodePlan]
    workloads: list[str]
    cluster: ClusterPlan
    # None: the site takes the grid's stack (Plan.stack) and images as they are.
    carrier_stack: CarrierStackPlan | None = None


class ModelPlan(_Plan):
    name: str
    version: str
    repository: str | None
    # A secret reference naming the Secret with the object store's credentials.
    credentials: str | None


class ModelSourcePlan(_Plan):
    """How a workload's pods reach its model repository (catalog model_stores)."""

    scheme: str
    # What the runtime is given: the repository URL, or the path the claim is mounted at.
    location: str
    # pvc: the PersistentVolumeClaim mounted read-only at MODEL_MOUNT_PATH, and the path
    # inside it that is mounted ("" for its root).
    claim: str | None
    sub_path: str
    # The Secret reference (model.credentials) and what the pod reads from it: environment
    # variables (name -> optional) and a credentials file (its variable and Secret key).
    credentials: str | None
    env: dict[str, bool]
    credentials_file_env: str | None
    credentials_file_key: str | None


class WorkloadPlan(_Plan):
    name: str
    runtime: str
    # The image to run: the workload's own, else the runtime's from the catalog (through the
    # registry mirror when one is set).
    image: str
    port: int
    ready_path: str
    live_path: str
    startup_seconds: int
    # The container's arguments, the model repository and port filled in.
    args: list[str]
    env: dict[str, str]
    model: ModelPlan
    # None: the runtime takes no repository and the blueprint gives none (a custom image
    # with its model built in).
    model_source: ModelSourcePlan | None
    # The /dev/shm size (a Kubernetes quantity), or None for the runtime's default.
    shm_size: str | None
    run_as_user: int
    gpu_count: int | None
    mig_profile: str | None
    # Replicas placed in all (more than asked where demand or n-1 resilience needs them).
    replicas: int
    slice: str
    # The sites the solver placed replicas on, closest first, and how many on each.
    sites: list[str]
    # The latency target, the percent of requests that must meet it, and the runtime's
    # Prometheus port (None: no metrics endpoint aigrid knows, so no SLO alerts).
    slo_ms: float
    objective: float
    metrics_port: int | None
    placement: dict[str, int]


class PackageSet(_Plan):
    """Packages a role installs and pins together, and the apt version pattern they pin to."""

    names: list[str]
    version: str


class Repository(_Plan):
    """An apt repository: the site mirror's path when a mirror is set, else upstream; per
    CPU architecture (Ansible's fact), since NVIDIA's repositories differ by it."""

    uris: dict[str, str]
    key_urls: dict[str, str]


class DriverPlan(_Plan):
    version: str
    branch: str
    install: Literal["host", "operator", "preinstalled"]
    kernel_modules: Literal["open", "proprietary"]
    # Installed first: NVIDIA's package that locks apt to the branch.
    pinning_package: str
    packages: PackageSet
    # The other kernel module flavour's meta packages, which a switch of flavour removes.
    replaced_packages: list[str]
    # The kernel headers package, with {kernel} for the node's running kernel.
    headers_package: str
    # Components of the OS's own archive to enable first (Debian 12: contrib).
    archive_components: list[str]
    # Every fabric service by name, resolved for this branch; nodes name the ones they need.
    fabric: dict[str, FabricPlan]


class FabricPlan(_Plan):
    """A fabric service an NVLink-switched board needs (Fabric Manager, NVLSM, IMEX)."""

    service: str
    # Pinned to the driver's exact version where `version` is set.
    packages: PackageSet
    units: list[str]
    modules: list[str]


class CudaPlan(_Plan):
    version: str
    release: str
    major: int
    minor: int
    package_suffix: str
    packages: PackageSet
    # Library builds in place of the release's own (package -> version as written).
    patches: dict[str, str]


class TensorRTPlan(_Plan):
    version: str
    cuda: str
    packages: PackageSet


class ContainerRuntimePlan(_Plan):
    name: str
    version: str
    config_version: int
    packages: PackageSet


class ContainerToolkitPlan(_Plan):
    version: str
    cdi: bool
    packages: PackageSet
    # Where the toolkit finds the driver: the host's root, or the GPU Operator's driver
    # container root (GPU Operator docs, "Pre-installed NVIDIA Container Toolkit").
    driver_root: str


class KubernetesPlan(_Plan):
    distribution: str
    version: str
    minor: str
    packages: PackageSet
    # The pod sandbox image kubeadm uses for this minor, which containerd's CRI is set to.
    sandbox_image: str
    # The primary CNI, then the secondary-network add-ons, in the order they are applied.
    cni: CniRelease
    addons: list[AddOn]


class GpuOperatorPlan(_Plan):
    version: str
    mig_strategy: Literal["none", "single", "mixed"]
    operands: dict[str, str]
    chart: str
    chart_version: str
    helm_repository: str
    # Where the chart's operand images come from: its own repositories, or the registry
    # mirror's with the same paths (values key path -> repository).
    image_repositories: dict[str, str]


class MirrorsPlan(_Plan):
    """Mirror locations; credentials stay secret references (never resolved here)."""

    apt: str | None = None
    container_registry: str | None = None
    helm: str | None = None
    pip: str | None = None
    username: str | None = None
    password_ref: str | None = None
    token_ref: str | None = None

    @property
    def secret_ref(self) -> str | None:
        """The reference to the one secret every mirror is logged in with (password or token)."""
        return self.password_ref or self.token_ref


class SystemPlan(_Plan):
    """What the node OS decides: where packages come from and how interfaces are configured."""

    docker_suite: str
    network_backend: Literal["netplan", "networkd"]


class StackPlan(_Plan):
    os: str
    system: SystemPlan
    driver: DriverPlan
    cuda: CudaPlan
    tensorrt: TensorRTPlan | None
    container_runtime: ContainerRuntimePlan
    container_toolkit: ContainerToolkitPlan
    kubernetes: KubernetesPlan
    gpu_operator: GpuOperatorPlan
    mirrors: MirrorsPlan
    repositories: dict[str, Repository]


class ObservabilityPlan(_Plan):
    prometheus_namespace: str
    selector_labels: dict[str, str]
    prometheus_operator: bool


class Plan(_Plan):
    name: str
    carrier: str
    stack: StackPlan
    slices: list[SlicePlan]
    sites: list[SitePlan]
    workloads: list[WorkloadPlan]
    observability: ObservabilityPlan

    @property
    def nodes(self) -> list[NodePlan]:
        return [node for site in self.sites for node in site.nodes]

    def site(self, name: str) -> SitePlan | None:
        return _sites_by_name(self).get(name)

    def stack_at(self, site: SitePlan) -> StackPlan:
        """The stack `site`'s nodes and cluster get: its carrier's mirrors, else the grid's."""
        return site.carrier_stack.stack if site.carrier_stack else self.stack

    def image_at(self, site: SitePlan, workload: WorkloadPlan) -> str:
        """The image `workload`'s pods at `site` pull, through the site's registry mirror."""
        return site.carrier_stack.images[workload.name] if site.carrier_stack else workload.image


_T = TypeVar("_T")


def per_plan(compute: Callable[[Plan], _T]) -> Callable[[Plan], _T]:
    """`compute(plan)`, once per plan: a compile renders every site from the same plan, so what
    all its sites share is computed once, not once per site. A plan is frozen; the last few are
    held by weak reference, so none outlives its use."""
    memo: dict[int, tuple[weakref.ref[Plan], _T]] = {}

    @functools.wraps(compute)
    def cached(plan: Plan) -> _T:
        entry = memo.get(id(plan))
        if entry is not None and entry[0]() is plan:
            return entry[1]
        value = compute(plan)
        if len(memo) >= 4:
            memo.clear()
        memo[id(plan)] = (weakref.ref(plan), value)
        return value

    return cached


@per_plan
def _sites_by_name(plan: Plan) -> dict[str, SitePlan]:
    return {site.name: site for site in plan.sites}


@per_plan
def workloads_by_name(plan: Plan) -> dict[str, WorkloadPlan]:
    return {workload.name: workload for workload in plan.workloads}


def can_hold(node: NodePlan, workload: WorkloadPlan) -> bool:
    """Whether `node` offers the GPU resource one replica of `workload` requests, as placement
    counts capacity (placement.NodeGpus): a MIG profile of its layout, or enough whole GPUs
    on a node not partitioned into MIG devices."""
    if workload.mig_profile is not None:
        return bool((node.mig_layout or {}).get(workload.mig_profile))
    whole = node.gpu_model is not None and node.mig_config is None
    return whole and node.gpu_count >= (workload.gpu_count or 1)


def _major_minor(text: str) -> tuple[int, int]:
    """Major and minor of a version the validator has already accepted."""
    parsed = major_minor(text)
    assert parsed is not None, text
    return parsed


def _packages(catalog: Catalog, component: str, **fields: str) -> PackageSet:
    row = catalog.packages[component]
    return PackageSet(
        names=[name.format(**fields) for name in row.names], version=row.version.format(**fields)
    )


def _fabric(catalog: Catalog, branch: str, driver_version: str) -> dict[str, FabricPlan]:
    fabric = {}
    for name, row in catalog.fabric_services.items():
        names = row.packages if int(branch) >= UNSUFFIXED_FABRIC_BRANCH else row.packages_before_580
        versioned = bool(row.units) or name == "imex"
        fabric[name] = FabricPlan(
            service=name,
            packages=PackageSet(
                names=[package.format(branch=branch) for package in names],
                version=f"{driver_version}-*" if versioned else "",
            ),
            units=list(row.units),
            modules=list(row.modules),
        )
    return fabric


def _mirrors(mirrors: Mirrors | None) -> MirrorsPlan:
    if mirrors is None:
        return MirrorsPlan()
    credentials = mirrors.credentials
    return MirrorsPlan(
        apt=mirrors.apt,
        container_registry=mirrors.container_registry,
        helm=mirrors.helm,
        pip=mirrors.pip,
        username=credentials.username if credentials else None,
        password_ref=credentials.password if credentials else None,
        token_ref=credentials.token if credentials else None,
    )


def _cpu_architectures(catalog: Catalog, gpu: GpuModel | None) -> list[str]:
    form = catalog.form_factors.get(gpu.form_factor) if gpu else None
    return list(form.cpu_architectures) if form and form.cpu_architectures else list(ARCHITECTURES)


# The GPU Operator's driver container mounts the driver here on the host.
OPERATOR_DRIVER_ROOT = "/run/nvidia/driver"

# CPU architectures a node may have (Ansible's architecture fact).
ARCHITECTURES = ("x86_64", "aarch64")


def _repositories(os: str, k8s_minor: str, mirrors: MirrorsPlan, catalog: Catalog) -> dict[str, Repository]:
    system = catalog.systems[os]
    mirror = (mirrors.apt or "").rstrip("/")
    repos = {}
    for name, row in sorted(catalog.repositories.items()):
        uris, keys = {}, {}
        for arch in ARCHITECTURES:
            repo_arch = row.arches.get(arch) if row.arches else arch
            if repo_arch is None:
                continue
            if mirror:
                path = f"{name}/v{k8s_minor}" if name == "kubernetes" else name
                path += f"/{repo_arch}" if row.arches else ""
                uris[arch], keys[arch] = f"{mirror}/{path}/", f"{mirror}/keys/{name}.asc"
            else:
                fields = {
                    "cuda_repo": system.cuda_repo,
                    "docker_repo": system.docker_repo,
                    "k8s_minor": k8s_minor,
                    "arch": repo_arch,
                }
                uris[arch], keys[arch] = row.uri.format(**fields), row.key_url.format(**fields)
        repos[name] = Repository(uris=uris, key_urls=keys)
    return repos


def _stack(stack: Stack, catalog: Catalog, mirrors_model: Mirrors | None) -> StackPlan:
    driver = version(stack.driver.version)
    assert driver is not None
    cuda_major, cuda_minor = _major_minor(stack.cuda.version)
    cuda = f"{cuda_major}.{cuda_minor}"
    k8s_major, k8s_minor = _major_minor(stack.kubernetes.version)
    containerd_major = _major_minor(stack.container_runtime.version)[0]
    config_version = catalog.containerd_config_version(containerd_major)
    assert config_version is not None, stack.container_runtime.version
    operator = catalog.operator_release(stack.gpu_operator.version)
    trt = stack.tensorrt
    mirrors = _mirrors(mirrors_model)
    cni = catalog.cni_release(
        stack.kubernetes.cni.plugin, stack.kubernetes.cni.version, f"{k8s_major}.{k8s_minor}"
    )
    assert cni is not None, "validation (AG120) admits only catalogued CNI releases"
    # Every minor a catalogued CNI release is tested on has its pause tag (tests/test_catalog.py).
    pause = catalog.pause[f"{k8s_major}.{k8s_minor}"]
    system = catalog.systems[stack.os]
    branch = str(driver.major)
    drivers = catalog.drivers[stack.os]
    flavours = {"open": drivers.open, "proprietary": drivers.proprietary}
    wanted = flavours.pop(stack.driver.kernel_modules)
    (other,) = flavours.values()
    return StackPlan(
        os=stack.os,
        system=SystemPlan(docker_suite=system.docker_suite, network_backend=system.network_backend),
        driver=DriverPlan(
            version=stack.driver.version,
            branch=branch,
            install=stack.driver.install,
            kernel_modules=stack.driver.kernel_modules,
            pinning_package=drivers.pinning.format(version=stack.driver.version),
            packages=PackageSet(
                names=list(wanted),
                version=drivers.version.format(version=stack.driver.version),
            ),
            replaced_packages=list(other),
            headers_package=drivers.headers,
            archive_components=list(system.archive_components),
            fabric=_fabric(catalog, branch, stack.driver.version),
        ),
        cuda=CudaPlan(
            version=stack.cuda.version,
            release=catalog.cuda_release(stack.cuda.version),
            major=cuda_major,
            minor=cuda_minor,
            package_suffix=f"{cuda_major}-{cuda_minor}",
            packages=_packages(
                catalog,
                "cuda",
                cuda_suffix=f"{cuda_major}-{cuda_minor}",
                cuda_release=catalog.cuda_release(stack.cuda.version),
            ),
            patches=dict(sorted(stack.cuda.patches.items())),
        ),
        tensorrt=TensorRTPlan(
            version=trt.version,
            cuda=cuda,
            packages=_packages(
                catalog,
                "tensorrt",
                trt_major=trt.version.split(".")[0],
                version=trt.version,
                cuda_major=str(cuda_major),
            ),
        )
        if trt
        else None,
        container_runtime=ContainerRuntimePlan(
            name=stack.container_runtime.name,
            version=stack.container_runtime.version,
            config_version=config_version,
            packages=_packages(catalog, "container_runtime", version=stack.container_runtime.version),
        ),
        container_toolkit=ContainerToolkitPlan(
            version=stack.container_toolkit.version,
            cdi=stack.container_toolkit.cdi,
            packages=_packages(catalog, "container_toolkit", version=stack.container_toolkit.version),
            driver_root=OPERATOR_DRIVER_ROOT if stack.driver.install == "operator" else "/",
        ),
        kubernetes=KubernetesPlan(
            distribution=stack.kubernetes.distribution,
            version=stack.kubernetes.version,
            minor=f"{k8s_major}.{k8s_minor}",
            packages=_packages(catalog, "kubernetes", version=stack.kubernetes.version),
            sandbox_image=f"registry.k8s.io/pause:{pause}",
            cni=cni,
            addons=list(catalog.addons),
        ),
        gpu_operator=GpuOperatorPlan(
            version=stack.gpu_operator.version,
            mig_strategy=stack.gpu_operator.mig_strategy,
            operands=dict(operator.operands) if operator else {},
            chart=catalog.helm["gpu_operator_chart"],
            chart_version=f"v{stack.gpu_operator.version.removeprefix('v')}",
            helm_repository=mirrors.helm or catalog.helm["gpu_operator_repository"],
            image_repositories={
                component: _mirrored(repository, mirrors)
                for component, repository in sorted(operator.repositories.items())
            }
            if operator
            else {},
        ),
        mirrors=mirrors,
        repositories=_repositories(stack.os, f"{k8s_major}.{k8s_minor}", mirrors, catalog),
    )


def _slice(slice_: Slice, catalog: Catalog) -> SlicePlan:
    qi = catalog.five_qi[slice_.five_qi]
    return SlicePlan(
        name=slice_.name,
        sst=slice_.snssai.sst,
        sd=slice_.snssai.sd,
        five_qi=slice_.five_qi,
        resource_type=qi.type,
        priority=qi.priority,
        packet_delay_budget_ms=qi.pdb_ms,
        dscp=slice_.dscp if slice_.dscp is not None else qi.dscp,
        guaranteed_bps=slice_.bitrate.guaranteed,
        maximum_bps=slice_.bitrate.maximum,
        vlan=slice_.vlan,
        interface=f"vlan{slice_.vlan}",
        ipv4=str(slice_.ipv4) if slice_.ipv4 else None,
        ipv6=str(slice_.ipv6) if slice_.ipv6 else None,
        routes=tuple((str(route.to), str(route.via)) for route in slice_.routes),
    )


def _host_address(network: IPv4Network | IPv6Network | None, index: int) -> str | None:
    """The node's address on a slice: host FIRST_NODE_HOST + its position in the site."""
    if network is None:
        return None
    host = FIRST_NODE_HOST + index
    if host >= network.num_addresses - 1:
        return None
    return f"{network.network_address + host}/{network.prefixlen}"


class _NodeSlices:
    """Each slice as it lands on the node at a given place in its site. A slice is grid-wide and
    a node's host number on it is its place, so the same few are on every site: each is made
    once per plan and shared (plans are frozen), not once per node (formatting an IPv6 address
    cost more than the rest of a node's plan)."""

    def __init__(self, slices: dict[str, Slice], plans: dict[str, SlicePlan]) -> None:
        self.slices, self.plans = slices, plans
        self._made: dict[tuple[str, int], NodeSlice] = {}

    def at(self, name: str, index: int) -> NodeSlice:
        made = self._made.get((name, index))
        if made is None:
            plan, slice_ = self.plans[name], self.slices[name]
            made = self._made[name, index] = NodeSlice(
                name=name,
                vlan=plan.vlan,
                interface=plan.interface,
                ipv4=_host_address(slice_.ipv4, index),
                ipv6=_host_address(slice_.ipv6, index),
                ipv4_network=plan.ipv4,
                ipv6_network=plan.ipv6,
                dscp=plan.dscp,
                guaranteed_bps=plan.guaranteed_bps,
                maximum_bps=plan.maximum_bps,
            )
        return made


def mig_config_name(hostname: str) -> str:
    """The name of the MIG manager config holding a node's own profiles: the value of its
    nvidia.com/mig.config label, so at most 63 characters (Kubernetes label values) while a
    hostname may have 63 alone; a long one is cut and told apart by a digest of it."""
    name = f"aigrid-{hostname}"
    if len(name) <= 63:
        return name
    return f"{name[:52]}-{hashlib.sha256(hostname.encode()).hexdigest()[:10]}"


def _node(
    site: Site,
    index: int,
    node: Node,
    node_slices: _NodeSlices,
    carrier: str,
    catalog: Catalog,
) -> NodePlan:
    gpus = node.gpus
    layout = (
        mig_layout(gpus.model, gpus.mig.layout, gpus.mig.profiles, catalog) if gpus and gpus.mig else None
    )
    mig_config = None
    if gpus and gpus.mig:
        mig_config = gpus.mig.layout or mig_config_name(node.hostname)
    gpu = catalog.gpus.get(gpus.model) if gpus else None
    labels = dict(node.labels)
    labels.update({SITE_LABEL: site.name, "aigrid.dev/tier": site.tier, "aigrid.dev/region": site.region})
    if gpus:
        labels[GPU_MODEL_LABEL] = gpus.model
    return NodePlan(
        hostname=node.hostname,
        site=site.name,
        carrier=carrier,
        tier=site.tier,
        region=site.region,
        role=node.role,
        address=str(node.address),
        gpu_model=gpus.model if gpus else None,
        gpu_count=gpus.count if gpus else 0,
        gpu_product_names=list(gpu.product_names) if gpu else [],
        gpu_pci_device_ids=list(gpu.pci_device_ids) if gpu else [],
        fabric_services=catalog.fabric(gpus.model, gpus.count) if gpus else [],
        cpu_architectures=_cpu_architectures(catalog, gpu),
        mig_config=mig_config,
        mig_layout=layout,
        slices=[node_slices.at(name, index) for name in site.slices],
        slice_interface=slice_interface(site, node),
        labels=dict(sorted(labels.items())),
    )


def _mirrored(image: str, mirrors: MirrorsPlan) -> str:
    """nvcr.io/nvidia/tritonserver:25.10-py3 -> MIRROR/nvidia/tritonserver:25.10-py3 (and a
    repository alike: nvcr.io/nvidia/k8s -> MIRROR/nvidia/k8s): the mirror keeps the path,
    as containerd's hosts.toml mirror of the registry serves it."""
    if not mirrors.container_registry:
        return image
    return f"{mirrors.container_registry}/{image.split('/', 1)[1]}"


def _model_source(workload: Workload, runtime: Runtime, catalog: Catalog) -> ModelSourcePlan | None:
    """Where the workload's model repository is; validation has checked that the runtime
    can use its scheme (AG119)."""
    model = workload.model
    if model.repository is None:
        if not any("{model_repository}" in arg for arg in runtime.args):
            return None
        claim = DEFAULT_MODEL_CLAIM.format(workload=workload.name)
        return _volume_source(claim, "")
    parts = urlsplit(model.repository)
    store = catalog.model_stores[parts.scheme]
    if store.mount:
        return _volume_source(parts.netloc, parts.path.strip("/"))
    credentials = model.credentials
    file = store.credentials_file if credentials else None
    return ModelSourcePlan(
        scheme=parts.scheme,
        location=model.repository,
        claim=None,
        sub_path="",
        credentials=credentials,
        env={name: var.optional for name, var in store.env.items()} if credentials else {},
        credentials_file_env=file.env if file else None,
        credentials_file_key=file.key if file else None,
    )


def _volume_source(claim: str, sub_path: str) -> ModelSourcePlan:
    return ModelSourcePlan(
        scheme="pvc",
        location=MODEL_MOUNT_PATH,
        claim=claim,
        sub_path=sub_path,
        credentials=None,
        env={},
        credentials_file_env=None,
        credentials_file_key=None,
    )


def _cluster(bp: Blueprint, site: Site) -> ClusterPlan:
    first = cluster_network.first_control_plane(site)
    assert first is not None, "validation (AG307) insists on a control plane per site"
    kubernetes = bp.stack.kubernetes
    return ClusterPlan(
        first_control_plane=first.hostname,
        control_planes=[node.hostname for node in site.nodes if node.role == "control-plane"],
        endpoint=site.control_plane_endpoint,
        pod_subnet=str(cluster_network.pod_subnet(kubernetes, site)),
        service_subnet=str(cluster_network.service_subnet(kubernetes, site)),
    )


def _image(workload: Workload, mirrors: MirrorsPlan, catalog: Catalog) -> str:
    """The workload's own image, else its runtime's through the registry mirror."""
    return workload.image or _mirrored(catalog.runtimes[workload.runtime].image, mirrors)


def _carrier_stack(
    stack: StackPlan, site: Site, bp: Blueprint, workloads: list[WorkloadPlan], catalog: Catalog
) -> CarrierStackPlan:
    here = {w.name for w in workloads if site.name in w.sites}
    images = {w.name: _image(w, stack.mirrors, catalog) for w in bp.workloads if w.name in here}
    return CarrierStackPlan(stack=stack, images=images)


def build_plan(bp: Blueprint, catalog: Catalog) -> Plan:
    """Resolve a valid blueprint; call only after validation passed without errors."""
    placements = Placements(bp, catalog)
    solution = solve(placements)
    stack = _stack(bp.stack, catalog, bp.stack.mirrors)
    slice_plans = {s.name: _slice(s, catalog) for s in bp.slices}
    slices = {s.name: s for s in bp.slices}
    workloads = []
    for workload in bp.workloads:
        placed = solution.workloads[workload.name].per_site()
        order = sorted(placed, key=lambda i: (bp.sites[i].rtt, bp.sites[i].name))
        runtime = catalog.runtimes[workload.runtime]
        port = workload.port or runtime.port
        source = _model_source(workload, runtime, catalog)
        fields = {"model_repository": source.location if source else "", "port": port}
        workloads.append(
            WorkloadPlan(
                name=workload.name,
                runtime=workload.runtime,
                image=_image(workload, stack.mirrors, catalog),
                port=port,
                ready_path=runtime.ready_path,
                live_path=runtime.live_path,
                startup_seconds=runtime.startup_seconds,
                # Catalog templates filled with plan values; a blueprint value is never a template.
                args=[arg.format(**fields) for arg in runtime.args],
                env=dict(workload.env),
                model=ModelPlan(
                    name=workload.model.name,
                    version=workload.model.version,
                    repository=workload.model.repository,
                    credentials=workload.model.credentials,
                ),
                model_source=source,
                shm_size=runtime.shm_size,
                run_as_user=runtime.run_as_user,
                gpu_count=workload.gpu.count,
                mig_profile=workload.gpu.mig,
                replicas=sum(placed.values()),
                slice=workload.slice,
                sites=[bp.sites[i].name for i in order],
                placement={bp.sites[i].name: placed[i] for i in order},
                slo_ms=workload.latency.slo,
                objective=workload.latency.objective,
                metrics_port=runtime.metrics_port,
            )
        )
    carrier_stacks: dict[str, StackPlan] = {}
    site_plans = []
    node_slices = _NodeSlices(slices, slice_plans)
    for site in bp.sites:
        carrier = site_carrier(bp, site)
        mirrors, entry = site_mirrors(bp, site)
        own = None
        if entry is not None:
            if carrier not in carrier_stacks:
                carrier_stacks[carrier] = _stack(bp.stack, catalog, mirrors)
            own = _carrier_stack(carrier_stacks[carrier], site, bp, workloads, catalog)
        site_plans.append(
            SitePlan(
                name=site.name,
                carrier=carrier,
                tier=site.tier,
                region=site.region,
                rtt_ms=site.rtt,
                kubeconfig_ref=site.kubeconfig,
                slices=list(site.slices),
                nodes=[
                    _node(site, i, node, node_slices, carrier, catalog) for i, node in enumerate(site.nodes)
                ],
                workloads=[w.name for w in workloads if site.name in w.sites],
                cluster=_cluster(bp, site),
                carrier_stack=own,
            )
        )
    return Plan(
        name=bp.metadata.name,
        carrier=bp.metadata.carrier or bp.metadata.name,
        stack=stack,
        slices=list(slice_plans.values()),
        sites=site_plans,
        workloads=workloads,
        observability=ObservabilityPlan(
            prometheus_namespace=bp.observability.prometheus_namespace,
            selector_labels=dict(sorted(bp.observability.selector_labels.items())),
            prometheus_operator=bp.observability.prometheus_operator,
        ),
    )
