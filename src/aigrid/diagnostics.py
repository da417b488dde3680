"""The one shape every finding takes, from a YAML syntax error to a latency rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aigrid.rules.codes import Code, Severity

__all__ = ["Code", "Diagnostic", "LoadError", "Severity"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding at file:line; its severity is its code's, so the two cannot disagree."""

    code: Code
    message: str
    hint: str
    path: str
    file: str
    line: int
    column: int

    @property
    def severity(self) -> Severity:
        return self.code.severity

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "path": self.path,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.code.value, self.message)


class LoadError(Exception):
    """Raised by the loader when a blueprint cannot be read into a document at all.

    `sources` is the text of the files read so far that a report may quote, by display
    name (see `aigrid.load.layers.Document`)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
        self.sources: dict[str, str] = {}
