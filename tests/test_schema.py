"""The editor schemas: layer files against schema/blueprint-layer.schema.json, whole blueprints
(and every resolved blueprint) against schema/blueprint.schema.json, checked with the tool an
editor's CI would use (check-jsonschema, offline) and with jsonschema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from aigrid.load.layers import extended_files, load_document
from aigrid.model.blueprint import json_schema
from aigrid.model.layer_schema import layer_json_schema
from conftest import BLUEPRINTS, ROOT, run_aigrid

FULL = ROOT / "schema" / "blueprint.schema.json"
LAYER = ROOT / "schema" / "blueprint-layer.schema.json"
SHIPPED = sorted(path for path in BLUEPRINTS.glob("**/*.yaml") if "invalid" not in path.parts)
EXTENDED = {extended for path in SHIPPED for extended in extended_files(path, BLUEPRINTS)}


def is_layer(path: Path) -> bool:
    """A file that extends others or that others extend is partial as written."""
    return path.resolve() in EXTENDED or bool(extended_files(path, ROOT))


def editor_schema(path: Path) -> Path:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), path
    return (path.parent / first.split("=", 1)[1]).resolve()


def check_jsonschema(schema: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_committed_layer_schema_is_generated_from_the_models() -> None:
    committed = json.loads(LAYER.read_text())
    hint = "run: aigrid schema --layer -o schema/blueprint-layer.schema.json"
    assert committed == layer_json_schema(), hint


def test_schema_command_prints_the_layer_schema() -> None:
    proc = run_aigrid("schema", "--layer")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["$id"].endswith("/blueprint-layer.json")


def test_both_schemas_are_valid_json_schema() -> None:
    for schema in (json_schema(), layer_json_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)


def test_shipped_files_are_sorted_into_layers_and_blueprints() -> None:
    layers = {path.relative_to(BLUEPRINTS).as_posix() for path in SHIPPED if is_layer(path)}
    assert "base/stack.yaml" in layers
    assert "carriers/aurora/grid.yaml" in layers
    assert "examples/multi-carrier-grid.yaml" in layers
    assert "examples/gpu-node-declares-a100.yaml" not in layers


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(BLUEPRINTS).as_posix())
def test_shipped_file_points_editors_at_its_schema(path: Path) -> None:
    assert editor_schema(path) == (LAYER if is_layer(path) else FULL).resolve()


def test_every_shipped_file_validates_against_its_editor_schema() -> None:
    for schema in (FULL, LAYER):
        files = [path for path in SHIPPED if editor_schema(path) == schema.resolve()]
        assert files
        proc = check_jsonschema(schema, *files)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(BLUEPRINTS).as_posix())
def test_every_resolved_shipped_blueprint_satisfies_the_full_schema(path: Path) -> None:
    resolved = json.loads(json.dumps(load_document(path).root.plain))
    jsonschema.validate(resolved, json_schema(), cls=jsonschema.Draft202012Validator)


LAYER_CASES = {
    "directives": """
slices:
  - $patch: replace
  - name: embb
stack:
  tensorrt: {$patch: delete}
  os: {$patch: delete}
metadata:
  labels: {$patch: replace, team: ran}
sites:
  - name: edge-1
    nodes:
      - {hostname: gpu-1, $patch: delete}
    slices: [{$patch: replace}, embb]
""",
    "sd-hex-with-prefix-quoted": "slices:\n  - name: embb\n    snssai: {sd: '0x2B'}\n",
}
LAYER_ERRORS = {
    "unknown-directive": ("slices:\n  - name: embb\n    $patch: remove\n", "'remove' is not one of"),
    "unknown-key": ("stack:\n  driverx: {version: 1}\n", "'driverx' was unexpected"),
    "named-item-without-its-name": ("sites:\n  - tier: edge\n", "'name' is a required property"),
    "node-without-hostname": ("sites:\n  - name: a\n    nodes: [{role: worker}]\n", "'hostname'"),
    "sd-read-as-a-number": ("slices:\n  - name: e\n    snssai: {sd: 0x2B}\n", "43 is not of type 'string'"),
    "sd-unquoted-digits": ("slices:\n  - name: embb\n    snssai: {sd: 000001}\n", "is not of type 'string'"),
    "delete-the-top-level": ("$patch: delete\n", "'delete' is not one of ['replace']"),
    "directive-in-extends": ("extends: [{$patch: replace}]\n", "is not of type 'string'"),
}


@pytest.mark.parametrize("text", LAYER_CASES.values(), ids=LAYER_CASES.keys())
def test_layer_schema_accepts_what_the_merge_accepts(tmp_path: Path, text: str) -> None:
    (tmp_path / "layer.yaml").write_text(text)
    proc = check_jsonschema(LAYER, tmp_path / "layer.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("text", "message"), LAYER_ERRORS.values(), ids=LAYER_ERRORS.keys())
def test_layer_schema_flags_what_the_loader_refuses(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "layer.yaml").write_text(text)
    proc = check_jsonschema(LAYER, tmp_path / "layer.yaml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert message in proc.stdout


# Invalid examples whose mistake an editor can see from the schema alone (the others need the
# catalog, the whole grid or the YAML 1.1 reading); AG013 (a missing field) only in a whole
# blueprint, since a layer may leave any field to another layer.
EDITOR_VISIBLE = {
    "AG009": LAYER,
    "AG010": LAYER,
    "AG011": LAYER,
    "AG012": LAYER,
    "AG013": FULL,
    "AG202": LAYER,
    "AG205": LAYER,
    "AG210": LAYER,
}


@pytest.mark.parametrize(("code", "schema"), EDITOR_VISIBLE.items(), ids=EDITOR_VISIBLE.keys())
def test_editor_schemas_flag_the_structural_invalid_examples(code: str, schema: Path) -> None:
    (example,) = (BLUEPRINTS / "examples" / "invalid").glob(f"{code}-*.yaml")
    proc = check_jsonschema(schema, example)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Schema validation errors" in proc.stdout
