"""The container registries a site's nodes pull images from, for preflight's check that each
node reaches them before anything is installed (an IPv6-only site cannot pull from a registry
without IPv6 addresses, and finds out only when its pods stay in ImagePullBackOff).

Each registry is named by the host the node connects to, through the site's registry mirror
where the container runtime role sends it there (containerd's hosts.toml), with what pulls
from it, for the message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from aigrid.plan import Plan, SitePlan, StackPlan, workloads_by_name

# kubeadm's default imageRepository, which aigrid's kubeadm configuration leaves as it is
# (kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go, DefaultImageRepository).
KUBEADM_IMAGE_REPOSITORY = "registry.k8s.io"
# An image without a registry is Docker Hub's (distribution/reference normalize.go,
# defaultDomain), which containerd fetches from registry-1.docker.io (containerd
# core/remotes/docker/config/hosts.go: the docker.io default host).
DOCKER_HUB = "docker.io"
DOCKER_HUB_HOST = "registry-1.docker.io"


def registry_of(reference: str) -> str:
    """The registry of an image reference or repository: its first path component where that
    names a host (has a dot or a port, or is localhost), else Docker Hub (distribution/reference
    normalize.go, splitDockerDomain)."""
    first, sep, _ = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def _host(reference: str, mirror: str | None, mirrored: Iterable[str]) -> str:
    """The host a node connects to for an image or repository: the site's mirror where the
    plan already points the reference there or containerd sends its registry there, else the
    registry itself (Docker Hub at its API host)."""
    mirror_host = mirror.split("/", 1)[0] if mirror else None
    if mirror and reference.startswith(f"{mirror}/"):
        return str(mirror_host)
    registry = registry_of(reference)
    if mirror_host and registry in mirrored:
        return mirror_host
    return DOCKER_HUB_HOST if registry == DOCKER_HUB else registry


def _grouped(pulls: Iterable[tuple[str, str]], stack: StackPlan, mirrored: list[str]) -> dict[str, list[str]]:
    """{host: [what pulls from it, sorted]} for (image or repository, what) pairs."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for reference, what in pulls:
        found[_host(reference, stack.mirrors.container_registry, mirrored)].add(what)
    return {host: sorted(found[host]) for host in sorted(found)}


def stack_registries(stack: StackPlan, mirrored: list[str]) -> dict[str, list[str]]:
    """Where every node of a site pulls the stack's images from: kubeadm's control plane and
    kube-proxy, the pause image, the CNI's and add-ons' DaemonSets (on every node), and GPU
    Operator's (its operator may run on any node). `mirrored`: the registries the container
    runtime role mirrors (container_runtime_mirrored_registries)."""
    kubernetes = stack.kubernetes
    cni, operator = kubernetes.cni, stack.gpu_operator
    pulls = [
        (f"{KUBEADM_IMAGE_REPOSITORY}/kube-proxy", "kubeadm's images (control plane, kube-proxy)"),
        (kubernetes.sandbox_image, "the pause image"),
        *(
            (f"{registry}/{cni.plugin}", f"{cni.plugin} {cni.version}'s images")
            for registry in cni.image_registries
        ),
        *((image, f"{cni.plugin} {cni.version}'s images") for image in cni.images),
        *(
            (image, f"{addon.name} {addon.version}'s images")
            for addon in kubernetes.addons
            for image in addon.images
        ),
        *(
            (repository, f"GPU Operator {operator.version}'s images")
            for repository in operator.image_repositories.values()
        ),
    ]
    return _grouped(pulls, stack, mirrored)


def workload_registries(plan: Plan, site: SitePlan, mirrored: list[str]) -> dict[str, list[str]]:
    """Where the GPU nodes of `site` pull the images of the workloads placed there."""
    workloads = workloads_by_name(plan)
    pulls = [(plan.image_at(site, workloads[name]), f"workload {name}'s image") for name in site.workloads]
    return _grouped(pulls, plan.stack_at(site), mirrored)
