"""Placement as a mixed-integer program, solved by HiGHS (highspy).

Every workload's replicas go to nodes (whole GPUs, or instances of its MIG profile) of the
sites it may use within its latency SLO, jointly for all workloads, so no two count the
same GPU. Objectives, most important first (solved one after another, each held while
the next is optimised; see placement_program):

1. place every replica and serve every request (the shortfall is what the rules explain);
2. survive the loss of any one site, when the blueprint asks for `resilience: n-1`;
3. the lowest latency, weighted by demand (by replica without demand);
4. the fewest GPUs (MIG instances count one each);
5. earlier sites (then nodes) first, so ties always resolve the same way: replicas of equal
   latency gather on the earliest sites with room instead of scattering.

Workloads that can share no site never compete, so each group of workloads linked by shared
sites is solved on its own: on grids split by region this is the per-region decomposition,
and it is exact, not a heuristic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aigrid.model.blueprint import Workload
from aigrid.placement import Placements
from aigrid.placement_demand import regions, required_replicas, serve, sources
from aigrid.placement_program import Effort, Program

# The objective priorities HiGHS takes (a larger value is optimised first).
_SHORTFALL, _RESILIENCE, _LATENCY, _GPUS, _TIE_BREAK = 5, 4, 3, 2, 1
# The tie-break only orders placements that are equal in everything else: on contended grids
# HiGHS went on branching for thousands of nodes with its bound already at the solution.
_TIE_BREAK_EFFORT = Effort(nodes=200)


def end_to_end_ms(rtt: float, workload: Workload) -> float:
    """The latency a request sees when served at a site with round-trip time `rtt`."""
    return rtt + workload.latency.network + workload.latency.inference


@dataclass
class WorkloadPlacement:
    """Where one workload's replicas run and what could not be placed."""

    name: str
    required: int
    # (site index, node index) -> replicas on that node.
    nodes: dict[tuple[int, int], int] = field(default_factory=dict)
    short: int = 0
    # Replicas missing to survive the loss of the worst site (resilience n-1 only).
    resilience_short: int = 0
    # Requests per second no replica within the SLO serves, per source label.
    unserved: dict[str, float] = field(default_factory=dict)
    # Requests per second each site serves, per source label (demand only).
    served: dict[str, dict[int, float]] = field(default_factory=dict)

    def per_site(self) -> dict[int, int]:
        sites: dict[int, int] = {}
        for (site, _), count in sorted(self.nodes.items()):
            sites[site] = sites.get(site, 0) + count
        return sites

    @property
    def placed(self) -> int:
        return sum(self.nodes.values())


# The objectives a user weighs a placement by, as a finding names them (the tie-break, an
# earliest-site preference, is not one).
OBJECTIVES = {
    _SHORTFALL: "replicas placed",
    _RESILIENCE: "spares for n-1",
    _LATENCY: "latency",
    _GPUS: "GPUs used",
}


def gap_text(gap: float) -> str:
    """A relative gap as a finding and the report write it."""
    return "an unknown margin" if math.isinf(gap) else f"{gap:.1%}"


@dataclass(frozen=True)
class Unproven:
    """A group of workloads (linked by shared sites) whose placement HiGHS did not prove
    optimal: for each objective cut short by its effort (placement_program.Effort), the
    relative gap between the solution kept and the best bound proved."""

    workloads: tuple[str, ...]
    gaps: dict[int, float]

    def reported(self) -> dict[str, str]:
        """The gaps a user weighs the placement by (OBJECTIVES, in priority order), as text by
        objective; empty when only the tie-break was cut short."""
        return {
            OBJECTIVES[p]: gap_text(g) for p, g in sorted(self.gaps.items(), reverse=True) if p in OBJECTIVES
        }


@dataclass
class GridPlacement:
    workloads: dict[str, WorkloadPlacement]
    groups: int
    unproven: list[Unproven] = field(default_factory=list)

    @property
    def gap(self) -> float:
        """The largest gap of any objective of any group: 0 when every one was proven optimal."""
        return max((g for group in self.unproven for g in group.gaps.values()), default=0.0)


def within_slo(placements: Placements, workload: Workload) -> list[int]:
    """Eligible sites where a request meets the SLO, in blueprint order."""
    sites = placements.blueprint.sites
    return [
        i
        for i in placements.eligible(workload)
        if end_to_end_ms(sites[i].rtt, workload) <= workload.latency.slo
    ]


def solve(placements: Placements, resilience: bool | None = None) -> GridPlacement:
    """The joint placement of every workload of the blueprint."""
    bp = placements.blueprint
    if resilience is None:
        resilience = bp.resilience == "n-1"
    candidates = {w.name: candidate_sites(placements, w) for w in bp.workloads}
    for group in _groups(bp.workloads, candidates):
        _keep_closest(placements, group, candidates, resilience)
    result: dict[str, WorkloadPlacement] = {}
    groups = _groups(bp.workloads, candidates)
    unproven: list[Unproven] = []
    for group in groups:
        placed, gaps = _solve_group(placements, group, candidates, resilience)
        result.update(placed)
        if gaps:
            unproven.append(Unproven(tuple(w.name for w in group), gaps))
    return GridPlacement({w.name: result[w.name] for w in bp.workloads}, len(groups), unproven)


def _keep_closest(
    placements: Placements, group: list[Workload], candidates: dict[str, list[int]], resilience: bool
) -> None:
    """Drop the far candidate sites no optimal placement uses, so large grids stay small programs.

    A workload keeps its closest sites (per demand region, with demand) until they have room
    for every GPU the group could ask for of its kind, twice over, and a site more than its
    spread or n-1 needs. Then at least one kept site always has room for one more of its
    replicas, so a replica on a dropped, farther site could move closer: the latency
    objective never uses the dropped sites (equal-latency sites are kept in blueprint order).
    """
    sites = placements.blueprint.sites
    asked: dict[str, int] = {}
    for workload in group:
        kind = workload.gpu.mig or ""
        asked[kind] = asked.get(kind, 0) + required_replicas(workload) * (workload.gpu.count or 1)
    for workload in group:
        units = workload.gpu.count or 1
        room_needed = 2 * asked[workload.gpu.mig or ""]
        spread = (workload.placement.min_sites or 1) + (1 if resilience else 0)
        scopes: list[set[int] | None] = [set(s.sites) for s in sources(placements, workload)] or [None]
        kept: set[int] = set()
        for scope in scopes:
            ordered = sorted(
                (i for i in candidates[workload.name] if scope is None or i in scope),
                key=lambda i: (sites[i].rtt, i),
            )
            room = 0
            for count, site in enumerate(ordered):
                if room >= room_needed and count > spread:
                    break
                kept.add(site)
                room += placements.capacity(workload, site) * units
        candidates[workload.name] = [i for i in candidates[workload.name] if i in kept]


def candidate_sites(placements: Placements, workload: Workload) -> list[int]:
    """Sites within the SLO that may get replicas: with demand, only those of its regions."""
    sites = within_slo(placements, workload)
    if workload.demand is not None:
        reachable = {i for source in sources(placements, workload) for i in source.sites}
        sites = [i for i in sites if i in reachable]
    return sites


def _groups(workloads: list[Workload], candidates: dict[str, list[int]]) -> list[list[Workload]]:
    """Workloads linked by a shared candidate site (union-find), in blueprint order."""
    parent = list(range(len(workloads)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for index, workload in enumerate(workloads):
        for site in candidates[workload.name]:
            if site in owner:
                a, b = root(owner[site]), root(index)
                parent[max(a, b)] = min(a, b)
            else:
                owner[site] = index
    grouped: dict[int, list[Workload]] = {}
    for index, workload in enumerate(workloads):
        grouped.setdefault(root(index), []).append(workload)
    return [grouped[key] for key in sorted(grouped)]


@dataclass(frozen=True)
class Pool:
    """GPUs of one kind ("" for whole GPUs, else a MIG profile) that the program counts together.

    A site's nodes form one pool when every replica that may land there takes the same amount
    (a MIG instance, or the same number of whole GPUs): then any replica counts that fit the
    pool's total fit its nodes, bound first fit. Only where whole-GPU requests of different
    sizes meet at a site does each node count on its own. Pooling drops a column per node and
    the interchangeable nodes HiGHS would otherwise branch over."""

    site: int
    nodes: tuple[int, ...]
    kind: str
    # Whole GPUs per replica of every workload in a whole-GPU pool of the site's nodes;
    # None for a node on its own, where sizes differ.
    size: int | None = None

    def capacity(self, placements: Placements, workload: Workload) -> int:
        return sum(placements.node_gpus[self.site][n].capacity_for(workload) for n in self.nodes)

    def room(self, placements: Placements) -> int:
        """The pool's capacity in GPUs (whole) or instances (MIG)."""
        gpus = [placements.node_gpus[self.site][n] for n in self.nodes]
        if self.kind:
            return sum(g.mig[self.kind] for g in gpus)
        if self.size is None:
            return sum(g.whole for g in gpus)
        return sum(self.size * (g.whole // self.size) for g in gpus)


def _kind(workload: Workload) -> str:
    return workload.gpu.mig or ""


def _amount(workload: Workload) -> int:
    return workload.gpu.count or 1


def _pools(placements: Placements, workloads: list[Workload], candidates: dict[str, list[int]]) -> list[Pool]:
    """The pools of every candidate site of the group, in site, kind and node order."""
    asked: dict[tuple[int, str], set[int]] = {}
    for workload in workloads:
        for site in candidates[workload.name]:
            asked.setdefault((site, _kind(workload)), set()).add(_amount(workload))
    pools = []
    for (site, kind), sizes in sorted(asked.items()):
        nodes = range(len(placements.node_gpus[site]))
        if kind:
            pools.append(Pool(site, tuple(nodes), kind))
        elif len(sizes) == 1:
            pools.append(Pool(site, tuple(nodes), kind, sizes.pop()))
        else:
            pools.extend(Pool(site, (node,), kind) for node in nodes)
    return pools


def _solve_group(
    placements: Placements, workloads: list[Workload], candidates: dict[str, list[int]], resilience: bool
) -> tuple[dict[str, WorkloadPlacement], dict[int, float]]:
    bp = placements.blueprint
    program = Program()
    program.efforts[_TIE_BREAK] = _TIE_BREAK_EFFORT
    pools = _pools(placements, workloads, candidates)
    pool_use: dict[Pool, list[tuple[int, float]]] = {}
    columns: dict[str, dict[Pool, int]] = {}
    slack: dict[str, tuple[int, int | None]] = {}
    # Whole numbers, so HiGHS knows the tie-break's optimum is found once its bound is within 1.
    rank = {place: position for position, place in enumerate(sorted({(p.site, p.nodes[0]) for p in pools}))}
    for workload in workloads:
        required = required_replicas(workload)
        sites = set(candidates[workload.name])
        amount = float(_amount(workload))
        x: dict[Pool, int] = {}
        for pool in pools:
            if pool.site in sites and pool.kind == _kind(workload):
                # More than `required` replicas on one site never helps: not the count, not
                # the demand, and with any other site lost that site alone already suffices.
                capacity = min(pool.capacity(placements, workload), required)
                if capacity > 0:
                    x[pool] = program.column(capacity, integer=True)
                    pool_use.setdefault(pool, []).append((x[pool], amount))
        columns[workload.name] = x
        short = program.column(required)
        program.row({**dict.fromkeys(x.values(), 1.0), short: 1.0}, lower=required)
        program.cost(_SHORTFALL, short, 1.0)
        resilience_short = None
        if resilience:
            resilience_short = program.column(required)
            program.cost(_RESILIENCE, resilience_short, 1.0)
            for lost in sorted({pool.site for pool in x}):
                program.row(
                    {
                        **{c: 1.0 for pool, c in x.items() if pool.site != lost},
                        resilience_short: 1.0,
                        short: 1.0,
                    },
                    lower=required,
                )
        slack[workload.name] = (short, resilience_short)
        per_site: dict[int, list[int]] = {}
        for pool, column in x.items():
            per_site.setdefault(pool.site, []).append(column)
        for pool, column in x.items():
            program.cost(_GPUS, column, amount)
            program.cost(_TIE_BREAK, column, 1.0 + rank[(pool.site, pool.nodes[0])])
        latency = {site: end_to_end_ms(bp.sites[site].rtt, workload) for site in per_site}
        if workload.demand is None and resilience_short is None:
            for pool, column in x.items():
                program.cost(_LATENCY, column, latency[pool.site] / required)
        elif workload.demand is None:
            # With spares, the latency is that of the `required` replicas carrying the
            # traffic (the closest ones), not of every replica: spares cost GPUs, not latency.
            carrying = {}
            for site, site_columns in per_site.items():
                carrying[site] = program.column(program.bound(site_columns))
                program.row({carrying[site]: 1.0, **dict.fromkeys(site_columns, -1.0)}, upper=0)
                program.cost(_LATENCY, carrying[site], latency[site] / required)
            program.row({**dict.fromkeys(carrying.values(), 1.0), short: 1.0}, lower=required)
        else:
            _demand_rows(program, placements, workload, per_site, latency, resilience_short, short)
        if workload.placement.min_sites:
            _spread_rows(program, per_site, workload.placement.min_sites)
    for pool, uses in pool_use.items():
        program.row(dict(uses), upper=pool.room(placements))
    values = program.solve()
    counts = {
        pool: {w.name: round(values[columns[w.name][pool]]) for w in workloads if pool in columns[w.name]}
        for pool in pools
    }
    nodes = _bind(placements, workloads, counts)
    placed = {w.name: _read(placements, w, values, nodes[w.name], slack[w.name]) for w in workloads}
    return placed, {stage.priority: stage.gap for stage in program.stages if stage.gap > 0}


def _bind(
    placements: Placements, workloads: list[Workload], placed: dict[Pool, dict[str, int]]
) -> dict[str, dict[tuple[int, int], int]]:
    """Each pool's replicas on its nodes, first fit, workloads in blueprint order: the
    pool's room guarantees they fit (see Pool)."""
    by_name = {w.name: w for w in workloads}
    nodes: dict[str, dict[tuple[int, int], int]] = {w.name: {} for w in workloads}
    for pool, counts in placed.items():
        gpus = [placements.node_gpus[pool.site][n] for n in pool.nodes]
        free = [g.mig[pool.kind] if pool.kind else g.whole for g in gpus]
        for name, count in counts.items():
            take = 1 if pool.kind else _amount(by_name[name])
            for index, node in enumerate(pool.nodes):
                fits = min(count, free[index] // take)
                if fits:
                    key = (pool.site, node)
                    nodes[name][key] = nodes[name].get(key, 0) + fits
                    free[index] -= fits * take
                    count -= fits
            assert count == 0, f"{name}: {count} replicas left over in pool {pool}"
    return nodes


def _demand_rows(
    program: Program,
    placements: Placements,
    workload: Workload,
    per_site: dict[int, list[int]],
    latency: dict[int, float],
    resilience_short: int | None,
    short: int,
) -> None:
    """Each region's requests go to replicas at its sites. Served closest first, the
    closest replicas carry a full replica's throughput and one the rest (`partial`), so the
    program picks `full` full replicas and one partial one per region, at sites with that
    many replicas, and weighs each by the requests it carries. This counts the same latency
    as requests flowing to replicas, without the fractional replicas a flow lets the
    relaxation use, which left HiGHS branching for minutes on contended regions."""
    assert workload.demand is not None
    throughput = workload.demand.per_replica
    demand = regions(placements, workload)
    total = sum(region.rate for region in demand)
    for region in demand:
        within = [site for site in region.sites if site in per_site]
        carried: dict[int, dict[int, float]] = {site: {} for site in within}
        for count, load in ((region.full, throughput), (1, region.partial)):
            if not (count and load):
                continue
            missing = program.column(count, integer=True)
            program.cost(_SHORTFALL, missing, load / throughput)
            chosen = {}
            for site in within:
                chosen[site] = program.column(min(count, program.bound(per_site[site])), integer=True)
                carried[site][chosen[site]] = 1.0
                program.cost(_LATENCY, chosen[site], load * latency[site] / total)
            program.row({**dict.fromkeys(chosen.values(), 1.0), missing: 1.0}, lower=count, upper=count)
        for site in within:
            program.row({**carried[site], **dict.fromkeys(per_site[site], -1.0)}, upper=0)
        if resilience_short is not None:
            # With any one of its sites down, the region's replicas still carry its rate.
            for lost in within:
                program.row(
                    {
                        **{c: throughput for s in within if s != lost for c in per_site[s]},
                        resilience_short: throughput,
                        short: throughput,
                    },
                    lower=region.rate,
                )


def _spread_rows(program: Program, per_site: dict[int, list[int]], min_sites: int) -> None:
    hosts = []
    for site_columns in per_site.values():
        hosted = program.column(1, integer=True)
        program.row({**dict.fromkeys(site_columns, 1.0), hosted: -1.0}, lower=0)
        hosts.append(hosted)
    missing = program.column(min_sites)
    program.cost(_SHORTFALL, missing, 1.0)
    program.row({**dict.fromkeys(hosts, 1.0), missing: 1.0}, lower=min_sites)


def _read(
    placements: Placements,
    workload: Workload,
    values: list[float],
    nodes: dict[tuple[int, int], int],
    slack: tuple[int, int | None],
) -> WorkloadPlacement:
    result = WorkloadPlacement(workload.name, required_replicas(workload))
    result.nodes = {key: count for key, count in sorted(nodes.items()) if count}
    result.short = max(0, result.required - result.placed)
    _, resilience_short = slack
    if resilience_short is not None:
        result.resilience_short = round(values[resilience_short])
    if workload.demand is not None:
        result.served, result.unserved = serve(placements, workload, result.per_site())
    return result
