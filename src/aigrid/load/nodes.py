"""Positioned YAML nodes: every value remembers where it was written.

The loader builds these from parser events; layering merges them; everything after
`load` reads plain values out of them and keeps the tree only to point diagnostics
and `aigrid explain` at file:line. Nodes are immutable once built, so a merged tree
can share unchanged subtrees with the layers it came from.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Origin(NamedTuple):
    """A place in a source file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class RawInt(int):
    """An int that remembers how it was written, so `1.30`-style versions survive."""

    raw: str

    def __new__(cls, value: int, raw: str) -> RawInt:
        obj = super().__new__(cls, value)
        obj.raw = raw
        return obj


class RawFloat(float):
    """A float that remembers how it was written (`13.0` must stay "13.0", not 13.0)."""

    raw: str

    def __new__(cls, value: float, raw: str) -> RawFloat:
        obj = super().__new__(cls, value)
        obj.raw = raw
        return obj


class YNode:
    """Base of the positioned tree.

    `overrides` holds the nodes this one replaced while layering, base first, so the
    provenance chain of a value is `overrides + (node,)`.
    """

    __slots__ = ("origin", "overrides")

    def __init__(self, origin: Origin, overrides: tuple[YNode, ...] = ()) -> None:
        self.origin = origin
        self.overrides = overrides

    @property
    def plain(self) -> Any:
        raise NotImplementedError

    def history(self) -> tuple[YNode, ...]:
        return (*self.overrides, self)


class YScalar(YNode):
    __slots__ = ("value",)

    def __init__(self, value: Any, origin: Origin, overrides: tuple[YNode, ...] = ()) -> None:
        # Assigned here rather than through super(): scalars are most of a large grid.
        self.origin = origin
        self.overrides = overrides
        self.value = value

    @property
    def plain(self) -> Any:
        return self.value


class YSeq(YNode):
    __slots__ = ("_plain", "has_directive", "items")

    def __init__(
        self,
        items: list[YNode],
        origin: Origin,
        overrides: tuple[YNode, ...] = (),
        has_directive: bool = False,
    ) -> None:
        super().__init__(origin, overrides)
        self.items = items
        self.has_directive = has_directive
        self._plain: list[Any] | None = None

    @property
    def plain(self) -> list[Any]:
        if self._plain is None:
            self._plain = [item.plain for item in self.items]
        return self._plain


class YMap(YNode):
    """A mapping with string keys; `keys` holds where each key was written."""

    __slots__ = ("_plain", "has_directive", "items", "keys")

    def __init__(
        self,
        items: dict[str, YNode],
        keys: dict[str, Origin],
        origin: Origin,
        overrides: tuple[YNode, ...] = (),
        has_directive: bool = False,
    ) -> None:
        super().__init__(origin, overrides)
        self.items = items
        self.keys = keys
        self.has_directive = has_directive
        self._plain: dict[str, Any] | None = None

    @property
    def plain(self) -> dict[str, Any]:
        if self._plain is None:
            self._plain = {key: node.plain for key, node in self.items.items()}
        return self._plain


def has_directive(node: YNode) -> bool:
    return isinstance(node, YMap | YSeq) and node.has_directive
