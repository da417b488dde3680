"""What aigrid asks of NVIDIA's tools, checked against what the real tools of driver 580.159.04
accept (captured on a real H200: tests/fixtures/gpu-node-h200/README.md). A misspelt query field
makes nvidia-smi refuse the whole query; an unknown option stops nvidia-persistenced from
starting. Neither shows on the lab's stand-ins, which answer whatever they are asked."""

from __future__ import annotations

import re
from pathlib import Path

from aigrid.day2.node_state import SMI_CSV_FIELDS
from aigrid.lab.standins import PERSISTENCED_UNIT

ROOT = Path(__file__).resolve().parents[1]
H200 = ROOT / "tests" / "fixtures" / "gpu-node-h200"
SOURCES = [ROOT / "src" / "aigrid", ROOT / "scripts"]
QUERY = re.compile(r"--query-gpu=([a-z][\w.]*(?:,[a-z][\w.]*)*)")


def queried_fields() -> dict[str, set[str]]:
    """Each --query-gpu field written literally in aigrid's code, roles, templates and scripts,
    with the files that ask for it; and the fields of the facts' CSV query."""
    found: dict[str, set[str]] = {field: {"SMI_CSV_FIELDS"} for field in SMI_CSV_FIELDS.split(",")}
    for top in SOURCES:
        for path in sorted(top.rglob("*")):
            if path.suffix not in (".py", ".yml", ".yaml", ".j2", ".sh") or not path.is_file():
                continue
            for match in QUERY.finditer(path.read_text(encoding="utf-8")):
                for field in match.group(1).split(","):
                    found.setdefault(field, set()).add(str(path.relative_to(ROOT)))
    return found


def documented_fields() -> set[str]:
    """`nvidia-smi --help-query-gpu`: each field's line is its quoted name(s), `"a" or "b"`."""
    text = (H200 / "nvidia-smi-help-query-gpu.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith('"')]
    return {name for line in lines for name in re.findall(r'"([^"]+)"', line)}


def test_every_queried_gpu_field_is_one_nvidia_smi_knows() -> None:
    fields = queried_fields()
    # The scan must see the queries it is there for (gpu_verify's, the verify suite's, the facts').
    expected = {"persistence_mode", "fabric.state", "fabric.status", "mig.mode.current", "compute_cap"}
    assert expected <= set(fields)
    documented = documented_fields()
    unknown = {field: sorted(where) for field, where in fields.items() if field not in documented}
    assert not unknown, f"nvidia-smi 580 refuses these --query-gpu fields: {unknown}"


def long_options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def test_persistence_daemon_options_are_ones_it_accepts() -> None:
    """The role's drop-in and the stand-in of Ubuntu's packaged unit both start the daemon."""
    accepted = long_options((H200 / "nvidia-persistenced-help.txt").read_text(encoding="utf-8"))
    assert {"--user", "--persistence-mode", "--no-persistence-mode", "--verbose"} <= accepted
    dropin = (ROOT / "src/aigrid/roles/nvidia_driver/templates/nvidia-persistenced.conf.j2").read_text()
    [start] = [line for line in dropin.splitlines() if line.startswith("ExecStart=/")]
    assert "--persistence-mode" in long_options(start)
    for unit in (start, PERSISTENCED_UNIT):
        assert long_options(unit) <= accepted, unit
