"""The registries preflight checks a node reaches: named as containerd connects to them."""

from __future__ import annotations

import pytest

from aigrid.catalog import catalog
from aigrid.plan import Plan, StackPlan, build_plan
from aigrid.registries import registry_of, stack_registries, workload_registries
from aigrid.rolevars import role_defaults
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

MIRRORED = role_defaults("container_runtime")["container_runtime_mirrored_registries"]


def _plan(path: str) -> Plan:
    result = validate_file(BLUEPRINTS / path)
    assert result.blueprint is not None
    return build_plan(result.blueprint, catalog())


def _with_mirror(stack: StackPlan, mirror: str) -> StackPlan:
    return stack.model_copy(
        update={"mirrors": stack.mirrors.model_copy(update={"container_registry": mirror})}
    )


@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("nvcr.io/nvidia/tritonserver:25.10-py3", "nvcr.io"),
        ("nvcr.io/nvidia/k8s", "nvcr.io"),
        ("calico/node:v3.32.1", "docker.io"),  # a Docker Hub path, not a host
        ("ubuntu", "docker.io"),
        ("localhost/aigrid/probe:1", "localhost"),
        ("harbor:5000/aigrid/probe:1", "harbor:5000"),
        ("[2001:db8::5]:5000/aigrid/probe:1", "[2001:db8::5]:5000"),
    ],
)
def test_registry_of_follows_docker_reference_normalisation(reference: str, registry: str) -> None:
    assert registry_of(reference) == registry


def test_the_stack_pulls_from_the_upstream_registries_without_a_mirror() -> None:
    stack = _plan("examples/lab-edge-site.yaml").stack
    assert stack.mirrors.container_registry is None
    registries = stack_registries(stack, MIRRORED)
    assert set(registries) == {"registry.k8s.io", "quay.io", "ghcr.io", "nvcr.io"}
    assert registries["registry.k8s.io"] == [
        "kubeadm's images (control plane, kube-proxy)",
        "the pause image",
    ]
    assert registries["ghcr.io"] == ["multus v4.3.0's images", "whereabouts v0.9.4's images"]


def test_a_mirror_takes_every_registry_containerd_sends_there() -> None:
    stack = _with_mirror(_plan("examples/lab-edge-site.yaml").stack, "harbor.site.example:8443/aigrid")
    assert list(stack_registries(stack, MIRRORED)) == ["harbor.site.example:8443"]
    # A registry the container runtime role does not mirror is still pulled from where it is
    # (GPU Operator's repositories too: this plan built them before the mirror was set).
    assert set(stack_registries(stack, ["registry.k8s.io"])) == {
        "harbor.site.example:8443",
        "quay.io",
        "ghcr.io",
        "nvcr.io",
    }


def test_a_workload_image_on_a_mirror_named_without_a_dot_is_the_mirror() -> None:
    """The plan points runtime images at the mirror's path; a mirror host without a dot or a
    port would read as a Docker Hub path by the reference rules alone."""
    plan = _plan("examples/lab-edge-site.yaml")
    site = next(site for site in plan.sites if site.workloads)
    mirrored = plan.model_copy(update={"stack": _with_mirror(plan.stack, "harbor/aigrid")})
    images = {plan.image_at(site, w) for w in plan.workloads if w.name in site.workloads}
    assert any(image.startswith("nvcr.io/") for image in images), images
    # The plan's images were built without the mirror; put them under it as the plan does.
    workloads = [
        w.model_copy(update={"image": "harbor/aigrid/" + w.image.split("/", 1)[1]})
        if w.image.startswith("nvcr.io/")
        else w
        for w in mirrored.workloads
    ]
    mirrored = mirrored.model_copy(update={"workloads": workloads})
    assert "harbor" in workload_registries(mirrored, site, MIRRORED)
    assert "docker.io" not in workload_registries(mirrored, site, MIRRORED)


def test_a_carriers_sites_pull_through_its_own_mirror() -> None:
    plan = _plan("examples/multi-carrier-grid.yaml")
    by_carrier = {}
    for site in plan.sites:
        by_carrier.setdefault(site.carrier, set()).update(stack_registries(plan.stack_at(site), MIRRORED))
    assert by_carrier["aurora"] == {"registry.aurora.example"}
    assert by_carrier["northwind"] == {"registry.northwind.example"}
    assert by_carrier["meridian"] == {"registry.k8s.io", "quay.io", "ghcr.io", "nvcr.io"}


def test_a_cni_whose_images_are_pinned_pulls_from_their_registries() -> None:
    stack = _plan("examples/lab-edge-site.yaml").stack
    pinned = stack.kubernetes.cni.model_copy(update={"images": {"docker.io/calico/node": "v3.30.0"}})
    kubernetes = stack.kubernetes.model_copy(update={"cni": pinned})
    registries = stack_registries(stack.model_copy(update={"kubernetes": kubernetes}), MIRRORED)
    assert f"calico {pinned.version}'s images" in registries["registry-1.docker.io"]
