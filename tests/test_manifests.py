"""Every manifest written for every shipped blueprint validates against its schema: the core
kinds against the Kubernetes schema of the blueprint's Kubernetes version (kubernetes-validate,
strict: unknown fields fail), the custom resources against their CRD schemas in schema/crds/
(jsonschema; schema/crds/SOURCE.md says where each comes from)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from aigrid import layout
from conftest import BLUEPRINTS, ROOT, load_vars, run_aigrid

SHIPPED = sorted([*BLUEPRINTS.glob("examples/*.yaml"), *BLUEPRINTS.glob("carriers/*/*.yaml")])
# Custom resources, which kubernetes-validate does not know, and their schemas.
CRD_SCHEMAS = {
    (
        "k8s.cni.cncf.io/v1",
        "NetworkAttachmentDefinition",
    ): "networkattachmentdefinition-k8s.cni.cncf.io-v1.json",
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): "helmrelease-helm.toolkit.fluxcd.io-v2.json",
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"): "helmrepository-source.toolkit.fluxcd.io-v1.json",
    ("operator.tigera.io/v1", "Installation"): "installation-operator.tigera.io-v1.json",
    ("operator.tigera.io/v1", "APIServer"): "apiserver-operator.tigera.io-v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring.coreos.com-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring.coreos.com-v1.json",
}


def crd_validator(document: dict[str, Any]) -> jsonschema.protocols.Validator:
    schema = json.loads(
        (ROOT / "schema" / "crds" / CRD_SCHEMAS[document["apiVersion"], document["kind"]]).read_text()
    )
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    outputs = {}
    for blueprint in SHIPPED:
        out = tmp_path_factory.mktemp(blueprint.stem) / "out"
        proc = run_aigrid("compile", str(blueprint), "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        outputs[blueprint] = out
    return outputs


@pytest.mark.parametrize("blueprint", SHIPPED, ids=lambda p: p.stem)
def test_manifests_validate_against_kubernetes_schemas(compiled: dict[Path, Path], blueprint: Path) -> None:
    out = compiled[blueprint]
    version = load_vars(out / layout.group_vars("all"))["kubernetes_node_minor"]
    files = sorted((out / "manifests").rglob("*.yaml"))
    kinds: set[str] = set()
    for path in files:
        document = yaml.safe_load(path.read_text())
        if document["kind"] == "Kustomization":
            listed = {(path.parent / name).resolve() for name in document["resources"]}
            assert listed == {p.resolve() for p in path.parent.glob("*.yaml")} - {path.resolve()}
            continue
        if (document["apiVersion"], document["kind"]) in CRD_SCHEMAS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(document, version, strict=True)
            crd_validator(document).validate(document)
        else:
            kubernetes_validate.validate(document, version, strict=True)
        kinds.add(document["kind"])
    # Every document went through one of the two; the custom resources are among them.
    assert {
        "NetworkAttachmentDefinition",
        "HelmRelease",
        "HelmRepository",
        "Namespace",
        "PrometheusRule",
    } <= kinds


def test_invalid_manifest_is_caught_by_the_validator(compiled: dict[Path, Path]) -> None:
    """The check above can fail: a misspelt field in a generated Deployment is rejected."""
    out = next(iter(compiled.values()))
    deployment = next((out / "manifests").rglob("deployment-*.yaml"))
    document = yaml.safe_load(deployment.read_text())
    document["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, "1.34", strict=True)


@pytest.mark.parametrize(
    ("kind", "edit"),
    [
        ("NetworkAttachmentDefinition", lambda d: d["spec"].update(configs=d["spec"]["config"])),
        ("NetworkAttachmentDefinition", lambda d: d["spec"].update(config={"cniVersion": "1.0.0"})),
        ("HelmRelease", lambda d: d["spec"]["chart"]["spec"]["sourceRef"].update(kind="HelmRepo")),
        ("HelmRelease", lambda d: d["spec"]["install"].update(crds="Replace")),
        ("HelmRelease", lambda d: d["spec"].update(intervall="10m")),
        ("HelmRepository", lambda d: d["spec"].update(interval="hourly")),
        ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].update(four="5m")),
        ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].update({"for": "5 minutes"})),
        ("ServiceMonitor", lambda d: d["spec"]["endpoints"][0].update(intervall="15s")),
    ],
)
def test_invalid_custom_resources_are_caught(compiled: dict[Path, Path], kind: str, edit: Any) -> None:
    """The CRD schemas can fail too: a misspelt field, a wrong enum value or type is rejected."""
    out = compiled[BLUEPRINTS / "examples" / "multi-carrier-grid.yaml"]
    path = next(p for p in sorted((out / "manifests").rglob("*.yaml")) if p.name.startswith(kind.lower()))
    document = yaml.safe_load(path.read_text())
    crd_validator(document).validate(document)
    edit(document)
    with pytest.raises(jsonschema.ValidationError):
        crd_validator(document).validate(document)


def test_workload_env_and_port_reach_the_deployment_and_service(tmp_path: Path) -> None:
    source = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_text()
    (tmp_path / "examples").mkdir()
    shutil.copytree(BLUEPRINTS / "base", tmp_path / "base")
    blueprint = tmp_path / "examples" / "lab.yaml"
    blueprint.write_text(
        source.replace(
            "  - name: robot-vision\n",
            "  - name: robot-vision\n    port: 8443\n    env: {LOG_LEVEL: debug, SHM_SIZE: 1g}\n",
        )
    )
    out = tmp_path / "out"
    proc = run_aigrid("compile", str(blueprint), "--out", str(out), "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deployment = yaml.safe_load(
        next(out.glob("manifests/*/deployment-slice-*-robot-vision.yaml")).read_text()
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["LOG_LEVEL"] == "debug" and env["SHM_SIZE"] == "1g"
    # Triton's metrics endpoint keeps its own port (catalog runtimes: metrics_port).
    assert container["ports"] == [
        {"name": "http", "containerPort": 8443},
        {"name": "metrics", "containerPort": 8002},
    ]
    service = yaml.safe_load(next(out.glob("manifests/*/service-slice-*-robot-vision.yaml")).read_text())
    assert service["spec"]["ports"][0]["port"] == 8443
