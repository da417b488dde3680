"""Diagnostics, byte for byte, on every shipped and invalid example: what `aigrid validate` says
is compared with a recorded copy, so work on the loader's or the rules' speed cannot change a
message, a position or an order unnoticed.

After an intended change of a diagnostic, regenerate and review the diff:
AIGRID_UPDATE_GOLDEN=1 python3 -m pytest tests/test_diagnostics_golden.py
"""

from __future__ import annotations

import os

import pytest

from conftest import BLUEPRINTS, ROOT, run_aigrid

GOLDEN = ROOT / "tests" / "golden" / "diagnostics"
EXAMPLES = sorted(
    [
        *BLUEPRINTS.glob("examples/*.yaml"),
        *BLUEPRINTS.glob("examples/invalid/*.yaml"),
        *BLUEPRINTS.glob("carriers/*/*.yaml"),
    ]
)


@pytest.mark.parametrize("report", ["text", "json"])
def test_diagnostics_unchanged_on_every_example(report: str) -> None:
    files = [str(path.relative_to(ROOT)) for path in EXAMPLES]
    proc = run_aigrid("validate", "--format", report, *files, timeout=600)
    assert proc.returncode == 1, proc.stderr  # the invalid examples are invalid
    golden = GOLDEN / f"validate.{'txt' if report == 'text' else 'json'}"
    # AG019 names the repository root, which is wherever this checkout is.
    said = proc.stdout.replace(str(ROOT), "<repository root>")
    if os.environ.get("AIGRID_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(said)
    assert said == golden.read_text()
