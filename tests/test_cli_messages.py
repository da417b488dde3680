"""What a user trying the command line for the first time ran into (a walkthrough of the README
and docs/ on 2026-11-28): each test is one of its findings, as the user met it."""

from __future__ import annotations

import shutil
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
