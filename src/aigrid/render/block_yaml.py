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
    emitter.contextual = False
    try:
        emitter.mapping(data, "", "", lines)
    except _Fallback:
        return None
    # PyYAML writes a mapping or list met twice as an anchor and an alias. This module does not,
    # and the documents it wrote before it wrote strings in context are kept as they were; one
    # that PyYAML wrote whole then still is when it shares collections.
    if emitter.contextual and _shares_collections(data):
        return None
    return "".join(lines)


def _shares_collections(data: Any) -> bool:
    """Whether a dict or list appears twice in `data` (the same object)."""
    seen: set[int] = set()
    pending = [data]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            return True
        seen.add(id(item))
        children = item.values() if type(item) is dict else item
        pending.extend(child for child in children if type(child) is dict or type(child) is list)
    return False


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
        # Strings (of type str, not a subclass with its own tag) as this writes them on one
        # line: keys, and values whether plain or rendered by PyYAML.
        self.str_keys: dict[str, str] = {}
        self.str_values: dict[str, str] = {}
        # Whether the document being written holds a string written in context (_in_context).
        self.contextual = False

    def mapping(self, data: dict[Any, Any], first: str, indent: str, lines: list[str]) -> None:
        """A non-empty block mapping whose keys sit at `indent`; its first line starts with
        `first` (the `- ` of a list item) instead."""
        lead = first
        # The common case inline (a key and a value that are plain strings written before), as
        # `value` would write it: most of a document, and two calls less per line.
        keys, texts = self.str_keys, self.str_values
        for key, value in data.items():
            head = f"{lead}{(type(key) is str and keys.get(key)) or self.key(key)}:"
            lead = indent
            text = texts.get(value) if type(value) is str else None
            if text is not None and len(head) + len(text) < WIDTH:
                lines.append(f"{head} {text}\n")
            else:
                self.value(value, head, indent, lines)

    def sequence(self, data: list[Any], first: str, indent: str, lines: list[str]) -> None:
        lead = first
        texts = self.str_values
        for item in data:
            head = f"{lead}-"
            lead = indent
            text = texts.get(item) if type(item) is str else None
            if text is not None and len(head) + len(text) < WIDTH:
                lines.append(f"{head} {text}\n")
            else:
                self.value(item, head, indent, lines)

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
        try:
            text = self.scalar(value)
        except _Fallback:
            text = None
        # PyYAML folds a scalar past the width at a column that depends on where it starts;
        # one that ends within the width is never folded, wherever it starts.
        if text is not None and len(head) + 1 + len(text) <= WIDTH:
            lines.append(f"{head} {text}\n")
            return
        if head[-1] != ":" or not (isinstance(value, str) and type(value) in self.dumper.yaml_representers):
            raise _Fallback
        # A string on several lines (folded, or a literal block) as a mapping's value.
        text = _in_context(self, len(indent), len(head) - len(indent) - 1, value)
        if text is None:
            raise _Fallback
        self.contextual = True
        lines.append(head + text)

    def scalar(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            text = self.str_values.get(value)
            if text is None:
                text = value if _is_plain(value) else self._cached(self.values, value, self._rendered)
                if text is None:
                    raise _Fallback
                _remember(self.str_values, value, text)
            return text
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
            text: str | None = key
        else:
            text = self._cached(self.keys, key, self._rendered_key)
        if text is None:
            raise _Fallback
        if type(key) is str:
            _remember(self.str_keys, key, text)
        return text

    def _cached(
        self, cache: dict[tuple[type, Any], str | None], value: Any, render: Callable[[Any], str | None]
    ) -> str | None:
        # Keyed by type too: True == 1, and a str subclass may carry its own tag; a float by its
        # text: -0.0 == 0.0, and NaN equals nothing.
        kind = type(value)
        entry = (kind, float.__repr__(value) if kind is float else value)
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


def _remember(cache: dict[str, str], text: str, written: str) -> None:
    # Most values of a grid are the same on every site; the bound keeps the unique ones (names,
    # addresses) of a large grid from piling up.
    if len(cache) >= _Emitter.CACHE_SIZE:
        cache.clear()
    cache[text] = written


# typed: a str subclass (Ansible's !unsafe) is written with its own tag. The distinct values are
# few per site and the same on many sites (a ConfigMap's file); the bound keeps memory in check.
@functools.lru_cache(maxsize=512, typed=True)
def _in_context(emitter: _Emitter, column: int, key_length: int, value: str) -> str | None:
    """What PyYAML writes after a key of `key_length` characters at `column` and its colon, for a
    string it writes on several lines; None when this cannot tell.

    Where PyYAML folds a scalar, and how it indents a block scalar's lines, depends only on the
    column the key sits at and the key's length: the string is rendered in a small document that
    puts a key as long at the same column (mappings nested under `a:` keys, two columns each, as
    every block collection indents by two), and the lines after those keys are the answer."""
    if column % 2:
        return None
    document: dict[str, Any] = {"k" * key_length: value}
    for _ in range(column // 2):
        document = {"a": document}
    text = _pyyaml(document, emitter.dumper, emitter.allow_unicode)
    start = 0
    for _ in range(column // 2):
        start = text.index("\n", start) + 1
    text = text[start:]
    head = " " * column + "k" * key_length + ":"
    # `...` ends a document after a block scalar that keeps its final line breaks (`|+`): in a
    # larger document it may not be written there.
    if not text.startswith(head) or text.endswith("\n...\n"):
        return None
    return text[len(head) :]
