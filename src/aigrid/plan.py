"""The resolved grid every renderer reads: per site its nodes, GPU layouts, slices with
derived QoS, and the workloads placed there. Renderers never re-derive what the plan knows.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Any

from pydantic import BaseModel, ConfigDict

from aigrid.catalog import Catalog, major_minor, version
from aigrid.model.blueprint import Blueprint, Node, Site, Slice
from aigrid.placement import Placements, mig_layout

# Slice addresses on nodes start after the first few, which networks keep for gateways.
FIRST_NODE_HOST = 10


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
    gpu_product_label: str | None
    mig_config: str | None
    mig_layout: dict[str, int] | None
    slices: list[NodeSlice]
    labels: dict[str, str]


class SitePlan(_Plan):
    name: str
    carrier: str
    tier: str
    region: str
    rtt_ms: float
    slices: list[str]
    nodes: list[NodePlan]
    workloads: list[str]


class WorkloadPlan(_Plan):
    name: str
    runtime: str
    image: str | None
    model: dict[str, Any]
    gpu_count: int | None
    mig_profile: str | None
    replicas: int
    slice: str
    sites: list[str]


class StackPlan(_Plan):
    os: str
    driver: dict[str, Any]
    cuda: dict[str, Any]
    tensorrt: dict[str, Any] | None
    container_runtime: dict[str, Any]
    container_toolkit: dict[str, Any]
    kubernetes: dict[str, Any]
    gpu_operator: dict[str, Any]
    mirrors: dict[str, Any]


class Plan(_Plan):
    name: str
    carrier: str
    stack: StackPlan
    slices: list[SlicePlan]
    sites: list[SitePlan]
    workloads: list[WorkloadPlan]

    @property
    def nodes(self) -> list[NodePlan]:
        return [node for site in self.sites for node in site.nodes]


def _major_minor(text: str) -> tuple[int, int]:
    """Major and minor of a version the validator has already accepted."""
    parsed = major_minor(text)
    assert parsed is not None, text
    return parsed


def _stack(bp: Blueprint, catalog: Catalog) -> StackPlan:
    stack = bp.stack
    driver = version(stack.driver.version)
    assert driver is not None
    cuda_major, cuda_minor = _major_minor(stack.cuda.version)
    k8s_major, k8s_minor = _major_minor(stack.kubernetes.version)
    containerd_major = _major_minor(stack.container_runtime.version)[0]
    operator = catalog.operator_release(stack.gpu_operator.version)
    trt = stack.tensorrt
    mirrors = stack.mirrors.model_dump(by_alias=True, exclude_none=True) if stack.mirrors else {}
    return StackPlan(
        os=stack.os,
        driver={
            "version": stack.driver.version,
            "branch": str(driver.major),
            "install": stack.driver.install,
            "kernel_modules": stack.driver.kernel_modules,
        },
        cuda={
            "version": stack.cuda.version,
            "major": cuda_major,
            "minor": cuda_minor,
            "package_suffix": f"{cuda_major}-{cuda_minor}",
        },
        tensorrt={"version": trt.version, "cuda": f"{cuda_major}.{cuda_minor}"} if trt else None,
        container_runtime={
            "name": stack.container_runtime.name,
            "version": stack.container_runtime.version,
            "config_version": catalog.containerd_config_version(containerd_major),
        },
        container_toolkit={"version": stack.container_toolkit.version, "cdi": stack.container_toolkit.cdi},
        kubernetes={
            "distribution": stack.kubernetes.distribution,
            "version": stack.kubernetes.version,
            "minor": f"{k8s_major}.{k8s_minor}",
        },
        gpu_operator={
            "version": stack.gpu_operator.version,
            "mig_strategy": stack.gpu_operator.mig_strategy,
            "operands": dict(operator.operands) if operator else {},
        },
        mirrors=mirrors,
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
    )


def _host_address(network: IPv4Network | IPv6Network | None, index: int) -> str | None:
    """The node's address on a slice: host FIRST_NODE_HOST + its position in the site."""
    if network is None:
        return None
    host = FIRST_NODE_HOST + index
    if host >= network.num_addresses - 1:
        return None
    return f"{network.network_address + host}/{network.prefixlen}"


def _node(
    site: Site,
    index: int,
    node: Node,
    slices: dict[str, Slice],
    plans: dict[str, SlicePlan],
    carrier: str,
    catalog: Catalog,
) -> NodePlan:
    gpus = node.gpus
    layout = (
        mig_layout(gpus.model, gpus.mig.layout, gpus.mig.profiles, catalog) if gpus and gpus.mig else None
    )
    mig_config = None
    if gpus and gpus.mig:
        mig_config = gpus.mig.layout or f"aigrid-{node.hostname}"
    gpu = catalog.gpus.get(gpus.model) if gpus else None
    node_slices = [
        NodeSlice(
            name=name,
            vlan=plans[name].vlan,
            interface=plans[name].interface,
            ipv4=_host_address(slices[name].ipv4, index),
            ipv6=_host_address(slices[name].ipv6, index),
            ipv4_network=plans[name].ipv4,
            ipv6_network=plans[name].ipv6,
            dscp=plans[name].dscp,
            guaranteed_bps=plans[name].guaranteed_bps,
            maximum_bps=plans[name].maximum_bps,
        )
        for name in site.slices
    ]
    labels = dict(node.labels)
    labels.update(
        {"aigrid.dev/site": site.name, "aigrid.dev/tier": site.tier, "aigrid.dev/region": site.region}
    )
    if gpus:
        labels["aigrid.dev/gpu-model"] = gpus.model
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
        gpu_product_label=gpu.product_names[0].replace(" ", "-") if gpu else None,
        mig_config=mig_config,
        mig_layout=layout,
        slices=node_slices,
        labels=dict(sorted(labels.items())),
    )


def build_plan(bp: Blueprint, catalog: Catalog) -> Plan:
    """Resolve a valid blueprint; call only after validation passed without errors."""
    placements = Placements(bp, catalog)
    default_carrier = bp.metadata.carrier or bp.metadata.name
    slice_plans = {s.name: _slice(s, catalog) for s in bp.slices}
    slices = {s.name: s for s in bp.slices}
    workloads = []
    for workload in bp.workloads:
        within = [bp.sites[i].name for i in placements.serving(workload)]
        workloads.append(
            WorkloadPlan(
                name=workload.name,
                runtime=workload.runtime,
                image=workload.image,
                model=workload.model.model_dump(exclude_none=True),
                gpu_count=workload.gpu.count,
                mig_profile=workload.gpu.mig,
                replicas=workload.replicas,
                slice=workload.slice,
                sites=within,
            )
        )
    site_plans = []
    for site in bp.sites:
        carrier = site.carrier or default_carrier
        site_plans.append(
            SitePlan(
                name=site.name,
                carrier=carrier,
                tier=site.tier,
                region=site.region,
                rtt_ms=site.rtt,
                slices=list(site.slices),
                nodes=[
                    _node(site, i, node, slices, slice_plans, carrier, catalog)
                    for i, node in enumerate(site.nodes)
                ],
                workloads=[w.name for w in workloads if site.name in w.sites],
            )
        )
    return Plan(
        name=bp.metadata.name,
        carrier=default_carrier,
        stack=_stack(bp, catalog),
        slices=list(slice_plans.values()),
        sites=site_plans,
        workloads=workloads,
    )
