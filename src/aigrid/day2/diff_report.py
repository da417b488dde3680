"""`aigrid diff` output: text for people, JSON for CI, Markdown for a pull-request comment.
All three list the same changes in the same order (aigrid.day2.compare)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import BaseModel

from aigrid.day2.compare import Change, highest
from aigrid.day2.disruption import Disruption


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict | list | bool):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def _what(change: Change) -> str:
    """The change as one phrase: `driver.version: 580.126.20 -> 590.44.01`, `node added`."""
    name = change.path or change.scope
    whole = not change.path or isinstance(change.old or change.new, BaseModel)
    if whole and change.old is None:
        return f"{name} added"
    if whole and change.new is None:
        return f"{name} removed"
    return f"{name}: {_value(change.old)} -> {_value(change.new)}"


def _counts(changes: list[Change]) -> str:
    counts = Counter(change.disruption for change in changes)
    return ", ".join(f"{d.title}: {counts[d]}" for d in sorted(counts, reverse=True))


def render_text(old: str, new: str, changes: list[Change]) -> str:
    top = highest(changes)
    lines = [f"aigrid diff {old} -> {new}"]
    current: tuple[str | None, str | None] | None = None
    for change in changes:
        group = (change.site, change.target)
        if group != current:
            current = group
            where = f"site {change.site}" if change.site else "grid"
            if change.target:
                where += f", {change.scope} {change.target}"
            lines.append(where)
        lines.append(f"  [{change.disruption.label}] {_what(change)} ({change.reason})")
    if not changes:
        lines.append("no differences")
    else:
        lines.append(f"{len(changes)} change{'s' if len(changes) > 1 else ''} ({_counts(changes)})")
    lines.append(f"highest: {top.title} (exit {top.exit_code})")
    return "\n".join(lines) + "\n"


def render_json(old: str, new: str, changes: list[Change]) -> str:
    top = highest(changes)
    counts = Counter(change.disruption.label for change in changes)
    document = {
        "old": old,
        "new": new,
        "highest": top.label,
        "exit_code": top.exit_code,
        "counts": {d.label: counts[d.label] for d in Disruption if counts[d.label]},
        "changes": [change.as_json() for change in changes],
    }
    return json.dumps(document, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(old: str, new: str, changes: list[Change]) -> str:
    top = highest(changes)
    lines = [
        f"### aigrid diff: {top.title}",
        "",
        f"`{old}` → `{new}`: "
        + (
            f"{len(changes)} change{'s' if len(changes) > 1 else ''} ({_counts(changes)})."
            if changes
            else "no differences."
        ),
    ]
    if changes:
        lines += [
            "",
            "| site | node or workload | change | disruption | why |",
            "|---|---|---|---|---|",
        ]
        for change in changes:
            target = f"{change.scope} `{change.target}`" if change.target else ""
            cells = [
                f"`{change.site}`" if change.site else "grid",
                target,
                f"`{_cell(_what(change))}`",
                f"**{change.disruption.title}**"
                if change.disruption >= Disruption.NODE_DRAIN
                else change.disruption.title,
                _cell(change.reason),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
