"""Placement rules (AG309-AG313): why the solver cannot give a workload what it asks for,
and where it could not prove that what it gave is the best.

Each names the binding constraint: the SLO against the RTTs of the sites that have room,
the spread the sites within the SLO allow, a demand region without a site in reach, or the
site whose loss a grid that asks for `resilience: n-1` does not survive.
"""

from __future__ import annotations

from collections.abc import Iterable

from aigrid.model.blueprint import Workload
from aigrid.model.units import format_ms
from aigrid.placement_demand import required_replicas, sources
from aigrid.placement_solver import end_to_end_ms, within_slo
from aigrid.resilience import site_losses
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule


def _latency(ctx: Context, site: int, workload: Workload) -> str:
    rtt = ctx.blueprint.sites[site].rtt
    return f"{ctx.blueprint.sites[site].name} {format_ms(end_to_end_ms(rtt, workload))}"


@rule(
    Code.SLO_CAPACITY_EXCEEDED,
    "The sites within a workload's SLO cannot hold the replicas it needs",
    bad="replicas: 4   # slo 15ms: the 5ms site holds 2; the 12ms site with room is over it",
    good="replicas: 2  # or relax the SLO, or add GPUs to the sites within it",
)
def slo_capacity(ctx: Context) -> Iterable[Finding]:
    """The workload's sites have room for its replicas in all, but the ones close enough to
    meet its SLO (RTT + network budget + inference) do not. The finding lists the sites
    within the SLO with their room, and the sites with room beyond it with the latency they
    would give. With `demand`, the replicas needed are the total rate over `perReplica`."""
    placements = ctx.placements
    for index, workload in enumerate(ctx.blueprint.workloads):
        selected = placements.eligible(workload)
        if sum(placements.capacity(workload, i) for i in selected) < workload.replicas:
            continue  # AG303 / AG304: not even the whole placement has room
        within = within_slo(placements, workload)
        if not within:
            continue  # AG301: no eligible site meets the SLO at all
        room = sum(placements.capacity(workload, i) for i in within)
        needed = required_replicas(workload)
        if room >= needed:
            continue
        beyond = [i for i in selected if i not in within]
        sites = ctx.blueprint.sites
        inside = ", ".join(f"{sites[i].name} {placements.capacity(workload, i)}" for i in within)
        outside = ", ".join(_latency(ctx, i, workload) for i in beyond[:5]) or "none"
        yield Finding(
            ("workloads", index, "demand" if workload.demand else "replicas"),
            f"workload {workload.name} needs {needed} replicas but the sites within its "
            f"{format_ms(workload.latency.slo)} SLO hold {room} ({inside}); sites with room beyond "
            f"the SLO: {outside}",
            "add GPUs to the sites within the SLO, lower the replicas or demand, or relax the SLO",
        )


@rule(
    Code.SPREAD_UNREACHABLE,
    "Fewer sites meet a workload's SLO than its placement asks to spread over",
    bad="placement: {minSites: 3}   # two sites carry the slice within the SLO",
    good="placement: {minSites: 2}",
)
def spread_reachable(ctx: Context) -> Iterable[Finding]:
    """`placement.minSites` spreads a workload's replicas over at least that many sites, so
    the loss of one does not take all of it. The sites must match the placement, carry the
    slice, have the GPUs and meet the SLO; and each needs at least one replica, so
    `replicas` (or the demand) must be at least `minSites` too."""
    for index, workload in enumerate(ctx.blueprint.workloads):
        wanted = workload.placement.min_sites
        if not wanted:
            continue
        within = within_slo(ctx.placements, workload)
        replicas = required_replicas(workload)
        if len(within) >= wanted and replicas >= wanted:
            continue
        names = ", ".join(ctx.blueprint.sites[i].name for i in within) or "none"
        yield Finding(
            ("workloads", index, "placement", "minSites"),
            f"workload {workload.name} asks for {wanted} sites; {len(within)} meet its SLO ({names}) "
            f"and it has {replicas} replicas",
            "lower minSites, widen the placement, carry the slice on more sites, or add replicas",
        )


@rule(
    Code.DEMAND_UNSERVABLE,
    "Requests come from a region where no site can serve the workload within its SLO",
    bad="demand: {perReplica: 50, sources: [{region: north, rate: 100}]}\n"
    "# no site in north carries the slice",
    good="demand: {perReplica: 50, sources: [{region: south, rate: 100}]}",
)
def demand_servable(ctx: Context) -> Iterable[Finding]:
    """A demand source (a region, or a site standing for its region) is served by the sites
    of its region, since a site's RTT is measured from the radio area it serves. When none
    of them matches the placement, carries the slice, has the GPUs and meets the SLO, its
    requests cannot be served at the edge."""
    for index, workload in enumerate(ctx.blueprint.workloads):
        if workload.demand is None:
            continue
        within = set(within_slo(ctx.placements, workload))
        for number, source in enumerate(sources(ctx.placements, workload)):
            if not source.sites or within.intersection(source.sites):
                continue  # served; or an unknown region or site, which is AG015's
            region = ", ".join(_latency(ctx, i, workload) for i in source.sites[:5])
            yield Finding(
                ("workloads", index, "demand", "sources", number),
                f"workload {workload.name}: no eligible site of {source.label} meets the "
                f"{format_ms(workload.latency.slo)} SLO (its sites with their latency: {region})",
                "place the workload on a site of that region that carries its slice and is close "
                "enough, or relax the SLO",
            )


@rule(
    Code.SITE_LOSS_UNSURVIVABLE,
    "The grid asks for n-1 resilience but losing a site breaks a workload",
    bad="resilience: n-1\nworkloads: [{replicas: 2, placement: {sites: [edge-01]}}]",
    good="resilience: n-1\nworkloads: [{replicas: 2, placement: {sites: [edge-01, edge-02]}}]",
)
def site_loss_survivable(ctx: Context) -> Iterable[Finding]:
    """With `resilience: n-1`, the placement keeps enough replicas (and, with demand, enough
    throughput in each source's region) on the other sites to lose any one site and still
    meet every SLO. When the sites within the SLO cannot hold the spares, this names the
    site whose loss breaks which workload."""
    if ctx.blueprint.resilience != "n-1":
        return
    solution = ctx.placement_solution
    names = {w.name: i for i, w in enumerate(ctx.blueprint.workloads)}
    reported: set[str] = set()
    for loss in site_losses(ctx.placements, solution):
        for broken in loss.broken:
            placed = solution.workloads[broken.workload]
            if broken.workload in reported or placed.short or placed.unserved:
                continue  # the shortfall itself is AG306 / AG309's
            reported.add(broken.workload)
            yield Finding(
                ("workloads", names[broken.workload], "replicas"),
                f"losing site {loss.site} leaves {broken.describe()}",
                "add sites within the SLO with room for spare replicas, or add GPUs to them",
            )


@rule(
    Code.PLACEMENT_NOT_PROVEN,
    "The solver stopped short of proving a group of workloads' placement the best",
    bad="# 200 workloads placed by region only: every tier of a region competes for its sites",
    good="# placement.sites or placement.tier narrowed, so fewer workloads share each site",
)
def placement_proven(ctx: Context) -> Iterable[Finding]:
    """Workloads that share candidate sites are placed together, one mixed-integer program
    per group, each objective (replicas placed, n-1 spares, latency, GPUs used) with a fixed
    effort: a count of branch-and-bound nodes, so the same blueprint gives the same placement
    on any machine. Where the effort runs out, the best placement found is kept: it meets
    every requirement that no error of the same validation names, but one with lower latency
    or fewer GPUs may exist. The finding gives HiGHS's relative gap to the best bound it
    proved, per objective. The earliest-site preference, a tie-break, is not reported."""
    names = {w.name: i for i, w in enumerate(ctx.blueprint.workloads)}
    for group in ctx.placement_solution.unproven:
        gaps = group.reported()
        if not gaps:
            continue
        shown = ", ".join(group.workloads[:5]) + (
            f" and {len(group.workloads) - 5} more" if len(group.workloads) > 5 else ""
        )
        objectives = ", ".join(f"{objective} within {gap}" for objective, gap in gaps.items())
        yield Finding(
            ("workloads", names[group.workloads[0]]),
            f"the placement of {shown} (workloads that share sites) was not proven the best: "
            f"the solver's effort ran out with {objectives} of the best bound it proved",
            "narrow the workloads' placement (sites, tier, region) so that fewer share sites, "
            "or accept it: the placement meets every requirement and is the same on every run",
        )
