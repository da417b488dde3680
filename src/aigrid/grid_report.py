"""`aigrid report`: the grid at a glance, as one self-contained HTML page or as JSON.

The numbers (sites with their GPU and MIG use, each workload's latency budget beside the
cloud's, the N-1 table, the findings) are computed once in `report_data`; the HTML page
draws them with Vega-Lite charts built by Altair, with the Vega libraries inlined from
vl-convert so the page opens offline. The page itself is a Jinja2 template.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert

from aigrid.catalog import Catalog
from aigrid.diagnostics import Diagnostic
from aigrid.model.blueprint import Blueprint
from aigrid.placement import Placements
from aigrid.placement_solver import end_to_end_ms, solve
from aigrid.render import templates
from aigrid.resilience import site_losses

# Without a `cloud` in the blueprint: a central region at 100 ms, the middle of the 80-120 ms
# reported for the same model served from a centralized cloud region (carrier AI grid
# announcements, April 2026; shared/reference/5g-qos.md, "Latency reference points").
DEFAULT_CLOUD = ("central-cloud", 100.0)
TIER_ORDER = ["far-edge", "edge", "regional", "core"]
GEO = Path(__file__).resolve().parent / "geo"


def report_data(bp: Blueprint, catalog: Catalog, diagnostics: list[Diagnostic]) -> dict[str, Any]:
    placements = Placements(bp, catalog)
    solution = solve(placements)
    cloud_name, cloud_rtt = (bp.cloud.name, bp.cloud.rtt) if bp.cloud else DEFAULT_CLOUD
    sites = []
    for index, site in enumerate(bp.sites):
        offered = placements.node_gpus[index]
        mig_offered: dict[str, int] = {}
        for gpus in offered:
            for profile, count in gpus.mig.items():
                mig_offered[profile] = mig_offered.get(profile, 0) + count
        used_whole = 0
        mig_used: dict[str, int] = {}
        for workload in bp.workloads:
            count = solution.workloads[workload.name].per_site().get(index, 0)
            if workload.gpu.mig is not None:
                mig_used[workload.gpu.mig] = mig_used.get(workload.gpu.mig, 0) + count
            else:
                used_whole += count * (workload.gpu.count or 1)
        sites.append(
            {
                "name": site.name,
                "carrier": site.carrier or bp.metadata.carrier or bp.metadata.name,
                "tier": site.tier,
                "region": site.region,
                "lat": site.location.lat if site.location else None,
                "lon": site.location.lon if site.location else None,
                "rtt_ms": site.rtt,
                "gpus": sum(node.gpus.count for node in site.nodes if node.gpus),
                "whole_gpus": {"offered": sum(g.whole for g in offered), "used": used_whole},
                "mig": {
                    profile: {"offered": mig_offered.get(profile, 0), "used": mig_used.get(profile, 0)}
                    for profile in sorted(set(mig_offered) | set(mig_used))
                },
            }
        )
    workloads = []
    for workload in bp.workloads:
        placed = solution.workloads[workload.name]
        per_site = placed.per_site()
        count = sum(per_site.values())
        rtt = sum(bp.sites[s].rtt * n for s, n in per_site.items()) / count if count else None
        cloud_total = end_to_end_ms(cloud_rtt, workload)
        workloads.append(
            {
                "name": workload.name,
                "slo_ms": workload.latency.slo,
                "network_ms": workload.latency.network,
                "inference_ms": workload.latency.inference,
                "replicas": {"required": placed.required, "placed": placed.placed},
                "sites": {bp.sites[s].name: n for s, n in sorted(per_site.items())},
                "edge": None
                if rtt is None
                else {"rtt_ms": round(rtt, 3), "total_ms": round(end_to_end_ms(rtt, workload), 3)},
                "cloud": {
                    "rtt_ms": cloud_rtt,
                    "total_ms": cloud_total,
                    "meets_slo": cloud_total <= workload.latency.slo,
                },
                "unserved": placed.unserved,
            }
        )
    losses = site_losses(placements, solution)
    return {
        "grid": bp.metadata.name,
        "resilience": bp.resilience,
        "cloud": {"name": cloud_name, "rtt_ms": cloud_rtt, "from_blueprint": bp.cloud is not None},
        "sites": sites,
        "workloads": workloads,
        # Groups of workloads sharing sites, one program each; those HiGHS's effort did not
        # prove (AG313), with the gap per objective the user weighs a placement by.
        "placement": {
            "groups": solution.groups,
            "unproven": [
                {"workloads": list(group.workloads), "gaps": gaps}
                for group in solution.unproven
                if (gaps := group.reported())
            ],
        },
        "n_minus_1": [
            {
                "site": loss.site,
                "broken": [
                    {
                        "workload": b.workload,
                        "replicas_left": b.left,
                        "replicas_required": b.required,
                        "sources": [{"source": s, "served": v, "rate": r} for s, v, r in b.sources],
                    }
                    for b in loss.broken
                ],
            }
            for loss in losses
        ],
        "findings": [d.to_dict() for d in diagnostics],
    }


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The Vega-Lite spec, checked against Vega-Lite's schema."""
    spec: dict[str, Any] = chart.to_dict(validate=True)
    return spec


def _map(data: dict[str, Any]) -> dict[str, Any]:
    located = [s for s in data["sites"] if s["lat"] is not None]
    points = alt.InlineData(
        values=[
            {k: s[k] for k in ("name", "carrier", "tier", "region", "gpus", "lat", "lon", "rtt_ms")}
            for s in located
        ]
    )
    # Sphere and graticule are generated by Vega itself, and the country outlines are inlined
    # from the package: nothing is fetched.
    sphere = alt.Chart(alt.sphere()).mark_geoshape(fill="#eef4f8")
    graticule = alt.Chart(alt.graticule(step=[30, 30])).mark_geoshape(stroke="#c8d4dc", strokeWidth=0.5)
    countries = alt.Chart(
        alt.InlineData(values=_countries(), format={"type": "topojson", "feature": "countries"})
    ).mark_geoshape(fill="#dde5d6", stroke="#98a68f", strokeWidth=0.4)
    sites = (
        alt.Chart(points)
        .mark_point(filled=True, opacity=0.85, stroke="#333", strokeWidth=0.5)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            size=alt.Size("gpus:Q", title="GPUs", scale=alt.Scale(range=[40, 600])),
            color=alt.Color("tier:N", scale=alt.Scale(domain=TIER_ORDER)),
            shape=alt.Shape("carrier:N"),
            tooltip=["name:N", "carrier:N", "tier:N", "region:N", "gpus:Q", "rtt_ms:Q"],
        )
    )
    chart = (sphere + graticule + countries + sites).properties(width=760, height=380).project("equalEarth")
    return _spec(chart)


@cache
def _countries() -> dict[str, Any]:
    """Natural Earth's 1:110m countries as TopoJSON (see geo/README.md for source and licence)."""
    topology: dict[str, Any] = json.loads((GEO / "countries-110m.json").read_text(encoding="utf-8"))
    return topology


def _gpu_use(data: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for site in data["sites"]:
        resources = {"whole GPUs": site["whole_gpus"]} | {f"MIG {p}": v for p, v in site["mig"].items()}
        for resource, use in resources.items():
            if use["offered"] or use["used"]:
                bar = f"{site['name']} · {resource}"
                free = max(use["offered"] - use["used"], 0)
                rows.append({"bar": bar, "site": site["name"], "state": "used", "n": use["used"]})
                rows.append({"bar": bar, "site": site["name"], "state": "free", "n": free})
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar()
        .encode(
            y=alt.Y("bar:N", sort=list(dict.fromkeys(row["bar"] for row in rows)), title=None),
            x=alt.X("n:Q", title="whole GPUs / MIG instances"),
            color=alt.Color(
                "state:N", scale=alt.Scale(domain=["used", "free"], range=["#d95f02", "#cfd8dc"])
            ),
            order=alt.Order("state:N", sort="descending"),
            tooltip=["bar:N", "state:N", "n:Q"],
        )
        .properties(width=560)
    )
    return _spec(chart)


def _latency(data: dict[str, Any]) -> dict[str, Any]:
    bars, slos = [], []
    cloud = data["cloud"]["name"]
    for workload in data["workloads"]:
        options = [("edge", workload["edge"]), (f"cloud ({cloud})", workload["cloud"])]
        for option, numbers in options:
            if numbers is None:
                continue
            label = f"{workload['name']} · {option}"
            for part, value in (
                ("RTT", numbers["rtt_ms"]),
                ("network", workload["network_ms"]),
                ("inference", workload["inference_ms"]),
            ):
                bars.append({"bar": label, "part": part, "ms": value})
            slos.append({"bar": label, "slo": workload["slo_ms"]})
    order = [row["bar"] for row in slos]
    y = alt.Y("bar:N", sort=order, title=None)
    stacked = (
        alt.Chart(alt.InlineData(values=bars))
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("ms:Q", title="milliseconds", stack="zero"),
            color=alt.Color("part:N", sort=["RTT", "network", "inference"]),
            order=alt.Order("part_order:Q"),
            tooltip=["bar:N", "part:N", "ms:Q"],
        )
        .transform_calculate(part_order="indexof(['RTT', 'network', 'inference'], datum.part)")
    )
    slo = (
        alt.Chart(alt.InlineData(values=slos))
        .mark_tick(color="black", thickness=2, size=18)
        .encode(y=y, x="slo:Q", tooltip=["bar:N", "slo:Q"])
    )
    return _spec((stacked + slo).properties(width=640))


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no `</script>` or comment opener can appear."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@cache
def _vega_bundle() -> str:
    # The libraries as globals for the page's own script; the text must not end the
    # <script> element early, so it may hold no `</script`.
    bundle = vl_convert.javascript_bundle(
        "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
    )
    assert "</script" not in bundle.lower()
    return bundle


def render_html(data: dict[str, Any]) -> str:
    charts = {
        "map": _map(data),
        "gpu-use": _gpu_use(data),
        "latency": _latency(data),
    }
    return (
        templates.environment(autoescape=True)
        .get_template("report/grid.html.j2")
        .render(
            data=data,
            unlocated=[s["name"] for s in data["sites"] if s["lat"] is None],
            charts={name: _script_json(spec) for name, spec in sorted(charts.items())},
            vega_bundle=_vega_bundle(),
        )
    )
