"""The grid's Grafana dashboard: GPUs per site, utilisation, memory, errors, and per workload
its share of requests within the latency SLO against the objective.

Plain dashboard JSON (Grafana's dashboard model, schemaVersion below); tests/test_monitoring.py
round-trips it through Grafana's own dashboard types (grafana-foundation-sdk). Site, carrier
and tier come from the labels the ServiceMonitors add (k8s_objects), so one dashboard serves
every site's Prometheus.
"""

from __future__ import annotations

from typing import Any

from aigrid.monitoring.alerts import slo_error_ratio_rule
from aigrid.plan import Plan

# The dashboard JSON model version these panels are written for (Grafana 11).
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SITE = 'site=~"$site"'
PANEL_WIDTH = 12
PANEL_HEIGHT = 8


def _target(expr: str, legend: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": "A"}


def _panel(
    panel_id: int, kind: str, title: str, expr: str, legend: str, unit: str, **field: Any
) -> dict[str, Any]:
    column = (panel_id - 1) % 2
    row = (panel_id - 1) // 2
    return {
        "id": panel_id,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": PANEL_HEIGHT, "w": PANEL_WIDTH, "x": column * PANEL_WIDTH, "y": row * PANEL_HEIGHT},
        "targets": [_target(expr, legend)],
        "fieldConfig": {"defaults": {"unit": unit, **field}, "overrides": []},
    }


def _threshold(value: float) -> dict[str, Any]:
    """Red below the objective, green at or above it."""
    return {
        "mode": "absolute",
        "steps": [{"color": "red", "value": None}, {"color": "green", "value": value}],
    }


def dashboard(plan: Plan) -> dict[str, Any]:
    gpus = f"count by (site) (count by (site, node, UUID) (DCGM_FI_DEV_GPU_TEMP{{{SITE}}}))"
    panels = [
        _panel(1, "stat", "GPUs per site", gpus, "{{site}}", "none"),
        _panel(
            2,
            "timeseries",
            "GPU utilisation",
            f"avg by (site, node) (DCGM_FI_DEV_GPU_UTIL{{{SITE}}})",
            "{{site}} {{node}}",
            "percent",
            min=0,
            max=100,
        ),
        _panel(
            3,
            "timeseries",
            "GPU memory used",
            f"sum by (site, node) (DCGM_FI_DEV_FB_USED{{{SITE}}})",
            "{{site}} {{node}}",
            "decmbytes",
        ),
        _panel(
            4,
            "timeseries",
            "GPU errors (uncorrectable ECC, remapped rows, PCIe retries per hour)",
            f"sum by (site, node) (increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{{{SITE}}}[1h]))"
            f" + sum by (site, node) (increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS{{{SITE}}}[1h]))"
            f" + sum by (site, node) (increase(DCGM_FI_DEV_PCIE_REPLAY_COUNTER{{{SITE}}}[1h]))",
            "{{site}} {{node}}",
            "none",
        ),
    ]
    for workload in plan.workloads:
        if workload.metrics_port is None:
            continue
        ratio = slo_error_ratio_rule("5m")
        panels.append(
            _panel(
                len(panels) + 1,
                "timeseries",
                f"{workload.name}: requests within {workload.slo_ms:g} ms "
                f"(objective {workload.objective:g}%)",
                f'1 - {ratio}{{workload="{workload.name}", {SITE}}}',
                "{{site}}",
                "percentunit",
                min=0,
                max=1,
                thresholds=_threshold(workload.objective / 100),
                custom={"thresholdsStyle": {"mode": "line"}},
            )
        )
    return {
        "uid": f"aigrid-{plan.name}"[:40],
        "title": f"aigrid grid {plan.name}",
        "tags": ["aigrid", "gpu", "slo"],
        "timezone": "utc",
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
                {
                    "name": "site",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": "label_values(DCGM_FI_DEV_GPU_TEMP, site)",
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }
