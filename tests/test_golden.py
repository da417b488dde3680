"""Golden files: the whole compiled output of two examples, every target, byte for byte.

After an intended change of the output, regenerate and review the diff:

    AIGRID_UPDATE_GOLDEN=1 python3 -m pytest tests/test_golden.py

The roles are left out (they are the shipped roles, copied verbatim: checked below).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from aigrid import layout
from conftest import BLUEPRINTS, ROOT, run_aigrid

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = ["multi-carrier-grid", "lab-edge-site"]


# The lock names the aigrid that wrote it by a digest of its own files, which any change to
# aigrid moves: compared as this placeholder, so only a change of the output itself shows.
RENDERER = re.compile(rb'"renderer": "[0-9a-f]{64}"')
PLACEHOLDER = b'"renderer": "<digest of aigrid>"'


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): RENDERER.sub(PLACEHOLDER, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.relative_to(root).as_posix().startswith(layout.ROLES + "/")
    }


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    name = str(request.param)
    out = tmp_path_factory.mktemp(name) / "out"
    proc = run_aigrid("compile", str(BLUEPRINTS / "examples" / f"{name}.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return name, out


def test_compiled_output_matches_the_golden_files(case: tuple[str, Path]) -> None:
    name, out = case
    produced, golden = _tree(out), GOLDEN / name
    if os.environ.get("AIGRID_UPDATE_GOLDEN"):
        shutil.rmtree(golden, ignore_errors=True)
        for relative, content in produced.items():
            (golden / relative).parent.mkdir(parents=True, exist_ok=True)
            (golden / relative).write_bytes(content)
    expected = _tree(golden)
    assert sorted(produced) == sorted(expected), "files added or missing; see the module docstring"
    for relative, content in produced.items():
        assert content == expected[relative], f"{relative} differs; see the module docstring"


def test_compiled_roles_are_the_shipped_roles(case: tuple[str, Path]) -> None:
    _, out = case
    shipped = ROOT / "roles"
    for path in sorted(shipped.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(shipped).as_posix()
            assert (out / layout.role_file(relative)).read_bytes() == path.read_bytes(), relative
