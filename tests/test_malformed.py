"""Hostile and broken inputs: one coded error, exit 1, never a traceback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from aigrid.load.yamlsrc import MAX_FILE_BYTES
from aigrid.validate import validate_file
from conftest import DATA, run_aigrid

EXPECTED = {
    "alias-bomb.yaml": "AG003",
    "binary-garbage.yaml": "AG004",
    "comment-only.yaml": "AG010",
    "cycle-a.yaml": "AG007",
    "cycle-b.yaml": "AG007",
    "deep-nesting.yaml": "AG005",
    "duplicate-key.yaml": "AG002",
    "empty.yaml": "AG010",
    "merge-key.yaml": "AG005",
    "non-string-key.yaml": "AG005",
    "not-utf8.yaml": "AG004",
    "scalar-document.yaml": "AG010",
    "syntax-error.yaml": "AG001",
    "two-documents.yaml": "AG005",
    "unknown-key.yaml": "AG012",
    "wrong-api-version.yaml": "AG010",
    "wrong-type.yaml": "AG011",
}
MALFORMED = DATA / "malformed"


def test_every_malformed_file_has_an_expectation() -> None:
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_input_gives_one_coded_error(name: str) -> None:
    proc = run_aigrid("validate", "--format", "json", str(MALFORMED / name))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    assert report["valid"] is False
    [diagnostic] = report["diagnostics"]
    assert diagnostic["code"] == EXPECTED[name]
    assert diagnostic["line"] >= 1
    # A cycle is reported at the extends entry that closes it, which may be in the other file.
    assert diagnostic["file"].endswith(name) or name.startswith("cycle-")


def test_text_output_first_line_is_file_line_code(tmp_path: Path) -> None:
    proc = run_aigrid("validate", str(MALFORMED / "duplicate-key.yaml"))
    lines = proc.stdout.splitlines()
    assert lines[1].startswith(
        "tests/data/malformed/duplicate-key.yaml:3:1: error AG002: duplicate key 'kind'"
    )


def test_cycle_message_names_the_cycle() -> None:
    [diagnostic] = validate_file(MALFORMED / "cycle-a.yaml").diagnostics
    assert "cycle-a.yaml -> " in diagnostic.message and "cycle-b.yaml -> " in diagnostic.message


def test_alias_bomb_is_rejected_quickly() -> None:
    start = time.perf_counter()
    [diagnostic] = validate_file(MALFORMED / "alias-bomb.yaml").diagnostics
    assert diagnostic.code == "AG003"
    assert time.perf_counter() - start < 5, "the bomb must be refused before it is expanded"


def test_huge_file_is_refused_by_size_without_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: costs no disk, only its size is checked
        handle.truncate(MAX_FILE_BYTES + 1)
    proc = run_aigrid("validate", str(huge))
    assert proc.returncode == 1
    assert "AG004" in proc.stdout and "over the 64 MiB limit" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_missing_file_is_misuse() -> None:
    proc = run_aigrid("validate", "no/such/file.yaml")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_flag_is_misuse() -> None:
    proc = run_aigrid("validate", "--no-such-flag", str(MALFORMED / "empty.yaml"))
    assert proc.returncode == 2
    assert "No such option" in proc.stderr
