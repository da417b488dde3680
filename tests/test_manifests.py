"""Every manifest written for every shipped blueprint validates against the Kubernetes schema
of the blueprint's Kubernetes version (kubernetes-validate, strict: unknown fields fail)."""

from __future__ import annotations

import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from conftest import BLUEPRINTS, load_vars, run_aigrid

SHIPPED = sorted([*BLUEPRINTS.glob("examples/*.yaml"), *BLUEPRINTS.glob("carriers/*/*.yaml")])
# Custom resources whose CRD schemas kubernetes-validate does not ship and that are not
# available offline: they are checked by the builder's own tests, not against a schema.
UNCHECKED_KINDS = {
    "NetworkAttachmentDefinition": "Multus CRD (k8s.cni.cncf.io/v1): schema not available offline",
    "HelmRelease": "Flux CRD (helm.toolkit.fluxcd.io/v2): schema not available offline",
    "HelmRepository": "Flux CRD (source.toolkit.fluxcd.io/v1): schema not available offline",
}


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
    version = load_vars(out / "ansible/group_vars/all.yml")["kubernetes_node_minor"]
    files = sorted((out / "manifests").rglob("*.yaml"))
    checked = unchecked = 0
    for path in files:
        document = yaml.safe_load(path.read_text())
        if document["kind"] == "Kustomization":
            listed = {(path.parent / name).resolve() for name in document["resources"]}
            assert listed == {p.resolve() for p in path.parent.glob("*.yaml")} - {path.resolve()}
            continue
        if document["kind"] in UNCHECKED_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(document, version, strict=True)
            unchecked += 1
            continue
        kubernetes_validate.validate(document, version, strict=True)
        checked += 1
    assert checked > 0 and files


def test_invalid_manifest_is_caught_by_the_validator(compiled: dict[Path, Path]) -> None:
    """The check above can fail: a misspelt field in a generated Deployment is rejected."""
    out = next(iter(compiled.values()))
    deployment = next((out / "manifests").rglob("deployment-*.yaml"))
    document = yaml.safe_load(deployment.read_text())
    document["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, "1.34", strict=True)


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
    assert container["ports"] == [{"name": "http", "containerPort": 8443}]
    service = yaml.safe_load(next(out.glob("manifests/*/service-slice-*-robot-vision.yaml")).read_text())
    assert service["spec"]["ports"][0]["port"] == 8443
