"""Placement as a mixed-integer program, solved by HiGHS (highspy).

Every workload's replicas go to nodes (whole GPUs, or instances of its MIG profile) of the
sites it may use within its latency SLO, jointly for all workloads, so no two count the
same GPU. Objectives, most important first (HiGHS solves them lexicographically):

1. place every replica and serve every request (the shortfall is what the rules explain);
2. survive the loss of any one site, when the blueprint asks for `resilience: n-1`;
3. the lowest latency, weighted by demand (by replica without demand);
4. the fewest sites used, then 5. the fewest GPUs (MIG instances count one each);
6. a fixed preference for earlier sites and nodes, so ties always resolve the same way.

Workloads that can share no site never compete, so each group of workloads linked by shared
sites is solved on its own: on grids split by region this is the per-region decomposition,
and it is exact, not a heuristic.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np

from aigrid.model.blueprint import Workload
from aigrid.placement import Placements

# The objective priorities HiGHS takes (a larger value is optimised first).
_SHORTFALL, _RESILIENCE, _LATENCY, _SITES, _GPUS, _TIE_BREAK = 6, 5, 4, 3, 2, 1
# How far a later objective may move an earlier optimum, relative: above HiGHS's primal
# feasibility tolerance (1e-7), below any real difference in replicas or milliseconds.
_HOLD_TOLERANCE = 1e-6
# Requests/s below this are the solver's tolerances, not demand left unserved.
_RATE_EPSILON = 1e-3


def end_to_end_ms(rtt: float, workload: Workload) -> float:
    """The latency a request sees when served at a site with round-trip time `rtt`."""
    return rtt + workload.latency.network + workload.latency.inference


@dataclass(frozen=True)
class Source:
    """A demand source resolved to the sites that may serve it."""

    label: str
    rate: float
    sites: tuple[int, ...]


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


@dataclass
class GridPlacement:
    workloads: dict[str, WorkloadPlacement]
    groups: int


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
    bp = placements.blueprint
    by_name = {site.name: site for site in bp.sites}
    resolved = []
    for source in workload.demand.sources:
        if source.site is not None:
            origin = by_name.get(source.site)
            region, label = (origin.region if origin else None), f"site {source.site}"
        else:
            region, label = source.region, f"region {source.region}"
        within = tuple(i for i, site in enumerate(bp.sites) if site.region == region)
        resolved.append(Source(label, source.rate, within))
    return resolved


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
    for group in groups:
        result.update(_solve_group(placements, group, candidates, resilience))
    return GridPlacement({w.name: result[w.name] for w in bp.workloads}, len(groups))


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
        scopes: list[tuple[int, ...] | None] = [s.sites for s in sources(placements, workload)] or [None]
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


class _Program:
    """Columns and rows of a mixed-integer program, passed to HiGHS in one go."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.starts: list[int] = []
        self.indices: list[int] = []
        self.values: list[float] = []
        self.objectives: dict[int, dict[int, float]] = {}

    def column(self, upper: float, integer: bool = False, lower: float = 0.0) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.lower) - 1)
        return len(self.lower) - 1

    def row(
        self, terms: dict[int, float], lower: float = -highspy.kHighsInf, upper: float = highspy.kHighsInf
    ) -> None:
        self.row_lower.append(lower)
        self.row_upper.append(upper)
        self.starts.append(len(self.indices))
        for column, value in sorted(terms.items()):
            self.indices.append(column)
            self.values.append(value)

    def cost(self, priority: int, column: int, value: float) -> None:
        costs = self.objectives.setdefault(priority, {})
        costs[column] = costs.get(column, 0.0) + value

    def solve(self) -> list[float]:
        columns = len(self.lower)
        if columns == 0:
            return []
        with _quiet_stdout():
            # highspy prints its banner when the object is made, before any option applies.
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
        highs.silent()
        # One thread and a fixed seed: the same program gives the same solution every run.
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("random_seed", 0)
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.addCols(
            columns,
            np.zeros(columns),
            np.array(self.lower),
            np.array(self.upper),
            0,
            np.array([], dtype=np.int32),
            np.array([], dtype=np.int32),
            np.array([], dtype=np.float64),
        )
        if self.integer:
            highs.changeColsIntegrality(
                len(self.integer),
                np.array(self.integer, dtype=np.int32),
                np.full(len(self.integer), highspy.HighsVarType.kInteger.value, dtype=np.uint8),
            )
        if self.row_lower:
            highs.addRows(
                len(self.row_lower),
                np.array(self.row_lower),
                np.array(self.row_upper),
                len(self.indices),
                np.array(self.starts, dtype=np.int32),
                np.array(self.indices, dtype=np.int32),
                np.array(self.values),
            )
        # Lexicographic by hand: optimise one objective, hold it (within a tolerance above
        # the solver's feasibility tolerance) as a row, go on with the next. HiGHS's own
        # lexicographic mode, and starting a stage from the last one's solution
        # (setSolution), declared some of these feasible programs infeasible (HiGHS 1.16).
        values: list[float] = []
        for _, costs in sorted(self.objectives.items(), reverse=True):
            indices = np.array(sorted(costs), dtype=np.int32)
            highs.changeColsCost(columns, np.arange(columns, dtype=np.int32), np.zeros(columns))
            highs.changeColsCost(len(indices), indices, np.array([costs[i] for i in indices]))
            highs.run()
            status = highs.getModelStatus()
            # Every requirement has its slack column, so each stage has a solution.
            assert status == highspy.HighsModelStatus.kOptimal, highs.modelStatusToString(status)
            values = list(highs.getSolution().col_value)
            best = highs.getInfo().objective_function_value
            highs.addRow(
                -highspy.kHighsInf,
                best + _HOLD_TOLERANCE * max(1.0, abs(best)),
                len(indices),
                indices,
                np.array([costs[i] for i in indices]),
            )
        return values


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _solve_group(
    placements: Placements, workloads: list[Workload], candidates: dict[str, list[int]], resilience: bool
) -> dict[str, WorkloadPlacement]:
    bp = placements.blueprint
    program = _Program()
    site_used: dict[int, int] = {}
    # (site, node) -> {gpu kind: [(column, amount)]}, kind "" for whole GPUs, else a MIG profile.
    node_use: dict[tuple[int, int], dict[str, list[tuple[int, float]]]] = {}
    columns: dict[str, dict[tuple[int, int], int]] = {}
    slack: dict[str, tuple[int, int | None]] = {}
    flows: dict[str, list[tuple[Source, dict[int, int], int]]] = {}
    order = sorted({site for w in workloads for site in candidates[w.name]})
    rank = {site: position for position, site in enumerate(order)}
    for workload in workloads:
        required = required_replicas(workload)
        sites = candidates[workload.name]
        kind = workload.gpu.mig or ""
        amount = float(workload.gpu.count or 1)
        x: dict[tuple[int, int], int] = {}
        for site in sites:
            for node, gpus in enumerate(placements.node_gpus[site]):
                capacity = gpus.capacity_for(workload)
                if capacity > 0:
                    column = program.column(capacity, integer=True)
                    x[(site, node)] = column
                    node_use.setdefault((site, node), {}).setdefault(kind, []).append((column, amount))
        columns[workload.name] = x
        short = program.column(required)
        program.row({**dict.fromkeys(x.values(), 1.0), short: 1.0}, lower=required)
        program.cost(_SHORTFALL, short, 1.0)
        resilience_short = None
        if resilience:
            resilience_short = program.column(required)
            program.cost(_RESILIENCE, resilience_short, 1.0)
            for lost in sites:
                program.row(
                    {
                        **{c: 1.0 for (s, _), c in x.items() if s != lost},
                        resilience_short: 1.0,
                        short: 1.0,
                    },
                    lower=required,
                )
        slack[workload.name] = (short, resilience_short)
        per_site: dict[int, list[int]] = {}
        for (site, _), column in x.items():
            per_site.setdefault(site, []).append(column)
        for site, site_columns in per_site.items():
            if site not in site_used:
                site_used[site] = program.column(1, integer=True)
                program.cost(_SITES, site_used[site], 1.0)
            bound = program_bound(program, site_columns)
            program.row({**dict.fromkeys(site_columns, 1.0), site_used[site]: -bound}, upper=0)
        for (site, node), column in x.items():
            program.cost(_GPUS, column, amount)
            program.cost(_TIE_BREAK, column, 1.0 + rank[site] + node / 1000.0)
        latency = {site: end_to_end_ms(bp.sites[site].rtt, workload) for site in per_site}
        if workload.demand is None and resilience_short is None:
            for (site, _), column in x.items():
                program.cost(_LATENCY, column, latency[site] / required)
        elif workload.demand is None:
            # With spares, the latency is that of the `required` replicas carrying the
            # traffic (the closest ones), not of every replica: spares cost GPUs, not latency.
            carrying = {}
            for site, site_columns in per_site.items():
                carrying[site] = program.column(program_bound(program, site_columns))
                program.row({carrying[site]: 1.0, **dict.fromkeys(site_columns, -1.0)}, upper=0)
                program.cost(_LATENCY, carrying[site], latency[site] / required)
            program.row({**dict.fromkeys(carrying.values(), 1.0), short: 1.0}, lower=required)
        else:
            flows[workload.name] = _demand_rows(
                program, placements, workload, per_site, latency, resilience_short, short
            )
        if workload.placement.min_sites:
            _spread_rows(program, per_site, workload.placement.min_sites)
    for (site, node), kinds in sorted(node_use.items()):
        gpus = placements.node_gpus[site][node]
        for kind, uses in sorted(kinds.items()):
            room = gpus.mig[kind] if kind else gpus.whole
            program.row(dict(uses), upper=room)
    values = program.solve()
    return {
        w.name: _read(w, values, columns[w.name], slack[w.name], flows.get(w.name, [])) for w in workloads
    }


def program_bound(program: _Program, columns: list[int]) -> float:
    """The most the columns can add up to."""
    return sum(program.upper[c] for c in columns)


def _demand_rows(
    program: _Program,
    placements: Placements,
    workload: Workload,
    per_site: dict[int, list[int]],
    latency: dict[int, float],
    resilience_short: int | None,
    short: int,
) -> list[tuple[Source, dict[int, int], int]]:
    """Requests flow from each source to the replicas of sites in its region; a site serves
    at most its replicas' throughput; the latency objective weighs each flow by its rate."""
    assert workload.demand is not None
    throughput = workload.demand.per_replica
    resolved = sources(placements, workload)
    total = sum(source.rate for source in resolved)
    inflow: dict[int, dict[int, float]] = {}
    result = []
    for source in resolved:
        unserved = program.column(source.rate)
        program.cost(_SHORTFALL, unserved, 1.0 / throughput)
        flow = {}
        for site in source.sites:
            if site in per_site:
                flow[site] = program.column(source.rate)
                inflow.setdefault(site, {})[flow[site]] = 1.0
                program.cost(_LATENCY, flow[site], latency[site] / total)
        served = {**dict.fromkeys(flow.values(), 1.0), unserved: 1.0}
        program.row(served, lower=source.rate, upper=source.rate)
        if resilience_short is not None:
            # Sized so the source's rate is still served with any one of its sites down; a
            # necessary condition where sources share sites, exact where they do not.
            for lost in flow:
                program.row(
                    {
                        **{c: throughput for s in flow if s != lost for c in per_site[s]},
                        resilience_short: throughput,
                        short: throughput,
                    },
                    lower=source.rate,
                )
        result.append((source, flow, unserved))
    for site, terms in inflow.items():
        program.row({**terms, **dict.fromkeys(per_site[site], -throughput)}, upper=0)
    return result


def _spread_rows(program: _Program, per_site: dict[int, list[int]], min_sites: int) -> None:
    hosts = []
    for site_columns in per_site.values():
        hosted = program.column(1, integer=True)
        program.row({**dict.fromkeys(site_columns, 1.0), hosted: -1.0}, lower=0)
        hosts.append(hosted)
    missing = program.column(min_sites)
    program.cost(_SHORTFALL, missing, 1.0)
    program.row({**dict.fromkeys(hosts, 1.0), missing: 1.0}, lower=min_sites)


def _read(
    workload: Workload,
    values: list[float],
    x: dict[tuple[int, int], int],
    slack: tuple[int, int | None],
    flows: list[tuple[Source, dict[int, int], int]],
) -> WorkloadPlacement:
    result = WorkloadPlacement(workload.name, required_replicas(workload))
    for key, column in sorted(x.items()):
        count = round(values[column])
        if count:
            result.nodes[key] = count
    result.short = max(0, result.required - result.placed)
    _, resilience_short = slack
    if resilience_short is not None:
        result.resilience_short = round(values[resilience_short])
    for source, flow, unserved in flows:
        if values[unserved] > _RATE_EPSILON:
            result.unserved[source.label] = round(values[unserved], 3)
        served = {site: round(values[c], 3) for site, c in sorted(flow.items()) if values[c] > _RATE_EPSILON}
        result.served[source.label] = served
    return result
