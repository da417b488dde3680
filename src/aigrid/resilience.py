"""The N-1 check: with any one site down, does every workload keep its SLO and its replicas?

The placement puts replicas only where the SLO holds, so what a lost site can break is the
count: the replicas left elsewhere must still be the number asked for, and with demand,
each source's region must still have the throughput for its rate. Replicas are not moved
after a loss here: the answer is what the grid as placed survives, before any rescheduling.
"""

from __future__ import annotations

from dataclasses import dataclass

from aigrid.placement import Placements
from aigrid.placement_demand import sources
from aigrid.placement_solver import GridPlacement


@dataclass(frozen=True)
class Broken:
    """A workload that no longer meets its need with one site down."""

    workload: str
    left: int
    required: int
    # Demand sources whose region falls short, with the requests/s it can still serve.
    sources: tuple[tuple[str, float, float], ...] = ()

    def describe(self) -> str:
        parts = [f"{self.left} of {self.required} replicas left"]
        parts += [f"{label} {served:g} of {rate:g} requests/s" for label, served, rate in self.sources]
        return f"{self.workload}: " + ", ".join(parts)


@dataclass(frozen=True)
class SiteLoss:
    site: str
    broken: tuple[Broken, ...]


def site_losses(placements: Placements, solution: GridPlacement) -> list[SiteLoss]:
    """For every site in blueprint order, the workloads its loss breaks (often none)."""
    bp = placements.blueprint
    losses = []
    for lost, site in enumerate(bp.sites):
        broken = []
        for workload in bp.workloads:
            placed = solution.workloads[workload.name]
            at = placed.per_site()
            left = placed.placed - at.get(lost, 0)
            short_sources = []
            if workload.demand is not None:
                throughput = workload.demand.per_replica
                for source in sources(placements, workload):
                    capacity = throughput * sum(n for s, n in at.items() if s in source.sites and s != lost)
                    if capacity + 1e-9 < source.rate:
                        short_sources.append((source.label, capacity, source.rate))
            if left < placed.required or short_sources:
                broken.append(Broken(workload.name, left, placed.required, tuple(short_sources)))
        losses.append(SiteLoss(site.name, tuple(broken)))
    return losses
