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
from typing import Any, Literal

import yaml

from aigrid.diagnostics import Code, Diagnostic, Severity
from aigrid.rules.codes import code

# A comment starts at `#` after whitespace or at the start of a line (YAML 1.2 6.6);
# `# aigrid: ignore[AG402] reason` or `# aigrid: ignore[AG402, AG208] reason`.
_START = re.compile(r"(?:^|(?<=\s))#\s*aigrid:")
_DIRECTIVE = re.compile(r"#\s*aigrid:\s*ignore\[([^\]]*)\]\s*(.*)$")
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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
    codes: tuple[str, ...] | None  # None: an `# aigrid:` comment that is no ignore[...]
    reason: str
    own_line: bool  # the comment is alone on its line: it covers the next line


def _scalars(text: str) -> tuple[list[tuple[tuple[int, int], tuple[int, int]]], tuple[int, int] | None]:
    """Where the file's scalars lie, as (line, column) from 0, start to end: a `#` there is part of
    a value (quoted, block or plain), not a comment. Comments are not in the node tree, so the
    file is scanned again; the second item is where a scan error stopped it (nothing after is
    taken for a comment)."""
    spans = []
    try:
        for token in yaml.scan(text, Loader=_LOADER):
            if isinstance(token, yaml.ScalarToken):
                start, end = token.start_mark, token.end_mark
                spans.append(((start.line, start.column), (end.line, end.column)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return spans, (mark.line, mark.column) if mark is not None else (0, 0)
    return spans, None


def comments(file: str, text: str) -> list[_Comment]:
    """The `# aigrid:` comments of one file."""
    if "aigrid:" not in text:
        return []
    spans, stop = _scalars(text)
    found = []
    for number, line in enumerate(text.splitlines()):
        for start in _START.finditer(line):
            at = (number, start.start())
            if (stop is not None and at >= stop) or any(low <= at < high for low, high in spans):
                continue
            own_line = not line[: start.start()].strip()
            match = _DIRECTIVE.match(line, start.start())
            if match is None:
                found.append(_Comment(file, number + 1, start.start() + 1, None, "", own_line))
            else:
                codes = tuple(part.strip().upper() for part in match.group(1).split(",") if part.strip())
                found.append(
                    _Comment(file, number + 1, start.start() + 1, codes, match.group(2).strip(), own_line)
                )
            break
    return found


def _invalid(comment: _Comment, message: str, hint: str) -> Diagnostic:
    return Diagnostic(Code.INVALID_SUPPRESSION, message, hint, "", comment.file, comment.line, comment.column)


def _check(comment: _Comment) -> Diagnostic | None:
    if comment.codes is None:
        return _invalid(
            comment,
            "an `# aigrid:` comment that is no suppression",
            "write # aigrid: ignore[AG402] reason (the only aigrid comment)",
        )
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


def _external(diagnostic: Diagnostic, waivers: Waivers) -> Suppression | None:
    if diagnostic.severity is not Severity.WARNING:
        return None
    if waivers.select and not any(diagnostic.code.startswith(p) for p in waivers.select):
        return Suppression("external", f"not selected (--select {','.join(waivers.select)})")
    if any(diagnostic.code.startswith(p) for p in waivers.ignore):
        return Suppression("external", f"--ignore {','.join(waivers.ignore)}")
    return None


def apply(
    diagnostics: Sequence[Diagnostic],
    sources: dict[str, str],
    top: str,
    waivers: Waivers,
    rules_ran: bool = True,
) -> tuple[list[Diagnostic], list[tuple[Diagnostic, Suppression]]]:
    """Split `diagnostics` into those that stand and those waived, adding AG017 findings for
    malformed suppression comments (any file) and AG018 for codes a comment of the top file
    names but no finding has (only when the rules ran: a model error stops them).

    A comment waives before the command line does, so its reason is the one reported and it
    does not read as unused under `--ignore`."""
    kept: list[Diagnostic] = []
    waived: list[tuple[Diagnostic, Suppression]] = []
    covering: dict[tuple[str, int], list[_Comment]] = {}
    for file, text in sources.items():
        for comment in comments(file, text):
            problem = _check(comment)
            if problem is not None:
                kept.append(problem)
                continue
            covers = comment.line + 1 if comment.own_line else comment.line
            covering.setdefault((file, covers), []).append(comment)
    used: set[tuple[_Comment, str]] = set()

    def inline(diagnostic: Diagnostic) -> Suppression | None:
        for comment in covering.get((diagnostic.file, diagnostic.line), []):
            if diagnostic.code.value in (comment.codes or ()):
                used.add((comment, diagnostic.code.value))
                return Suppression("inSource", comment.reason)
        return None

    def record(diagnostic: Diagnostic, suppression: Suppression | None) -> None:
        if suppression is None:
            kept.append(diagnostic)
        else:
            waived.append((diagnostic, suppression))

    for diagnostic in diagnostics:
        record(diagnostic, inline(diagnostic) or _external(diagnostic, waivers))
    if not rules_ran:
        return kept, waived
    for comments_at in covering.values():
        for comment in comments_at:
            unused = [named for named in comment.codes or () if (comment, named) not in used]
            if unused and comment.file == top:
                finding = Diagnostic(
                    Code.UNUSED_SUPPRESSION,
                    f"the suppression of {', '.join(unused)} matches no finding",
                    "remove the code (or the comment), or move it onto (or just above) the line of the "
                    "finding",
                    "",
                    comment.file,
                    comment.line,
                    comment.column,
                )
                record(finding, _external(finding, waivers))
    return kept, waived
