"""aigrid drift's output: a text report per node, or JSON for fleet dashboards."""

from __future__ import annotations

import json

from aigrid.day2.drift_run import DriftReport


def render_json(report: DriftReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render_text(report: DriftReport) -> str:
    lines = []
    for node in report.nodes:
        state = f"{len(node.mismatches)} drifted" if node.mismatches else "as configured"
        lines.append(f"{node.hostname} ({node.site}): {state}")
        for mismatch in node.mismatches:
            lines.append(
                f"  {mismatch.code.value} {mismatch.severity.value} {mismatch.path}: {mismatch.message}"
            )
        for what in node.unchecked:
            lines.append(f"  not checked: {what}")
    for host, why in sorted(report.unread.items()):
        lines.append(f"{host}: NOT READ: {why}")
    drifted = sum(1 for node in report.nodes if node.mismatches)
    lines.append(f"{len(report.nodes)} node(s) read, {drifted} drifted, {len(report.unread)} not read")
    return "\n".join(lines) + "\n"
