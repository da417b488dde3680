"""Per-carrier mirrors (blueprint `carriers`): a grid that layers several carriers' grids keeps
each carrier's mirrors, registry and login on that carrier's sites, in every compiled output
(Ansible variables as Ansible resolves them, manifests, Pulumi stacks) and in the day-2 state."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aigrid import layout
from aigrid.catalog import catalog
from aigrid.day2.compare import compare
from aigrid.day2.state import grid_state
from aigrid.diagnostics import Diagnostic
from aigrid.plan import Plan, build_plan
from aigrid.render.ansible import group_name
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, as_listed, run_aigrid

pytestmark = pytest.mark.usefixtures("deadline")

SHARED_GRID = BLUEPRINTS / "examples" / "multi-carrier-grid.yaml"
NORTHWIND = (
    "https://mirror.northwind.example/apt",
    "registry.northwind.example",
    "secret://northwind/mirror/password",
)
AURORA = ("https://packages.aurora.example/apt", "registry.aurora.example", "vault://aurora/mirrors/token")
PUBLIC = (None, None, None)
# Each site of the shipped shared grid, with the mirrors its own carrier's grid gives it.
EXPECTED = {
    "nw-nyc-fe-01": NORTHWIND,
    "nw-nwk-co-01": NORTHWIND,
    "nw-ash-rdc-01": NORTHWIND,
    "me-sgp-tower-07": PUBLIC,
    "me-sgp-rdc-01": PUBLIC,
    "au-muc-edge-01": AURORA,
    "au-fra-rdc-01": AURORA,
}

# A layer over the lab example, whose one site has `carrier: lab`.
LAYER = """\
apiVersion: aigrid.dev/v1alpha1
kind: Blueprint
extends: [lab-edge-site.yaml]
metadata: {name: test-grid}
"""


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of the shipped blueprints in a repository of its own, so layers written beside
    the examples may extend them (AG019 keeps `extends` inside the repository)."""
    repo = tmp_path / "repo"
    shutil.copytree(BLUEPRINTS, repo / "blueprints")
    (repo / ".git").mkdir()
    return repo / "blueprints" / "examples"


def _plan(path: Path) -> Plan:
    result = validate_file(path)
    assert result.blueprint is not None and not result.errors, result.diagnostics
    return build_plan(result.blueprint, catalog())


def _sources(plan: Plan, site_name: str) -> tuple[str | None, str | None, str | None]:
    site = plan.site(site_name)
    assert site is not None
    mirrors = plan.stack_at(site).mirrors
    return mirrors.apt, mirrors.container_registry, mirrors.secret_ref


def test_the_shared_grid_is_valid_without_a_conflict_or_a_grid_wide_mirror() -> None:
    result = validate_file(SHARED_GRID)
    assert result.diagnostics == []
    assert result.blueprint is not None and result.blueprint.stack.mirrors is None


def test_each_site_of_the_shared_grid_gets_its_own_carriers_mirrors() -> None:
    plan = _plan(SHARED_GRID)
    assert {site.name: _sources(plan, site.name) for site in plan.sites} == EXPECTED


def test_a_carriers_own_grid_gives_its_sites_its_mirrors() -> None:
    plan = _plan(BLUEPRINTS / "carriers" / "northwind" / "grid.yaml")
    assert {_sources(plan, site.name) for site in plan.sites} == {NORTHWIND}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shared") / "out"
    proc = run_aigrid("compile", str(SHARED_GRID), "--out", str(out), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_ansible_resolves_each_hosts_mirrors_to_its_carriers(compiled: Path, tmp_path: Path) -> None:
    """What the roles get is what Ansible merges from group_vars, not what one file says: a
    carrier's site group must win over group_vars/all and gpu_nodes for every source variable."""
    proc = subprocess.run(
        ["ansible-inventory", "-i", str(compiled / layout.INVENTORY), "--list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    hostvars = as_listed(json.loads(proc.stdout)["_meta"]["hostvars"])
    plan = _plan(SHARED_GRID)
    for site in plan.sites:
        apt, registry, secret = EXPECTED[site.name]
        for node in site.nodes:
            got = hostvars[node.hostname]
            assert got["container_runtime_registry_mirror"] == (registry or ""), node.hostname
            # Left out, a login variable takes its role's default: "" (no login).
            assert got.get("apt_source_auth_secret_ref", "") == (secret or ""), node.hostname
            assert got.get("container_runtime_registry_secret_ref", "") == (secret or ""), node.hostname
            assert got.get("preflight_mirror_secret_ref", "") == (secret or ""), node.hostname
            uris = [*got["kubernetes_node_repo_uris"].values()]
            if node.gpu_model:
                uris += got["nvidia_driver_repo_uris"].values()
                uris += got["nvidia_container_toolkit_repo_uris"].values()
            if apt is None:
                assert not any("example" in uri for uri in uris), (node.hostname, uris)
            else:
                assert all(uri.startswith(f"{apt}/") for uri in uris), (node.hostname, uris)


def test_a_site_group_file_only_where_the_carrier_names_mirrors(compiled: Path) -> None:
    group_vars = compiled / layout.group_vars("all")
    written = {path.stem for path in group_vars.parent.glob("site_*.yml")}
    assert written == {group_name("site", site) for site, sources in EXPECTED.items() if sources != PUBLIC}
    field = yaml.safe_load((compiled / layout.group_vars("site_au_fra_rdc_01")).read_text())
    assert field["preflight_mirror_secret_field"] == "carriers[aurora].stack.mirrors.credentials.token"


def _manifest(compiled: Path, site: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((compiled / layout.manifest(site, name)).read_text())
    return document


def test_charts_images_and_helm_logins_follow_the_sites_carrier(compiled: Path) -> None:
    plan = _plan(SHARED_GRID)
    for site in plan.sites:
        _, registry, secret = EXPECTED[site.name]
        helm = _manifest(compiled, site.name, "helmrepository-gpu-operator-nvidia.yaml")["spec"]
        assert helm["url"] == (
            {
                NORTHWIND[1]: "https://mirror.northwind.example/helm",
                AURORA[1]: "https://packages.aurora.example/helm",
            }
        ).get(registry or "", "https://helm.ngc.nvidia.com/nvidia")
        assert ("secretRef" in helm) == (secret is not None)
        header = (compiled / layout.stack_config(site.name)).read_text()
        assert (secret in header) if secret else "helmPassword" not in header
        for other in {NORTHWIND[2], AURORA[2]} - {secret}:
            assert other not in header
        for path in (compiled / layout.MANIFESTS / site.name).glob("deployment-*.yaml"):
            [container] = yaml.safe_load(path.read_text())["spec"]["template"]["spec"]["containers"]
            expected = registry or "nvcr.io"
            assert container["image"].startswith(f"{expected}/"), (site.name, container["image"])


def test_a_carrier_entry_matches_sites_without_their_own_carrier_by_the_blueprints(examples: Path) -> None:
    grid = examples / "grid.yaml"
    grid.write_text(
        LAYER.replace("name: test-grid", "name: test-grid, carrier: northwind")
        + "sites:\n  - name: lab-edge-01\n    carrier: {$patch: delete}\n"
        + "carriers:\n  - name: northwind\n    stack:\n      mirrors:\n"
        "        containerRegistry: registry.northwind.example\n"
    )
    plan = _plan(grid)
    assert {plan.stack_at(site).mirrors.container_registry for site in plan.sites} == {
        "registry.northwind.example"
    }


def _diagnostics(examples: Path, carriers: str) -> list[Diagnostic]:
    grid = examples / "grid.yaml"
    grid.write_text(LAYER + carriers)
    return validate_file(grid).diagnostics


def _codes(examples: Path, carriers: str) -> list[tuple[str, str]]:
    return [(d.code, d.path) for d in _diagnostics(examples, carriers)]


def test_a_carrier_entry_for_no_site_is_an_error_with_a_suggestion(examples: Path) -> None:
    [found] = _diagnostics(
        examples, "carriers:\n  - name: lba\n    stack:\n      mirrors: {apt: https://m.example/apt}\n"
    )
    assert (found.code, found.path, found.line) == ("AG022", "carriers[lba].name", 6)
    assert "no site" in found.message and "'lab'" in found.hint


def test_a_carrier_may_set_only_its_mirrors(examples: Path) -> None:
    found = _codes(examples, "carriers:\n  - name: lab\n    stack:\n      driver: {install: operator}\n")
    assert [code for code, _ in found] == ["AG012"]


def test_two_entries_for_one_carrier_in_one_file_are_a_duplicate_name(examples: Path) -> None:
    found = _codes(examples, "carriers:\n  - name: lab\n  - name: lab\n")
    assert ("AG014", "carriers[lab].name") in found


def test_a_carriers_login_is_checked_like_the_grids(examples: Path) -> None:
    literal = _codes(
        examples,
        "carriers:\n  - name: lab\n    stack:\n      mirrors:\n        apt: https://m.example/apt\n"
        "        credentials: {username: aigrid, password: hunter2}\n",
    )
    assert ("AG401", "carriers[lab].stack.mirrors.credentials.password") in literal
    over_http = _codes(
        examples,
        "carriers:\n  - name: lab\n    stack:\n      mirrors:\n        apt: http://m.example/apt\n"
        "        credentials: {username: aigrid, password: secret://m}\n",
    )
    assert over_http == [("AG403", "carriers[lab].stack.mirrors.apt")]


def test_two_carrier_grids_layered_together_do_not_conflict_over_their_mirrors(examples: Path) -> None:
    """Each carrier's entry is its own named item: parents only disagree where they set the same
    carrier's mirrors differently, which AG021 still reports."""
    for name, apt in (("left", "https://left.example/apt"), ("right", "https://right.example/apt")):
        (examples / f"{name}.yaml").write_text(
            f"extends: [lab-edge-site.yaml]\ncarriers:\n  - name: {name}\n"
            f"    stack:\n      mirrors: {{apt: {apt}}}\n"
        )
    top = examples / "top.yaml"
    top.write_text("extends: [left.yaml, right.yaml]\n")
    assert [d for d in validate_file(top).diagnostics if d.code == "AG021"] == []
    (examples / "right.yaml").write_text(
        "extends: [lab-edge-site.yaml]\ncarriers:\n  - name: left\n    stack:\n      mirrors: {apt: https://x.example/apt}\n"
    )
    conflicts = [d.path for d in validate_file(top).diagnostics if d.code == "AG021"]
    assert conflicts == ["carriers[left].stack.mirrors.apt"]


def test_a_carriers_mirror_change_is_classified_like_the_grids(examples: Path) -> None:
    moved = examples / "moved.yaml"
    moved.write_text(
        "extends: [multi-carrier-grid.yaml]\ncarriers:\n  - name: aurora\n    stack:\n      mirrors:\n"
        "        apt: https://packages-2.aurora.example/apt\n"
    )
    changes = compare(grid_state(_plan(examples / "multi-carrier-grid.yaml")), grid_state(_plan(moved)))
    mirrors = [c for c in changes if c.scope == "site" and c.path.startswith("mirrors")]
    assert {(c.site, c.path) for c in mirrors} == {
        ("au-muc-edge-01", "mirrors[apt]"),
        ("au-fra-rdc-01", "mirrors[apt]"),
    }
    assert {c.disruption.label for c in mirrors} == {"none"}
    assert not [c for c in changes if c.site is not None and not c.site.startswith("au-")]


def test_a_recompile_without_a_carriers_mirrors_removes_its_sites_group_file(examples: Path) -> None:
    """A stale site group file would keep the dropped mirrors on the carrier's nodes: Ansible
    still loads it, and it wins over group_vars/all."""
    grid, out = examples / "multi-carrier-grid.yaml", examples.parent.parent / "out"
    assert run_aigrid("compile", str(grid), "--out", str(out), timeout=300).returncode == 0
    stale = out / layout.group_vars(group_name("site", "au-muc-edge-01"))
    assert stale.is_file()
    grid.write_text(grid.read_text() + "carriers:\n  - {$patch: replace}\n")
    assert run_aigrid("compile", str(grid), "--out", str(out), timeout=300).returncode == 0
    assert not stale.exists()
    assert not list(stale.parent.glob("site_*.yml"))
