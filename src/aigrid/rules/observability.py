"""Observability rules (AG6xx): can the monitoring aigrid generates from the blueprint work."""

from __future__ import annotations

from collections.abc import Iterable

from aigrid.monitoring.alerts import HIGHEST_BURN_RATE
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule

# Above this objective the page-level burn rate (HIGHEST_BURN_RATE times the error budget)
# stays below an error ratio of 1, so the fast alert can fire at all: 100 * (1 - 1/14.4).
LOWEST_OBJECTIVE = 100 * (1 - 1 / HIGHEST_BURN_RATE)


@rule(
    Code.SLO_OBJECTIVE_OUT_OF_RANGE,
    "A workload's latency objective leaves no usable error budget",
    bad="latency: {slo: 20ms, inference: 8ms, objective: 90}",
    good="latency: {slo: 20ms, inference: 8ms, objective: 99.5}",
)
def slo_objective_in_range(ctx: Context) -> Iterable[Finding]:
    """`latency.objective` is the percent of requests that must be served within the SLO; the
    rest is the error budget the burn-rate alerts watch (docs/observability.md). At 100 there
    is no budget and every slow request is a breach. Below about 93.06 the fast alert's
    threshold (14.4 times the budget, Google SRE workbook "Alerting on SLOs") is above 100%
    slow requests, so it could never fire. Pick an objective above 93.06 and below 100, such
    as 99 (the default) or 99.9."""
    for index, workload in enumerate(ctx.blueprint.workloads):
        objective = workload.latency.objective
        if LOWEST_OBJECTIVE < objective < 100:
            continue
        lowest = f"{LOWEST_OBJECTIVE:.2f}"
        why = (
            "leaves no error budget"
            if objective >= 100
            else f"makes the fast burn-rate alert need over 100% slow requests (it needs above {lowest})"
        )
        yield Finding(
            ("workloads", index, "latency", "objective"),
            f"workload {workload.name}: latency objective {objective:g}% {why}",
            f"pick an objective above {LOWEST_OBJECTIVE:.2f} and below 100, such as 99 or 99.9",
        )
