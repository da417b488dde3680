"""Positioned YAML nodes: every value remembers where it was written.

The loader builds these from parser events; layering merges them; everything after
`load` reads plain values out of them and keeps the tree only to point diagnostics
and `aigrid explain` at file:line. Nodes are immutable once built, so a merged tree
can share unchanged subtrees with the layers it came from.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
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


# Where a node was written, packed into one int: the file's index in FILES, the line and the
# column. A tuple per value (and per key) was most of a large grid's memory: 92 bytes with its
# line number, against 32 for the packed int. parse_yaml takes at most MAX_FILE_BYTES (64 MiB)
# of text, so no line or column reaches 2**27.
POSITION_BITS = 27
_LINE_SHIFT = POSITION_BITS
_FILE_SHIFT = 2 * POSITION_BITS
_MASK = (1 << POSITION_BITS) - 1
# Every file name a position has named in this process, and each one's index; display names
# are few (one per file loaded), so the table stays small.
FILES: list[str] = []
_FILE_INDEX: dict[str, int] = {}


def file_base(file: str) -> int:
    """The packed position of line 0, column 0 of `file`: add `line << POSITION_BITS | column`."""
    index = _FILE_INDEX.get(file)
    if index is None:
        index = _FILE_INDEX[file] = len(FILES)
        FILES.append(file)
    return index << _FILE_SHIFT


def pack(origin: Origin) -> int:
    """An Origin as a packed position."""
    file, line, column = origin
    if not (0 <= line <= _MASK and 0 <= column <= _MASK):
        raise ValueError(f"position {line}:{column} is past what a packed position holds")
    return file_base(file) | line << _LINE_SHIFT | column


def unpack(position: int) -> Origin:
    """A packed position as an Origin."""
    return Origin(FILES[position >> _FILE_SHIFT], position >> _LINE_SHIFT & _MASK, position & _MASK)


# A mapping's key positions, in the order of its keys: 8 bytes each, with no int object
# per key nor a dict per mapping (a tuple where a position does not fit 64 bits).
KeyPositions = bytes | tuple[int, ...]


def pack_keys(positions: list[int]) -> KeyPositions:
    """Packed key positions, in key order, as a mapping holds them."""
    try:
        return array("Q", positions).tobytes()
    except OverflowError:
        return tuple(positions)


def key_positions(node: YMap) -> dict[str, int]:
    """Each key of a mapping with its packed position."""
    packed = node.key_pos
    positions = memoryview(packed).cast("Q").tolist() if isinstance(packed, bytes) else packed
    return dict(zip(node.items, positions, strict=True))


class KeyOrigins(Mapping[str, Origin]):
    """Where each key of a mapping was written."""

    __slots__ = ("_node",)

    def __init__(self, node: YMap) -> None:
        self._node = node

    def __getitem__(self, key: str) -> Origin:
        position = self._node.key_at(key)
        if position is None:
            raise KeyError(key)
        return unpack(position)

    def __iter__(self) -> Iterator[str]:
        return iter(self._node.items)

    def __len__(self) -> int:
        return len(self._node.items)


class YNode:
    """Base of the positioned tree.

    `pos` is where the node was written, packed (see `pack`); `origin` unpacks it.
    `overrides` holds the nodes this one replaced while layering, base first, so the
    provenance chain of a value is `overrides + (node,)`.
    """

    __slots__ = ("overrides", "pos")

    def __init__(self, pos: int, overrides: tuple[YNode, ...] = ()) -> None:
        self.pos = pos
        self.overrides = overrides

    @property
    def origin(self) -> Origin:
        return unpack(self.pos)

    @property
    def plain(self) -> Any:
        raise NotImplementedError

    def history(self) -> tuple[YNode, ...]:
        return (*self.overrides, self)


class YScalar(YNode):
    __slots__ = ("value",)

    def __init__(self, value: Any, pos: int, overrides: tuple[YNode, ...] = ()) -> None:
        # Assigned here rather than through super(): scalars are most of a large grid.
        self.pos = pos
        self.overrides = overrides
        self.value = value

    @property
    def plain(self) -> Any:
        return self.value


class YSeq(YNode):
    __slots__ = ("has_directive", "items")

    def __init__(
        self,
        items: list[YNode],
        pos: int,
        overrides: tuple[YNode, ...] = (),
        has_directive: bool = False,
    ) -> None:
        self.pos = pos
        self.overrides = overrides
        self.items = items
        self.has_directive = has_directive

    @property
    def plain(self) -> list[Any]:
        """The values as plain lists, dicts and scalars: built anew on each call (not kept, so
        that a large grid does not hold a second copy of itself)."""
        values: list[Any] = plain(self)
        return values


class YMap(YNode):
    """A mapping with string keys; `key_pos` holds where each key was written (pack_keys, in
    the order of `items`), `keys` the same as Origins by key."""

    __slots__ = ("has_directive", "items", "key_pos")

    def __init__(
        self,
        items: dict[str, YNode],
        key_pos: KeyPositions,
        pos: int,
        overrides: tuple[YNode, ...] = (),
        has_directive: bool = False,
    ) -> None:
        self.pos = pos
        self.overrides = overrides
        self.items = items
        self.key_pos = key_pos
        self.has_directive = has_directive

    @property
    def keys(self) -> KeyOrigins:
        return KeyOrigins(self)

    def key_at(self, key: str) -> int | None:
        """The packed position of a key, None if the mapping has no such key."""
        if key not in self.items:
            return None
        index = list(self.items).index(key)
        packed = self.key_pos
        return memoryview(packed).cast("Q")[index] if isinstance(packed, bytes) else packed[index]

    @property
    def plain(self) -> dict[str, Any]:
        """As YSeq.plain: built anew on each call."""
        values: dict[str, Any] = plain(self)
        return values


def plain(node: YNode) -> Any:
    """The plain value of a subtree: dicts, lists and scalars."""
    kind = type(node)
    if kind is YScalar:
        return node.value  # type: ignore[attr-defined]
    if kind is YMap:
        return {key: plain(child) for key, child in node.items.items()}  # type: ignore[attr-defined]
    return [plain(child) for child in node.items]  # type: ignore[attr-defined]


def has_directive(node: YNode) -> bool:
    return isinstance(node, YMap | YSeq) and node.has_directive
