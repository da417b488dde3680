"""What one revision of a grid deploys, per site and node: the facts a change of which takes
something to apply (a restart, a drain, a reboot). Built from the plan; a compile stores it in
aigrid.lock.json under STATE_KEY, so a revision can be compared without its blueprint files.

Stack-wide pins are copied onto every node they land on, so a difference is attributed to the
nodes that must change. Only what a GPU node runs is on a GPU node (the driver, the MIG
strategy). Every field has a class in aigrid.day2.classify; a new field needs one there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aigrid.plan import NodePlan, Plan, SitePlan, StackPlan, WorkloadPlan, workloads_by_name
from aigrid.render.k8s_objects import replicas_at

STATE_KEY = "state"
# Bumped when a field changes meaning, so an older lock file is refused with a clear message
# instead of being compared field by field with something else.
STATE_VERSION: Literal[1] = 1


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DriverState(_State):
    version: str
    install: Literal["host", "operator", "preinstalled"]
    kernel_modules: Literal["open", "proprietary"]

    @property
    def branch(self) -> str:
        return self.version.split(".")[0]


class SliceState(_State):
    """A slice as it lands on one node."""

    vlan: int
    ipv4: str | None
    ipv6: str | None
    ipv4_network: str | None
    ipv6_network: str | None
    five_qi: int
    priority: int
    dscp: int
    guaranteed_bps: int | None
    maximum_bps: int


class NodeState(_State):
    hostname: str
    role: str
    address: str
    os: str
    kubernetes: str
    container_runtime: str
    container_toolkit: str
    cdi: bool
    cuda: str
    # stack.cuda.patches; absent from the state of releases before it (nothing patched then).
    cuda_patches: dict[str, str] = Field(default_factory=dict)
    tensorrt: str | None
    gpu_model: str | None
    gpu_count: int
    driver: DriverState | None
    mig_strategy: str | None
    mig_config: str | None
    mig_layout: dict[str, int] | None
    slice_interface: str | None
    slices: dict[str, SliceState]
    labels: dict[str, str]


class WorkloadState(_State):
    """A workload as it runs at one site."""

    replicas: int
    runtime: str
    image: str
    args: list[str]
    env: dict[str, str]
    port: int
    model: str
    model_repository: str | None
    model_credentials: str | None
    gpu_count: int | None
    mig_profile: str | None
    slice: str


class SiteState(_State):
    name: str
    carrier: str
    tier: str
    region: str
    rtt_ms: float
    kubeconfig_ref: str | None
    gpu_operator: str
    # The cluster as kubeadm formed it, and its networking add-ons (name -> release).
    pod_subnet: str
    service_subnet: str
    api_endpoint: str | None
    cni: str
    addons: dict[str, str]
    # In the blueprint's order, which the lock keeps (its keys are sorted, lists are not): the
    # first control plane is where `kubeadm init` ran.
    nodes: list[NodeState]
    workloads: dict[str, WorkloadState]
    # The mirrors of the site's carrier (blueprint `carriers`); None: the grid's (GridState.mirrors).
    # Last and defaulted, so a lock written before carriers had mirrors still reads.
    mirrors: dict[str, str | None] | None = None

    def node(self, hostname: str) -> NodeState | None:
        return next((node for node in self.nodes if node.hostname == hostname), None)


class GridState(_State):
    version: Literal[1] = STATE_VERSION
    name: str
    carrier: str
    mirrors: dict[str, str | None]
    sites: list[SiteState]

    def site(self, name: str) -> SiteState | None:
        return next((site for site in self.sites if site.name == name), None)


def _node(plan: Plan, node: NodePlan) -> NodeState:
    stack = plan.stack
    slices = {s.name: s for s in plan.slices}
    return NodeState(
        hostname=node.hostname,
        role=node.role,
        address=node.address,
        os=stack.os,
        kubernetes=stack.kubernetes.version.removeprefix("v"),
        container_runtime=stack.container_runtime.version,
        container_toolkit=stack.container_toolkit.version,
        cdi=stack.container_toolkit.cdi,
        cuda=stack.cuda.version,
        # Installed by cuda_runtime, on GPU nodes only.
        cuda_patches=dict(stack.cuda.patches) if node.gpu_model else {},
        tensorrt=stack.tensorrt.version if stack.tensorrt else None,
        gpu_model=node.gpu_model,
        gpu_count=node.gpu_count,
        driver=DriverState(
            version=stack.driver.version,
            install=stack.driver.install,
            kernel_modules=stack.driver.kernel_modules,
        )
        if node.gpu_model
        else None,
        mig_strategy=stack.gpu_operator.mig_strategy if node.mig_config else None,
        mig_config=node.mig_config,
        mig_layout=dict(sorted(node.mig_layout.items())) if node.mig_layout else None,
        slice_interface=node.slice_interface,
        slices={
            s.name: SliceState(
                vlan=s.vlan,
                ipv4=s.ipv4,
                ipv6=s.ipv6,
                ipv4_network=s.ipv4_network,
                ipv6_network=s.ipv6_network,
                five_qi=slices[s.name].five_qi,
                priority=slices[s.name].priority,
                dscp=s.dscp,
                guaranteed_bps=s.guaranteed_bps,
                maximum_bps=s.maximum_bps,
            )
            for s in sorted(node.slices, key=lambda s: s.name)
        },
        labels=dict(sorted(node.labels.items())),
    )


def _workload(plan: Plan, workload: WorkloadPlan, site: SitePlan) -> WorkloadState:
    return WorkloadState(
        replicas=replicas_at(workload, site.name),
        runtime=workload.runtime,
        image=plan.image_at(site, workload),
        args=list(workload.args),
        env=dict(sorted(workload.env.items())),
        port=workload.port,
        model=f"{workload.model.name}:{workload.model.version}",
        model_repository=workload.model.repository,
        model_credentials=workload.model.credentials,
        gpu_count=workload.gpu_count,
        mig_profile=workload.mig_profile,
        slice=workload.slice,
    )


def _mirrors(stack: StackPlan) -> dict[str, str | None]:
    return dict(sorted(stack.mirrors.model_dump().items()))


def grid_state(plan: Plan, sites: Iterable[SiteState] | None = None) -> GridState:
    """The grid's state; `sites`: these site states instead of every site's (the lock file
    writes the grid's without them, then each site's in turn, so as not to hold them all)."""
    return GridState(
        name=plan.name,
        carrier=plan.carrier,
        mirrors=_mirrors(plan.stack),
        sites=list(site_states(plan) if sites is None else sites),
    )


def site_states(plan: Plan) -> Iterator[SiteState]:
    """Each site's state, in the plan's order, made as it is asked for."""
    for site in plan.sites:
        yield site_state(plan, site)


def site_state(plan: Plan, site: SitePlan) -> SiteState:
    """One site's state."""
    workloads = workloads_by_name(plan)
    return SiteState(
        name=site.name,
        carrier=site.carrier,
        tier=site.tier,
        region=site.region,
        rtt_ms=site.rtt_ms,
        kubeconfig_ref=site.kubeconfig_ref,
        gpu_operator=plan.stack.gpu_operator.version.removeprefix("v"),
        pod_subnet=site.cluster.pod_subnet,
        service_subnet=site.cluster.service_subnet,
        api_endpoint=site.cluster.endpoint,
        cni=f"{plan.stack.kubernetes.cni.plugin} {plan.stack.kubernetes.cni.version}",
        addons={addon.name: addon.version for addon in plan.stack.kubernetes.addons},
        nodes=[_node(plan, node) for node in site.nodes],
        workloads={
            name: _workload(plan, workloads[name], site)
            for name in sorted(site.workloads)
            if replicas_at(workloads[name], site.name) > 0
        },
        mirrors=_mirrors(site.carrier_stack.stack) if site.carrier_stack else None,
    )
