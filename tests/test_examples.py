"""The shipped blueprints: valid ones pass, each invalid one triggers exactly its rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aigrid.cli import app
from aigrid.diagnostics import Code, Severity
from aigrid.rules.registry import all_rules, get_rule
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, ROOT, run_aigrid

VALID = sorted(
    [
        *BLUEPRINTS.glob("examples/*.yaml"),
        *BLUEPRINTS.glob("carriers/*/*.yaml"),
        *BLUEPRINTS.glob("base/*.yaml"),
    ]
)
INVALID = sorted((BLUEPRINTS / "examples" / "invalid").glob("*.yaml"))


def marker_line(path: Path, code: str) -> int:
    lines = path.read_bytes().decode("latin-1").splitlines()
    hits = [number for number, line in enumerate(lines, 1) if re.search(rf"#\s*<-\s*{code}\b", line)]
    assert len(hits) == 1, f"{path.name} must mark exactly one line with `# <- {code}`"
    return hits[0]


@pytest.mark.parametrize("path", VALID, ids=lambda p: str(p.relative_to(BLUEPRINTS)))
def test_shipped_blueprint_is_valid_without_warnings(path: Path) -> None:
    result = validate_file(path)
    assert result.diagnostics == []
    assert result.blueprint is not None


def test_readme_validate_command_exits_zero() -> None:
    files = [str(p.relative_to(BLUEPRINTS.parent)) for p in VALID if "base" not in p.parts]
    proc = run_aigrid("validate", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_triggers_exactly_its_rule(path: Path) -> None:
    code = path.name[:5]
    result = validate_file(path)
    found = [(d.code, Path(d.file).resolve(), d.line) for d in result.diagnostics]
    assert found == [(code, path.resolve(), marker_line(path, code))]


def test_every_code_is_a_documented_rule() -> None:
    registered = {rule.code for rule in all_rules()}
    assert registered == set(Code), "register a Rule (title, doc, examples) for every Code"
    assert all(rule.doc for rule in all_rules())


# Rules no small blueprint triggers on its own, with the test that triggers them.
WITHOUT_EXAMPLE = {
    # HiGHS proved every grid tried (up to 10,000 sites) within its effort; the test limits it.
    Code.PLACEMENT_NOT_PROVEN: "tests/test_placement.py::test_a_placement_cut_short_is_reported_with_its_gap",
}


def test_every_blueprint_rule_has_an_invalid_example() -> None:
    """AG5xx are raised from a node's observed facts (tests/test_facts.py), not from a blueprint."""
    examples = {path.name[:5] for path in INVALID}
    assert {rule.code for rule in all_rules() if rule.group != "node"} - set(WITHOUT_EXAMPLE) == examples
    for code, test in WITHOUT_EXAMPLE.items():
        file, name = test.split("::")
        assert f"def {name}(" in (ROOT / file).read_text(), f"{code}: {test} is gone"
    for path in INVALID:
        rule = next(r for r in all_rules() if r.code == path.name[:5])
        assert path.name == f"{rule.code}-{rule.name}.yaml"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_exits_one(path: Path) -> None:
    """Errors fail validation; the warning rules' examples fail under --strict, as CI runs it."""
    rule = get_rule(Code(path.name[:5]))
    plain = CliRunner().invoke(app, ["validate", str(path)])
    strict = CliRunner().invoke(app, ["validate", "--strict", str(path)])
    assert strict.exit_code == 1, strict.output
    assert plain.exit_code == (1 if rule.severity is Severity.ERROR else 0), plain.output
    assert f"{rule.severity.value} {rule.code}" in plain.output
