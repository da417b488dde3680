"""Every compiled workload carries a PodDisruptionBudget that a drain honours: it selects
exactly the pods of its own Deployment (a selector matching nothing, or another workload's
pods too, would make the budget meaningless), lets one replica go at a time, and never holds
a drain on pods that are not Ready. Schemas are test_manifests.py's job."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigrid.catalog import catalog
from aigrid.plan import build_plan
from aigrid.pulumi_site import TYPED
from aigrid.render.disruption_budget import MAX_UNAVAILABLE
from aigrid.render.k8s_objects import K8sObject, site_objects
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

SHIPPED = sorted([*BLUEPRINTS.glob("examples/*.yaml"), *BLUEPRINTS.glob("carriers/*/*.yaml")])


def _objects(blueprint: Path) -> list[list[K8sObject]]:
    result = validate_file(blueprint)
    assert result.blueprint is not None and not result.errors
    plan = build_plan(result.blueprint, catalog())
    return [site_objects(plan, site.name) for site in plan.sites]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.parametrize("blueprint", SHIPPED, ids=lambda p: p.stem)
def test_each_deployment_has_a_budget_over_exactly_its_pods(blueprint: Path) -> None:
    deployments_seen = 0
    for objects in _objects(blueprint):
        deployments = [o for o in objects if o.kind == "Deployment"]
        budgets = {(o.namespace, o.name): o for o in objects if o.kind == "PodDisruptionBudget"}
        assert len(budgets) == len(deployments)
        for deployment in deployments:
            deployments_seen += 1
            budget = budgets[deployment.namespace, deployment.name]
            selector = budget.body["spec"]["selector"]["matchLabels"]
            pods = deployment.body["spec"]["template"]["metadata"]["labels"]
            assert selector and _selects(selector, pods)
            for other in deployments:
                if other is not deployment and other.namespace == deployment.namespace:
                    other_pods = other.body["spec"]["template"]["metadata"]["labels"]
                    assert not _selects(selector, other_pods), (deployment.key, other.key)
            spec = budget.body["spec"]
            assert spec["maxUnavailable"] == MAX_UNAVAILABLE == 1
            assert "minAvailable" not in spec
            assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
            assert deployment.key in budget.depends_on
    if "multi-carrier" in blueprint.stem:
        assert deployments_seen > 0


def test_the_pulumi_program_creates_budgets_as_typed_resources() -> None:
    assert ("policy/v1", "PodDisruptionBudget") in TYPED
