"""Generated references stay in step with the code; CLI help is useful on its own."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

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
    "collection",
    "diff",
    "upgrade",
    "drift",
    "teardown",
    "report",
    "lab",
)


def test_top_level_help_describes_what_aigrid_does_now_and_lists_every_command() -> None:
    proc = run_aigrid("--help", columns=200)
    assert proc.returncode == 0
    assert "soon" not in proc.stdout
    listed = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed, set(COMMANDS) - listed


def test_compile_help_and_success_line_name_everything_compile_writes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_aigrid("compile", str(BLUEPRINTS / "examples" / "lab-edge-site.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    written = sorted(f"{p.name}/" if p.is_dir() else p.name for p in out.iterdir())
    assert written == [
        ".gitignore",
        "README.md",
        "aigrid.lock.json",
        "ansible/",
        "manifests/",
        "pulumi/",
        "verify/",
    ]
    named = proc.stdout[proc.stdout.rindex("(") :]
    help_text = run_aigrid("compile", "--help", columns=200).stdout
    for entry in written:
        assert entry in named, (entry, proc.stdout)
        assert entry in help_text, entry


def test_usage_names_the_command_people_type() -> None:
    assert "Usage: aigrid validate" in run_aigrid("validate", "--help").stdout


def test_catalog_lists_gpus() -> None:
    proc = run_aigrid("catalog", columns=200)
    assert proc.returncode == 0 and "H100-SXM-80GB" in proc.stdout and "1g.10gb" in proc.stdout


def test_readme_rule_table_is_generated_from_the_registry() -> None:
    from aigrid.docs import readme_rules_section, rules_table

    assert readme_rules_section((ROOT / "README.md").read_text()) == rules_table()


def test_blueprint_reference_is_generated_from_the_models() -> None:
    from aigrid.docs import blueprint_markdown

    assert (ROOT / "docs" / "blueprint.md").read_text() == blueprint_markdown(), (
        "run: python3 -c \"from aigrid.docs import blueprint_markdown; print(blueprint_markdown(), end='')\""
        " > docs/blueprint.md"
    )


# Output paths that can never be written: a folder that does not exist, a file where a folder
# should be, a directory. Each is refused with exit 2 and one line naming the path.
def bad_outputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "a-file").write_text("")
    return {
        "missing folder": (tmp_path / "missing" / "report.json", "does not exist; create it first"),
        "under a file": (tmp_path / "a-file" / "report.json", "is not a directory"),
        "a directory": (tmp_path, "it is a directory"),
    }


@pytest.mark.parametrize("case", ["missing folder", "under a file", "a directory"])
@pytest.mark.parametrize(
    "command",
    [
        ["validate", "--format", "json", "blueprints/examples/lab-edge-site.yaml", "-o"],
        ["validate", "blueprints/examples/lab-edge-site.yaml", "-o"],
        ["schema", "-o"],
    ],
    ids=["validate-json", "validate-text", "schema"],
)
def test_unwritable_output_is_misuse_naming_the_path(command: list[str], case: str, tmp_path: Path) -> None:
    target, why = bad_outputs(tmp_path)[case]
    proc = run_aigrid(*command, str(target))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"aigrid: cannot write {target}: " in proc.stderr and why in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_compile_into_a_path_below_a_file_is_misuse(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "out"
    proc = run_aigrid("compile", "blueprints/examples/lab-edge-site.yaml", "--out", str(target))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"cannot write {target}: {tmp_path / 'a-file'} is not a directory" in proc.stderr
    assert "internal error" not in proc.stderr


def test_verify_refuses_an_unwritable_junit_path_before_running(tmp_path: Path) -> None:
    """Checked first: the suite would run against every node before pytest found out."""
    compiled = tmp_path / "compiled"
    run_aigrid("compile", "blueprints/examples/lab-edge-site.yaml", "--out", str(compiled))
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "junit.xml"
    proc = run_aigrid("verify", str(compiled), "--junit", str(target), timeout=30)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"cannot write {target}" in proc.stderr and proc.stdout == ""


def test_output_to_a_writable_path_still_works(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    proc = run_aigrid(
        "validate", "--format", "json", "-o", str(target), "blueprints/examples/lab-edge-site.yaml"
    )
    assert proc.returncode == 0 and json.loads(target.read_text())["valid"] is True


EXAMPLE = "blueprints/examples/multi-carrier-grid.yaml"


def test_explain_help_example_runs_as_shown() -> None:
    """The example in `aigrid explain --help` is a command that works, brackets and all."""
    text = run_aigrid("explain", "--help", columns=200).stdout
    example = next(line for line in text.splitlines() if "Example: " in line)
    command = shlex.split(example.split("Example: ", 1)[1])
    assert command[:2] == ["aigrid", "explain"] and "[" in command[-1], command
    proc = run_aigrid(*command[1:])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{command[-1]} = ")


@pytest.mark.parametrize(
    ("mistyped", "meant"),
    [
        ("stack.drivr.version", "stack.driver.version"),
        ("stack[driver].version", "stack.driver.version"),
        ("slices[nw-urllc-robot].vlan", "slices[nw-urllc-robots].vlan"),
        ("sites.nodes.gpus", "sites[nw-nyc-fe-01].nodes[nw-nyc-fe-01-gpu01].gpus"),
        (
            "sites[nw-nwk-co-01].nodes[nw-nwk-co-01-gpu1].gpus.count",
            "sites[nw-nwk-co-01].nodes[nw-nwk-co-01-gpu01].gpus.count",
        ),
    ],
)
def test_explain_unknown_path_suggests_paths_that_are_set(mistyped: str, meant: str) -> None:
    proc = run_aigrid("explain", EXAMPLE, mistyped, columns=400)
    assert proc.returncode == 1
    assert f"nothing is set at {mistyped} in {EXAMPLE}" in proc.stderr
    assert "did you mean " in proc.stderr and meant in proc.stderr, proc.stderr
    assert run_aigrid("explain", EXAMPLE, meant).returncode == 0


def test_explain_without_a_close_path_lists_what_is_set_there() -> None:
    proc = run_aigrid("explain", EXAMPLE, "stack.driver.branch", columns=400)
    assert proc.returncode == 1 and "did you mean" not in proc.stderr
    assert "under stack.driver the blueprint sets version, install, kernelModules" in proc.stderr


def test_rules_json_lists_every_rule() -> None:
    from aigrid.rules.registry import all_rules

    proc = run_aigrid("rules", "--json")
    assert proc.returncode == 0, proc.stderr
    rules = json.loads(proc.stdout)["rules"]
    assert [rule["code"] for rule in rules] == [str(rule.code) for rule in all_rules()]
    first = rules[0]
    assert set(first) == {"code", "name", "severity", "group", "title", "doc"}
    assert first["code"] == "AG001" and first["severity"] == "error" and first["doc"]


def test_rules_refuses_two_formats() -> None:
    proc = run_aigrid("rules", "--json", "--markdown")
    assert proc.returncode == 2 and "choose one" in proc.stderr


def test_catalog_json_lists_gpus_with_their_mig_profiles() -> None:
    proc = run_aigrid("catalog", "--json")
    assert proc.returncode == 0, proc.stderr
    gpus = {gpu["model"]: gpu for gpu in json.loads(proc.stdout)["gpus"]}
    h100 = gpus["H100-SXM-80GB"]
    assert {"architecture", "compute_capability", "memory_gib", "min_driver", "source"} <= set(h100)
    assert "1g.10gb" in h100["mig_profiles"] and h100["memory_gib"] == 80
    assert gpus["L4"]["mig_profiles"] == []


def test_shell_completion_script_completes_commands(tmp_path: Path) -> None:
    """The script `aigrid --show-completion` prints, loaded into bash, completes `aigrid val`."""
    shim = tmp_path / "aigrid"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m aigrid "$@"\n')
    shim.chmod(0o755)
    script = (
        'eval "$(aigrid --show-completion)"; '
        "COMP_WORDS=(aigrid val); COMP_CWORD=1; _aigrid_completion aigrid; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["validate"], proc.stdout + proc.stderr


def _readme_command_rows() -> dict[str, str]:
    """The README's command table: each row's first cell, keyed by the command it starts with
    (a row may name several, `aigrid preview ...`, `aigrid up ...`)."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Commands") :].split("\n\n", 2)[1]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        cell = line.split(" | ")[0]
        for name in re.findall(r"`aigrid ((?:lab )?[a-z-]+)", cell):
            rows[name] = rows.get(name, "") + cell
        for name in re.findall(r"`lab ([a-z]+)", cell):  # `lab status`, listed without `aigrid`
            rows.setdefault(f"lab {name}", cell)
    return rows


def test_the_readme_command_table_names_every_option() -> None:
    """A user reads the table for what a command takes: an option missing there (bringup's
    --secrets, upgrade's --format) was found only in --help."""
    import typer

    from aigrid.cli import app

    rows = _readme_command_rows()
    missing = []
    # Groups by what they hold: typer carries a click of its own, not the click package's classes.
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", {"": command})
        for sub, leaf in subcommands.items():
            full = f"{name} {sub}".strip()
            assert full in rows, f"README's command table has no row for aigrid {full}"
            for param in leaf.params:
                opts = [opt for opt in getattr(param, "opts", []) if opt.startswith("-") and opt != "--help"]
                named = (re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", rows[full]) for opt in opts)
                if opts and not any(named):
                    missing.append(f"aigrid {full} {opts[-1]}")
    assert not missing, missing
