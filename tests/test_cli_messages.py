"""What a user trying the command line for the first time ran into (a walkthrough of the README
and docs/ on 2026-11-28): each test is one of its findings, as the user met it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aigrid.model.grammar import gpu_model
from aigrid.rules.schema import suggest
from conftest import BLUEPRINTS, ROOT, run_aigrid

LAB = BLUEPRINTS / "examples" / "lab-edge-site.yaml"
INVALID = BLUEPRINTS / "examples" / "invalid"


def test_a_symlinked_output_folder_is_refused_before_anything_changes(tmp_path: Path) -> None:
    """The output is swapped in whole: through a link it replaced the link with a folder, left
    the link's target empty and a temporary link behind, and still said it failed."""
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "out"
    link.symlink_to(real)
    proc = run_aigrid("compile", str(LAB), "--out", str(link))
    assert proc.returncode == 2
    assert "is a symbolic link" in proc.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]
    assert list(real.iterdir()) == []


def test_a_gpu_model_typed_without_its_form_factor_gets_the_models_it_begins() -> None:
    """Spelling distance alone suggested A10 for H100 and B200 for H200."""
    models = {"A10", "A100-80GB", "B200", "H100-PCIe-80GB", "H100-SXM-80GB", "H200-141GB"}
    assert suggest("H100", models) == "did you mean one of 'H100-PCIe-80GB', 'H100-SXM-80GB'?"
    assert suggest("H200", models) == "did you mean 'H200-141GB'?"
    assert suggest("h100-sxm-80gb", models) == "did you mean 'H100-SXM-80GB'?"
    assert suggest("A1O", models) == "did you mean 'A10'?"  # still the closest spelling otherwise


def test_a_gpu_model_hint_names_a_command_that_exists() -> None:
    with pytest.raises(ValueError, match=r"\(see `aigrid catalog`\)$"):
        gpu_model("H100 SXM")
    assert run_aigrid("catalog").returncode == 0  # `aigrid catalog gpus` was named: no such command


def test_a_text_report_written_to_a_file_keeps_each_finding_on_one_line(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    blueprint = str(INVALID / "AG402-insecure-mirror.yaml")
    proc = run_aigrid("validate", "-o", str(report), blueprint)
    printed = run_aigrid("validate", blueprint, columns=80)
    assert proc.returncode == printed.returncode == 0
    lines = report.read_text().splitlines()
    assert any(
        line.endswith("warning AG402: mirror http://mirror.example.net/ubuntu uses plain HTTP")
        for line in lines
    )
    assert lines == printed.stdout.splitlines()


def test_a_value_error_names_the_value_once() -> None:
    proc = run_aigrid("validate", str(INVALID / "AG011-invalid-value.yaml"))
    finding = next(line for line in proc.stdout.splitlines() if "error AG011" in line)
    assert finding.endswith("expected a duration with a unit such as 10ms or 1.5ms, got 5"), finding


def test_a_json_file_that_is_not_a_lock_is_called_so(tmp_path: Path) -> None:
    """It was blamed on an older aigrid, whose locks all name their aigrid version."""
    for text in ("[]", '{"a": 1}'):
        other = tmp_path / "other.json"
        other.write_text(text)
        proc = run_aigrid("diff", str(other), str(LAB))
        assert proc.returncode == 1
        assert "not an aigrid lock file" in proc.stderr and "older aigrid" not in proc.stderr


def test_a_file_outside_the_working_directory_is_shown_as_typed(tmp_path: Path) -> None:
    """Not as a ../ path from the working directory (the README: the paths as given)."""
    blueprint = tmp_path / "bad.yaml"
    shutil.copy(INVALID / "AG202-vlan-out-of-range.yaml", blueprint)
    proc = run_aigrid("validate", str(blueprint), cwd=ROOT)
    assert proc.stdout.splitlines()[0] == f"{blueprint}: 1 finding (invalid)"
    assert f"{blueprint}:" in proc.stdout.splitlines()[1]
    inside = run_aigrid("validate", str(INVALID / "AG202-vlan-out-of-range.yaml"), cwd=ROOT)
    assert inside.stdout.startswith("blueprints/examples/invalid/AG202-vlan-out-of-range.yaml:")


def test_the_working_directory_as_output_folder(tmp_path: Path) -> None:
    """`--out .` failed with "Device or resource busy" (the swap renamed "." as written); from
    inside the output, a recompile left the shell in the removed folder without a word."""
    shutil.copytree(BLUEPRINTS, tmp_path / "bp")
    blueprint = tmp_path / "bp" / "examples" / "lab-edge-site.yaml"
    compile_ = ("compile", str(blueprint), "--root", str(tmp_path / "bp"), "--out")
    out = tmp_path / "out"
    out.mkdir()
    first = run_aigrid(*compile_, ".", cwd=out)
    assert first.returncode == 0, first.stderr
    assert (out / "aigrid.lock.json").is_file() and (out / "ansible" / "site.yml").is_file()
    assert 'cd "$PWD"' in first.stderr  # the empty folder it ran in was swapped for the output

    inside = out / "ansible"
    unchanged = run_aigrid(*compile_, "..", cwd=inside)
    assert unchanged.returncode == 0, unchanged.stderr
    assert "0 added, 0 changed, 0 removed" in unchanged.stdout
    assert unchanged.stderr == ""  # nothing was swapped: the shell's folder is still the output's

    blueprint.write_text(blueprint.read_text().replace("maximum: 20Mbps", "maximum: 30Mbps"))
    again = run_aigrid(*compile_, "..", cwd=inside)
    assert again.returncode == 0, again.stderr
    assert "note: .. was replaced by a new folder while the working directory was in it" in again.stderr
    assert "site lab-edge-01: 0 added, " in again.stdout
    assert (out / "ansible" / "site.yml").is_file()  # the new output, at the same path


def test_a_plan_the_upgrade_would_refuse_is_not_a_success(tmp_path: Path) -> None:
    """`upgrade --plan-only` exited 0 for two Kubernetes minors in one revision, which the
    upgrade itself refuses; `--plan-only --json` printed text."""
    running, nxt = tmp_path / "running", tmp_path / "next"
    assert run_aigrid("compile", str(LAB), "--out", str(running)).returncode == 0
    minor = BLUEPRINTS / "examples" / "day2" / "kubernetes-minor.yaml"
    assert run_aigrid("compile", str(minor), "--out", str(nxt)).returncode == 0
    lock = str(running / "aigrid.lock.json")
    text = run_aigrid("upgrade", str(nxt), "--from", lock, "--plan-only")
    assert text.returncode == 1
    assert "kubernetes: 1.34.9 -> 1.35 -> 1.36.2" in text.stdout
    assert "prerequisite: Kubernetes moves 1.34.9 -> 1.36.2, more than one minor" in text.stdout
    as_json = run_aigrid("upgrade", str(nxt), "--from", lock, "--plan-only", "--json")
    assert as_json.returncode == 1
    plan = json.loads(as_json.stdout)
    assert plan["running_kubernetes"] == "1.34.9" and len(plan["prerequisites"]) == 1


def test_the_catalog_shows_every_model_whole_on_a_narrow_terminal() -> None:
    """At 80 columns `V100-PCIe-32GB` was cut to `V100-PCI…`: the name a blueprint must spell."""
    from aigrid.catalog import catalog

    proc = run_aigrid("catalog", columns=80)
    cells = {line.split("│")[1].strip() for line in proc.stdout.splitlines() if line.startswith("│")}
    assert set(catalog().gpus) <= cells
    assert "1g.6gb+me," in proc.stdout  # profiles wrap between names, not inside one


def test_a_capture_folder_without_answers_is_named_not_the_driver(tmp_path: Path) -> None:
    """`facts --from` an empty folder asked whether this was a GPU node with its driver loaded."""
    for command in (("facts",), ("verify-node", str(LAB), "--node", "lab-gpu01")):
        proc = run_aigrid(*command, "--from", str(tmp_path))
        assert proc.returncode == 2
        assert f"{tmp_path} holds no GPU answers" in proc.stderr and "driver loaded" not in proc.stderr


def test_ctrl_c_while_the_command_line_loads_is_not_a_traceback() -> None:
    """The imports take a second or more; Ctrl-C in them printed a KeyboardInterrupt traceback.
    Here the interrupt arrives (deterministically) as typer is imported."""
    program = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from aigrid.__main__ import run\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program, "--help"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert proc.returncode == 130
    assert proc.stderr == "\naigrid: interrupted\n"
