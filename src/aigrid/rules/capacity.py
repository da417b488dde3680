"""Capacity and latency rules (AG3xx): can each workload run where it may, within its latency target."""

from __future__ import annotations

from collections.abc import Iterable

from aigrid.diagnostics import Severity
from aigrid.model.blueprint import Workload
from aigrid.model.units import format_ms
from aigrid.placement_demand import required_replicas, sources
from aigrid.placement_solver import candidate_sites, end_to_end_ms, within_slo
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule

E, W = Severity.ERROR, Severity.WARNING


def _request(workload: Workload) -> str:
    if workload.gpu.mig is not None:
        return f"MIG {workload.gpu.mig}"
    return f"{workload.gpu.count} GPU{'s' if workload.gpu.count != 1 else ''}"


def _known_slice(ctx: Context, workload: Workload) -> bool:
    return any(s.name == workload.slice for s in ctx.blueprint.slices)


@rule(
    Code.LATENCY_SLO_UNREACHABLE,
    "No site a workload may run on meets its latency target",
    bad="latency: {slo: 10ms, inference: 8ms}\n# only sites with rtt 12ms carry its slice",
    good="latency: {slo: 25ms, inference: 8ms}",
)
def latency_reachable(ctx: Context) -> Iterable[Finding]:
    """A request's latency is at least the site's round-trip time from the radio area, plus
    the workload's network budget (`latency.network`), plus the model's inference time on
    its GPU. If that sum exceeds the SLO at every eligible
    site, no placement can honour it. Sites are eligible when they match the placement,
    carry the workload's slice and have the GPUs it asks for."""
    for index, workload in enumerate(ctx.blueprint.workloads):
        sites = ctx.placements.by_workload[workload.name]
        if not sites:
            continue
        best = min(sites, key=lambda site: site.rtt)
        total = end_to_end_ms(best.rtt, workload)
        network = workload.latency.network
        if total > workload.latency.slo:
            yield Finding(
                ("workloads", index, "latency", "slo"),
                f"workload {workload.name}: best eligible site {best.name} gives {format_ms(best.rtt)} RTT + "
                + (f"{format_ms(network)} network + " if network else "")
                + f"{format_ms(workload.latency.inference)} inference = {format_ms(total)}, over the "
                f"{format_ms(workload.latency.slo)} SLO",
                "place it on closer sites (lower rtt), use a faster GPU, or relax the SLO",
            )


@rule(
    Code.PDB_EXCEEDS_SLO,
    "The slice's 5QI packet delay budget alone exceeds the workload's SLO",
    bad="slices: [{name: video, 5qi: 9}]   # PDB 300ms\nworkloads: [{slice: video, latency: {slo: 50ms}}]",
    good="slices: [{name: ar, 5qi: 80}]    # PDB 10ms",
)
def pdb_within_slo(ctx: Context) -> Iterable[Finding]:
    """The 5QI's packet delay budget is what the 5G network promises between the device and
    the UPF. If it exceeds the SLO, the network does not promise the latency the workload
    needs, even if the edge site is close: pick a 5QI whose budget fits."""
    qos = {s.name: ctx.catalog.five_qi.get(s.five_qi) for s in ctx.blueprint.slices}
    for index, workload in enumerate(ctx.blueprint.workloads):
        qi = qos.get(workload.slice)
        if qi is not None and qi.pdb_ms > workload.latency.slo:
            yield Finding(
                ("workloads", index, "slice"),
                f"workload {workload.name}: slice {workload.slice} has 5QI {qi.qi} with a {qi.pdb_ms}ms "
                f"packet delay budget, over the {format_ms(workload.latency.slo)} SLO",
                "use a slice whose 5QI delay budget is within the SLO (e.g. 80, 82-86)",
            )


@rule(
    Code.GPU_CAPACITY_EXCEEDED,
    "A workload asks for more whole GPUs than its sites have",
    bad="gpu: {count: 2}\nreplicas: 4\n# eligible sites: one node with 4 GPUs",
    good="gpu: {count: 2}\nreplicas: 2",
)
def gpu_capacity(ctx: Context) -> Iterable[Finding]:
    """Each replica needs `gpu.count` whole GPUs on a single node (GPUs without a MIG
    layout). The replicas must fit on the nodes of the sites the workload may run on."""
    yield from _capacity(ctx, mig=False)


@rule(
    Code.MIG_CAPACITY_EXCEEDED,
    "A workload asks for more MIG instances than its sites offer",
    bad="gpu: {mig: 3g.40gb}\nreplicas: 3\n# eligible: one H100 with all-balanced (one 3g.40gb)",
    good="gpu: {mig: 3g.40gb}\nreplicas: 1",
)
def mig_capacity(ctx: Context) -> Iterable[Finding]:
    """Each replica needs one instance of its MIG profile; the nodes' MIG layouts on the
    sites the workload may run on must offer at least `replicas` of them."""
    yield from _capacity(ctx, mig=True)


def _capacity(ctx: Context, mig: bool) -> Iterable[Finding]:
    for index, workload in enumerate(ctx.blueprint.workloads):
        if (workload.gpu.mig is not None) != mig:
            continue
        selected = ctx.placements.selected(workload)
        if not selected:
            continue
        available = sum(ctx.placements.capacity(workload, site) for site in selected)
        if available < workload.replicas:
            names = ", ".join(ctx.blueprint.sites[i].name for i in selected[:5])
            more = f" and {len(selected) - 5} more" if len(selected) > 5 else ""
            yield Finding(
                ("workloads", index, "replicas"),
                f"workload {workload.name}: {workload.replicas} replicas x {_request(workload)} but its "
                f"sites ({names}{more}) have room for {available}",
                "lower replicas, widen the placement, or add GPUs" + (" / MIG instances" if mig else ""),
            )


@rule(
    Code.NO_ELIGIBLE_SITE,
    "No site matches a workload's placement and carries its slice",
    bad="placement: {tiers: [far-edge]}\nslice: urllc-robots   # no far-edge site carries it",
    good="placement: {tiers: [far-edge, edge]}",
)
def some_site_selected(ctx: Context) -> Iterable[Finding]:
    """A workload runs only on sites that match its placement (sites, tiers, regions) and
    carry its slice; with none it would never be scheduled."""
    for index, workload in enumerate(ctx.blueprint.workloads):
        if _known_slice(ctx, workload) and not ctx.placements.selected(workload):
            yield Finding(
                ("workloads", index, "placement"),
                f"workload {workload.name}: no site matches its placement and carries slice {workload.slice}",
                "widen the placement, or add the slice to a matching site",
            )


@rule(
    Code.SITE_GPUS_OVERSUBSCRIBED,
    "The workloads placed on a site together need more GPUs than it has",
    bad="# site edge-01: one node with 2 GPUs\nworkloads:\n  - {name: a, gpu: {count: 1}, replicas: 2}\n"
    "  - {name: b, gpu: {count: 1}, replicas: 1}",
    good="# site edge-01: one node with 4 GPUs, or fewer replicas",
)
def site_oversubscribed(ctx: Context) -> Iterable[Finding]:
    """The placement solver assigns every workload's replicas jointly, so two workloads
    never count the same GPU: each replica needs its whole GPUs on one node, or one
    instance of its MIG profile. When each workload would fit on its own but together they
    do not, some replicas find no GPU (they would stay Pending). The finding names the
    full sites within the workload's SLO and what the solver put on them."""
    solution = ctx.placement_solution
    sites = ctx.blueprint.sites
    for workload in ctx.blueprint.workloads:
        placed = solution.workloads[workload.name]
        full = candidate_sites(ctx.placements, workload)
        # Sources with no site in reach at all are AG311's.
        reachable = {s.label for s in sources(ctx.placements, workload) if set(s.sites) & set(full)}
        unserved = {label: rate for label, rate in placed.unserved.items() if label in reachable}
        if not (placed.short or unserved) or not full or _alone_short(ctx, workload):
            continue  # nothing missing, or a per-workload rule (AG303, AG304, AG309) says why
        used = ", ".join(f"{sites[i].name} ({_site_use(ctx, i)})" for i in full[:5])
        what = (
            f"{placed.short} of {placed.required} replicas find no free {_request(workload)}"
            if placed.short
            else f"{_rate(sum(unserved.values()))} requests/s from "
            f"{', '.join(sorted(unserved))} find no replica in their region"
        )
        yield Finding(
            ("sites", full[0], "name"),
            f"workload {workload.name}: {what}: its sites within the SLO are taken: {used}",
            "add GPUs to these sites, lower replicas, or place some workloads elsewhere",
        )


def _rate(value: float) -> str:
    return f"{value:g}"


def _alone_short(ctx: Context, workload: Workload) -> bool:
    """Whether the workload lacks room even with the grid to itself (its own rules say so)."""
    placements = ctx.placements
    selected = placements.selected(workload)
    if sum(placements.capacity(workload, i) for i in selected) < workload.replicas:
        return True
    within = within_slo(placements, workload)
    return sum(placements.capacity(workload, i) for i in within) < required_replicas(workload)


def _site_use(ctx: Context, site: int) -> str:
    """What the solver put on a site, e.g. `detector 2 x 1 GPU, tracker 1 x 1 GPU`."""
    parts = []
    for workload in ctx.blueprint.workloads:
        count = ctx.placement_solution.workloads[workload.name].per_site().get(site, 0)
        if count:
            parts.append(f"{workload.name} {count} x {_request(workload)}")
    return ", ".join(parts) or "nothing that fits"


@rule(
    Code.NO_CONTROL_PLANE,
    "A site has no control-plane node",
    bad="nodes:\n  - {hostname: gpu01, address: 192.0.2.11}",
    good="nodes:\n  - {hostname: cp01, role: control-plane, address: 192.0.2.10}\n"
    "  - {hostname: gpu01, address: 192.0.2.11}",
)
def control_plane_present(ctx: Context) -> Iterable[Finding]:
    """Every site is its own Kubernetes cluster: without a control-plane node there is no
    API server for its workers to join and nothing to apply the site's manifests to."""
    for index, site in enumerate(ctx.blueprint.sites):
        if not any(node.role == "control-plane" for node in site.nodes):
            yield Finding(
                ("sites", index, "nodes"),
                f"site {site.name} has no control-plane node",
                "give one node (three for high availability) `role: control-plane`",
            )


@rule(
    Code.EVEN_CONTROL_PLANE_COUNT,
    "A site has an even number of control-plane nodes",
    bad="# two nodes with role: control-plane",
    good="# one or three nodes with role: control-plane",
)
def control_plane_odd(ctx: Context) -> Iterable[Finding]:
    """The control plane's etcd needs a majority of its members to work: two members
    tolerate no failure (like one, with twice the chance of one failing) and four tolerate
    one (like three). Use an odd number: 1, 3 or 5."""
    for index, site in enumerate(ctx.blueprint.sites):
        count = sum(node.role == "control-plane" for node in site.nodes)
        if count and count % 2 == 0:
            yield Finding(
                ("sites", index, "nodes"),
                f"site {site.name} has {count} control-plane nodes: etcd tolerates no more failures "
                f"than with {count - 1}",
                f"use {count - 1} or {count + 1} control-plane nodes",
            )
