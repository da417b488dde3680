"""Generated references stay in step with the code; CLI help is useful on its own."""

from __future__ import annotations

import json

import pytest

from aigrid.docs import rules_markdown
from aigrid.model.blueprint import json_schema
from conftest import BLUEPRINTS, ROOT, run_aigrid


def test_committed_schema_is_generated_from_the_models() -> None:
    committed = json.loads((ROOT / "schema" / "blueprint.schema.json").read_text())
    assert committed == json_schema(), "run: aigrid schema -o schema/blueprint.schema.json"


def test_schema_command_prints_the_schema() -> None:
    proc = run_aigrid("schema")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["title"] == "Blueprint"


def test_rule_reference_is_generated_from_the_registry() -> None:
    assert (ROOT / "docs" / "rules.md").read_text() == rules_markdown(), (
        "run: aigrid rules --markdown > docs/rules.md"
    )


def test_shipped_blueprints_point_editors_at_the_schema() -> None:
    for path in BLUEPRINTS.glob("**/*.yaml"):
        if "invalid" in path.parts:
            continue
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert target == (ROOT / "schema" / "blueprint.schema.json").resolve(), path


@pytest.mark.parametrize("command", [[], ["validate"], ["explain"], ["schema"], ["rules"], ["catalog"]])
def test_help_is_available_for_every_command(command: list[str]) -> None:
    proc = run_aigrid(*command, "--help")
    assert proc.returncode == 0
    assert "Usage:" in proc.stdout


COMMANDS = (
    "compile",
    "bringup",
    "preview",
    "up",
    "verify",
    "validate",
    "explain",
    "schema",
    "rules",
    "catalog",
    "facts",
    "verify-node",
    "smoke",
    "lab",
)


def test_top_level_help_describes_what_aigrid_does_now_and_lists_every_command() -> None:
    proc = run_aigrid("--help", columns=200)
    assert proc.returncode == 0
    assert "soon" not in proc.stdout
    listed = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed, set(COMMANDS) - listed


def test_compile_help_names_everything_compile_writes() -> None:
    from aigrid import layout

    proc = run_aigrid("compile", "--help", columns=200)
    assert proc.returncode == 0
    for written in (*layout.TOP_LEVEL, layout.README):
        assert written in proc.stdout, written


def test_catalog_lists_gpus() -> None:
    proc = run_aigrid("catalog", columns=200)
    assert proc.returncode == 0 and "H100-SXM-80GB" in proc.stdout and "1g.10gb" in proc.stdout


def test_readme_rule_table_is_generated_from_the_registry() -> None:
    from aigrid.docs import readme_rules_section, rules_table

    assert readme_rules_section((ROOT / "README.md").read_text()) == rules_table()


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 -m pytest"
    assert f"python3 -m pip install '.[dev]' && {command}" in readme
    assert command in ci.splitlines()


def test_blueprint_reference_is_generated_from_the_models() -> None:
    from aigrid.docs import blueprint_markdown

    assert (ROOT / "docs" / "blueprint.md").read_text() == blueprint_markdown(), (
        "run: python3 -c \"from aigrid.docs import blueprint_markdown; print(blueprint_markdown(), end='')\""
        " > docs/blueprint.md"
    )
