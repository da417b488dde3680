"""Demand: where a workload's requests come from, how many replicas serve them, and which
replica serves which request.

A source names a region, or a site standing for its site's region (RTTs are measured per
radio area); its requests go to replicas at sites of that region. Sources of one region
reach the same sites at the same latencies, so the placement program treats them as one
`RegionDemand`; the requests each original source gets back are shared out afterwards
(`serve`), closest replica first, which is how the program's latency objective counts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aigrid.model.blueprint import Workload
from aigrid.placement import Placements

# Requests/s below this are the solver's tolerances, not demand left unserved.
RATE_EPSILON = 1e-3


@dataclass(frozen=True)
class Source:
    """A demand source resolved to the sites that may serve it."""

    label: str
    rate: float
    sites: tuple[int, ...]


@dataclass(frozen=True)
class RegionDemand:
    """The requests/s of every source of one region, in whole replicas' worth (`full`) and
    the rest (`partial`, under one replica's throughput)."""

    sites: tuple[int, ...]
    rate: float
    full: int
    partial: float


def required_replicas(workload: Workload) -> int:
    """`replicas`, or more when the demand needs more replicas to serve it."""
    if workload.demand is None:
        return workload.replicas
    total = sum(source.rate for source in workload.demand.sources)
    return max(workload.replicas, math.ceil(total / workload.demand.per_replica - 1e-9))


def sources(placements: Placements, workload: Workload) -> list[Source]:
    """The workload's demand sources with the sites in their region (for a site: the site's
    region), or no sources without demand."""
    if workload.demand is None:
        return []
    sites = placements.blueprint.sites
    resolved = []
    for source in workload.demand.sources:
        if source.site is not None:
            origin = placements.site_index.get(source.site)
            region = sites[origin].region if origin is not None else None
            label = f"site {source.site}"
        else:
            region, label = source.region, f"region {source.region}"
        resolved.append(Source(label, source.rate, placements.region_sites(region)))
    return resolved


def regions(placements: Placements, workload: Workload) -> list[RegionDemand]:
    """The workload's demand summed per region, in the order the regions first appear."""
    assert workload.demand is not None
    throughput = workload.demand.per_replica
    rates: dict[tuple[int, ...], float] = {}
    for source in sources(placements, workload):
        rates[source.sites] = rates.get(source.sites, 0.0) + source.rate
    result = []
    for sites, rate in rates.items():
        full = math.floor(rate / throughput + 1e-9)
        partial = rate - full * throughput
        result.append(RegionDemand(sites, rate, full, partial if partial > RATE_EPSILON else 0.0))
    return result


def serve(
    placements: Placements, workload: Workload, replicas: dict[int, int]
) -> tuple[dict[str, dict[int, float]], dict[str, float]]:
    """Requests/s each source sends to each site, and what no replica in its region serves:
    sources in blueprint order fill their region's replicas, closest site first."""
    assert workload.demand is not None
    sites = placements.blueprint.sites
    room = {site: count * workload.demand.per_replica for site, count in replicas.items()}
    served: dict[str, dict[int, float]] = {}
    unserved: dict[str, float] = {}
    for source in sources(placements, workload):
        left = source.rate
        flows = served.setdefault(source.label, {})
        for site in sorted((s for s in source.sites if room.get(s)), key=lambda s: (sites[s].rtt, s)):
            if left <= RATE_EPSILON:
                break
            take = min(left, room[site])
            flows[site] = round(flows.get(site, 0.0) + take, 3)
            room[site] -= take
            left -= take
        if left > RATE_EPSILON:
            unserved[source.label] = round(unserved.get(source.label, 0.0) + left, 3)
    return served, unserved
