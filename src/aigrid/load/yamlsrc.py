"""Read one YAML file into positioned nodes, refusing what a blueprint must never be.

The tree is built straight from libyaml's event stream with an explicit stack, which
keeps one pass over the file and lets us stop early: nesting depth, alias expansion
and duplicate keys are checked as events arrive, before libyaml or Python recursion
can be driven into the ground by a hostile file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from aigrid.diagnostics import Code, Diagnostic, LoadError
from aigrid.load.nodes import Origin, RawFloat, RawInt, YMap, YNode, YScalar, YSeq, has_directive

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
DIRECTIVE_KEY = "$patch"

_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = SafeConstructor()
_RESOLVER = Resolver()
_STR = "tag:yaml.org,2002:str"
_TYPED_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
# Timestamps stay the text that was written: a blueprint has no date fields, and a
# quietly converted date would only surface later as a confusing type error.
_AS_TEXT = {_STR, "tag:yaml.org,2002:timestamp"}
# First characters of plain scalars that YAML 1.1 may read as something other than text.
_MAYBE_TYPED = frozenset("-+.~0123456789nNtTfFyYoO<=")


def fail(code: Code, message: str, hint: str, origin: Origin, path: str = "") -> LoadError:
    return LoadError([Diagnostic(code, message, hint, path, origin.file, origin.line, origin.column)])


def read_text(path: Path, display: str) -> str:
    """Read a blueprint file as UTF-8 text, with the size and content checks first."""
    start = Origin(display, 1, 1)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(
                Code.UNREADABLE_FILE,
                f"file is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
                "split the grid into layered files with `extends`",
                start,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise fail(
            Code.UNREADABLE_FILE, f"cannot read file: {exc.strerror}", "check the path and permissions", start
        ) from exc
    if b"\x00" in data:
        raise fail(Code.UNREADABLE_FILE, "file is binary, not YAML text", "pass a YAML blueprint file", start)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise fail(
            Code.UNREADABLE_FILE,
            f"file is not UTF-8 text (bad byte at offset {exc.start})",
            "save it as UTF-8",
            Origin(display, line, 1),
        ) from exc


def _origin(mark: Any, file: str) -> Origin:
    return Origin(file, mark.line + 1, mark.column + 1)


def _scalar(event: Any, file: str) -> Any:
    value: str = event.value
    tag = event.tag
    if tag in (None, "!"):
        plain = event.implicit[0]
        if not plain or not value or value[0] not in _MAYBE_TYPED:
            return value
        tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if tag in _AS_TEXT:
        return value
    if tag == "tag:yaml.org,2002:merge":
        raise fail(
            Code.UNSUPPORTED_YAML,
            "YAML merge keys (<<) are not supported",
            "layer blueprints with `extends` instead",
            _origin(event.start_mark, file),
        )
    if tag not in _TYPED_TAGS:
        raise fail(
            Code.UNSUPPORTED_YAML,
            f"YAML tag {tag!r} is not supported",
            "remove the tag; blueprints hold plain values",
            _origin(event.start_mark, file),
        )
    result = SafeConstructor.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    if isinstance(result, bool) or result is None:
        return result
    if isinstance(result, int):
        return RawInt(result, value)
    return RawFloat(result, value)


class _Frame:
    """A collection under construction on the builder's stack."""

    __slots__ = ("anchor", "directive", "items", "key", "key_origin", "keys", "origin", "size")

    def __init__(self, origin: Origin, anchor: str | None, items: dict[str, YNode] | list[YNode]) -> None:
        self.origin = origin
        self.anchor = anchor
        self.items = items
        self.keys: dict[str, Origin] = {}
        self.key: str | None = None
        self.key_origin: Origin | None = None
        self.size = 1
        self.directive = False


def parse_yaml(text: str, file: str) -> YNode | None:
    """Parse one YAML document into positioned nodes; None for an empty document."""
    loader = _LOADER(text)
    try:
        return _build(loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        origin = _origin(mark, file) if mark is not None else Origin(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise fail(
            Code.YAML_SYNTAX, f"YAML syntax error: {problem}", "fix the YAML syntax at this position", origin
        ) from exc
    except yaml.YAMLError as exc:
        raise fail(Code.YAML_SYNTAX, f"YAML error: {exc}", "fix the YAML syntax", Origin(file, 1, 1)) from exc
    finally:
        loader.dispose()


def _add(frame: _Frame, node: YNode, start: Origin) -> None:
    """Put a finished node into the collection being built."""
    items = frame.items
    if type(items) is list:
        items.append(node)
        return
    assert isinstance(items, dict)
    if frame.key is None:
        key = node.value if type(node) is YScalar else None
        if type(key) is not str:
            raise fail(
                Code.UNSUPPORTED_YAML,
                f"mapping key {key!r} is not a string",
                "quote the key (YAML reads yes/no/on/off and numbers as other types)",
                start,
            )
        if key in items:
            first = frame.keys[key]
            raise fail(
                Code.DUPLICATE_KEY,
                f"duplicate key {key!r} (first set at line {first.line})",
                "remove one of the two entries",
                start,
            )
        frame.key, frame.key_origin = key, start
        if key == DIRECTIVE_KEY:
            frame.directive = True
        return
    assert frame.key_origin is not None
    items[frame.key] = node
    frame.keys[frame.key] = frame.key_origin
    frame.key = None


def _build(loader: Any, file: str) -> YNode | None:
    stack: list[_Frame] = []
    anchors: dict[str, tuple[YNode, int]] = {}
    alias_nodes = 0
    root: YNode | None = None
    documents = 0
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    get_event, check_event = loader.get_event, loader.check_event

    while check_event():
        event = get_event()
        kind = type(event)
        node: YNode
        if kind is scalar_event:
            mark = event.start_mark
            origin = Origin(file, mark.line + 1, mark.column + 1)
            value = event.value
            if event.tag is None and event.implicit[0] and (not value or value[0] not in _MAYBE_TYPED):
                node = YScalar(value, origin)
            else:
                node = YScalar(_scalar(event, file), origin)
            if event.anchor:
                anchors[event.anchor] = (node, 1)
            if not stack:
                return node
            frame = stack[-1]
            frame.size += 1
            _add(frame, node, origin)
        elif kind is mapping_start or kind is sequence_start:
            origin = _origin(event.start_mark, file)
            if len(stack) >= MAX_DEPTH:
                raise fail(
                    Code.UNSUPPORTED_YAML,
                    f"nesting deeper than {MAX_DEPTH} levels",
                    "flatten the document",
                    origin,
                )
            stack.append(_Frame(origin, event.anchor, {} if kind is mapping_start else []))
        elif kind is mapping_end or kind is sequence_end:
            done = stack.pop()
            if type(done.items) is dict:
                node = YMap(done.items, done.keys, done.origin, has_directive=done.directive)
            else:
                assert isinstance(done.items, list)
                node = YSeq(done.items, done.origin, has_directive=done.directive)
            if done.anchor:
                anchors[done.anchor] = (node, done.size)
            if not stack:
                root = node
                continue
            frame = stack[-1]
            frame.size += done.size
            frame.directive = frame.directive or done.directive
            _add(frame, node, done.origin)
        elif kind is alias_event:
            origin = _origin(event.start_mark, file)
            if event.anchor not in anchors:
                raise fail(
                    Code.YAML_SYNTAX,
                    f"alias *{event.anchor} has no anchor",
                    "define the anchor first",
                    origin,
                )
            target, size = anchors[event.anchor]
            alias_nodes += size
            if alias_nodes > MAX_ALIAS_NODES:
                raise fail(
                    Code.ALIAS_EXPANSION,
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes",
                    "an anchor is reused too often (alias bomb?); write the values out or use `extends`",
                    origin,
                )
            if not stack:
                return target
            frame = stack[-1]
            frame.size += size
            frame.directive = frame.directive or has_directive(target)
            _add(frame, target, origin)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise fail(
                    Code.UNSUPPORTED_YAML,
                    "more than one YAML document in the file",
                    "keep one blueprint per file",
                    _origin(event.start_mark, file),
                )
    return root
