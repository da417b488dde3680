"""The benchmark commands of docs/performance.md run as written, on tiny grids (their timings
are measured by hand and recorded in the doc, never asserted here)."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, run_doc_python

DOC = (ROOT / "docs" / "performance.md").read_text()
SMOKE = re.findall(r"^(python3 benchmarks/\S+\.py .*--sizes 6 .*)$", DOC, flags=re.MULTILINE)


def test_doc_shows_a_smoke_command_per_benchmark() -> None:
    assert sorted(command.split()[1] for command in SMOKE) == [
        "benchmarks/compile_scale.py",
        "benchmarks/inventory_scale.py",
        "benchmarks/validate_scale.py",
    ]


@pytest.mark.parametrize("command", SMOKE)
def test_benchmark_runs_as_written(command: str) -> None:
    proc = run_doc_python(command, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s*6 ", proc.stdout, flags=re.MULTILINE), proc.stdout  # the row for 6 sites
