"""Where each workload may run: sites matching its placement, carrying its slice, with its GPUs.

Shared by the capacity and latency rules and by the plan, so the answer to "can this
workload run at that site" is computed in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from aigrid.catalog import Catalog
from aigrid.model.blueprint import Blueprint, Node, Site, Workload


@dataclass(frozen=True)
class NodeGpus:
    """The GPU resources one node offers to the scheduler."""

    whole: int = 0
    mig: Counter[str] = field(default_factory=Counter)

    def capacity_for(self, workload: Workload) -> int:
        """How many replicas of `workload` this node could hold on its own."""
        request = workload.gpu
        if request.mig is not None:
            return self.mig[request.mig]
        assert request.count is not None
        return self.whole // request.count


def share(replicas: int, sites: int, index: int) -> int:
    """The replicas the `index`-th closest of `sites` sites runs when `replicas` are spread
    evenly over them, the closest taking the remainder."""
    base, extra = divmod(replicas, sites)
    return base + (1 if index < extra else 0)


def node_gpus(node: Node, catalog: Catalog) -> NodeGpus:
    gpus = node.gpus
    if gpus is None:
        return NodeGpus()
    if gpus.mig is None:
        return NodeGpus(whole=gpus.count)
    layout = mig_layout(gpus.model, gpus.mig.layout, gpus.mig.profiles, catalog)
    if layout is None:
        return NodeGpus()
    return NodeGpus(mig=Counter({profile: count * gpus.count for profile, count in layout.items()}))


def mig_layout(
    model: str, layout: str | None, profiles: dict[str, int] | None, catalog: Catalog
) -> dict[str, int] | None:
    """The per-GPU instance counts a node's MIG setting asks for, or None if unknown."""
    if profiles is not None:
        return {name: count for name, count in profiles.items() if count > 0}
    gpu = catalog.gpus.get(model)
    family = catalog.mig_family(gpu) if gpu else None
    if family is None or layout is None:
        return None
    return family.named_layout(layout)


class Placements:
    """Candidate sites per workload, computed once per blueprint."""

    def __init__(self, blueprint: Blueprint, catalog: Catalog) -> None:
        self.blueprint = blueprint
        self.site_index = {site.name: i for i, site in enumerate(blueprint.sites)}
        self.node_gpus = [[node_gpus(node, catalog) for node in site.nodes] for site in blueprint.sites]
        self._slices = [set(site.slices) for site in blueprint.sites]
        self._capacity: dict[tuple[str | None, int | None, int], int] = {}
        self._selected: dict[str, list[int]] = {}
        self._regions: dict[str | None, tuple[int, ...]] = {}

    def selected(self, workload: Workload) -> list[int]:
        """Sites the workload's placement selects and that carry its slice."""
        if workload.name not in self._selected:
            self._selected[workload.name] = self._select(workload)
        return self._selected[workload.name]

    def _select(self, workload: Workload) -> list[int]:
        placement = workload.placement
        indices: Iterable[int]
        if placement.sites:
            indices = [self.site_index[name] for name in placement.sites if name in self.site_index]
        elif placement.regions:
            # Only the regions' own sites: on a large grid, a scan of every site per workload
            # is what placement would spend most of its time on.
            indices = sorted({i for region in placement.regions for i in self.region_sites(region)})
        else:
            indices = range(len(self.blueprint.sites))
        tiers, regions = set(placement.tiers), set(placement.regions)
        sites = self.blueprint.sites
        return [
            i
            for i in indices
            if (not tiers or sites[i].tier in tiers)
            and (not regions or sites[i].region in regions)
            and workload.slice in self._slices[i]
        ]

    def region_sites(self, region: str | None) -> tuple[int, ...]:
        """The sites of a region, in blueprint order (none for an unknown region)."""
        if not self._regions:
            for i, site in enumerate(self.blueprint.sites):
                self._regions[site.region] = (*self._regions.get(site.region, ()), i)
        return self._regions.get(region, ())

    def capacity(self, workload: Workload, site: int) -> int:
        # Workloads share a handful of request shapes; sites are many: cache per shape.
        key = (workload.gpu.mig, workload.gpu.count, site)
        if key not in self._capacity:
            self._capacity[key] = sum(node.capacity_for(workload) for node in self.node_gpus[site])
        return self._capacity[key]

    def eligible(self, workload: Workload) -> list[int]:
        """Selected sites that also have at least one node able to hold a replica."""
        return [i for i in self.selected(workload) if self.capacity(workload, i) > 0]

    @cached_property
    def by_workload(self) -> dict[str, list[Site]]:
        return {
            workload.name: [self.blueprint.sites[i] for i in self.eligible(workload)]
            for workload in self.blueprint.workloads
        }

    def serving(self, workload: Workload) -> list[int]:
        """Eligible sites within the workload's latency target, closest first: where its
        replicas run, spread over them with `share`."""
        sites = self.blueprint.sites
        within = [
            i
            for i in self.eligible(workload)
            if sites[i].rtt + workload.latency.inference <= workload.latency.slo
        ]
        return sorted(within, key=lambda i: (sites[i].rtt, sites[i].name))
