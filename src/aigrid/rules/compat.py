"""Compatibility rules (AG1xx): whether the pinned NVIDIA and Kubernetes versions fit the GPUs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from packaging.version import Version

from aigrid.catalog import GpuModel, version
from aigrid.diagnostics import Severity
from aigrid.model.blueprint import Node
from aigrid.placement import mig_layout
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule

E, W = Severity.ERROR, Severity.WARNING
DRIVER = ("stack", "driver", "version")
CUDA = ("stack", "cuda", "version")


def _cuda_major_row(ctx: Context) -> tuple[int, str] | None:
    cuda = version(ctx.blueprint.stack.cuda.version)
    if cuda is None or cuda.major not in ctx.catalog.cuda_majors:
        return None
    return cuda.major, ctx.catalog.cuda_majors[cuda.major].min_driver


@rule(
    Code.DRIVER_BELOW_CUDA_MINIMUM,
    "The driver is older than the CUDA toolkit's minimum driver",
    bad="stack:\n  driver: {version: 580.65.06}\n  cuda: {version: 13.0.2}   # needs >= 580.95.05",
    good="stack:\n  driver: {version: 580.126.20}\n  cuda: {version: 13.0.2}",
)
def driver_below_cuda_minimum(ctx: Context) -> Iterable[Finding]:
    """CUDA's release notes (Table 3) give the minimum driver for each toolkit release. Within
    the right driver branch an older driver runs only through minor-version compatibility,
    with features missing (PTX JIT among them); the full toolkit needs the listed driver.
    A driver in the wrong branch altogether is AG102."""
    stack = ctx.blueprint.stack
    toolkit = ctx.catalog.cuda_toolkit(stack.cuda.version)
    driver, major = version(stack.driver.version), _cuda_major_row(ctx)
    if toolkit is None or driver is None or major is None:
        return
    minimum = version(toolkit.min_driver)
    floor = version(major[1])
    if minimum is not None and floor is not None and floor <= driver < minimum:
        yield Finding(
            DRIVER,
            f"driver {stack.driver.version} is older than {toolkit.minimum}, the minimum for CUDA "
            f"{stack.cuda.version}",
            f"pin driver >= {toolkit.min_driver} or an older CUDA release",
        )


@rule(
    Code.CUDA_MAJOR_ABOVE_DRIVER_BRANCH,
    "The CUDA major version is newer than the driver branch supports",
    bad="stack:\n  driver: {version: 570.124.06}\n  cuda: {version: 13.0.2}",
    good="stack:\n  driver: {version: 580.126.20}\n  cuda: {version: 13.0.2}",
)
def cuda_major_above_branch(ctx: Context) -> Iterable[Finding]:
    """Each CUDA major needs a driver from its branch floor up (CUDA release notes Table 2:
    13.x needs R580 or newer, 12.x R525 or newer). Below that floor nothing built with
    that CUDA major runs, not even through compatibility."""
    stack = ctx.blueprint.stack
    driver, major = version(stack.driver.version), _cuda_major_row(ctx)
    if driver is None or major is None:
        return
    floor = version(major[1])
    if floor is not None and driver < floor:
        yield Finding(
            CUDA,
            f"CUDA {stack.cuda.version} needs an R{major[1]} or newer driver; "
            f"driver {stack.driver.version} is in branch R{driver.major}",
            f"pin a driver >= {major[1]} or a CUDA {major[0] - 1}.x release",
        )


@rule(
    Code.CUDA_MAJOR_BELOW_DRIVER_BRANCH,
    "The CUDA major version is older than the driver branch's compatibility range",
    bad="stack:\n  driver: {version: 580.126.20}\n  cuda: {version: 12.8.1}",
    good="stack:\n  driver: {version: 570.124.06}\n  cuda: {version: 12.8.1}",
)
def cuda_major_below_branch(ctx: Context) -> Iterable[Finding]:
    """A newer driver branch runs older CUDA majors through backward compatibility, but it
    is outside that major's minor-version compatibility range (Table 2: 12.x is < 580),
    which is the combination NVIDIA validates. Usually a CUDA pin left behind by a
    driver upgrade."""
    stack = ctx.blueprint.stack
    cuda, driver = version(stack.cuda.version), version(stack.driver.version)
    if cuda is None or driver is None or cuda.major not in ctx.catalog.cuda_majors:
        return
    ceiling = ctx.catalog.cuda_majors[cuda.major].max_driver_below
    limit = version(ceiling) if ceiling else None
    if limit is not None and driver >= limit:
        yield Finding(
            CUDA,
            f"CUDA {stack.cuda.version} is a {cuda.major}.x release; driver {stack.driver.version} is "
            f"past its compatibility range (< {ceiling})",
            f"move CUDA to the driver's major, or keep the driver below {ceiling}",
        )


@rule(
    Code.TENSORRT_CUDA_MISMATCH,
    "TensorRT is not built for the pinned CUDA version",
    bad="stack:\n  cuda: {version: 13.0.2}\n  tensorrt: {version: 10.13.0}",
    good="stack:\n  cuda: {version: 13.0.2}\n  tensorrt: {version: 10.14.1}",
)
def tensorrt_cuda(ctx: Context) -> Iterable[Finding]:
    """Each TensorRT release ships builds for specific CUDA versions (support matrix,
    release notes). A mismatch fails at engine build or load time on the node."""
    stack = ctx.blueprint.stack
    if stack.tensorrt is None:
        return
    release = ctx.catalog.tensorrt_release(stack.tensorrt.version)
    if release is None:
        return
    if not ctx.catalog.tensorrt_supports(release, stack.cuda.version):
        builds = ", ".join(low if low == high else f"{low}-{high}" for low, high in release.cuda)
        yield Finding(
            ("stack", "tensorrt", "version"),
            f"TensorRT {stack.tensorrt.version} is built for CUDA {builds}, not {stack.cuda.version}",
            "pick the TensorRT release built for this CUDA version",
        )


def _gpu_nodes(ctx: Context) -> Iterator[tuple[int, int, Node, GpuModel]]:
    for i, site in enumerate(ctx.blueprint.sites):
        for j, node in enumerate(site.nodes):
            if node.gpus is not None and node.gpus.model in ctx.catalog.gpus:
                yield i, j, node, ctx.catalog.gpus[node.gpus.model]


@rule(
    Code.GPU_ARCHITECTURE_DROPPED,
    "A GPU's architecture is no longer supported by the CUDA version",
    bad="# a Volta/Pascal GPU with cuda 13.0 (Turing is the minimum)",
    good="# Turing (T4) or newer with cuda 13.0",
)
def architecture_dropped(ctx: Context) -> Iterable[Finding]:
    """CUDA releases remove architectures (13.0 removed Maxwell, Pascal and Volta; 12.0
    removed Kepler). Applications built with that toolkit cannot target those GPUs."""
    cuda = version(ctx.blueprint.stack.cuda.version)
    if cuda is None:
        return
    dropped = {
        arch: drop.cuda
        for drop in ctx.catalog.architecture_drops
        if (since := version(drop.cuda)) is not None and cuda >= since
        for arch in drop.architectures
    }
    for i, j, _node, gpu in _gpu_nodes(ctx):
        if gpu.architecture in dropped:
            yield Finding(
                ("sites", i, "nodes", j, "gpus", "model"),
                f"{gpu.model} ({gpu.architecture}) is not supported since CUDA {dropped[gpu.architecture]}",
                "use an older CUDA release for these nodes, or newer GPUs",
            )


def _layout_loc(i: int, j: int, node: Node) -> tuple[str | int, ...]:
    assert node.gpus is not None and node.gpus.mig is not None
    return ("sites", i, "nodes", j, "gpus", "mig", "layout" if node.gpus.mig.layout else "profiles")


@rule(
    Code.MIG_UNKNOWN_PROFILE,
    "A MIG layout names a profile or layout the GPU does not offer",
    bad="gpus:\n  model: H100-SXM-80GB\n  mig: {profiles: {1g.5gb: 7}}",
    good="gpus:\n  model: H100-SXM-80GB\n  mig: {profiles: {1g.10gb: 7}}",
)
def mig_unknown_profile(ctx: Context) -> Iterable[Finding]:
    """MIG profiles are per GPU family (an A100 40GB offers 1g.5gb, an H100 80GB 1g.10gb).
    Layout names follow mig-parted: all-balanced and all-<profile>."""
    for i, j, node, gpu in _gpu_nodes(ctx):
        family = ctx.catalog.mig_family(gpu)
        mig = node.gpus.mig if node.gpus else None
        if mig is None or family is None:
            continue
        if mig.layout is not None and family.named_layout(mig.layout) is None:
            yield Finding(
                _layout_loc(i, j, node),
                f"{gpu.model} has no MIG layout {mig.layout!r}",
                f"use all-balanced or all-<profile> with one of: {', '.join(family.profiles)}",
            )
        for name in mig.profiles or {}:
            if name not in family.profiles:
                yield Finding(
                    (*_layout_loc(i, j, node), name),
                    f"{gpu.model} has no MIG profile {name!r}",
                    f"profiles of {gpu.model}: {', '.join(family.profiles)}",
                )


@rule(
    Code.MIG_LAYOUT_DOES_NOT_FIT,
    "A MIG layout exceeds a profile's instances or cannot be placed",
    bad="gpus:\n  model: A100-80GB\n  mig: {profiles: {3g.40gb: 2, 2g.20gb: 1}}",
    good="gpus:\n  model: A100-80GB\n  mig: {profiles: {3g.40gb: 1, 2g.20gb: 1, 1g.10gb: 2}}",
)
def mig_layout_fits(ctx: Context) -> Iterable[Finding]:
    """A GPU has a fixed number of memory slices (8 on 7-way GPUs, 4 on A30 and RTX PRO
    6000) and each profile can start only at given slices (`nvidia-smi mig -lgipp`).
    A layout is valid when every instance can be placed without overlap and no profile
    exceeds its maximum count; a sum of slices alone is not enough."""
    for i, j, node, gpu in _gpu_nodes(ctx):
        family = ctx.catalog.mig_family(gpu)
        mig = node.gpus.mig if node.gpus else None
        if mig is None or family is None or mig.profiles is None:
            continue
        layout = {name: count for name, count in mig.profiles.items() if count > 0}
        if any(name not in family.profiles for name in layout):
            continue
        if not family.fits(layout):
            over = [
                f"{n} x{c} (max {family.profiles[n].max})"
                for n, c in layout.items()
                if c > family.profiles[n].max
            ]
            detail = (
                "over the maximum: " + ", ".join(over)
                if over
                else (f"the instances do not fit in the GPU's {family.slots} memory slices")
            )
            yield Finding(
                _layout_loc(i, j, node),
                f"MIG layout of node {node.hostname} cannot be realised on {gpu.model}: {detail}",
                "drop instances, or use a layout such as all-balanced",
            )


@rule(
    Code.MIG_ON_NON_MIG_GPU,
    "A MIG layout is declared on a GPU without MIG",
    bad="gpus:\n  model: L40S\n  mig: {layout: all-balanced}",
    good="gpus:\n  model: L40S\n  count: 2",
)
def mig_on_non_mig_gpu(ctx: Context) -> Iterable[Finding]:
    """MIG exists only on the listed data-centre GPUs (A30, A100, H100, H200, GH200, B200,
    GB200, B300, GB300, RTX PRO 6000). Compute capability 8.0 or newer is not enough: A10,
    L4 and L40S have none."""
    for i, j, node, gpu in _gpu_nodes(ctx):
        if node.gpus is not None and node.gpus.mig is not None and not gpu.mig_capable:
            yield Finding(
                ("sites", i, "nodes", j, "gpus", "mig"),
                f"{gpu.model} does not support MIG",
                "remove `mig`, or use a MIG-capable GPU",
            )


@rule(
    Code.MIG_MIXED_NEEDS_MIXED_STRATEGY,
    "Several MIG profiles on a node need the `mixed` MIG strategy",
    bad="gpuOperator: {migStrategy: single}\n# node: mig: {layout: all-balanced}",
    good="gpuOperator: {migStrategy: mixed}",
)
def mig_mixed_strategy(ctx: Context) -> Iterable[Finding]:
    """With the `single` strategy the device plugin exposes one profile per node as
    nvidia.com/gpu; a layout with several profiles needs `mixed`, which exposes
    nvidia.com/mig-<profile> resources (GPU Operator MIG guide). With `none` MIG layouts
    are not applied at all."""
    strategy = ctx.blueprint.stack.gpu_operator.mig_strategy
    if strategy == "mixed":
        return
    for _i, _j, node, gpu in _gpu_nodes(ctx):
        if node.gpus is None or node.gpus.mig is None or not gpu.mig_capable:
            continue
        layout = mig_layout(gpu.model, node.gpus.mig.layout, node.gpus.mig.profiles, ctx.catalog)
        if layout is not None and (strategy == "none" or len(layout) > 1):
            yield Finding(
                ("stack", "gpuOperator", "migStrategy"),
                f"node {node.hostname} uses MIG profiles {', '.join(sorted(layout))} but migStrategy "
                f"is {strategy}",
                "set stack.gpuOperator.migStrategy: mixed",
            )
            return


@rule(
    Code.KUBERNETES_OUTSIDE_OPERATOR_RANGE,
    "The Kubernetes version is outside the GPU Operator's range",
    bad="kubernetes: {version: 1.31.4}\ngpuOperator: {version: 26.3.2}   # supports 1.32-1.36",
    good="kubernetes: {version: 1.34.9}\ngpuOperator: {version: 26.3.2}",
)
def kubernetes_in_operator_range(ctx: Context) -> Iterable[Finding]:
    """The GPU Operator's platform-support page lists the Kubernetes minors each release is
    tested on (per OS). The chart's own kubeVersion (>= 1.16) is not that range."""
    stack = ctx.blueprint.stack
    release = ctx.catalog.operator_release(stack.gpu_operator.version)
    k8s = version(stack.kubernetes.version)
    if release is None or k8s is None:
        return
    low, high = release.kubernetes_range(stack.os)
    minor = (k8s.major, k8s.minor)
    low_v, high_v = version(low), version(high)
    if low_v is None or high_v is None:
        return
    if not (low_v.major, low_v.minor) <= minor <= (high_v.major, high_v.minor):
        yield Finding(
            ("stack", "kubernetes", "version"),
            f"Kubernetes {stack.kubernetes.version} is outside GPU Operator {release.version}'s "
            f"supported range {low}-{high} on {stack.os}",
            "pick a Kubernetes minor in that range, or another GPU Operator release",
        )


@rule(
    Code.OPEN_KERNEL_MODULES_REQUIRED,
    "GH200 and Blackwell data-centre GPUs need open kernel modules",
    bad="driver: {kernelModules: proprietary}\n# node with B200 GPUs",
    good="driver: {kernelModules: open}",
)
def open_modules_required(ctx: Context) -> Iterable[Finding]:
    """NVIDIA: GH200 systems require the open GPU kernel modules, and data-centre GPUs from
    Grace Hopper and Blackwell on must use them; the proprietary module fails to load."""
    if ctx.blueprint.stack.driver.kernel_modules == "open":
        return
    for i, j, _node, gpu in _gpu_nodes(ctx):
        if gpu.open_kernel_modules_required:
            yield Finding(
                ("sites", i, "nodes", j, "gpus", "model"),
                f"{gpu.model} needs the open kernel modules; stack.driver.kernelModules is proprietary",
                "set stack.driver.kernelModules: open",
            )


@rule(
    Code.PROPRIETARY_MODULES_REMOVED,
    "The driver branch ships no proprietary kernel modules",
    bad="driver: {version: 620.70.06, kernelModules: proprietary}",
    good="driver: {version: 620.70.06, kernelModules: open}",
)
def proprietary_modules_removed(ctx: Context) -> Iterable[Finding]:
    """NVIDIA's Driver Installation Guide for release 620 records the proprietary kernel
    modules as removed: from that branch on only the open modules are published, so the
    proprietary flavour's packages (cuda-drivers) have nothing to install and the GPU
    Operator's driver container has no proprietary build to load."""
    driver = ctx.blueprint.stack.driver
    parsed = version(driver.version)
    packages = ctx.catalog.drivers.get(ctx.blueprint.stack.os)
    if driver.kernel_modules != "proprietary" or parsed is None or packages is None:
        return
    if parsed.major >= packages.open_only_from_branch:
        yield Finding(
            ("stack", "driver", "kernelModules"),
            f"driver {driver.version} is in branch R{parsed.major}; NVIDIA ships only the open "
            f"kernel modules from R{packages.open_only_from_branch} on",
            f"set stack.driver.kernelModules: open, or pin a driver below {packages.open_only_from_branch}",
        )


@rule(
    Code.DRIVER_BELOW_GPU_MINIMUM,
    "The driver is older than a GPU model requires",
    bad="driver: {version: 570.124.06}\n# node with B200 GPUs (needs >= 570.133.20)",
    good="driver: {version: 580.126.20}",
)
def driver_below_gpu_minimum(ctx: Context) -> Iterable[Finding]:
    """Newer GPUs need a minimum driver (B200: 570.133.20; RTX PRO 6000: 575.57.08,
    per the GPU Operator's platform support)."""
    driver = version(ctx.blueprint.stack.driver.version)
    if driver is None:
        return
    for i, j, _node, gpu in _gpu_nodes(ctx):
        minimum = version(gpu.min_driver) if gpu.min_driver else None
        if minimum is not None and driver < minimum:
            yield Finding(
                ("sites", i, "nodes", j, "gpus", "model"),
                f"{gpu.model} needs driver >= {gpu.min_driver}; "
                f"the stack pins {ctx.blueprint.stack.driver.version}",
                f"pin a driver >= {gpu.min_driver}",
            )


@rule(
    Code.VERSION_NOT_IN_CATALOG,
    "A pinned version is unknown to the catalog, so it was not checked",
    bad="cuda: {version: 13.5}",
    good="cuda: {version: 13.2.2}",
)
def unknown_versions(ctx: Context) -> Iterable[Finding]:
    """aigrid checks compatibility only against facts it has sources for. A version it does
    not know is reported so nobody mistakes silence for approval; add the catalog row
    (with its source) when NVIDIA publishes it."""
    stack = ctx.blueprint.stack
    checks: list[tuple[tuple[str, ...], str, bool]] = [
        (CUDA, f"CUDA {stack.cuda.version}", ctx.catalog.cuda_toolkit(stack.cuda.version) is not None),
        (
            ("stack", "gpuOperator", "version"),
            f"GPU Operator {stack.gpu_operator.version}",
            ctx.catalog.operator_release(stack.gpu_operator.version) is not None,
        ),
        (DRIVER, f"driver {stack.driver.version}", version(stack.driver.version) is not None),
    ]
    if stack.tensorrt is not None:
        checks.append(
            (
                ("stack", "tensorrt", "version"),
                f"TensorRT {stack.tensorrt.version}",
                ctx.catalog.tensorrt_release(stack.tensorrt.version) is not None,
            )
        )
    for loc, what, known in checks:
        if not known:
            yield Finding(
                loc,
                f"{what} is not in the catalog; its compatibility was not checked",
                "use a catalogued version (aigrid catalog), or add the row with its source",
            )


@rule(
    Code.CUDA_PATCH_OTHER_MINOR,
    "A CUDA library patch names a package of another CUDA minor than the one pinned",
    bad="cuda:\n  version: 13.0.2\n  patches: {libcublas-12-9: 12.9.2.10}",
    good="cuda:\n  version: 13.0.2\n  patches: {libcublas-13-0: 13.1.1.3}",
)
def cuda_patch_other_minor(ctx: Context) -> Iterable[Finding]:
    """NVIDIA's CUDA packages carry their minor in their names (libcublas-13-0 for every 13.0
    update). A patch for another minor pins a library the pinned release does not install,
    and is left behind when the blueprint moves to a new minor: bring-up would stop on it
    (the release's meta package does not depend on it)."""
    cuda = ctx.blueprint.stack.cuda
    release = version(cuda.version)
    if release is None:
        return
    suffix = f"-{release.major}-{release.minor}"
    minor = f"{release.major}.{release.minor}"
    for package in cuda.patches:
        if not package.endswith(suffix):
            library = package.rsplit("-", 2)[0]
            yield Finding(
                ("stack", "cuda", "patches", package),
                f"{package} is not a package of CUDA {minor} (its packages end in {suffix}), the "
                f"pinned {cuda.version}",
                f"name the library of CUDA {minor} ({library}{suffix}) with its build for that minor, "
                "or drop the patch",
            )


@rule(
    Code.TOO_MANY_GPUS_PER_NODE,
    "A node declares more GPUs than any board of its form factor holds",
    bad="gpus: {model: H100-SXM-80GB, count: 16}",
    good="gpus: {model: H100-SXM-80GB, count: 8}",
)
def gpus_per_node(ctx: Context) -> Iterable[Finding]:
    """SXM GPUs sit on a baseboard: NVIDIA's HGX boards carry 4 or 8, so no node has 16
    H100 SXM; a superchip node (GB200 compute tray) holds at most 4 GPUs. A count above the
    form factor's maximum is a typo, or the model should be the PCIe variant."""
    for i, j, node, gpu in _gpu_nodes(ctx):
        form = ctx.catalog.form_factors.get(gpu.form_factor)
        limit = form.max_per_node if form is not None else None
        if node.gpus is not None and limit is not None and node.gpus.count > limit:
            yield Finding(
                ("sites", i, "nodes", j, "gpus", "count"),
                f"node {node.hostname} declares {node.gpus.count} {gpu.model} GPUs; a {gpu.form_factor} "
                f"node holds at most {limit}",
                "fix the count, or split the GPUs over several nodes",
            )


# The kubernetes_node role bootstraps kubeadm nodes only (its first task asserts it).
INSTALLED_DISTRIBUTIONS = ("kubeadm",)


@rule(
    Code.KUBERNETES_DISTRIBUTION_NOT_INSTALLED,
    "No aigrid role installs the Kubernetes distribution",
    bad="kubernetes: {distribution: k3s, version: 1.34.9}",
    good="kubernetes: {distribution: kubeadm, version: 1.34.9}",
)
def distribution_installed(ctx: Context) -> Iterable[Finding]:
    """The schema names k3s and rke2 for the future, but aigrid's kubernetes_node role
    installs kubelet, kubeadm and kubectl only; a blueprint for another distribution would
    compile and then fail on every node at bring-up."""
    distribution = ctx.blueprint.stack.kubernetes.distribution
    if distribution not in INSTALLED_DISTRIBUTIONS:
        yield Finding(
            ("stack", "kubernetes", "distribution"),
            f"Kubernetes distribution {distribution} is not installed by any aigrid role",
            f"use distribution: {' or '.join(INSTALLED_DISTRIBUTIONS)}",
        )


@rule(
    Code.CONTAINERD_NOT_INSTALLABLE,
    "No aigrid role configures the pinned containerd release",
    bad="containerRuntime: {version: 1.6.33}",
    good="containerRuntime: {version: 2.3.1}",
)
def containerd_installable(ctx: Context) -> Iterable[Finding]:
    """The container_runtime role writes containerd's config for the config version each
    major reads (2 for 1.x, 3 for 2.x) with CDI enabled, which needs containerd 1.7 or
    newer; other majors have no config at all. Anything else would install and then fail
    to start or to run GPU containers."""
    text = ctx.blueprint.stack.container_runtime.version
    pinned = version(text)
    row = ctx.catalog.containerd.get(pinned.major) if pinned is not None else None
    minimum = version(row.min_version) if row is not None else None
    if pinned is None or minimum is None or pinned < minimum:
        installable = ", ".join(
            f"{r.min_version} or later {r.major}.x" for r in ctx.catalog.containerd.values()
        )
        yield Finding(
            ("stack", "containerRuntime", "version"),
            f"containerd {text} is not a release aigrid's container_runtime role can configure",
            f"pin containerd {installable}",
        )


# The first Container Toolkit whose `nvidia-ctk runtime configure` writes a containerd drop-in
# (--drop-in-config; NVIDIA/nvidia-container-toolkit cmd/nvidia-ctk/runtime/configure, added
# after v1.17.8) and that ships the nvidia-cdi-refresh units regenerating the CDI spec at boot
# and after driver changes (its 1.18.0 release notes).
CONTAINER_TOOLKIT_MINIMUM = Version("1.18.0")


@rule(
    Code.CONTAINER_TOOLKIT_TOO_OLD,
    "The pinned Container Toolkit cannot configure containerd the way aigrid's role does",
    bad="containerToolkit: {version: 1.17.8}",
    good="containerToolkit: {version: 1.19.1}",
)
def container_toolkit_configurable(ctx: Context) -> Iterable[Finding]:
    """The nvidia_container_toolkit role has nvidia-ctk write the nvidia runtime into a
    containerd drop-in and leaves the CDI spec to the toolkit's refresh units: a release before
    1.18.0 fails at `nvidia-ctk runtime configure` ("flag provided but not defined") and loses
    its CDI spec, kept in /var/run, at every reboot."""
    text = ctx.blueprint.stack.container_toolkit.version
    pinned = version(text)
    if pinned is not None and pinned < CONTAINER_TOOLKIT_MINIMUM:
        yield Finding(
            ("stack", "containerToolkit", "version"),
            f"Container Toolkit {text} has no containerd drop-in configuration nor CDI refresh units",
            f"pin Container Toolkit {CONTAINER_TOOLKIT_MINIMUM} or later",
        )


@rule(
    Code.GPU_OPERATOR_DRIVER_UNSUPPORTED_OS,
    "The GPU Operator is to install the driver on an OS it has no driver containers for",
    bad="stack:\n  os: debian-12\n  driver: {version: 580.126.20, install: operator}",
    good="stack:\n  os: debian-12\n  driver: {version: 580.126.20, install: host}",
)
def operator_driver_os(ctx: Context) -> Iterable[Finding]:
    """With `install: operator` the GPU Operator runs the driver in a container built for the
    node's OS. NVIDIA publishes those for Ubuntu and RHEL only (GPU Operator platform support;
    NVIDIA/gpu-driver-container): on Debian the driver pod would never start. Install the
    driver on the host there."""
    stack = ctx.blueprint.stack
    if stack.driver.install == "operator" and not ctx.catalog.systems[stack.os].gpu_operator_driver:
        yield Finding(
            ("stack", "driver", "install"),
            f"the GPU Operator has no driver containers for {stack.os}",
            "set stack.driver.install to host (or run the nodes on Ubuntu)",
        )


@rule(
    Code.NO_ARM_REPOSITORY,
    "An Arm-only GPU on an OS whose CUDA repository has no Arm server packages",
    bad="stack:\n  os: debian-12\nsites:\n  - nodes:\n      - gpus: {model: GH200-96GB, count: 1}",
    good="stack:\n  os: ubuntu-24.04\nsites:\n  - nodes:\n      - gpus: {model: GH200-96GB, count: 1}",
)
def arm_repository(ctx: Context) -> Iterable[Finding]:
    """Grace superchips (GH200, GB200, GB300) are Arm (aarch64) servers: their driver and
    CUDA come from the `sbsa` repository, which NVIDIA publishes for Ubuntu but not for
    Debian 12 (CUDA Installation Guide, supported distributions)."""
    os = ctx.blueprint.stack.os
    if "aarch64" in ctx.catalog.systems[os].cuda_arches:
        return
    for site_index, site in enumerate(ctx.blueprint.sites):
        for node_index, node in enumerate(site.nodes):
            gpu = ctx.catalog.gpus.get(node.gpus.model) if node.gpus else None
            if gpu is not None and gpu.form_factor == "superchip":
                yield Finding(
                    ("sites", site_index, "nodes", node_index, "gpus", "model"),
                    f"node {node.hostname}: {gpu.model} is an Arm server, and NVIDIA's CUDA repository "
                    f"has no Arm server (sbsa) packages for {os}",
                    "run Grace nodes on Ubuntu 22.04 or 24.04",
                )


@rule(
    Code.MODEL_REPOSITORY_UNREADABLE,
    "The workload's runtime cannot read its model repository's URL scheme",
    bad="runtime: triton\nmodel: {name: detector, repository: https://models.example/detector}",
    good="runtime: triton\nmodel: {name: detector, repository: s3://models/detector, "
    "credentials: secret://models/store}",
)
def model_repository_unreadable(ctx: Context) -> Iterable[Finding]:
    """Triton (and Triton with TensorRT-LLM) reads its model repository from a local path or
    from S3, Google Cloud Storage and Azure Storage (s3://, gs://, as://): Triton's
    model_repository.md. It has no HTTPS repository, so the server would exit at start and
    the pod crash-loop. Put the models in an object store, or on a volume (pvc://<claim>/<path>);
    a custom image reads an https:// repository itself (AIGRID_MODEL_REPOSITORY)."""
    for index, workload in enumerate(ctx.blueprint.workloads):
        repository = workload.model.repository
        runtime = ctx.catalog.runtimes.get(workload.runtime)
        if repository is None or runtime is None:
            continue
        scheme = repository.partition("://")[0]
        if scheme not in runtime.model_repository_schemes:
            readable = ", ".join(f"{s}://" for s in runtime.model_repository_schemes)
            yield Finding(
                ("workloads", index, "model", "repository"),
                f"workload {workload.name}: runtime {workload.runtime} cannot read a model repository "
                f"from {scheme}://",
                f"move the models to {readable}",
            )
