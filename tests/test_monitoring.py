"""The monitoring aigrid generates, checked by the tools that will read it: every site's rules
pass `promtool check rules`, and `promtool test rules` shows each alert firing on synthetic
series of its fault and every alert silent on a healthy site. The series are shaped as the
DCGM exporter (labels gpu, UUID, hostname, GPU_I_PROFILE, GPU_I_ID, and `node` from its
ServiceMonitor's relabeling) and a ServiceMonitor scrape of Triton (namespace, service)
expose them. The dashboard round-trips through Grafana's own dashboard types. promtool comes
from Debian's `prometheus` package (.ci/run).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from aigrid.catalog import catalog
from aigrid.monitoring import dcgm
from aigrid.monitoring.alerts import LATENCY_HISTOGRAM, rule_groups
from aigrid.monitoring.dashboard import dashboard
from aigrid.plan import Plan, SitePlan, WorkloadPlan, build_plan
from aigrid.render.k8s_objects import operator_values, replicas_at, site_objects, slice_namespace
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, ROOT

SHIPPED = sorted([*BLUEPRINTS.glob("examples/*.yaml"), *BLUEPRINTS.glob("carriers/*/*.yaml")])
# One synthetic sample a minute for two hours; alerts are evaluated at the end (the longer
# burn-rate windows take what there is, as after a fresh start).
SAMPLES = 120
EVAL_TIME = "2h"
# Requests a minute in the synthetic latency histograms.
REQUESTS = 10_000

Series = dict[str, str]


def plan_of(path: Path) -> Plan:
    result = validate_file(path)
    assert result.blueprint is not None and not result.errors
    return build_plan(result.blueprint, catalog())


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: apt-get install prometheus (Debian's package ships it; .ci/run does)"
    return found


def served(plan: Plan, site: SitePlan) -> list[WorkloadPlan]:
    return [w for w in plan.workloads if replicas_at(w, site.name) > 0]


def series(name: str, values: str, **labels: str) -> tuple[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}", values


def flat(value: float) -> str:
    return f"{value:g}+0x{SAMPLES}"


def growing(step: float) -> str:
    return f"0+{step:g}x{SAMPLES}"


def gpu_labels(host: str, index: int) -> dict[str, str]:
    # `node` is the ServiceMonitor's relabeling; the exporter's own host label is `hostname`
    # since NVIDIA/dcgm-exporter PR 655 (`Hostname` before), which the rules must not need.
    return {"hostname": host, "node": host, "gpu": str(index), "UUID": f"GPU-{host}-{index}"}


def healthy(plan: Plan, site: SitePlan) -> Series:
    out: Series = {}
    for node in site.nodes:
        for index in range(node.gpu_count):
            gpu = gpu_labels(node.hostname, index)
            for name, values in (
                ("DCGM_FI_DEV_GPU_TEMP", flat(60)),
                ("DCGM_FI_DEV_XID_ERRORS", flat(0)),
                ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", flat(0)),
                ("DCGM_FI_DEV_ROW_REMAP_FAILURE", flat(0)),
                ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", flat(0)),
                ("DCGM_FI_DEV_THERMAL_VIOLATION", flat(0)),
                # One second a minute held to the power limit (counted in ns): normal under load.
                ("DCGM_FI_DEV_POWER_VIOLATION", growing(1_000_000_000)),
            ):
                key, value = series(name, values, **gpu)
                out[key] = value
            instance = 0
            for profile, count in sorted((node.mig_layout or {}).items()):
                for _ in range(count):
                    key, value = series(
                        "DCGM_FI_DEV_FB_USED",
                        flat(100),
                        **gpu,
                        GPU_I_PROFILE=profile,
                        GPU_I_ID=str(instance),
                    )
                    out[key] = value
                    instance += 1
    for workload in served(plan, site):
        if workload.metrics_port is None:
            continue
        # A tenth of the error budget spent: far below every burn rate.
        out.update(latency(workload, errors=(1 - workload.objective / 100) / 10))
    return out


def latency(workload: WorkloadPlan, errors: float, bucket: bool = True) -> Series:
    scrape = {"namespace": slice_namespace(workload.slice), "service": workload.name, "model": "m"}
    out = dict([series(f"{LATENCY_HISTOGRAM}_count", growing(REQUESTS), **scrape)])
    if bucket:
        le = f"{workload.slo_ms:g}"
        out.update([series(f"{LATENCY_HISTOGRAM}_bucket", growing(REQUESTS * (1 - errors)), **scrape, le=le)])
    return out


def render(template: str, labels: dict[str, str], value: float) -> str:
    """What Prometheus makes of the annotation templates aigrid writes."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)
    return text.replace("{{ $value }}", f"{value:g}")


class Site:
    """A site's rules, indexed by alert name, to build expected alerts from."""

    def __init__(self, plan: Plan, site: SitePlan) -> None:
        self.plan, self.site = plan, site
        self.groups = rule_groups(site, served(plan, site), slice_namespace)
        self.alerts: dict[str, list[dict[str, Any]]] = {}
        for group in self.groups:
            for rule in group["rules"]:
                if "alert" in rule:
                    self.alerts.setdefault(rule["alert"], []).append(rule)

    def expect(self, name: str, series_labels: dict[str, str], value: float, **match: str) -> dict[str, Any]:
        rule = next(r for r in self.alerts[name] if all(r["labels"].get(k) == v for k, v in match.items()))
        labels = {**series_labels, **rule["labels"]}
        return {
            "exp_labels": labels,
            "exp_annotations": {k: render(v, labels, value) for k, v in rule["annotations"].items()},
        }


def fault_cases(site: Site) -> dict[str, tuple[Series, dict[str, list[dict[str, Any]]]]]:
    """Per fault: the series (the healthy site with the fault in it) and the alerts expected."""
    plan, sp = site.plan, site.site
    cases: dict[str, tuple[Series, dict[str, list[dict[str, Any]]]]] = {"healthy": (healthy(plan, sp), {})}
    gpu_node = next((n for n in sp.nodes if n.gpu_count), None)
    if gpu_node is not None:
        host = gpu_node.hostname
        gpu = gpu_labels(host, 0)
        where = {**gpu, "node": host}

        def with_gpu(name: str, values: str) -> Series:
            out = healthy(plan, sp)
            key, _ = series(name, "", **gpu)
            out[key] = values
            return out

        missing = healthy(plan, sp)
        del missing[series("DCGM_FI_DEV_GPU_TEMP", "", **gpu_labels(host, gpu_node.gpu_count - 1))[0]]
        cases["gpu-missing"] = (
            missing,
            {"AigridGpuMissing": [site.expect("AigridGpuMissing", {}, gpu_node.gpu_count - 1, node=host)]},
        )
        cases["fallen-off-bus"] = (
            with_gpu("DCGM_FI_DEV_XID_ERRORS", f"0+0x60 79+0x{SAMPLES - 61}"),
            {
                "AigridGpuFallenOffBus": [site.expect("AigridGpuFallenOffBus", where, 79)],
                "AigridGpuHardwareXid": [site.expect("AigridGpuHardwareXid", where, 79)],
            },
        )
        cases["application-xid"] = (with_gpu("DCGM_FI_DEV_XID_ERRORS", f"0+0x60 13+0x{SAMPLES - 61}"), {})
        cases["double-bit-ecc"] = (
            with_gpu("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", f"0+0x{SAMPLES - 5} 2+0x4"),
            {"AigridGpuDoubleBitEcc": [site.expect("AigridGpuDoubleBitEcc", where, 2)]},
        )
        cases["row-remap-failure"] = (
            with_gpu("DCGM_FI_DEV_ROW_REMAP_FAILURE", f"0+0x60 1+0x{SAMPLES - 61}"),
            {"AigridGpuRowRemapFailure": [site.expect("AigridGpuRowRemapFailure", where, 1)]},
        )
        cases["row-remap-pending"] = (
            with_gpu("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", f"0+0x{SAMPLES - 20} 1+0x19"),
            {"AigridGpuRowRemapPending": [site.expect("AigridGpuRowRemapPending", where, 1)]},
        )
        cases["thermal-throttling"] = (
            # Six seconds a minute: a tenth of the time.
            with_gpu("DCGM_FI_DEV_THERMAL_VIOLATION", growing(6_000_000_000)),
            {"AigridGpuThermalThrottling": [site.expect("AigridGpuThermalThrottling", where, 0.1)]},
        )
        cases["power-throttling"] = (
            with_gpu("DCGM_FI_DEV_POWER_VIOLATION", growing(30_000_000_000)),
            {"AigridGpuPowerThrottling": [site.expect("AigridGpuPowerThrottling", where, 0.5)]},
        )
    mig_node = next((n for n in sp.nodes if n.mig_layout), None)
    if mig_node is not None and mig_node.mig_layout:
        profile, per_gpu = sorted(mig_node.mig_layout.items())[0]
        drift = healthy(plan, sp)
        gone = next(
            k
            for k in drift
            if k.startswith("DCGM_FI_DEV_FB_USED")
            and f'node="{mig_node.hostname}"' in k
            and f'GPU_I_PROFILE="{profile}"' in k
        )
        del drift[gone]
        expected = per_gpu * mig_node.gpu_count
        cases["mig-drift"] = (
            drift,
            {
                "AigridMigLayoutDrift": [
                    site.expect(
                        "AigridMigLayoutDrift", {}, expected - 1, node=mig_node.hostname, mig_profile=profile
                    )
                ]
            },
        )
    for workload in served(plan, sp):
        if workload.metrics_port is None:
            continue
        budget = 1 - workload.objective / 100
        slo = {"workload": workload.name}
        recorded = {"carrier": sp.carrier, "site": sp.name, "tier": sp.tier, "slice": workload.slice, **slo}

        def burning(errors: float, bucket: bool = True, w: WorkloadPlan = workload) -> Series:
            out = {k: v for k, v in healthy(plan, sp).items() if f'service="{w.name}"' not in k}
            out.update(latency(w, errors, bucket))
            return out

        cases[f"{workload.name}-all-slow"] = (
            burning(1.0),
            {
                "AigridLatencySloFastBurn": [site.expect("AigridLatencySloFastBurn", recorded, 1, **slo)],
                "AigridLatencySloSlowBurn": [site.expect("AigridLatencySloSlowBurn", recorded, 1, **slo)],
            },
        )
        # Three times the sustainable rate: a ticket, not a page.
        cases[f"{workload.name}-slow-burn"] = (
            burning(3 * budget),
            {
                "AigridLatencySloSlowBurn": [
                    site.expect("AigridLatencySloSlowBurn", recorded, 3 * budget, **slo)
                ]
            },
        )
        cases[f"{workload.name}-no-bucket"] = (
            burning(0, bucket=False),
            {
                "AigridLatencySloBucketMissing": [
                    site.expect("AigridLatencySloBucketMissing", {}, REQUESTS / 60, **slo)
                ]
            },
        )
    return cases


def unit_tests(site: Site, rule_file: str) -> dict[str, Any]:
    tests = []
    for name, (input_series, firing) in sorted(fault_cases(site).items()):
        tests.append(
            {
                "name": name,
                "interval": "1m",
                "input_series": [{"series": k, "values": v} for k, v in sorted(input_series.items())],
                "alert_rule_test": [
                    {"eval_time": EVAL_TIME, "alertname": alert, "exp_alerts": firing.get(alert, [])}
                    for alert in sorted(site.alerts)
                ],
            }
        )
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}


def write_rules(tmp_path: Path, plan: Plan, site: SitePlan) -> Path:
    """The site's PrometheusRule spec, as the manifests carry it, as a rule file."""
    rule = next(o for o in site_objects(plan, site.name) if o.kind == "PrometheusRule")
    path = tmp_path / f"{site.name}.rules.yaml"
    path.write_text(yaml.safe_dump(rule.body["spec"], sort_keys=False))
    return path


@pytest.mark.parametrize("blueprint", SHIPPED, ids=lambda p: p.stem)
def test_promtool_checks_every_sites_rules(tmp_path: Path, blueprint: Path) -> None:
    plan = plan_of(blueprint)
    files = [str(write_rules(tmp_path, plan, site)) for site in plan.sites]
    proc = subprocess.run([promtool(), "check", "rules", *files], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(files)


# promtool evaluates every rule each synthetic minute for every case: two sites keep it short
# and between them cover every alert, MIG drift (au-fra-rdc-01 mixes three profiles) included.
UNIT_TESTED = [
    (BLUEPRINTS / "examples" / "lab-edge-site.yaml", "lab-edge-01"),
    (BLUEPRINTS / "examples" / "multi-carrier-grid.yaml", "au-fra-rdc-01"),
]


@pytest.mark.parametrize(("blueprint", "site_name"), UNIT_TESTED, ids=[s for _, s in UNIT_TESTED])
def test_promtool_unit_tests_fire_each_alert_and_stay_silent_when_healthy(
    tmp_path: Path, blueprint: Path, site_name: str
) -> None:
    plan = plan_of(blueprint)
    sp = next(s for s in plan.sites if s.name == site_name)
    rules = write_rules(tmp_path, plan, sp)
    site = Site(plan, sp)
    tests = unit_tests(site, rules.name)
    path = tmp_path / f"{sp.name}.test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run(
        [promtool(), "test", "rules", str(path)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    assert "SUCCESS" in proc.stdout
    # Every alert the site's rules hold was expected to fire in some case, and checked silent in
    # every other (the healthy case included).
    fired = {r["alertname"] for t in tests["tests"] for r in t["alert_rule_test"] if r["exp_alerts"]}
    assert fired == set(site.alerts)


def test_promtool_unit_test_can_fail(tmp_path: Path) -> None:
    """The check above is not vacuous: expecting silence while a GPU is missing fails."""
    plan = plan_of(BLUEPRINTS / "examples" / "lab-edge-site.yaml")
    sp = next(s for s in plan.sites if any(n.gpu_count for n in s.nodes))
    rules = write_rules(tmp_path, plan, sp)
    site = Site(plan, sp)
    tests = unit_tests(site, rules.name)
    tests["tests"] = [t for t in tests["tests"] if t["name"] == "gpu-missing"]
    for check in tests["tests"][0]["alert_rule_test"]:
        check["exp_alerts"] = []
    path = tmp_path / "wrong.test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run(
        [promtool(), "test", "rules", str(path)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 1
    assert "AigridGpuMissing" in proc.stdout + proc.stderr


def test_every_dcgm_metric_read_is_collected() -> None:
    """An alert or panel on a field the exporter does not collect would never fire or draw."""
    plan = plan_of(BLUEPRINTS / "examples" / "multi-carrier-grid.yaml")
    text = yaml.safe_dump([rule_groups(s, served(plan, s), slice_namespace) for s in plan.sites])
    text += yaml.safe_dump(dashboard(plan))
    used = set(re.findall(r"DCGM_FI_[A-Z_]+", text))
    assert used and used <= dcgm.metric_names()
    site = plan.sites[0]
    exporter = operator_values(plan, site)["dcgmExporter"]
    assert exporter["serviceMonitor"]["enabled"] is True
    # Every series gets the node its exporter pod runs on: the rules select on `node`.
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_node_name"],
        "targetLabel": "node",
        "action": "replace",
    } in exporter["serviceMonitor"]["relabelings"]
    assert exporter["env"] == [{"name": "DCGM_EXPORTER_COLLECTORS", "value": dcgm.COLLECTORS_PATH}]
    config = next(o for o in site_objects(plan, site.name) if o.name == exporter["config"]["name"])
    # Read as the exporter reads it (Go encoding/csv, '#' comments, then exactly 3 fields a row,
    # trimmed; counter_config.go): a help text with a comma made it exit at start on every site.
    text = config.body["data"][dcgm.CONFIG_KEY]
    assert '"' not in text  # Go's reader refuses a quote inside an unquoted field
    rows = [
        [field.strip() for field in row]
        for row in csv.reader(text.splitlines())
        if row and not row[0].startswith("#")
    ]
    assert all(len(row) == 3 for row in rows), [row for row in rows if len(row) != 3]
    assert {row[1] for row in rows} <= {"gauge", "counter"}
    assert {row[0] for row in rows} == dcgm.metric_names()


def _paths(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _paths(value, f"{prefix}/{key}").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _paths(value, f"{prefix}/{i}").items()}
    return {prefix: node}


@pytest.mark.parametrize("blueprint", SHIPPED, ids=lambda p: p.stem)
def test_dashboard_survives_grafanas_dashboard_types(blueprint: Path) -> None:
    """Grafana's dashboard model (grafana-foundation-sdk) drops what it does not know: every
    field aigrid writes must come back out of it unchanged."""
    board = dashboard(plan_of(blueprint))
    again = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
    ours, theirs = _paths(board), _paths(again)
    lost = {path: value for path, value in ours.items() if theirs.get(path) != value}
    assert not lost
    titles = [panel["title"] for panel in board["panels"]]
    assert titles[:4] == ["GPUs per site", "GPU utilisation", "GPU memory used", titles[3]]
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_dashboard_types_catch_a_misspelt_field() -> None:
    board = dashboard(plan_of(BLUEPRINTS / "examples" / "lab-edge-site.yaml"))
    board["panels"][0]["gridPosition"] = board["panels"][0].pop("gridPos")
    again = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
    assert "gridPosition" not in again["panels"][0]


def test_monitoring_output_is_deterministic() -> None:
    plan = plan_of(BLUEPRINTS / "examples" / "multi-carrier-grid.yaml")

    def bodies() -> str:
        return yaml.safe_dump([o.body for s in plan.sites for o in site_objects(plan, s.name)])

    assert bodies() == bodies()


@pytest.mark.parametrize(
    ("objective", "found"),
    [(99.0, []), (99.99, []), (93.1, []), (93.0, ["AG601"]), (100.0, ["AG601"]), (0.0, ["AG601"])],
)
def test_slo_objective_must_leave_a_usable_budget(write, objective: float, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    """AG601 at the bounds: 100 leaves no budget; at or below 93.06 the page alert
    (14.4 times the budget) would need more than every request to be slow."""
    text = (BLUEPRINTS / "examples" / "invalid" / "AG601-slo-objective-out-of-range.yaml").read_text()
    path = write("objective.yaml", text.replace("objective: 90}", f"objective: {objective}}}"))
    result = validate_file(path)
    assert [d.code for d in result.diagnostics] == found


def test_documented_promtool_check_runs_as_written(tmp_path: Path) -> None:
    """docs/observability.md's command, run as written, in a copy of the repository's
    blueprints (a checkout: the .git folder marks the root `extends` stays within)."""
    text = (ROOT / "docs" / "observability.md").read_text()
    commands = re.findall(r"```sh\n(.*?)\n```", text, re.S)
    assert len(commands) == 1 and "promtool check rules" in commands[0]
    promtool()
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints")
    (tmp_path / ".git").mkdir()
    proc = subprocess.run(
        ["bash", "-c", commands[0]], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_pulumi_stack_carries_the_same_monitoring_objects_as_the_manifests() -> None:
    """The golden compile of the lab site: each monitoring object of the manifests is a
    resource of the site's Pulumi file with the same body (one builder behind both)."""
    golden = ROOT / "tests" / "golden" / "lab-edge-site"
    resources = json.loads((golden / "pulumi" / "sites" / "lab-edge-01.json").read_text())["resources"]
    by_key = {entry["key"]: entry["body"] for entry in resources}
    names = {
        "ServiceMonitor/aigrid-system/aigrid-inference": "servicemonitor-aigrid-system-aigrid-inference.yaml",
        "PrometheusRule/aigrid-system/aigrid": "prometheusrule-aigrid-system-aigrid.yaml",
        "ConfigMap/aigrid-system/aigrid-dashboard": "configmap-aigrid-system-aigrid-dashboard.yaml",
        "ConfigMap/gpu-operator/aigrid-dcgm-metrics": "configmap-gpu-operator-aigrid-dcgm-metrics.yaml",
    }
    for resource_key, file_name in names.items():
        manifest = yaml.safe_load((golden / "manifests" / "lab-edge-01" / file_name).read_text())
        assert by_key[resource_key] == manifest


def test_blueprint_observability_fields_reach_the_objects(write) -> None:  # type: ignore[no-untyped-def]
    """selectorLabels go on everything the Prometheus selects (the chart's ServiceMonitor
    through additionalLabels); prometheusNamespace is what the slices let in to scrape."""
    text = (BLUEPRINTS / "examples" / "invalid" / "AG601-slo-objective-out-of-range.yaml").read_text()
    text = text.replace("objective: 90}", "objective: 99.5}")
    text += "observability:\n  prometheusNamespace: observability\n  selectorLabels: {release: kps}\n"
    path = write("observed.yaml", text)
    result = validate_file(path)
    assert result.blueprint is not None and not result.diagnostics
    plan = build_plan(result.blueprint, catalog())
    objects = {o.key: o.body for o in site_objects(plan, "edge-01")}
    for selected in ("ServiceMonitor/aigrid-system/aigrid-inference", "PrometheusRule/aigrid-system/aigrid"):
        assert objects[selected]["metadata"]["labels"]["release"] == "kps"
    values = objects["HelmRelease/gpu-operator/gpu-operator"]["spec"]["values"]
    assert values["dcgmExporter"]["serviceMonitor"]["additionalLabels"] == {"release": "kps"}
    policy = objects["NetworkPolicy/slice-embb/slice-isolation"]["spec"]["ingress"][1]
    assert policy["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}
    ]
    assert policy["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    burn = next(
        r
        for g in objects["PrometheusRule/aigrid-system/aigrid"]["spec"]["groups"]
        for r in g["rules"]
        if r.get("alert") == "AigridLatencySloSlowBurn"
    )
    # The slow alert's threshold is the budget itself (burn rate 1): 0.5% for 99.5.
    assert "> 0.005 and" in burn["expr"]


def test_default_labels_are_kube_prometheus_stacks_and_a_site_without_the_operator_deploys(write) -> None:  # type: ignore[no-untyped-def]
    """Without observability settings the objects carry kube-prometheus-stack's default
    selector label (release: kube-prometheus-stack), so its Prometheus picks them up. With
    prometheusOperator: false no object needs the Prometheus Operator's CRDs: no
    ServiceMonitor (the chart's included) and no PrometheusRule; the dashboard stays."""
    text = (BLUEPRINTS / "examples" / "invalid" / "AG601-slo-objective-out-of-range.yaml").read_text()
    text = text.replace("objective: 90}", "objective: 99.5}")
    for extra, operator in (("", True), ("observability: {prometheusOperator: false}\n", False)):
        result = validate_file(write("observed.yaml", text + extra))
        assert result.blueprint is not None and not result.diagnostics
        plan = build_plan(result.blueprint, catalog())
        objects = {o.key: o.body for o in site_objects(plan, "edge-01")}
        kinds = {body["kind"] for body in objects.values()}
        values = objects["HelmRelease/gpu-operator/gpu-operator"]["spec"]["values"]
        assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is operator
        assert ("ServiceMonitor" in kinds, "PrometheusRule" in kinds) == (operator, operator)
        assert "ConfigMap/aigrid-system/aigrid-dashboard" in objects
        if operator:
            rules = objects["PrometheusRule/aigrid-system/aigrid"]
            assert rules["metadata"]["labels"]["release"] == "kube-prometheus-stack"
