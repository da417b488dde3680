"""Blueprint paths: `sites[nyc-fe-01].nodes[gpu01].gpus`, `slices[0].vlan`, `stack.driver.version`.

A bracketed name selects the item of a named list (by `name`, or `hostname` for
nodes); a bracketed number selects by position. The same notation is used by
diagnostics, `aigrid explain` and `locks`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aigrid.load.nodes import YMap, YNode, YScalar, YSeq

Loc = tuple[str | int, ...]
NAME_KEYS = ("name", "hostname")
_SEGMENT = re.compile(r"\.?([A-Za-z0-9_$-]+)|\[([^\]]+)\]")


class PathSyntaxError(ValueError):
    pass


def parse_path(text: str) -> list[str]:
    """Split a path into segments; bracketed selectors keep their brackets."""
    segments: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None or (match.group(1) and pos > 0 and text[pos] != "."):
            raise PathSyntaxError(f"cannot read path {text!r} at character {pos + 1}")
        segments.append(match.group(1) if match.group(1) else f"[{match.group(2)}]")
        pos = match.end()
    if not segments:
        raise PathSyntaxError("empty path")
    return segments


def item_name(node: YNode) -> str | None:
    if isinstance(node, YMap):
        for key in NAME_KEYS:
            value = node.items.get(key)
            if isinstance(value, YScalar) and isinstance(value.value, str):
                return value.value
    return None


def select(node: YNode, segment: str) -> tuple[YNode | None, str | int]:
    """One step down the tree; returns the child and the loc element that reaches it."""
    if segment.startswith("["):
        wanted = segment[1:-1]
        if not isinstance(node, YSeq):
            return None, wanted
        for index, child in enumerate(node.items):
            if item_name(child) == wanted:
                return child, index
        if wanted.isdigit() and int(wanted) < len(node.items):
            return node.items[int(wanted)], int(wanted)
        return None, wanted
    if isinstance(node, YMap):
        return node.items.get(segment), segment
    return None, segment


def resolve(root: YNode, segments: Sequence[str]) -> YNode | None:
    node: YNode | None = root
    for segment in segments:
        if node is None:
            return None
        node, _ = select(node, segment)
    return node


def deepest(root: YNode, loc: Loc) -> YNode:
    """The node at `loc`, or its nearest existing ancestor (defaults have no position)."""
    node = root
    for part in loc:
        child: YNode | None = None
        if isinstance(part, int) and isinstance(node, YSeq) and part < len(node.items):
            child = node.items[part]
        elif isinstance(part, str) and isinstance(node, YMap):
            child = node.items.get(part)
        if child is None:
            return node
        node = child
    return node


def format_loc(root: YNode | None, loc: Loc) -> str:
    """Render a loc as a readable path, naming list items where they have names."""
    text = ""
    node = root
    for part in loc:
        if isinstance(part, int):
            name = None
            child = None
            if isinstance(node, YSeq) and part < len(node.items):
                child = node.items[part]
                name = item_name(child)
            text += f"[{name if name is not None else part}]"
            node = child
        else:
            text += f".{part}" if text else part
            node = node.items.get(part) if isinstance(node, YMap) else None
    return text
