"""Waiving warnings: `--ignore`/`--select` on the command line and `# aigrid: ignore[CODE] reason`
comments in a blueprint, as linter users expect.

Only warnings can be waived: an error means compile cannot go on, so asking to waive one is a
mistake reported as such. A waived finding is not dropped: it moves to `Result.suppressed` with
how and why it was waived, and the reports show it (SARIF as a suppression).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from aigrid.diagnostics import Code, Diagnostic, Severity
from aigrid.rules.codes import code

# `# aigrid: ignore[AG402] reason` or `# aigrid: ignore[AG402, AG208] reason`.
_COMMENT = re.compile(r"(?:^|\s)#\s*aigrid:\s*ignore\[([^\]]*)\]\s*(.*)$")
_PREFIX = re.compile(r"AG[0-9]{1,3}")


@dataclass(frozen=True)
class Suppression:
    kind: Literal["inSource", "external"]
    justification: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "justification": self.justification}


@dataclass(frozen=True)
class Waivers:
    """What the command line waives: codes or prefixes (AG4) of warnings."""

    ignore: tuple[str, ...] = ()
    select: tuple[str, ...] = ()


class WaiverError(ValueError):
    """A code or prefix on the command line that names no warning."""


def _warnings_under(prefix: str) -> list[Code]:
    return [code for code in Code if code.startswith(prefix) and code.severity is Severity.WARNING]


def parse_codes(values: Iterable[str], option: str, warnings_only: bool) -> tuple[str, ...]:
    """Split `AG402,ag208` and check each names codes (warnings only, for --ignore)."""
    parsed: list[str] = []
    for value in values:
        for part in (item.strip().upper() for item in value.split(",")):
            if not part:
                continue
            if not _PREFIX.fullmatch(part) or not any(code.startswith(part) for code in Code):
                raise WaiverError(f"{option} {part}: no such code or prefix (see aigrid rules)")
            exact = code(part)
            if warnings_only and exact is not None and exact.severity is Severity.ERROR:
                raise WaiverError(f"{option} {part}: {part} is an error; only warnings can be waived")
            if warnings_only and not _warnings_under(part):
                raise WaiverError(f"{option} {part}: no warning has a code under {part}")
            parsed.append(part)
    return tuple(parsed)


@dataclass(frozen=True)
class _Comment:
    file: str
    line: int
    column: int
    codes: tuple[str, ...]
    reason: str
    own_line: bool  # the comment is alone on its line: it covers the next line


def _outside_quotes(text: str) -> bool:
    """Whether the end of `text` is outside a quoted YAML scalar (a conservative check)."""
    single = double = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and double:
            index += 2
            continue
        if char == "'" and not double:
            single = not single
        elif char == '"' and not single:
            double = not double
        index += 1
    return not (single or double)


def comments(file: str, text: str) -> list[_Comment]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _COMMENT.search(line)
        if match is None or not _outside_quotes(line[: match.start()]):
            continue
        codes = tuple(part.strip().upper() for part in match.group(1).split(",") if part.strip())
        own_line = not line[: match.start()].strip()
        column = match.start() + (1 if line[match.start()] != "#" else 0) + 1
        found.append(_Comment(file, number, column, codes, match.group(2).strip(), own_line))
    return found


def _invalid(comment: _Comment, message: str, hint: str) -> Diagnostic:
    return Diagnostic(Code.INVALID_SUPPRESSION, message, hint, "", comment.file, comment.line, comment.column)


def _check(comment: _Comment) -> Diagnostic | None:
    if not comment.codes:
        return _invalid(comment, "the suppression names no code", "write # aigrid: ignore[AG402] reason")
    for text in comment.codes:
        named = code(text)
        if named is None:
            return _invalid(
                comment, f"the suppression names {text}, which is no aigrid code", "see aigrid rules"
            )
        if named.severity is Severity.ERROR:
            return _invalid(
                comment,
                f"{text} is an error and cannot be waived",
                "fix the blueprint; only warnings can be waived",
            )
    if not comment.reason:
        return _invalid(
            comment,
            f"the suppression of {', '.join(comment.codes)} gives no reason",
            "say why after the brackets: # aigrid: ignore[AG402] mirror is on the management VLAN",
        )
    return None


def apply(
    diagnostics: Sequence[Diagnostic], sources: dict[str, str], top: str, waivers: Waivers
) -> tuple[list[Diagnostic], list[tuple[Diagnostic, Suppression]]]:
    """Split `diagnostics` into those that stand and those waived, adding AG017/AG018 findings
    for suppression comments that are malformed (any file) or unused (the top file only)."""
    valid: dict[tuple[str, int], list[_Comment]] = {}
    kept: list[Diagnostic] = []
    waived: list[tuple[Diagnostic, Suppression]] = []
    used: set[_Comment] = set()
    for file, text in sources.items():
        for comment in comments(file, text):
            problem = _check(comment)
            if problem is not None:
                kept.append(problem)
                continue
            covers = comment.line + 1 if comment.own_line else comment.line
            valid.setdefault((file, covers), []).append(comment)
    for diagnostic in diagnostics:
        suppression = None
        if diagnostic.severity is Severity.WARNING:
            if waivers.select and not any(diagnostic.code.startswith(p) for p in waivers.select):
                suppression = Suppression("external", f"not selected (--select {','.join(waivers.select)})")
            elif any(diagnostic.code.startswith(p) for p in waivers.ignore):
                suppression = Suppression("external", f"--ignore {','.join(waivers.ignore)}")
            else:
                for comment in valid.get((diagnostic.file, diagnostic.line), []):
                    if diagnostic.code.value in comment.codes:
                        suppression = Suppression("inSource", comment.reason)
                        used.add(comment)
                        break
        if suppression is None:
            kept.append(diagnostic)
        else:
            waived.append((diagnostic, suppression))
    for comments_at in valid.values():
        for comment in comments_at:
            if comment not in used and comment.file == top:
                kept.append(
                    Diagnostic(
                        Code.UNUSED_SUPPRESSION,
                        f"the suppression of {', '.join(comment.codes)} matches no finding",
                        "remove the comment, or move it onto (or just above) the line of the finding",
                        "",
                        comment.file,
                        comment.line,
                        comment.column,
                    )
                )
    return kept, waived
