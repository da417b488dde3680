"""Provenance: the resolved value at a path and every layer that set it, base to leaf."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from aigrid.load.layers import Document
from aigrid.load.nodes import Origin, YMap, YNode, YSeq
from aigrid.load.paths import item_name, parse_path, resolve, select


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
    """Nothing is set at `path`. `suggestions` are paths that are set, close to it; `known` is
    the longest start of `path` that is set ("" for the top) and `available` what may follow it."""

    def __init__(self, path: str, suggestions: list[str], known: str, available: list[str]) -> None:
        super().__init__(path)
        self.path = path
        self.suggestions = suggestions
        self.known = known
        self.available = available


def explain(document: Document, path: str) -> Explanation:
    """Raises PathSyntaxError for a malformed path and UnknownPath when nothing is set there."""
    segments = parse_path(path)
    node = resolve(document.root, segments)
    if node is None:
        known: list[str] = []
        deepest: YNode = document.root
        for segment in segments:
            child, _ = select(deepest, segment)
            if child is None:
                break
            known.append(segment)
            deepest = child
        raise UnknownPath(
            path,
            [_join(found) for found in _near(document.root, segments)],
            _join(known),
            [selector for selector, _ in _children(deepest).values()],
        )
    return Explanation(path, node.plain, [Layer(n.origin, n.plain) for n in node.history()])


SUGGESTIONS = 3


def _near(node: YNode, segments: list[str]) -> list[list[str]]:
    """Paths that are set and close to `segments` below `node`, at most SUGGESTIONS: a key or
    item name mistyped (difflib's close matches among the ones there), a list item selected
    without brackets or a mapping key with them, or a list item's selector left out (the path
    continued under the items where it resolves, as `sites.nodes.gpus` does)."""
    if not segments:
        return [[]]
    segment, rest = segments[0], segments[1:]
    child, _ = select(node, segment)
    if child is not None:
        return [[segment, *tail] for tail in _near(child, rest)]
    choices = _children(node)
    found: list[list[str]] = []
    if isinstance(node, YSeq) and not segment.startswith("["):
        for selector, item in choices.values():
            found += [[selector, *tail] for tail in _near(item, segments)]
            if len(found) >= SUGGESTIONS:
                break
        return found[:SUGGESTIONS]
    for label in difflib.get_close_matches(segment.strip("[]"), list(choices), n=SUGGESTIONS, cutoff=0.6):
        selector, below = choices[label]
        found += [[selector, *tail] for tail in _near(below, rest)[:1]]
    return found


def _children(node: YNode) -> dict[str, tuple[str, YNode]]:
    """What can follow `node` in a path, by label: a mapping's keys, a list's item names."""
    if isinstance(node, YMap):
        return {str(key): (str(key), child) for key, child in node.items.items()}
    if isinstance(node, YSeq):
        labels = [item_name(item) or str(index) for index, item in enumerate(node.items)]
        return {label: (f"[{label}]", item) for label, item in zip(labels, node.items, strict=True)}
    return {}


def _join(segments: list[str]) -> str:
    return "".join(s if s.startswith("[") or not index else f".{s}" for index, s in enumerate(segments))
