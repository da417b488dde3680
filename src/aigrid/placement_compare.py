"""The greedy placement aigrid used before the solver, and the yardstick both are measured by.

Greedy: each workload on its own, spread evenly over the sites within its SLO, closest
first (`Placements.serving` and `share`), whatever other workloads took. Kept as the
baseline of benchmarks/placement_scale.py and of the tests that show where it fails.

The yardstick schedules a placement's replicas onto nodes as a scheduler would, first fit
in blueprint order: a replica without a free GPU on its site stays Pending. A workload is
placed when all the replicas it needs run; its SLO is violated when requests from a demand
region find no running replica in that region (they would travel to one farther away).
"""

from __future__ import annotations

from dataclasses import dataclass

from aigrid.placement import Placements, share
from aigrid.placement_demand import required_replicas, sources
from aigrid.placement_solver import GridPlacement, end_to_end_ms

# workload name -> site index -> replicas
SitePlacement = dict[str, dict[int, int]]


def greedy(placements: Placements) -> SitePlacement:
    result: SitePlacement = {}
    for workload in placements.blueprint.workloads:
        serving = placements.serving(workload)
        spread = {site: share(workload.replicas, len(serving), i) for i, site in enumerate(serving)}
        result[workload.name] = {site: n for site, n in spread.items() if n}
    return result


def from_solution(solution: GridPlacement) -> SitePlacement:
    return {name: placed.per_site() for name, placed in solution.workloads.items()}


def schedule(placements: Placements, placed: SitePlacement) -> SitePlacement:
    """The replicas that find a GPU when each is bound to the first node with room."""
    free_whole = [[gpus.whole for gpus in site] for site in placements.node_gpus]
    free_mig = [[gpus.mig.copy() for gpus in site] for site in placements.node_gpus]
    running: SitePlacement = {}
    for workload in placements.blueprint.workloads:
        runs = running.setdefault(workload.name, {})
        for site, count in sorted(placed.get(workload.name, {}).items()):
            for _ in range(count):
                for node in range(len(free_whole[site])):
                    if workload.gpu.mig is not None:
                        if free_mig[site][node][workload.gpu.mig] > 0:
                            free_mig[site][node][workload.gpu.mig] -= 1
                            runs[site] = runs.get(site, 0) + 1
                            break
                    elif free_whole[site][node] >= (workload.gpu.count or 1):
                        free_whole[site][node] -= workload.gpu.count or 1
                        runs[site] = runs.get(site, 0) + 1
                        break
    return running


@dataclass(frozen=True)
class Measures:
    workloads: int
    placed: int
    slo_violations: int
    mean_latency_ms: float
    gpus: int
    mig_instances: int


def measure(placements: Placements, placed: SitePlacement) -> Measures:
    bp = placements.blueprint
    running = schedule(placements, placed)
    full = violations = gpus = instances = 0
    latencies = []
    for workload in bp.workloads:
        runs = running[workload.name]
        count = sum(runs.values())
        in_reach = True
        for source in sources(placements, workload):
            assert workload.demand is not None
            capacity = workload.demand.per_replica * sum(n for s, n in runs.items() if s in source.sites)
            in_reach = in_reach and capacity + 1e-9 >= source.rate
        if not in_reach:
            violations += 1
        if count >= required_replicas(workload) and in_reach:
            full += 1
        if count:
            total = sum(n * end_to_end_ms(bp.sites[s].rtt, workload) for s, n in runs.items())
            latencies.append(total / count)
        if workload.gpu.mig is not None:
            instances += count
        else:
            gpus += count * (workload.gpu.count or 1)
    mean = sum(latencies) / len(latencies) if latencies else 0.0
    return Measures(len(bp.workloads), full, violations, mean, gpus, instances)
