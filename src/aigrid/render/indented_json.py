"""`json.dumps(data, indent=N)`, the same text at a fraction of the cost.

With an indent, the standard library encodes in Python through nested generators (its C
encoder does not indent); a compile writes several indented JSON files per site. This writes
the same text with one recursive function over the plain types (dict, list, tuple, str, int,
float, bool, None), strings escaped by the standard library's own C function. Anything else
(a subclass, an object the encoder would reject or convert) goes to json.dumps as a whole.

tests/test_indented_json.py checks it against json.dumps on varied and generated data.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any


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
