"""aigrid verify: run the compiled testinfra suite against the inventory, report per node."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aigrid import layout, tools


class VerifyError(Exception):
    pass


@dataclass
class NodeResult:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: tuple[str, ...] = ()


def merged_inventory(directory: Path, extra: list[Path]) -> dict[str, Any]:
    """The compiled inventory with later inventories' variables applied (they win): their
    `all` group's variables for every host, their host variables above those."""
    inventory: dict[str, Any] = yaml.safe_load((directory / layout.INVENTORY).read_text())
    overrides: dict[str, dict[str, Any]] = {}
    for path in extra:
        data = (yaml.safe_load(path.read_text()) or {}).get("all") or {}
        inventory["all"].setdefault("vars", {}).update(data.get("vars") or {})
        for host, values in (data.get("hosts") or {}).items():
            overrides.setdefault(host, {}).update(values or {})
    for group in inventory["all"]["children"].values():
        for host in list(group.get("hosts") or {}):
            if host in overrides:
                group["hosts"][host] = {**(group["hosts"][host] or {}), **overrides[host]}
    return inventory


def run(
    directory: Path,
    site: str | None,
    inventories: list[Path],
    junit: Path | None,
    hardware_checks: bool = True,
) -> dict[str, NodeResult]:
    for module, package in (("pytest", "pytest"), ("testinfra", "pytest-testinfra")):
        if importlib.util.find_spec(module) is None:
            missing = f"aigrid verify needs {package} (aigrid's install brings it)"
            raise VerifyError(f"{missing}: pip install {package}")
    # Absolute: pytest runs inside the suite, where relative paths would resolve twice.
    suite = (directory / layout.VERIFY).resolve()
    if not (directory / layout.VERIFY_SUITE).is_file():
        raise VerifyError(f"{directory} has no {layout.VERIFY}/ suite: compile a blueprint into it first")
    if site is not None:
        sites = _sites(directory)
        if site not in sites:
            raise VerifyError(f"{directory} has no site {site!r} (sites: {', '.join(sites) or 'none'})")
    with tempfile.TemporaryDirectory(prefix="aigrid-verify-") as work:
        inventory = Path(work, "inventory.yml")
        inventory.write_text(yaml.safe_dump(merged_inventory(directory, inventories)))
        report = junit.resolve() if junit else Path(work, "junit.xml")
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
        if not hardware_checks:
            command.append("--aigrid-no-hardware-checks")
        # testinfra's Ansible backend runs ansible-inventory and ansible by name.
        env = {**os.environ, "PATH": tools.search_path()}
        proc = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, check=False)
        if not report.exists():
            raise VerifyError(f"the verify suite did not run: {(proc.stdout + proc.stderr).strip()[-800:]}")
        return _per_node(report)


def _reason(problem: ET.Element) -> str:
    """The first line of a failed check's message, without the exception's class name."""
    first = (problem.get("message") or problem.text or "").strip().splitlines()[:1]
    text = first[0] if first else "failed"
    return text.split(": ", 1)[1] if text.startswith(("AssertionError: ", "RuntimeError: ")) else text


def expectation_files(directory: Path) -> dict[str, Path]:
    """Each site's expectations in a compiled DIR (verify/expectations/<site>.json), by site,
    in name order; what aigrid verify and aigrid drift compare the nodes with."""
    folder = directory / layout.EXPECTATIONS
    return {path.stem: path for path in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def _sites(directory: Path) -> list[str]:
    """The sites the compiled suite has expectations for (one file each)."""
    if not (directory / layout.EXPECTATIONS).is_dir():
        raise VerifyError(
            f"{directory} has no {layout.EXPECTATIONS}/ folder: compile a blueprint into it again"
        )
    return list(expectation_files(directory))


def _per_node(report: Path) -> dict[str, NodeResult]:
    results: dict[str, NodeResult] = defaultdict(NodeResult)
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        node = name[name.find("[") + 1 : name.rfind("]")] if "[" in name else "?"
        result = results[node]
        problem = case.find("failure")
        problem = case.find("error") if problem is None else problem
        if problem is not None:
            result.failed += 1
            result.failures = (*result.failures, f"{name.split('[')[0]}: {_reason(problem)}")
        elif case.find("skipped") is not None:
            result.skipped += 1
        else:
            result.passed += 1
    return dict(sorted(results.items()))
