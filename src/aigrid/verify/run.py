"""aigrid verify: run the compiled testinfra suite against the inventory, report per node."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aigrid import layout


class VerifyError(Exception):
    pass


@dataclass
class NodeResult:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: tuple[str, ...] = ()


def merged_inventory(directory: Path, extra: list[Path]) -> dict[str, Any]:
    """The compiled inventory with later inventories' host variables applied (they win)."""
    inventory: dict[str, Any] = yaml.safe_load((directory / layout.INVENTORY).read_text())
    overrides: dict[str, dict[str, Any]] = {}
    for path in extra:
        data = yaml.safe_load(path.read_text()) or {}
        for host, values in ((data.get("all") or {}).get("hosts") or {}).items():
            overrides.setdefault(host, {}).update(values or {})
    for group in inventory["all"]["children"].values():
        for host in list(group.get("hosts") or {}):
            if host in overrides:
                group["hosts"][host] = {**(group["hosts"][host] or {}), **overrides[host]}
    return inventory


def run(
    directory: Path, site: str | None, inventories: list[Path], junit: Path | None
) -> dict[str, NodeResult]:
    suite = directory / layout.VERIFY
    if not (directory / layout.VERIFY_SUITE).is_file():
        raise VerifyError(f"{directory} has no {layout.VERIFY}/ suite: compile a blueprint into it first")
    with tempfile.TemporaryDirectory(prefix="aigrid-verify-") as work:
        inventory = Path(work, "inventory.yml")
        inventory.write_text(yaml.safe_dump(merged_inventory(directory, inventories)))
        report = junit or Path(work, "junit.xml")
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(suite),
            f"--aigrid-inventory={inventory}",
            f"--junitxml={report}",
            "-o",
            "junit_family=xunit2",
        ]
        if site:
            command.append(f"--aigrid-site={site}")
        proc = subprocess.run(command, cwd=suite, capture_output=True, text=True, check=False)
        if not report.exists():
            raise VerifyError(f"the verify suite did not run: {(proc.stdout + proc.stderr).strip()[-800:]}")
        return _per_node(report)


def _per_node(report: Path) -> dict[str, NodeResult]:
    results: dict[str, NodeResult] = defaultdict(NodeResult)
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        node = name[name.find("[") + 1 : name.rfind("]")] if "[" in name else "?"
        result = results[node]
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed += 1
            result.failures = (*result.failures, name.split("[")[0])
        elif case.find("skipped") is not None:
            result.skipped += 1
        else:
            result.passed += 1
    return dict(sorted(results.items()))
