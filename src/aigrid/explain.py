"""Provenance: the resolved value at a path and every layer that set it, base to leaf."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aigrid.load.layers import Document
from aigrid.load.nodes import Origin
from aigrid.load.paths import parse_path, resolve


@dataclass(frozen=True)
class Layer:
    origin: Origin
    value: Any


@dataclass(frozen=True)
class Explanation:
    path: str
    value: Any
    layers: list[Layer]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "value": self.value,
            "layers": [
                {
                    "file": layer.origin.file,
                    "line": layer.origin.line,
                    "column": layer.origin.column,
                    "value": layer.value,
                }
                for layer in self.layers
            ],
        }


class UnknownPath(LookupError):
    pass


def explain(document: Document, path: str) -> Explanation:
    """Raises PathSyntaxError for a malformed path and UnknownPath when nothing is set there."""
    node = resolve(document.root, parse_path(path))
    if node is None:
        raise UnknownPath(path)
    return Explanation(path, node.plain, [Layer(n.origin, n.plain) for n in node.history()])
