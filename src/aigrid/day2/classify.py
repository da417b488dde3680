"""What each fact of a revision's state takes to change: its disruption class and why.

Facts are named by pattern, as aigrid.day2.compare walks the state: `driver.version`,
`slices[*].vlan` (any slice), "" for the thing itself being added or removed. Every field of
the state models has a rule here (tests/test_day2_diff.py walks the models to make sure).

Sources for the classes:
- Kubernetes "Upgrading kubeadm clusters": one minor at a time, the control plane first, a
  node drained before its kubelet changes minor.
- NVIDIA driver installation guide: a host driver change loads new kernel modules only after
  a reboot (nouveau blacklisted, initramfs rebuilt); GPU Operator "GPU Driver Upgrades": a
  containerised driver is reloaded on a drained node instead.
- GPU Operator "GPU Operator with MIG": the mig-manager repartitions only GPUs no pod uses,
  so the node is drained first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aigrid.day2.disruption import Disruption
from aigrid.day2.state import NodeState

Scope = Literal["grid", "site", "node", "workload"]


@dataclass(frozen=True)
class Verdict:
    disruption: Disruption
    reason: str


@dataclass(frozen=True)
class Context:
    """The things that changed, old and new (None where absent), for rules that depend on
    more than the one value: a driver change on an operator-managed node is a drain."""

    old_node: NodeState | None = None
    new_node: NodeState | None = None


RuleFn = Callable[[Any, Any, Context], Verdict]


def _fixed(disruption: Disruption, reason: str) -> RuleFn:
    return lambda old, new, context: Verdict(disruption, reason)


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _kubernetes(old: str, new: str, context: Context) -> Verdict:
    if _minor(new) < _minor(old) or (_minor(new) == _minor(old) and _patch(new) < _patch(old)):
        return Verdict(Disruption.CONTROL_PLANE_FIRST, "a downgrade: kubeadm upgrades only forward")
    if _minor(new) == _minor(old):
        return Verdict(
            Disruption.CONTROL_PLANE_FIRST,
            "patch release: control planes first (kubeadm upgrade apply/node), each node drained "
            "before its kubelet restarts",
        )
    hops = _minor(new)[1] - _minor(old)[1]
    return Verdict(
        Disruption.CONTROL_PLANE_FIRST,
        f"minor upgrade in {hops} step{'s' if hops > 1 else ''} of one minor: control planes first, "
        "each node drained before its kubelet changes minor",
    )


def _patch(version: str) -> int:
    parts = version.split(".")
    return int(parts[2]) if len(parts) > 2 else 0


def _operator_managed(context: Context) -> bool:
    """The driver runs in the GPU Operator's container on both sides of the change."""
    nodes = (context.old_node, context.new_node)
    return all(node is not None and node.driver and node.driver.install == "operator" for node in nodes)


def _driver_version(old: str, new: str, context: Context) -> Verdict:
    old_branch, new_branch = old.split(".")[0], new.split(".")[0]
    what = f"driver branch {old_branch} -> {new_branch}" if old_branch != new_branch else "driver update"
    if _operator_managed(context):
        return Verdict(
            Disruption.NODE_DRAIN, f"{what}: the GPU Operator reloads its driver on a drained node"
        )
    return Verdict(Disruption.NODE_REBOOT, f"{what}: the new kernel modules load after a reboot")


def _kernel_modules(old: str, new: str, context: Context) -> Verdict:
    if _operator_managed(context):
        return Verdict(Disruption.NODE_DRAIN, "the GPU Operator reloads its driver on a drained node")
    return Verdict(Disruption.NODE_REBOOT, "other kernel modules: initramfs rebuilt, loaded after a reboot")


def _cuda(old: str, new: str, context: Context) -> Verdict:
    reason = "host packages upgraded in place; pods bring their own CUDA"
    node = context.new_node
    if node is not None and node.cuda_patches:
        # A build set in place of the release's must satisfy the new release's bound too,
        # which only the node's package index knows (bring-up stops on one that does not).
        patches = ", ".join(f"{name} {build}" for name, build in node.cuda_patches.items())
        reason += f"; the patches set ({patches}) must satisfy CUDA {new}'s own builds, or bring-up stops"
    return Verdict(Disruption.NONE, reason)


def _node_presence(old: NodeState | None, new: NodeState | None, context: Context) -> Verdict:
    node = new or old
    assert node is not None
    if node.role == "control-plane":
        return Verdict(Disruption.CONTROL_PLANE_FIRST, "the control plane (and etcd) gains or loses a member")
    if new is not None:
        return Verdict(Disruption.NONE, "a new node joins; nothing running moves")
    return Verdict(Disruption.NODE_DRAIN, "drained before it leaves the cluster")


def _address(old: str, new: str, context: Context) -> Verdict:
    node = context.new_node
    if node is not None and node.role == "control-plane":
        return Verdict(Disruption.CONTROL_PLANE_FIRST, "an etcd member and API server move address")
    return Verdict(Disruption.NODE_DRAIN, "the node rejoins the cluster at its new address")


RENUMBER = _fixed(Disruption.SITE_WIDE, "slice renumbering: every node and pod on the slice changes together")
SLICE_QOS = _fixed(
    Disruption.NODE_DRAIN, "slice QoS: shaping and marking on the node's slice interface rebuilt"
)
WORKLOAD = _fixed(Disruption.ROLLING_RESTART, "the Deployment rolls its pods, one at a time")
METADATA = _fixed(Disruption.NONE, "metadata")
MIRRORS = _fixed(Disruption.NONE, "where packages and images come from; nothing restarts")

RULES: dict[Scope, dict[str, RuleFn]] = {
    "grid": {
        "name": METADATA,
        "carrier": METADATA,
        "mirrors[*]": MIRRORS,
    },
    "site": {
        "": lambda old, new, context: (
            Verdict(Disruption.NONE, "a new site; nothing running moves")
            if old is None
            else Verdict(Disruption.SITE_WIDE, "the site is taken out of the grid")
        ),
        "carrier": METADATA,
        "tier": _fixed(Disruption.NONE, "metadata (placement changes show on the workloads)"),
        "region": _fixed(Disruption.NONE, "metadata (placement changes show on the workloads)"),
        "rtt_ms": _fixed(Disruption.NONE, "metadata (placement changes show on the workloads)"),
        "kubeconfig_ref": METADATA,
        "gpu_operator": _fixed(
            Disruption.ROLLING_RESTART, "the GPU Operator's daemon sets roll node by node"
        ),
        # kubeadm cannot change a formed cluster's ranges or add a controlPlaneEndpoint later
        # (the kubernetes_cluster role refuses): the site's cluster is formed again.
        "pod_subnet": _fixed(Disruption.SITE_WIDE, "kubeadm cannot change a formed cluster's pod range"),
        "service_subnet": _fixed(
            Disruption.SITE_WIDE, "kubeadm cannot change a formed cluster's service range"
        ),
        "api_endpoint": _fixed(
            Disruption.SITE_WIDE,
            "a formed cluster's API endpoint is fixed in every certificate and kubeconfig",
        ),
        "cni": _fixed(Disruption.ROLLING_RESTART, "the pod network's daemon set rolls node by node"),
        "addons[*]": _fixed(Disruption.ROLLING_RESTART, "the add-on's daemon set rolls node by node"),
        # As the grid's mirrors: the site's carrier gains, changes or drops its own.
        "mirrors": MIRRORS,
        "mirrors[*]": MIRRORS,
    },
    "node": {
        "": _node_presence,
        "role": _fixed(
            Disruption.CONTROL_PLANE_FIRST, "the control plane (and etcd) gains or loses a member"
        ),
        "address": _address,
        "os": _fixed(Disruption.NODE_REBOOT, "an OS release upgrade boots a new kernel"),
        "kubernetes": _kubernetes,
        "container_runtime": _fixed(Disruption.NODE_DRAIN, "containerd restarts with its new release"),
        "container_toolkit": _fixed(
            Disruption.NODE_DRAIN, "the NVIDIA Container Toolkit reconfigures and restarts containerd"
        ),
        "cdi": _fixed(Disruption.NODE_DRAIN, "the container runtime's device injection changes"),
        "cuda": _cuda,
        "cuda_patches[*]": _fixed(
            Disruption.NONE, "a CUDA library replaced in place at another build; pods bring their own CUDA"
        ),
        "tensorrt": _fixed(Disruption.NONE, "host packages upgraded in place; pods bring their own TensorRT"),
        "gpu_model": _fixed(Disruption.NODE_REBOOT, "GPU hardware changes with the node powered off"),
        "gpu_count": _fixed(Disruption.NODE_REBOOT, "GPU hardware changes with the node powered off"),
        "driver": _fixed(Disruption.NODE_REBOOT, "the node gains or loses its GPU driver: reboot"),
        "driver.version": _driver_version,
        "driver.install": _fixed(
            Disruption.NODE_REBOOT, "the driver moves between host and container: reboot into the other"
        ),
        "driver.kernel_modules": _kernel_modules,
        "mig_strategy": _fixed(
            Disruption.NODE_DRAIN, "MIG devices are advertised under other resource names; GPU pods restart"
        ),
        "mig_config": _fixed(
            Disruption.NODE_DRAIN, "MIG layout: the mig-manager repartitions idle GPUs only"
        ),
        "mig_layout[*]": _fixed(
            Disruption.NODE_DRAIN, "MIG layout: the mig-manager repartitions idle GPUs only"
        ),
        "mig_layout": _fixed(
            Disruption.NODE_DRAIN, "MIG layout: the mig-manager repartitions idle GPUs only"
        ),
        "slice_interface": _fixed(Disruption.NODE_DRAIN, "the slice VLANs move to another interface"),
        "slices[*]": _fixed(Disruption.NODE_DRAIN, "the node's network gains or loses a slice VLAN"),
        "slices[*].vlan": RENUMBER,
        "slices[*].ipv4": RENUMBER,
        "slices[*].ipv6": RENUMBER,
        "slices[*].ipv4_network": RENUMBER,
        "slices[*].ipv6_network": RENUMBER,
        "slices[*].five_qi": SLICE_QOS,
        "slices[*].priority": SLICE_QOS,
        "slices[*].dscp": SLICE_QOS,
        "slices[*].guaranteed_bps": SLICE_QOS,
        "slices[*].maximum_bps": SLICE_QOS,
        "labels[*]": _fixed(Disruption.NONE, "node labels are set in place"),
    },
    "workload": {
        "": WORKLOAD,
        "replicas": _fixed(Disruption.ROLLING_RESTART, "the Deployment scales"),
        "runtime": WORKLOAD,
        "image": WORKLOAD,
        "args": WORKLOAD,
        "env[*]": WORKLOAD,
        "port": WORKLOAD,
        "model": WORKLOAD,
        "model_repository": WORKLOAD,
        "model_credentials": WORKLOAD,
        "gpu_count": WORKLOAD,
        "mig_profile": WORKLOAD,
        "slice": _fixed(
            Disruption.ROLLING_RESTART, "the workload moves to another slice's namespace: new pods there"
        ),
    },
}


def classify(scope: Scope, pattern: str, old: Any, new: Any, context: Context) -> Verdict:
    """KeyError for a fact without a rule: a new state field must be classified here."""
    return RULES[scope][pattern](old, new, context)
