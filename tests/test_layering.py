"""Layering semantics: deep merge, named lists, directives, locks, provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigrid.diagnostics import LoadError
from aigrid.explain import explain
from aigrid.load.layers import LAYER_IDENTITY, LAYER_KEYS, load_document
from aigrid.model.blueprint import API_VERSION, Blueprint
from conftest import BLUEPRINTS, run_aigrid

# A hang in the loader fails the test instead of blocking CI.
pytestmark = pytest.mark.usefixtures("deadline")

BASE = """\
apiVersion: aigrid.dev/v1alpha1
kind: Blueprint
metadata: {name: base, labels: {team: core}}
locks: [stack.driver.version]
stack:
  driver: {version: 580.126.20, install: host}
  cuda: {version: 13.0.2}
slices:
  - {name: a, vlan: 10, 5qi: 9}
  - {name: b, vlan: 20, 5qi: 9}
extras: [1, 2, 3]
"""


def load(write, overlay: str):  # type: ignore[no-untyped-def]
    write("base.yaml", BASE)
    return load_document(write("top.yaml", "extends: [base.yaml]\n" + overlay))


def test_mappings_deep_merge(write) -> None:  # type: ignore[no-untyped-def]
    doc = load(write, "stack:\n  driver: {install: operator}\nmetadata: {labels: {site: x}}\n")
    assert doc.root.plain["stack"]["driver"] == {"version": "580.126.20", "install": "operator"}
    assert doc.root.plain["metadata"]["labels"] == {"team": "core", "site": "x"}


def test_named_lists_merge_by_name_and_append(write) -> None:  # type: ignore[no-untyped-def]
    doc = load(write, "slices:\n  - {name: b, vlan: 21}\n  - {name: c, vlan: 30}\n")
    assert doc.root.plain["slices"] == [
        {"name": "a", "vlan": 10, "5qi": 9},
        {"name": "b", "vlan": 21, "5qi": 9},
        {"name": "c", "vlan": 30},
    ]


def test_unnamed_lists_are_replaced(write) -> None:  # type: ignore[no-untyped-def]
    assert load(write, "extras: [9]\n").root.plain["extras"] == [9]


def test_patch_delete_removes_named_item_and_key(write) -> None:  # type: ignore[no-untyped-def]
    doc = load(write, "slices:\n  - {name: a, $patch: delete}\nstack:\n  cuda: {$patch: delete}\n")
    assert [s["name"] for s in doc.root.plain["slices"]] == ["b"]
    assert "cuda" not in doc.root.plain["stack"]


def test_patch_replace_replaces_instead_of_merging(write) -> None:  # type: ignore[no-untyped-def]
    doc = load(
        write,
        "metadata:\n  $patch: replace\n  name: fresh\n"
        "slices:\n  - $patch: replace\n  - {name: z, vlan: 99}\n",
    )
    assert doc.root.plain["metadata"] == {"name": "fresh"}
    assert doc.root.plain["slices"] == [{"name": "z", "vlan": 99}]


def test_deleting_what_no_layer_set_is_an_error(write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LoadError) as caught:
        load(write, "stack:\n  tensorrt: {$patch: delete}\n")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "AG009" and "nothing to delete at stack.tensorrt" in diagnostic.message


def test_locked_field_override_fails_naming_both_places(write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LoadError) as caught:
        load(write, "stack:\n  driver: {version: 590.48.01}\n")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "AG008"
    assert diagnostic.file.endswith("top.yaml") and diagnostic.line == 3
    assert "locked by" in diagnostic.message and "base.yaml:4" in diagnostic.message
    assert "base.yaml:6" in diagnostic.message  # where the locked value was set


def test_locked_field_with_the_same_value_is_allowed(write) -> None:  # type: ignore[no-untyped-def]
    doc = load(write, "stack:\n  driver: {version: 580.126.20}\n")
    assert doc.root.plain["stack"]["driver"]["version"] == "580.126.20"


def test_locks_accumulate_and_bind_layers_further_up(write) -> None:  # type: ignore[no-untyped-def]
    write("base.yaml", BASE)
    write("mid.yaml", "extends: [base.yaml]\nlocks: [stack.cuda]\n")
    with pytest.raises(LoadError) as caught:
        load_document(write("top.yaml", "extends: [mid.yaml]\nstack:\n  driver: {version: 590.48.01}\n"))
    assert caught.value.diagnostics[0].code == "AG008"
    with pytest.raises(LoadError) as caught:
        load_document(write("top.yaml", "extends: [mid.yaml]\nstack:\n  cuda: {version: 13.1.1}\n"))
    assert "stack.cuda is locked by" in caught.value.diagnostics[0].message


def test_diamond_keeps_a_change_made_on_one_side(write) -> None:  # type: ignore[no-untyped-def]
    write("base.yaml", BASE)
    write("left.yaml", "extends: [base.yaml]\nstack:\n  driver: {install: operator}\n")
    write("right.yaml", "extends: [base.yaml]\nmetadata: {name: right}\n")
    doc = load_document(write("top.yaml", "extends: [left.yaml, right.yaml]\n"))
    assert doc.root.plain["stack"]["driver"]["install"] == "operator"
    assert doc.root.plain["metadata"]["name"] == "right"


def test_provenance_lists_every_layer_base_to_leaf(write) -> None:  # type: ignore[no-untyped-def]
    write("base.yaml", BASE)
    write("carrier.yaml", "extends: [base.yaml]\nstack:\n  driver: {install: preinstalled}\n")
    write("region.yaml", "extends: [carrier.yaml]\nmetadata: {name: region}\n")
    top = write("site.yaml", "extends: [region.yaml]\nstack:\n  driver:\n    install: operator\n")
    explanation = explain(load_document(top), "stack.driver.install")
    assert explanation.value == "operator"
    assert [
        (Path(layer.origin.file).name, layer.origin.line, layer.value) for layer in explanation.layers
    ] == [("base.yaml", 6, "host"), ("carrier.yaml", 3, "preinstalled"), ("site.yaml", 4, "operator")]


def test_explain_shipped_example_across_three_layers() -> None:
    proc = run_aigrid("explain", "blueprints/examples/multi-carrier-grid.yaml", "stack.driver.install")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "stack.driver.install = operator"
    assert "blueprints/base/stack.yaml:" in lines[2] and ": host" in lines[2]
    assert "blueprints/carriers/meridian/grid.yaml:" in lines[3]
    assert "blueprints/examples/multi-carrier-grid.yaml:" in lines[-1] and "(resolved)" in lines[-1]


def test_explain_named_items_by_name(tmp_path: Path) -> None:
    proc = run_aigrid(
        "explain",
        "--json",
        str(BLUEPRINTS / "examples/multi-carrier-grid.yaml"),
        "sites[nw-nwk-co-01].nodes[nw-nwk-co-01-gpu01].gpus.count",
    )
    import json

    data = json.loads(proc.stdout)
    assert data["value"] == 6
    assert [layer["value"] for layer in data["layers"]] == [4, 6]


def test_explain_unknown_path_and_bad_syntax() -> None:
    example = "blueprints/examples/multi-carrier-grid.yaml"
    assert run_aigrid("explain", example, "sites[nope].nodes").returncode == 1
    proc = run_aigrid("explain", example, "stack..driver")
    assert proc.returncode == 2 and "cannot read path" in proc.stderr


def test_layer_keys_are_the_blueprint_fields() -> None:
    assert {field.alias or name for name, field in Blueprint.model_fields.items()} == LAYER_KEYS
    assert LAYER_IDENTITY == {"apiVersion": API_VERSION, "kind": "Blueprint"}


def test_an_extended_file_must_be_a_blueprint_layer(write) -> None:  # type: ignore[no-untyped-def]
    write("manifest.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {token: abc}\n")
    write("settings.yaml", "token: abc\n")
    for name in ("manifest.yaml", "settings.yaml"):
        with pytest.raises(LoadError) as caught:
            load_document(write("top.yaml", f"metadata: {{name: top}}\nextends: [{name}]\n"))
        [diagnostic] = caught.value.diagnostics
        assert diagnostic.code == "AG010" and diagnostic.file.endswith("top.yaml") and diagnostic.line == 2
        assert "not a blueprint layer" in diagnostic.message and "abc" not in diagnostic.message
        assert list(caught.value.sources) == [diagnostic.file]
