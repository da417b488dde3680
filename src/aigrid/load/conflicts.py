"""Parents that disagree: two files one blueprint extends set the same field differently.

`extends` merges its files left to right, so the last parent's value wins without a word,
and a shared grid over several carriers quietly gives every site the last carrier's mirrors.
A value that only one parent changed (the other kept the shared base's) is no disagreement;
neither is one the extending file sets itself, which is how a layer says which value it means.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from aigrid.diagnostics import Code, Diagnostic
from aigrid.load.nodes import Origin, YMap, YNode, YScalar, YSeq
from aigrid.load.paths import item_name
from aigrid.load.yamlsrc import DIRECTIVE_KEY

# Per file by design: `extends` is each file's own, `locks` accumulate across layers.
NOT_MERGED = frozenset({"extends", "locks"})
_SHOWN = 60


class Step(NamedTuple):
    """One step down a blueprint: a mapping key, or a named item of a list."""

    value: str
    named: bool


def _spell(steps: tuple[Step, ...]) -> str:
    text = ""
    for step in steps:
        text += f"[{step.value}]" if step.named else (f".{step.value}" if text else step.value)
    return text


def _disagreements(
    earlier: YNode, later: YNode, steps: tuple[Step, ...]
) -> Iterator[tuple[tuple[Step, ...], YNode, YNode]]:
    # A node that one side inherited unchanged from a base both share, or that one side
    # overrode on purpose, is in the other's history: only one side set it.
    if any(later is node for node in earlier.history()) or any(earlier is node for node in later.history()):
        return
    if isinstance(earlier, YMap) and isinstance(later, YMap):
        for key, child in later.items.items():
            if key in earlier.items and (steps or key not in NOT_MERGED):
                yield from _disagreements(earlier.items[key], child, (*steps, Step(key, False)))
        return
    if isinstance(earlier, YSeq) and isinstance(later, YSeq) and _named(earlier) and _named(later):
        index = {item_name(item): item for item in earlier.items}
        for child in later.items:
            name = item_name(child)
            if name is not None and name in index:
                yield from _disagreements(index[name], child, (*steps, Step(name, True)))
        return
    if earlier.plain != later.plain:
        yield steps, earlier, later


def _named(node: YSeq) -> bool:
    return bool(node.items) and all(item_name(item) is not None for item in node.items)


def _sets(layer: YNode | None, steps: tuple[Step, ...]) -> bool:
    """Whether the file `layer` (as written) sets the value at `steps`, or replaces or deletes
    something above it."""
    node = layer
    for step in steps:
        if isinstance(node, YMap) and DIRECTIVE_KEY in node.items:
            return True
        # `{$patch: replace}` as a list's first item replaces the whole list.
        first = node.items[0] if isinstance(node, YSeq) and node.items else None
        if isinstance(first, YMap) and DIRECTIVE_KEY in first.items and item_name(first) is None:
            return True
        if step.named:
            items = node.items if isinstance(node, YSeq) else []
            node = next((item for item in items if item_name(item) == step.value), None)
        else:
            node = node.items.get(step.value) if isinstance(node, YMap) else None
        if node is None:
            return False
    return True


def _shown(node: YNode) -> str:
    text = repr(node.plain) if isinstance(node, YScalar) else f"a different {type(node.plain).__name__}"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def parent_conflicts(earlier: YMap, later: YMap, layer: YMap, entry: Origin) -> list[Diagnostic]:
    """AG021 for each field that the parents merged so far (`earlier`) and the next parent
    (`later`, named by the `extends` entry at `entry`) set differently, unless the extending
    file `layer` sets it itself."""
    found = []
    for steps, lost, won in _disagreements(earlier, later, ()):
        if _sets(layer, steps):
            continue
        path = _spell(steps)
        found.append(
            Diagnostic(
                Code.CONFLICTING_PARENTS,
                f"{path} is set differently by two files this one extends: {_place(won)} sets "
                f"{_shown(won)}, {_place(lost)} sets {_shown(lost)}; the later one wins everywhere",
                f"set {path} in this file to say which value applies, or remove it from the parent "
                "it should not come from",
                path,
                entry.file,
                entry.line,
                entry.column,
            )
        )
    return found


def _place(node: YNode) -> str:
    return f"{node.origin.file}:{node.origin.line}"
