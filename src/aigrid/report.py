"""Diagnostics for people (text) and for CI systems (JSON, SARIF 2.1.0, JUnit XML)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.text import Text

from aigrid import __version__
from aigrid.diagnostics import Diagnostic, Severity
from aigrid.docs import rule_anchor, rule_markdown, rule_text
from aigrid.load.layers import repository_root
from aigrid.project import urls
from aigrid.rules.registry import Rule, all_rules
from aigrid.validate import Result

FORMATS = ("text", "json", "sarif", "junit")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
_PRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow"}


def _source_line(result: Result, diagnostic: Diagnostic) -> str | None:
    """The line a diagnostic points at, only from text the loader read and may be quoted.

    Never re-reads a file: the path may since be a FIFO or another file, and a file that
    `extends` named but that is not a blueprint layer must not be echoed (Document.sources).
    """
    text = result.sources.get(diagnostic.file)
    if text is None:
        return None
    lines = text.splitlines()
    if not 0 < diagnostic.line <= len(lines):
        return None
    return _PRINTABLE.sub("?", lines[diagnostic.line - 1])


def render_text(results: Sequence[Result], console: Console, strict: bool = False) -> None:
    """Grouped by file, each finding with its source line and a caret under the column."""
    errors = warnings = 0
    for result in results:
        if not result.diagnostics:
            console.print(Text.assemble((result.file, "bold"), ": ", ("valid", "green")))
            continue
        count = len(result.diagnostics)
        console.print(
            Text.assemble(
                (result.file, "bold"),
                f": {count} finding{'s' if count != 1 else ''}",
                ("" if result.valid(strict) else " (invalid)", "red"),
            )
        )
        for diagnostic in result.diagnostics:
            errors += diagnostic.severity is Severity.ERROR
            warnings += diagnostic.severity is Severity.WARNING
            console.print(
                Text.assemble(
                    (f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}", "bold"),
                    ": ",
                    (f"{diagnostic.severity.value} {diagnostic.code}", _STYLE[diagnostic.severity]),
                    ": ",
                    diagnostic.message,
                )
            )
            source = _source_line(result, diagnostic)
            if source is not None:
                gutter = f"{diagnostic.line:>5} | "
                console.print(Text(gutter + source.rstrip(), style="dim"))
                console.print(
                    Text(" " * (len(gutter) + diagnostic.column - 1) + "^", style=_STYLE[diagnostic.severity])
                )
            if diagnostic.path:
                console.print(Text(f"      at {diagnostic.path}", style="dim"))
            if diagnostic.hint:
                console.print(Text(f"      hint: {diagnostic.hint}", style="cyan"))
    files = len(results)
    failing = sum(not r.valid(strict) for r in results)
    waived = sum(len(r.suppressed) for r in results)
    summary = (
        f"{files} file{'s' if files != 1 else ''} checked: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}" + (f" ({waived} suppressed)" if waived else "")
    )
    style = "red" if failing else "green"
    console.print(Text(summary + (f"; {failing} invalid" if failing else ""), style=style))


def render_json(results: Sequence[Result], strict: bool = False) -> str:
    diagnostics = [d.to_dict() for r in results for d in r.diagnostics]
    payload: dict[str, Any] = {"valid": all(r.valid(strict) for r in results), "diagnostics": diagnostics}
    suppressed = [
        {**d.to_dict(), "suppression": waiver.to_dict()} for r in results for d, waiver in r.suppressed
    ]
    if suppressed:
        payload["suppressed"] = suppressed
    return json.dumps(payload, indent=2, sort_keys=False)


def sarif_base(blueprint: Path) -> Path:
    """SARIF's %SRCROOT% by default: the git repository holding the blueprint (as for
    `--root`), else the working directory."""
    return repository_root(Path(os.path.realpath(blueprint))) or Path.cwd()


def _artifact_location(file: str, base: Path) -> dict[str, str]:
    """A diagnostic's file relative to %SRCROOT%, or an absolute file URI outside it.

    Diagnostics name files as the user would type them, relative to the working directory;
    the report must not depend on where aigrid ran, so it never carries a `../` path."""
    path = Path(file).resolve()
    if path.is_relative_to(base):
        return {"uri": quote(path.relative_to(base).as_posix()), "uriBaseId": SRCROOT}
    return {"uri": path.as_uri()}


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    properties: dict[str, Any] = {"tags": [rule.group]}
    if rule.security_severity is not None:
        # GitHub code scanning: a security rule's score as a string, and "security" among its tags.
        properties["security-severity"] = f"{rule.security_severity:.1f}"
        properties["tags"] = ["security", f"external/cwe/cwe-{rule.cwe}"]
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.doc},
        "helpUri": f"{urls().rules_reference}#{rule_anchor(rule)}",
        "help": {"text": rule_text(rule), "markdown": rule_markdown(rule)},
        "defaultConfiguration": {"level": rule.severity.value},
        "properties": properties,
    }


def render_sarif(results: Sequence[Result], base: Path) -> str:
    """SARIF 2.1.0; file URIs are relative to `base` (%SRCROOT%), or absolute outside it."""
    base = Path(os.path.realpath(base))
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    sarif_results: list[dict[str, Any]] = []
    for result in results:
        # SARIF 2.1.0 3.27.23: a waived result stays in the log, with its suppression.
        findings = [(d, None) for d in result.diagnostics] + list(result.suppressed)
        for d, waiver in findings:
            text = d.message + (f". Hint: {d.hint}" if d.hint else "")
            entry: dict[str, Any] = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": d.severity.value,
                "message": {"text": text},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": _artifact_location(d.file, base),
                            "region": {"startLine": d.line, "startColumn": d.column},
                        },
                        **({"logicalLocations": [{"fullyQualifiedName": d.path}]} if d.path else {}),
                    }
                ],
            }
            if waiver is not None:
                entry["suppressions"] = [waiver.to_dict()]
            sarif_results.append(entry)
    base_uri = base.as_uri().removesuffix("/") + "/"  # 3.14.14: a base URI ends with a slash.
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "aigrid",
                        "version": __version__,
                        "informationUri": urls().homepage,
                        "rules": [_sarif_rule(rule) for rule in rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": base_uri}},
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def render_junit(results: Sequence[Result], strict: bool = False) -> str:
    """One test suite per file; one test case per finding (or one passing case when clean).

    Waived findings are left out: JUnit has no waiver, and a skipped case would read as a check
    that did not run."""
    suites = ET.Element("testsuites", name="aigrid validate")
    total = failed = 0
    for result in results:
        suite = ET.SubElement(suites, "testsuite", name=result.file)
        failures = 0
        for d in result.diagnostics:
            case = ET.SubElement(
                suite, "testcase", classname=result.file, name=f"{d.code} {d.path or d.file}"
            )
            text = f"{d.file}:{d.line}:{d.column}: {d.message}" + (f"\nhint: {d.hint}" if d.hint else "")
            if d.severity is Severity.ERROR or strict:
                failures += 1
                failure = ET.SubElement(
                    case, "failure", type=d.severity.value, message=f"{d.code}: {d.message}"
                )
                failure.text = text
            else:
                ET.SubElement(case, "system-out").text = f"warning {d.code}: {text}"
        cases = len(result.diagnostics)
        if not result.diagnostics:
            cases = 1
            ET.SubElement(suite, "testcase", classname=result.file, name="valid")
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total += cases
        failed += failures
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
