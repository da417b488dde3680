"""Mutated blueprints never crash the validator (every outcome is diagnostics, not a traceback),
and every mutant that validates also compiles."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigrid import layout
from aigrid.catalog import catalog
from aigrid.compile import render_all
from aigrid.plan import build_plan
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

# The seed extends a copy of the base beside it: `extends` may not leave the blueprint's folder.
SEED = (BLUEPRINTS / "carriers" / "northwind" / "grid.yaml").read_text().replace("../../base/", "")
LINES = SEED.splitlines(keepends=True)
TOKENS = [
    "",
    " ",
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "!!str ",
    "$patch: delete",
    "null",
    "-1",
    "4095",
    "yes",
    "0x1F",
    "1e9",
    "\t",
    '"',
    "'",
    "\x00",
    "é",
    "99999999999999999999",
    "1.30",
    "~",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "splice", "swap"]))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            cut = draw(st.integers(0, 6))
            lines[index] = line[:at] + draw(st.sampled_from(TOKENS)) + line[at + cut :]
        if not lines:
            break
    return "".join(lines)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated())
def test_mutated_blueprints_give_diagnostics_not_tracebacks(tmp_path: Path, text: str) -> None:
    shutil.copyfile(BLUEPRINTS / "base" / "stack.yaml", tmp_path / "stack.yaml")
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    result = validate_file(path)
    for diagnostic in result.diagnostics:
        assert diagnostic.code.startswith("AG") and diagnostic.line >= 1 and diagnostic.message
    if result.blueprint is not None and not result.errors:
        # Whatever validates compiles: every target renders without an exception.
        files = render_all(result, build_plan(result.blueprint, catalog()))
        assert files[layout.LOCK]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_give_diagnostics_not_tracebacks(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    result = validate_file(path)
    assert result.blueprint is None
    assert result.diagnostics
