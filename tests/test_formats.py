"""Report formats, read back by real consumers where one exists."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from sarif import loader

from conftest import BLUEPRINTS, ROOT, run_aigrid

INVALID = sorted((BLUEPRINTS / "examples" / "invalid").glob("*.yaml"))


def test_json_shape_matches_the_contract() -> None:
    proc = run_aigrid(
        "validate", "--format", "json", str(INVALID[0]), "blueprints/carriers/northwind/grid.yaml"
    )
    report = json.loads(proc.stdout)
    assert set(report) == {"valid", "diagnostics"} and report["valid"] is False
    for diagnostic in report["diagnostics"]:
        assert set(diagnostic) == {"code", "severity", "message", "hint", "path", "file", "line", "column"}


def test_sarif_is_read_back_by_sarif_tools(tmp_path: Path) -> None:
    out = tmp_path / "aigrid.sarif"
    proc = run_aigrid("validate", "--format", "sarif", "--output", str(out), *map(str, INVALID))
    assert proc.returncode == 1
    expected = json.loads(run_aigrid("validate", "--format", "json", *map(str, INVALID)).stdout)[
        "diagnostics"
    ]

    sarif_file = loader.load_sarif_file(str(out))
    records = sarif_file.get_records()
    assert len(records) == len(expected) == len(INVALID)
    by_rule = {record["Code"].split(" ")[0]: record for record in records}
    for diagnostic in expected:
        record = by_rule[diagnostic["code"]]
        assert record["Severity"] == diagnostic["severity"]
        assert record["Location"] == diagnostic["file"]
        assert record["Line"] == diagnostic["line"]
        assert diagnostic["message"] in record["Description"]

    summary = subprocess.run(
        [sys.executable, "-m", "sarif", "summary", str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    errors = sum(d["severity"] == "error" for d in expected)
    warnings = len(expected) - errors
    assert f"error: {errors}\n" in summary.stdout and f"warning: {warnings}\n" in summary.stdout


def test_sarif_results_carry_rule_level_message_uri_and_line(tmp_path: Path) -> None:
    log = json.loads(run_aigrid("validate", "--format", "sarif", *map(str, INVALID[:5])).stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning") and result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("blueprints/examples/invalid/")
        assert location["region"]["startLine"] >= 1


def test_junit_has_a_failure_per_error() -> None:
    proc = run_aigrid(
        "validate", "--format", "junit", *map(str, INVALID[:3]), "blueprints/carriers/aurora/grid.yaml"
    )
    root = ET.fromstring(proc.stdout)
    suites = root.findall("testsuite")
    assert len(suites) == 4
    assert int(root.get("failures", "0")) == 3
    clean = suites[-1]
    assert clean.get("failures") == "0" and clean.find("testcase").get("name") == "valid"


def test_text_shows_source_line_and_caret() -> None:
    path = next(p for p in INVALID if p.name.startswith("AG202"))
    lines = run_aigrid("validate", str(path)).stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "error AG202" in line)
    assert lines[at + 1].strip().endswith("vlan: 4095  # <- AG202")
    caret = lines[at + 2]
    assert caret.strip() == "^" and caret.index("^") == lines[at + 1].index("4095")


def test_strict_fails_on_warnings() -> None:
    warning_only = next(p for p in INVALID if p.name.startswith("AG402"))
    assert run_aigrid("validate", str(warning_only)).returncode == 0
    assert run_aigrid("validate", "--strict", str(warning_only)).returncode == 1
