"""AG021: two files one blueprint extends set the same field to different values."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aigrid.diagnostics import Code
from aigrid.load.layers import load_document
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

pytestmark = pytest.mark.usefixtures("deadline")

BASE = """\
apiVersion: aigrid.dev/v1alpha1
kind: Blueprint
stack:
  driver: {version: 580.126.20, install: host}
sites:
  - {name: s1, rtt: 5ms}
"""


def conflicts(write, left: str, right: str, top: str = "") -> list[tuple[str, str, int, str]]:  # type: ignore[no-untyped-def]
    write("base.yaml", BASE)
    write("left.yaml", "extends: [base.yaml]\n" + left)
    write("right.yaml", "extends: [base.yaml]\n" + right)
    document = load_document(write("top.yaml", "extends:\n  - left.yaml\n  - right.yaml\n" + top))
    return [(d.code, Path(d.file).name, d.line, d.path) for d in document.conflicts]


def test_two_parents_setting_a_field_differently_is_a_warning_naming_both_places(write) -> None:  # type: ignore[no-untyped-def]
    write("base.yaml", BASE)
    write("left.yaml", "extends: [base.yaml]\nstack:\n  mirrors: {apt: https://left.example/apt}\n")
    write("right.yaml", "extends: [base.yaml]\nstack:\n  mirrors:\n    apt: https://right.example/apt\n")
    document = load_document(write("top.yaml", "extends:\n  - left.yaml\n  - right.yaml\n"))
    [found] = document.conflicts
    assert (found.code, found.severity.value, Path(found.file).name, found.line) == (
        Code.CONFLICTING_PARENTS,
        "warning",
        "top.yaml",
        3,  # the extends entry whose value wins
    )
    assert found.path == "stack.mirrors.apt"
    assert "right.yaml:4 sets 'https://right.example/apt'" in found.message
    assert "left.yaml:3 sets 'https://left.example/apt'" in found.message


def test_named_items_are_compared_by_name(write) -> None:  # type: ignore[no-untyped-def]
    found = conflicts(write, "sites:\n  - {name: s1, rtt: 4ms}\n", "sites:\n  - {name: s1, rtt: 9ms}\n")
    assert found == [("AG021", "top.yaml", 3, "sites[s1].rtt")]


def test_a_value_only_one_parent_changed_is_no_conflict(write) -> None:  # type: ignore[no-untyped-def]
    """A diamond: the other parent kept the shared base's value."""
    assert conflicts(write, "stack:\n  driver: {install: operator}\n", "metadata: {name: right}\n") == []


def test_the_same_value_in_both_parents_is_no_conflict(write) -> None:  # type: ignore[no-untyped-def]
    same = "stack:\n  driver: {install: operator}\n"
    assert conflicts(write, same, same) == []


def test_different_keys_and_items_merge_without_a_conflict(write) -> None:  # type: ignore[no-untyped-def]
    left = "stack:\n  cuda: {version: 13.0.2}\nsites:\n  - {name: a}\n"
    right = "stack:\n  tensorrt: {version: 10.14.1}\nsites:\n  - {name: b}\n"
    assert conflicts(write, left, right) == []


@pytest.mark.parametrize(
    "top",
    [
        "stack:\n  driver: {install: preinstalled}\n",
        "stack:\n  driver:\n    $patch: replace\n    version: 580.126.20\n",
        "stack:\n  driver:\n    install: {$patch: delete}\n",
    ],
    ids=["sets-it", "replaces-above-it", "deletes-it"],
)
def test_the_extending_file_settles_the_conflict(write, top: str) -> None:  # type: ignore[no-untyped-def]
    left, right = "stack:\n  driver: {install: operator}\n", "stack:\n  driver: {install: preinstalled}\n"
    assert conflicts(write, left, right) == [("AG021", "top.yaml", 3, "stack.driver.install")]
    assert conflicts(write, left, right, top) == []


def _mirrors_grid_wide(carrier_grid: Path) -> None:
    """Move a carrier grid's own mirrors (its `carriers` entry) back into its `stack`, as the
    carriers' grids had them before `carriers` existed."""
    text = carrier_grid.read_text()
    start, end = text.index("# ", text.index("\nstack:")), text.index("\nslices:")
    entry = text[start:end].split("    stack:\n", 1)[1]
    carrier_grid.write_text(
        text[:start] + "".join(line[4:] + "\n" for line in entry.splitlines()) + text[end:]
    )


def test_the_shared_grid_is_warned_where_carriers_name_their_mirrors_grid_wide(tmp_path: Path) -> None:
    """Grid-wide, the carriers' mirrors collide in the grid that extends them all: Aurora's
    (the last) would reach every site, Northwind's included; each disputed field is named."""
    repo = tmp_path / "repo"
    shutil.copytree(BLUEPRINTS, repo / "blueprints")
    (repo / ".git").mkdir()
    for carrier in ("northwind", "aurora"):
        _mirrors_grid_wide(repo / "blueprints" / "carriers" / carrier / "grid.yaml")
    result = validate_file(repo / "blueprints" / "examples" / "multi-carrier-grid.yaml")
    found = {d.path: d for d in result.diagnostics}
    assert {d.code for d in result.diagnostics} == {"AG021"}
    assert set(found) == {
        "stack.mirrors.apt",
        "stack.mirrors.helm",
        "stack.mirrors.containerRegistry",
        "stack.mirrors.credentials.username",
    }
    apt = found["stack.mirrors.apt"]
    assert "blueprints/carriers/aurora/grid.yaml:" in apt.message
    assert "blueprints/carriers/northwind/grid.yaml:" in apt.message


def test_the_shared_grid_keeps_each_carriers_login_apart() -> None:
    result = validate_file(BLUEPRINTS / "examples" / "multi-carrier-grid.yaml")
    assert result.diagnostics == [] and result.blueprint is not None
    assert result.blueprint.stack.mirrors is None
    logins = {
        carrier.name: carrier.stack.mirrors.credentials  # type: ignore[union-attr]
        for carrier in result.blueprint.carriers
    }
    assert set(logins) == {"northwind", "aurora"}
    # Northwind's password and Aurora's token each stay with their own carrier's mirrors.
    assert logins["northwind"] is not None and logins["northwind"].token is None
    assert logins["aurora"] is not None and logins["aurora"].password is None
