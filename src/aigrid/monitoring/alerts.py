"""A site's Prometheus rules, generated from its plan: GPU health per node, the MIG layout the
blueprint declares, and per workload a latency SLO burn-rate alert pair.

The returned groups are the `spec` of a PrometheusRule and, unchanged, a rule file that
`promtool check rules` and `promtool test rules` read. Each site's Prometheus sees only its
own cluster, so expressions select by node and Service; the carrier, site, tier, node,
workload and slice of an alert are static labels of its rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigrid.plan import NodePlan, SitePlan, WorkloadPlan

# Triton's only latency histogram (triton-inference-server/server docs/user_guide/metrics.md,
# "Histograms"): request to first response, in ms; for a model that is not decoupled the first
# response is the whole response. Enabled by --metrics-config histogram_latencies=true
# (catalog runtimes); nv_inference_request_duration_us is a counter of summed time and cannot
# say how many requests were slow.
LATENCY_HISTOGRAM = "nv_inference_first_response_histogram_ms"

# XIDs that mean the GPU, its memory or its link needs an operator, not an application fix
# (NVIDIA "XID Errors" guide, the XID catalogue): 48 double-bit ECC, 63/64 row remapping
# pending or failed, 74 NVLink error, 79 fallen off the bus, 92 high single-bit ECC rate,
# 94/95 contained/uncontained ECC error, 119/120 GSP firmware error. XIDs such as 13 or 31
# are raised by a faulty program and are left to the workload's own monitoring.
HARDWARE_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)
FALLEN_OFF_BUS_XID = 79

# Share of time clocks may be held down before it is worth a ticket. Thermal slowdown means
# cooling is failing (a datacentre GPU at its rated airflow does not reach it); power capping
# is how a GPU at full load keeps to its limit, so only a sustained share is reported.
THERMAL_THROTTLE_RATIO = 0.05
POWER_THROTTLE_RATIO = 0.25
# DCGM's violation counters count nanoseconds (monitoring/dcgm.py).
NANOSECONDS = 1_000_000_000


@dataclass(frozen=True)
class BurnWindow:
    long: str
    short: str
    burn_rate: float


# Multiwindow, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs", the
# recommended parameters): page when 2% of a 30-day budget goes in an hour or 5% in six hours,
# ticket when 10% goes in three days; the short window lets the alert stop soon after the
# burning does.
FAST_BURN = (BurnWindow("1h", "5m", 14.4), BurnWindow("6h", "30m", 6.0))
SLOW_BURN = (BurnWindow("3d", "6h", 1.0),)
WINDOWS = ("5m", "30m", "1h", "6h", "3d")
# The page threshold must stay below an error ratio of 1, or the fast alert can never fire.
HIGHEST_BURN_RATE = max(w.burn_rate for w in (*FAST_BURN, *SLOW_BURN))


def slo_error_ratio_rule(window: str) -> str:
    return f"aigrid:latency_slo_errors:ratio_rate{window}"


def _number(value: float) -> str:
    """A PromQL literal without float noise: 0.144, not 0.14400000000000002."""
    return f"{value:.10g}"


def le_pattern(slo_ms: float) -> str:
    """The `le` value of the bucket at the SLO, as a regular expression: Prometheus 3 writes
    a whole bound as 20.0 where Triton exposes 20 (Prometheus 3 migration guide, "le and
    quantile label values")."""
    text = _number(slo_ms)
    if "." in text or "e" in text:
        return text.replace(".", "\\\\.")
    return f"{text}(\\\\.0)?"


def _labels(site: SitePlan, **extra: str) -> dict[str, str]:
    return {"carrier": site.carrier, "site": site.name, "tier": site.tier, **extra}


def _alert(
    name: str, expr: str, labels: dict[str, str], summary: str, description: str, for_: str = ""
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = labels
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def _gpu_health(site: SitePlan) -> list[dict[str, Any]]:
    """Per-GPU alerts for the whole site (each series carries its Kubernetes node as `node`,
    from the exporter's ServiceMonitor) and one GPU-count alert per node with GPUs."""
    thermal = f"rate(DCGM_FI_DEV_THERMAL_VIOLATION[10m]) / {NANOSECONDS}"
    power = f"rate(DCGM_FI_DEV_POWER_VIOLATION[10m]) / {NANOSECONDS}"
    xids = " or ".join(f"DCGM_FI_DEV_XID_ERRORS == {xid}" for xid in HARDWARE_XIDS)
    rules = [
        _alert(
            "AigridGpuFallenOffBus",
            f"DCGM_FI_DEV_XID_ERRORS == {FALLEN_OFF_BUS_XID}",
            _labels(site, severity="critical"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} fell off the bus (XID 79)",
            "The driver lost the GPU; its workloads have failed. Drain the node, then reset or "
            "power-cycle the GPU.",
        ),
        _alert(
            "AigridGpuHardwareXid",
            f"({xids})",
            _labels(site, severity="warning"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} reported XID {{ $value }}",
            "A hardware, memory or link XID: look it up in NVIDIA's XID catalogue.",
        ),
        _alert(
            "AigridGpuDoubleBitEcc",
            "increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m]) > 0",
            _labels(site, severity="critical"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} had uncorrectable ECC errors",
            "Uncorrectable memory errors corrupt results; drain the node and reset the GPU so the "
            "bad row is remapped.",
        ),
        _alert(
            "AigridGpuRowRemapFailure",
            "DCGM_FI_DEV_ROW_REMAP_FAILURE > 0",
            _labels(site, severity="critical"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} could not remap a memory row",
            "The GPU has run out of spare rows: it needs replacing.",
        ),
        _alert(
            "AigridGpuRowRemapPending",
            "increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[1h]) > 0",
            _labels(site, severity="warning"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} remapped a row after an uncorrectable error",
            "The remapping takes effect at the next GPU reset: drain the node and reset the GPU.",
        ),
        _alert(
            "AigridGpuThermalThrottling",
            f"{thermal} > {_number(THERMAL_THROTTLE_RATIO)}",
            _labels(site, severity="warning"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} is slowed down by heat",
            f"Clocks were held down by temperature more than {THERMAL_THROTTLE_RATIO:.0%} of the last "
            "10 minutes: check the node's cooling and airflow.",
            for_="10m",
        ),
        _alert(
            "AigridGpuPowerThrottling",
            f"{power} > {_number(POWER_THROTTLE_RATIO)}",
            _labels(site, severity="warning"),
            "GPU {{ $labels.gpu }} on {{ $labels.node }} is held to its power limit",
            f"Clocks were held down by the power limit more than {POWER_THROTTLE_RATIO:.0%} of the "
            "last 10 minutes: latency suffers; check the power limit and the rack's supply.",
            for_="30m",
        ),
    ]
    for node_plan in site.nodes:
        if node_plan.gpu_count:
            rules.append(_gpu_count(site, node_plan))
        if node_plan.mig_layout:
            rules.extend(_mig_layout(site, node_plan))
    return rules


def _gpus_seen(node: NodePlan) -> str:
    """How many distinct GPUs the node's exporter reports, 0 when it reports none."""
    return f'count(count by (UUID) (DCGM_FI_DEV_GPU_TEMP{{node="{node.hostname}"}})) or vector(0)'


def _gpu_count(site: SitePlan, node: NodePlan) -> dict[str, Any]:
    return _alert(
        "AigridGpuMissing",
        f"({_gpus_seen(node)}) < {node.gpu_count}",
        _labels(site, node=node.hostname, severity="critical"),
        f"{node.hostname} reports {{{{ $value }}}} of its {node.gpu_count} GPUs",
        "A GPU fell off the bus or the driver lost it, or the node's DCGM exporter is down; "
        "the blueprint declares " + f"{node.gpu_count} {node.gpu_model} GPUs on this node.",
        for_="5m",
    )


def _mig_layout(site: SitePlan, node: NodePlan) -> list[dict[str, Any]]:
    """One alert per declared MIG profile: the exporter labels each GPU instance with its
    profile (GPU_I_PROFILE) and id (GPU_I_ID)."""
    assert node.mig_layout is not None
    rules = []
    for profile, per_gpu in sorted(node.mig_layout.items()):
        expected = per_gpu * node.gpu_count
        seen = (
            f"count(count by (gpu, GPU_I_ID) (DCGM_FI_DEV_FB_USED"
            f'{{node="{node.hostname}", GPU_I_PROFILE="{profile}"}})) or vector(0)'
        )
        rules.append(
            _alert(
                "AigridMigLayoutDrift",
                f"({seen}) != {expected}",
                _labels(site, node=node.hostname, mig_profile=profile, severity="warning"),
                f"{node.hostname} has {{{{ $value }}}} {profile} MIG instances, not {expected}",
                f"The blueprint's MIG layout ({node.mig_config}) gives {per_gpu} {profile} per GPU on "
                f"{node.gpu_count} GPUs; check the node's nvidia.com/mig.config.state label and the "
                "mig-manager's log.",
                for_="15m",
            )
        )
    return rules


def _selector(workload: WorkloadPlan, namespace: str) -> str:
    return f'namespace="{namespace}", service="{workload.name}"'


def _slo_rules(site: SitePlan, workload: WorkloadPlan, namespace: str) -> list[dict[str, Any]]:
    selector = _selector(workload, namespace)
    le = le_pattern(workload.slo_ms)
    labels = {"workload": workload.name, "slice": workload.slice}
    recorded = _labels(site, **labels)
    budget = 1 - workload.objective / 100
    rules: list[dict[str, Any]] = [
        {
            "record": slo_error_ratio_rule(window),
            "expr": (
                f'1 - sum(rate({LATENCY_HISTOGRAM}_bucket{{{selector}, le=~"{le}"}}[{window}]))'
                f" / sum(rate({LATENCY_HISTOGRAM}_count{{{selector}}}[{window}]))"
            ),
            "labels": recorded,
        }
        for window in WINDOWS
    ]

    def burning(windows: tuple[BurnWindow, ...]) -> str:
        match = f'{{workload="{workload.name}"}}'
        return " or ".join(
            f"({slo_error_ratio_rule(w.long)}{match} > {_number(w.burn_rate * budget)}"
            f" and {slo_error_ratio_rule(w.short)}{match} > {_number(w.burn_rate * budget)})"
            for w in windows
        )

    slo = f"{_number(workload.slo_ms)} ms"
    objective = f"{_number(workload.objective)}%"
    for name, windows, severity, pace in (
        ("AigridLatencySloFastBurn", FAST_BURN, "critical", "within hours"),
        ("AigridLatencySloSlowBurn", SLOW_BURN, "warning", "within the month"),
    ):
        rules.append(
            _alert(
                name,
                burning(windows),
                {**recorded, "severity": severity},
                f"{workload.name} is spending its latency error budget too fast",
                f"More than {100 - workload.objective:.3g}% of requests take over {slo} (objective "
                f"{objective}); at this pace the month's error budget is gone {pace}.",
            )
        )
    rules.append(
        _alert(
            "AigridLatencySloBucketMissing",
            f"sum(rate({LATENCY_HISTOGRAM}_count{{{selector}}}[30m])) > 0"
            f' unless count({LATENCY_HISTOGRAM}_bucket{{{selector}, le=~"{le}"}})',
            _labels(site, **labels, severity="warning"),
            f"{workload.name}'s latency histogram has no bucket at its {slo} SLO",
            f"The burn-rate alerts cannot see slow requests: add {_number(workload.slo_ms)} to the "
            f"buckets of {LATENCY_HISTOGRAM} in the model's config.pbtxt (model_metrics).",
            for_="30m",
        )
    )
    return rules


def rule_groups(
    site: SitePlan, workloads: list[WorkloadPlan], slice_namespace: Callable[[str], str]
) -> list[dict[str, Any]]:
    """The site's rule groups, for the workloads that run there; `slice_namespace` names the
    namespace of a slice."""
    groups = [{"name": f"aigrid-{site.name}-gpu-health", "rules": _gpu_health(site)}]
    slo: list[dict[str, Any]] = []
    for workload in workloads:
        if workload.metrics_port is not None:
            slo.extend(_slo_rules(site, workload, slice_namespace(workload.slice)))
    if slo:
        groups.append({"name": f"aigrid-{site.name}-latency-slo", "rules": slo})
    return groups
