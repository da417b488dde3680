"""A small block-style YAML emitter for Ansible variables files, byte for byte PyYAML's.

PyYAML's Python emitter, the only one that indents a list under its key as yamllint (and so
ansible-lint) expects, took most of a large compile's time writing the host variables. Those
files have a restricted shape: mappings, lists and single-line scalars. This module writes that
shape directly, and each scalar as PyYAML would:

- the common strings (printable ASCII, no space, not an indicator, read back as a string) are
  written plain, as PyYAML writes them;
- every other scalar (`'1.0'`, `'yes'`, `!unsafe '{x}'`, unicode, spaces, ...) is rendered by
  PyYAML itself, once per distinct value, and reused;
- anything else (a multi-line or over-long scalar, which PyYAML folds by column; another type;
  a key PyYAML would write as `? key`) makes the whole document go through PyYAML, so the
  output is always PyYAML's.

tests/test_block_yaml.py checks it against PyYAML on varied and generated documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import yaml

# PyYAML's line width for these files: a plain or quoted scalar may be folded past it.
WIDTH = 120
# PyYAML writes a key as an explicit `? key` from 128 characters, its tag (`!!str`) counted
# (Emitter.check_simple_key), libyaml without the tag: a key this short is simple for both.
_SIMPLE_KEY_LIMIT = 100
_STR_TAG = "tag:yaml.org,2002:str"
# Printable ASCII without space: a string of these is plain unless it starts with an indicator.
_PLAIN_CANDIDATE = re.compile(r"[!-~]+")
_LEADING_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_RESOLVER = yaml.resolver.Resolver()


class BlockDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, indenting a list under its key as yamllint expects."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _Fallback(Exception):
    """The document holds something this emitter does not write; PyYAML writes it."""


Dumper = type[yaml.SafeDumper] | type[yaml.CSafeDumper]


def dump(data: Any, dumper: Dumper = BlockDumper, *, allow_unicode: bool = True) -> str:
    """`yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=120,
    allow_unicode=allow_unicode)`, written directly when `data` is a mapping of the restricted
    shape.

    `dumper` is BlockDumper, yaml.SafeDumper or yaml.CSafeDumper (libyaml's emitter: a list
    under its key at the key's indentation), or a subclass of one that only adds or replaces
    representers of scalar types (a str subclass with its own tag, a style for multi-line
    strings); those representers render the scalars this does not write plain.
    """
    text = _direct(data, dumper, allow_unicode)
    return _pyyaml(data, dumper, allow_unicode) if text is None else text


def dump_all(documents: list[Any], dumper: Dumper = yaml.SafeDumper, *, allow_unicode: bool = False) -> str:
    """`yaml.dump_all(documents, Dumper=dumper, sort_keys=False, default_flow_style=False,
    width=120, allow_unicode=allow_unicode, explicit_start=True)`, as `dump` writes each."""
    texts = [_direct(document, dumper, allow_unicode) for document in documents]
    if None in texts:
        return yaml.dump_all(
            documents,
            Dumper=dumper,
            sort_keys=False,
            default_flow_style=False,
            width=WIDTH,
            allow_unicode=allow_unicode,
            explicit_start=True,
        )
    return "".join(f"---\n{text}" for text in texts)


def _direct(data: Any, dumper: Dumper, allow_unicode: bool) -> str | None:
    """`data` written by this module; None when it is not of the shape this writes."""
    if type(data) is not dict or not data:
        return None
    options = (dumper, allow_unicode)
    emitter = _EMITTERS.get(options) or _EMITTERS.setdefault(options, _Emitter(dumper, allow_unicode))
    lines: list[str] = []
    try:
        emitter.mapping(data, "", "", lines)
    except _Fallback:
        return None
    return "".join(lines)


def _pyyaml(data: Any, dumper: Dumper, allow_unicode: bool) -> str:
    return yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        default_flow_style=False,
        width=WIDTH,
        allow_unicode=allow_unicode,
    )


@functools.lru_cache(maxsize=4096)
def _is_plain(text: str) -> bool:
    """Whether PyYAML writes `text` plain, for the strings this checks quickly; False means
    "ask PyYAML", not "quoted"."""
    return (
        _PLAIN_CANDIDATE.fullmatch(text) is not None
        and text[0] not in _LEADING_INDICATORS
        and not (len(text) == 1 and text in "?:-")
        and text[-1] != ":"
        and not text.startswith(("---", "..."))
        # The serializer writes a string untagged and plain only when it reads back as one.
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG  # type: ignore[no-untyped-call]
    )


class _Emitter:
    """Writes documents for one dumper; keeps PyYAML's renderings of the scalars it asked for."""

    # Distinct values that are not plain are few (quoted version numbers, templates); the
    # bound only keeps a long-lived process's memory in check.
    CACHE_SIZE = 16384

    def __init__(self, dumper: Dumper, allow_unicode: bool) -> None:
        self.dumper = dumper
        self.allow_unicode = allow_unicode
        # PyYAML's SafeDumper and libyaml write a list under its key at the key's indentation.
        self.indentless = not issubclass(dumper, BlockDumper)
        self.values: dict[tuple[type, Any], str | None] = {}
        self.keys: dict[tuple[type, Any], str | None] = {}

    def mapping(self, data: dict[Any, Any], first: str, indent: str, lines: list[str]) -> None:
        """A non-empty block mapping whose keys sit at `indent`; its first line starts with
        `first` (the `- ` of a list item) instead."""
        lead = first
        for key, value in data.items():
            head = f"{lead}{self.key(key)}:"
            lead = indent
            self.value(value, head, indent, lines)

    def sequence(self, data: list[Any], first: str, indent: str, lines: list[str]) -> None:
        lead = first
        for item in data:
            self.value(item, f"{lead}-", indent, lines)
            lead = indent

    def value(self, value: Any, head: str, indent: str, lines: list[str]) -> None:
        """`value` after `head` (a key and its colon, or a list item's dash) at `indent`."""
        kind = type(value)
        if kind is dict or kind is list:
            if not value:
                lines.append(f"{head} {{}}\n" if kind is dict else f"{head} []\n")
                return
            write = self.mapping if kind is dict else self.sequence
            if head[-1] == "-":
                # A collection in a list item starts on the dash's line.
                write(value, f"{head} ", indent + "  ", lines)
            else:
                lines.append(f"{head}\n")
                inner = indent if self.indentless and kind is list else indent + "  "
                write(value, inner, inner, lines)
            return
        text = self.scalar(value)
        # PyYAML folds a scalar past the width at a column that depends on where it starts;
        # one that ends within the width is never folded, wherever it starts.
        if len(head) + 1 + len(text) > WIDTH:
            raise _Fallback
        lines.append(f"{head} {text}\n")

    def scalar(self, value: Any) -> str:
        kind = type(value)
        if type(value) is str and _is_plain(value):
            return value
        if kind is int:
            return str(value)
        if value is None:
            return "null"
        if kind is bool:
            return "true" if value else "false"
        if kind is float or (isinstance(value, str) and kind in self.dumper.yaml_representers):
            text = self._cached(self.values, value, self._rendered)
            if text is not None:
                return text
        raise _Fallback

    def key(self, key: Any) -> str:
        if type(key) is str and len(key) < _SIMPLE_KEY_LIMIT and _is_plain(key):
            return key
        text = self._cached(self.keys, key, self._rendered_key)
        if text is None:
            raise _Fallback
        return text

    def _cached(
        self, cache: dict[tuple[type, Any], str | None], value: Any, render: Callable[[Any], str | None]
    ) -> str | None:
        # Keyed by type too: True == 1, and a str subclass may carry its own tag.
        entry = (type(value), value)
        if entry not in cache:
            if len(cache) >= self.CACHE_SIZE:
                cache.clear()
            cache[entry] = render(value)
        return cache[entry]

    def _rendered(self, value: Any) -> str | None:
        """PyYAML's own rendering of a scalar as a block mapping's value; None unless one line."""
        text = _pyyaml({"k": value}, self.dumper, self.allow_unicode)
        # splitlines: PyYAML also writes a line or paragraph separator (U+2028, U+2029) as a break.
        if not text.startswith("k: ") or len(text.splitlines()) != 1:
            return None
        return text[3:-1]

    def _rendered_key(self, key: Any) -> str | None:
        """PyYAML's own rendering of a scalar as a simple key; None when it writes `? key`."""
        if not (isinstance(key, (str, int, float)) or key is None):
            return None
        if type(key) not in self.dumper.yaml_representers:
            return None
        text = _pyyaml({key: None}, self.dumper, self.allow_unicode)
        if text.startswith("?") or len(text.splitlines()) != 1 or not text.endswith(": null\n"):
            return None
        return text[: -len(": null\n")]


_EMITTERS: dict[tuple[Dumper, bool], _Emitter] = {}
