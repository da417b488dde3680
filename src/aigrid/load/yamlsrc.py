"""Read one YAML file into positioned nodes, refusing what a blueprint must never be.

The tree is built straight from libyaml's event stream with an explicit stack, which
keeps one pass over the file and lets us stop early: nesting depth, alias expansion
and duplicate keys are checked as events arrive, before libyaml or Python recursion
can be driven into the ground by a hostile file.

Plain values are read the way YAML 1.1 (PyYAML, Ansible) and YAML 1.2 agree on, or
refused: `0220` is octal 144 to one and 220 to the other, `yes` is true to one and text
to the other, and a blueprint must not mean two things depending on who reads it.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from aigrid.diagnostics import Code, Diagnostic, LoadError
from aigrid.load.nodes import (
    POSITION_BITS,
    Origin,
    RawFloat,
    RawInt,
    YMap,
    YNode,
    YScalar,
    YSeq,
    file_base,
    has_directive,
    pack_keys,
    unpack,
)

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
# First characters of plain scalars that YAML 1.1 or 1.2 may read as something other than text.
_MAYBE_TYPED = frozenset("-+.~0123456789nNtTfFyYoO<=")
# Of those, the ones that start a text value (to YAML 1.1) that YAML 1.2 reads as a number,
# or a YAML 1.1 boolean that PyYAML leaves as text (`y`, `n`, `yEs`).
_TEXT_SUSPECT = frozenset("-+.0123456789nNyYoO")
_BOOLEAN_WORDS = {"y": True, "yes": True, "on": True, "n": False, "no": False, "off": False}
_BOOLEANS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE"})
# Numbers both YAML versions read alike: decimal, no leading zero, no `_`, exponent signed.
_PLAIN_NUMBER = re.compile(
    r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+][0-9]+)?|\.[0-9]+(?:[eE][-+][0-9]+)?"
)
# YAML 1.2 core schema numbers (to catch those YAML 1.1 reads as text).
_CORE_NUMBER = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
# The resolver's implicit patterns by first character, each followed by those for any character.
_WILDCARD: tuple[tuple[str, re.Pattern[str]], ...] = tuple(Resolver.yaml_implicit_resolvers.get(None, []))
_IMPLICIT: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: (*patterns, *_WILDCARD)
    for first, patterns in Resolver.yaml_implicit_resolvers.items()
    if first is not None
}
# Numbers as written, shared: a grid writes the same few (counts, VLANs, versions) at every
# site, and each RawInt carries a dict of its own. They are never changed once made.
_RAW_INTS: dict[str, RawInt] = {}
_RAW_INTS_KEPT = 4096
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def fail(code: Code, message: str, hint: str, origin: Origin, path: str = "") -> LoadError:
    return LoadError([Diagnostic(code, message, hint, path, origin.file, origin.line, origin.column)])


def check_file(info: os.stat_result, display: str, at: Origin) -> None:
    """Refuse what is not a regular file under the size limit, from its stat alone."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "a special file")
        raise fail(
            Code.UNREADABLE_FILE,
            f"{display} is {kind}, not a regular file",
            "blueprints are regular YAML files; pass or extend one",
            at,
        )
    if info.st_size > MAX_FILE_BYTES:
        raise fail(
            Code.UNREADABLE_FILE,
            f"file is {info.st_size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
            "split the grid into layered files with `extends`",
            at,
        )


def read_text(path: Path, display: str, at: Origin | None = None) -> str:
    """Read a blueprint file as UTF-8 text; problems with the file as a whole are reported `at`.

    `path` must be resolved (no symlinks): it is opened without following one, so a link
    swapped in since cannot redirect the read. Only a regular file is opened (opening a
    FIFO blocks until a writer comes; a device never ends): stat decides before the open,
    and fstat again after it, in case the path was swapped in between. The read stops one
    byte past the size limit whatever the size said.
    """
    start = at or Origin(display, 1, 1)
    try:
        check_file(path.stat(), display, start)
        fd = os.open(path, _OPEN_FLAGS)
        try:
            info = os.fstat(fd)
            check_file(info, display, start)
            data = _read_bounded(fd, info.st_size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise fail(
            Code.UNREADABLE_FILE,
            f"cannot read {display}: {exc.strerror}",
            "check the path and permissions",
            start,
        ) from exc
    if len(data) > MAX_FILE_BYTES:
        raise fail(
            Code.UNREADABLE_FILE,
            f"file grew past the {MAX_FILE_BYTES // 2**20} MiB limit while being read",
            "split the grid into layered files with `extends`",
            start,
        )
    return decode_text(data, display, start)


def _within_limit(size: int, at: Origin) -> None:
    """Refuse input (bytes or characters) over MAX_FILE_BYTES."""
    if size > MAX_FILE_BYTES:
        raise fail(
            Code.UNREADABLE_FILE,
            f"input is over the {MAX_FILE_BYTES // 2**20} MiB limit",
            "split the grid into layered files with `extends`",
            at,
        )


def decode_text(data: bytes, display: str, at: Origin | None = None) -> str:
    """Blueprint bytes as text: at most MAX_FILE_BYTES of UTF-8 without NUL bytes.

    Used for a file's content once read, and for standard input (`aigrid validate -`), which
    the caller reads with the same bound (MAX_FILE_BYTES + 1 bytes at most)."""
    start = at or Origin(display, 1, 1)
    _within_limit(len(data), start)
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


def _read_bounded(fd: int, size: int) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes: one read for a file whose size held, more if it grew."""
    chunks: list[bytes] = []
    left = MAX_FILE_BYTES + 1
    want = size + 1
    while left > 0:
        chunk = os.read(fd, min(want, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
        want = 1 << 20
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _origin(mark: Any, file: str) -> Origin:
    return Origin(file, mark.line + 1, mark.column + 1)


def _number_text(number: float) -> str:
    if isinstance(number, int) or (number.is_integer() and abs(number) < 1e16):
        return str(int(number))
    return repr(number)


def _readings(value: str, tag: str) -> tuple[str, str | None]:
    """For a refused plain value: how YAML versions read it, and what to write if clear."""
    if tag == _BOOL or (tag not in (_INT, _FLOAT) and value.lower() in _BOOLEAN_WORDS):
        meant = "true" if _BOOLEAN_WORDS[value.lower()] else "false"
        return f"some YAML readers (1.1) take it as the boolean {meant}, others as text", meant
    if tag not in (_INT, _FLOAT):
        number: float = int(value, 0) if value.startswith("0o") else float(value)
        if value.lstrip("+-").isdigit():
            number = int(value, 10)
        return f"YAML 1.2 reads it as the number {_number_text(number)}, YAML 1.1 as text", _number_text(
            number
        )
    if "inf" in value.lower() or "nan" in value.lower():
        return "YAML reads it as infinity or not-a-number, which no blueprint value is", None
    result = SafeConstructor.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    unsigned = value.lstrip("+-")
    if ":" in value:
        return f"YAML 1.1 reads it as the base-60 number {_number_text(result)}, YAML 1.2 as text", None
    if unsigned[:2].lower() in ("0x", "0b"):
        base = "hexadecimal" if unsigned[1] in "xX" else "binary"
        return f"YAML 1.1 reads it as the {base} number {result}", str(result)
    if "_" in value:
        return f"YAML 1.1 reads it as {_number_text(result)} (dropping the `_`), YAML 1.2 as text", (
            _number_text(result)
        )
    if tag == _INT:
        decimal = int(value, 10)
        return f"YAML 1.1 reads it as the octal number {result}, YAML 1.2 as {decimal}", str(decimal)
    return "YAML versions read this form of number differently", _number_text(result)


def _ambiguous(event: Any, file: str, value: str, tag: str) -> LoadError:
    reason, meant = _readings(value, tag)
    quoted = f"quote it: '{value}'"
    return fail(
        Code.AMBIGUOUS_SCALAR,
        f"ambiguous value {value!r}: {reason}",
        f"write {meant}, or {quoted}" if meant is not None else quoted,
        _origin(event.start_mark, file),
    )


def _scalar(event: Any, file: str, is_key: bool = False) -> Any:
    value: str = event.value
    tag = event.tag
    plain = False
    if tag in (None, "!"):
        plain = event.implicit[0]
        if not plain or not value or value[0] not in _MAYBE_TYPED:
            return value
        tag = _implicit_tag(value)
    if tag in _AS_TEXT:
        # Keys are left alone here: a key YAML 1.1 does not read as text is refused in _add.
        if (
            plain
            and not is_key
            and value[0] in _TEXT_SUSPECT
            and (_CORE_NUMBER.fullmatch(value) or (len(value) <= 3 and value.lower() in _BOOLEAN_WORDS))
        ):
            raise _ambiguous(event, file, value, tag)
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
    if not plain and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) != tag:  # type: ignore[no-untyped-call]
        raise fail(
            Code.UNSUPPORTED_YAML,
            f"YAML tag {tag!r} does not fit the value {value!r}",
            "remove the tag; blueprints hold plain values",
            _origin(event.start_mark, file),
        )
    if not is_key and (
        (tag == _BOOL and value not in _BOOLEANS)
        or (tag in (_INT, _FLOAT) and not _PLAIN_NUMBER.fullmatch(value))
    ):
        raise _ambiguous(event, file, value, tag)
    if tag == _INT and not is_key:
        # Checked above to be plain decimal digits, which the constructor reads as int() does.
        number = _RAW_INTS.get(value)
        if number is None:
            number = RawInt(int(value), value)
            if len(_RAW_INTS) < _RAW_INTS_KEPT:
                _RAW_INTS[value] = number
        return number
    result = SafeConstructor.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    if isinstance(result, bool) or result is None:
        return result
    if isinstance(result, int):
        return RawInt(result, value)
    return RawFloat(result, value)


def _implicit_tag(value: str) -> str:
    """The tag PyYAML's resolver gives a plain, non-empty scalar: the same table, tried in the
    same order, without the resolver's general-purpose overhead on every number and address."""
    for tag, pattern in _IMPLICIT.get(value[0], _WILDCARD):
        if pattern.match(value):
            return tag
    return _STR


class _Frame:
    """A collection under construction on the builder's stack."""

    __slots__ = ("anchor", "directive", "items", "key", "key_at", "key_pos", "pos", "size")

    def __init__(self, pos: int, anchor: str | None, items: dict[str, YNode] | list[YNode]) -> None:
        self.pos = pos
        self.anchor = anchor
        self.items = items
        # Packed positions (nodes.pack) of the mapping's keys, in order.
        self.key_pos: list[int] = []
        self.key: str | None = None
        # Where the pending key was written; meaningful only while `key` is set.
        self.key_at = pos
        self.size = 1
        self.directive = False


def parse_yaml(text: str, file: str) -> YNode | None:
    """Parse one YAML document into positioned nodes; None for an empty document."""
    # Again for text that did not come through decode_text: the limit is also what keeps every
    # line and column within a packed position (nodes.pack).
    _within_limit(len(text), Origin(file, 1, 1))
    loader = _LOADER(text)
    try:
        return _build(loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        origin = _origin(mark, file) if mark is not None else Origin(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:
            # PyYAML 6.0.4 stops deep nesting in its scanner, before our own depth check sees it.
            raise fail(
                Code.UNSUPPORTED_YAML,
                f"nesting deeper than {MAX_DEPTH} levels",
                "flatten the document",
                origin,
            ) from exc
        raise fail(
            Code.YAML_SYNTAX, f"YAML syntax error: {problem}", "fix the YAML syntax at this position", origin
        ) from exc
    except yaml.YAMLError as exc:
        raise fail(Code.YAML_SYNTAX, f"YAML error: {exc}", "fix the YAML syntax", Origin(file, 1, 1)) from exc
    finally:
        loader.dispose()


def _set_key(frame: _Frame, key: Any, start: int) -> None:
    """Open the next entry of the mapping being built (its key written at the packed position
    `start`): its key must be new text."""
    if type(key) is not str:
        raise fail(
            Code.UNSUPPORTED_YAML,
            f"mapping key {key!r} is not a string",
            "quote the key (YAML reads yes/no/on/off and numbers as other types)",
            unpack(start),
        )
    if key in frame.items:
        first = unpack(frame.key_pos[list(frame.items).index(key)])
        raise fail(
            Code.DUPLICATE_KEY,
            f"duplicate key {key!r} (first set at line {first.line})",
            "remove one of the two entries",
            unpack(start),
        )
    # A grid repeats the same few keys hundreds of thousands of times: one string for each.
    frame.key, frame.key_at = sys.intern(key), start
    if key == DIRECTIVE_KEY:
        frame.directive = True


def _add(frame: _Frame, node: YNode, start: int) -> None:
    """Put a finished node into the collection being built."""
    items = frame.items
    if type(items) is list:
        items.append(node)
        return
    assert isinstance(items, dict)
    if frame.key is None:
        _set_key(frame, node.value if type(node) is YScalar else None, start)
        return
    items[frame.key] = node
    frame.key_pos.append(frame.key_at)
    frame.key = None


def _build(loader: Any, file: str) -> YNode | None:
    """The positioned tree of one document, checked event by event.

    This loop runs once per YAML event (close to a million on a 10,000-site grid), so the
    common case, a plain scalar that can only be text, is handled inline: a key goes
    straight to its mapping without a node of its own, a value straight into its parent.
    Anything else (anchors, tags, values YAML may read as other types) takes `_scalar` and
    `_add`, which raise the same errors at the same place."""
    stack: list[_Frame] = []
    anchors: dict[str, tuple[YNode, int]] = {}
    alias_nodes = 0
    root: YNode | None = None
    documents = 0
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    get_event = loader.get_event
    # Each node's position packed into one int (nodes.pack): libyaml's marks count from 0.
    line_shift = POSITION_BITS
    at_one = file_base(file) | 1 << POSITION_BITS | 1
    # One string for each text value written more than once (a grid repeats its tiers, roles,
    # models, interfaces and slice names at every site).
    strings: dict[str, str] = {}
    maybe_typed = _MAYBE_TYPED
    frame: _Frame | None = None

    while True:
        # The parser hands out None once the stream has ended.
        event = get_event()
        if event is None:
            break
        kind = type(event)
        node: YNode
        if kind is scalar_event:
            mark = event.start_mark
            pos = (mark.line << line_shift) + mark.column + at_one
            value = event.value
            text = event.tag is None and event.implicit[0] and (not value or value[0] not in maybe_typed)
            if frame is None:
                node = YScalar(value if text else _scalar(event, file), pos)
                if event.anchor:
                    anchors[event.anchor] = (node, 1)
                return node
            frame.size += 1
            items = frame.items
            if text and not event.anchor:
                if isinstance(items, list):
                    items.append(YScalar(strings.setdefault(value, value), pos))
                elif frame.key is None:
                    _set_key(frame, value, pos)
                else:
                    items[frame.key] = YScalar(strings.setdefault(value, value), pos)
                    frame.key_pos.append(frame.key_at)
                    frame.key = None
                continue
            is_key = type(items) is dict and frame.key is None
            node = YScalar(value if text else _scalar(event, file, is_key), pos)
            if event.anchor:
                anchors[event.anchor] = (node, 1)
            _add(frame, node, pos)
        elif kind is mapping_start or kind is sequence_start:
            mark = event.start_mark
            pos = (mark.line << line_shift) + mark.column + at_one
            if len(stack) >= MAX_DEPTH:
                raise fail(
                    Code.UNSUPPORTED_YAML,
                    f"nesting deeper than {MAX_DEPTH} levels",
                    "flatten the document",
                    unpack(pos),
                )
            frame = _Frame(pos, event.anchor, {} if kind is mapping_start else [])
            stack.append(frame)
        elif kind is mapping_end or kind is sequence_end:
            done = stack.pop()
            items = done.items
            if type(items) is dict:
                node = YMap(items, pack_keys(done.key_pos), done.pos, has_directive=done.directive)
            else:
                assert isinstance(items, list)
                node = YSeq(items, done.pos, has_directive=done.directive)
            if done.anchor:
                anchors[done.anchor] = (node, done.size)
            if not stack:
                root = node
                frame = None
                continue
            frame = stack[-1]
            frame.size += done.size
            frame.directive = frame.directive or done.directive
            _add(frame, node, done.pos)
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
            if frame is None:
                return target
            frame.size += size
            frame.directive = frame.directive or has_directive(target)
            mark = event.start_mark
            _add(frame, target, (mark.line << line_shift) + mark.column + at_one)
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
