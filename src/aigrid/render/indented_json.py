"""`json.dumps(data, indent=N)`, the same text at a fraction of the cost.

With an indent, the standard library encodes in Python through nested generators (its C
encoder does not indent); a compile writes several indented JSON files per site. This writes
the same text with one recursive function over the plain types (dict, list, tuple, str, int,
float, bool, None), strings escaped by the standard library's own C function. Anything else
(a subclass, an object the encoder would reject or convert) goes to json.dumps as a whole.

`chunks` writes the same text in pieces, and takes objects and arrays whose members come from
an iterator (`Members`, `Elements`) and text written before (`Written`): the lock of a
10,000-site grid is about 200 MB of text, built from as much again in dicts, and is written
without holding either whole.

tests/test_indented_json.py checks it against json.dumps on varied and generated data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring_ascii
from typing import Any

# The text `chunks` gathers before it hands a piece over: large enough that the caller's writes
# are few, small enough to be nothing beside the data.
CHUNK = 1 << 16


class Members:
    """An object whose (key, value) pairs an iterator gives, made one at a time as `chunks`
    writes them; with sort_keys, the keys must come sorted (they are not sorted here)."""

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.pairs = pairs


class Elements:
    """An array whose items an iterator gives, made one at a time as `chunks` writes them."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


class Written:
    """A value's text as `chunks` would write it at this very place (the same indentation),
    written as it is: a part of an earlier file carried over unparsed."""

    def __init__(self, text: str) -> None:
        self.text = text


class _Fallback(Exception):
    """The data holds something only json.dumps handles."""


def dumps(data: Any, indent: int = 2, sort_keys: bool = False) -> str:
    """`json.dumps(data, indent=indent, sort_keys=sort_keys)`: ASCII, the default separators."""
    parts: list[str] = []
    try:
        _encode(data, "\n", " " * indent, sort_keys, parts)
    except (_Fallback, TypeError, RecursionError):
        # json.dumps writes what this does not, or raises its own error for it.
        return json.dumps(data, indent=indent, sort_keys=sort_keys)
    return "".join(parts)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    kind = type(key)
    if kind is str:
        return encode_basestring_ascii(key)
    if kind is bool:
        return '"true"' if key else '"false"'
    if key is None:
        return '"null"'
    if kind is int:
        return f'"{int.__repr__(key)}"'
    if kind is float:
        return f'"{_float(key)}"'
    raise _Fallback


def _encode(value: Any, newline: str, step: str, sort_keys: bool, parts: list[str]) -> None:
    """`value` into `parts`; `newline` is a line break and the current indentation."""
    kind = type(value)
    if kind is str:
        parts.append(encode_basestring_ascii(value))
    elif value is None:
        parts.append("null")
    elif kind is bool:
        parts.append("true" if value else "false")
    elif kind is int:
        parts.append(int.__repr__(value))
    elif kind is float:
        parts.append(_float(value))
    elif kind is dict:
        if not value:
            parts.append("{}")
            return
        inner = newline + step
        separator = "{" + inner
        for key, item in sorted(value.items()) if sort_keys else value.items():
            parts.append(separator)
            parts.append(_key(key))
            parts.append(": ")
            _encode(item, inner, step, sort_keys, parts)
            separator = "," + inner
        parts.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            parts.append("[]")
            return
        inner = newline + step
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _encode(item, inner, step, sort_keys, parts)
            separator = "," + inner
        parts.append(newline + "]")
    else:
        raise _Fallback


def dumps_at(data: Any, depth: int, indent: int = 2, sort_keys: bool = False) -> str:
    """`data`'s text as `chunks` writes it `depth` levels deep in a larger document (its lines
    after the first indented that far), to be put there as `Written`."""
    step = " " * indent
    return "".join(_pieces(data, "\n" + step * depth, step, sort_keys))


def chunks(data: Any, indent: int = 2, sort_keys: bool = False) -> Iterator[str]:
    """`dumps(data, indent, sort_keys)` in pieces of about CHUNK characters, where `data` may
    hold `Members` and `Elements` (in a dict, a list or each other)."""
    parts: list[str] = []
    size = 0
    for piece in _pieces(data, "\n", " " * indent, sort_keys):
        parts.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(parts)
            parts, size = [], 0
    if parts:
        yield "".join(parts)


def _pieces(value: Any, newline: str, step: str, sort_keys: bool) -> Iterator[str]:
    """The text of `value` at the indentation `newline` holds, a member or an item at a time
    where it is lazy (or holds something lazy), whole where it is not."""
    kind = type(value)
    if kind is Written:
        yield value.text
    elif kind is Members:
        yield from _container(_members(value, sort_keys), "{", "}", newline, step, sort_keys)
    elif kind is Elements:
        yield from _container(((None, item) for item in value.items), "[", "]", newline, step, sort_keys)
    elif kind is dict and any(type(item) in _LAZY for item in value.values()):
        pairs = sorted(value.items()) if sort_keys else value.items()
        yield from _container(((_key(key), item) for key, item in pairs), "{", "}", newline, step, sort_keys)
    elif (kind is list or kind is tuple) and any(type(item) in _LAZY for item in value):
        yield from _container(((None, item) for item in value), "[", "]", newline, step, sort_keys)
    else:
        yield _whole(value, newline, step, sort_keys)


_LAZY = (Members, Elements, Written)


def _members(value: Members, sort_keys: bool) -> Iterator[tuple[str, Any]]:
    before: str | None = None
    for key, item in value.pairs:
        if sort_keys and before is not None and key <= before:
            raise ValueError(f"Members: key {key!r} after {before!r}, not sorted")
        before = key
        yield _key(key), item


def _container(
    members: Iterator[tuple[str | None, Any]],
    opening: str,
    closing: str,
    newline: str,
    step: str,
    sort_keys: bool,
) -> Iterator[str]:
    """An object (keys already encoded) or an array (keys None), its members written lazily."""
    inner = newline + step
    separator = opening + inner
    empty = True
    for key, item in members:
        empty = False
        yield separator if key is None else f"{separator}{key}: "
        yield from _pieces(item, inner, step, sort_keys)
        separator = "," + inner
    yield opening + closing if empty else newline + closing


def _whole(value: Any, newline: str, step: str, sort_keys: bool) -> str:
    """`value`'s text at the indentation `newline` holds (`value` holds nothing lazy)."""
    parts: list[str] = []
    try:
        _encode(value, newline, step, sort_keys, parts)
    except (_Fallback, TypeError, RecursionError):
        # json.dumps's text, indented where this value sits: its strings hold no line breaks
        # (they are escaped), so every "\n" in it is one of its own.
        text = json.dumps(value, indent=len(step), sort_keys=sort_keys)
        return text.replace("\n", newline)
    return "".join(parts)
