"""load -> model -> rules for one blueprint file, with every finding placed at file:line."""

from __future__ import annotations

import difflib
import gc
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from aigrid import suppress
from aigrid.catalog import catalog
from aigrid.diagnostics import Code, Diagnostic, LoadError, Severity
from aigrid.load.layers import STDIN_NAME, Document, load_document
from aigrid.load.nodes import Origin, YMap, YNode, YSeq, plain, unpack
from aigrid.load.paths import Loc, PathSyntaxError, deepest, format_loc, parse_path, select
from aigrid.model.blueprint import API_VERSION, Blueprint
from aigrid.rules import registry
from aigrid.suppress import Suppression, Waivers


@dataclass
class Result:
    """What validating one file produced."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    document: Document | None = None
    blueprint: Blueprint | None = None
    # The text a report may quote, by display name; see Document.sources for what is in it.
    sources: dict[str, str] = field(default_factory=dict)
    # Warnings waived (--ignore/--select or an inline comment), with how and why.
    suppressed: list[tuple[Diagnostic, Suppression]] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def valid(self, strict: bool = False) -> bool:
        return not (self.diagnostics if strict else self.errors)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Suspend the cyclic collector: validation builds large acyclic trees it would only
    rescan over and over (seconds on a 10,000-site grid); reference counting frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_file(
    path: Path, root: Path | None = None, waivers: Waivers | None = None, data: bytes | None = None
) -> Result:
    """Validate one blueprint; its `extends` stay inside `root` (default: its repository).

    Warnings waived by `waivers` or by `# aigrid: ignore[...]` comments move to `suppressed`.
    With `data` the blueprint is that text (standard input), named `<stdin>`; see load_document."""
    with _no_gc():
        return _validate(path, root, waivers or Waivers(), data)


def _validate(path: Path, root: Path | None, waivers: Waivers, data: bytes | None) -> Result:
    result = Result(file=STDIN_NAME if data is not None else str(path))
    try:
        document = load_document(path, root, data)
    except LoadError as exc:
        result.diagnostics = exc.diagnostics
        result.sources = exc.sources
        return result
    result.document = document
    result.sources = {name: source.text for name, source in document.sources.items()}
    result.file = document.path
    blueprint, diagnostics = build_model(document)
    result.blueprint = blueprint
    if blueprint is not None:
        diagnostics = check_locks(document) + document.conflicts + check_rules(document, blueprint)
    diagnostics, result.suppressed = suppress.apply(
        diagnostics, result.sources, document.path, waivers, rules_ran=blueprint is not None
    )
    result.diagnostics = sorted(diagnostics, key=lambda d: d.sort_key)
    return result


def place(root: YNode, loc: Loc, code: Code, message: str, hint: str, key: bool = False) -> Diagnostic:
    """A diagnostic at the node `loc` names (or the key that introduces it)."""
    node = deepest(root, loc)
    origin: Origin = node.origin
    # A block mapping or list starts at its first entry; its key is the better place to point.
    key = key or isinstance(node, YMap | YSeq)
    if key and loc and isinstance(loc[-1], str):
        parent = deepest(root, loc[:-1])
        at = parent.key_at(loc[-1]) if isinstance(parent, YMap) else None
        if at is not None:
            origin = unpack(at)
    return Diagnostic(code, message, hint, format_loc(root, loc), origin.file, origin.line, origin.column)


def check_rules(document: Document, blueprint: Blueprint) -> list[Diagnostic]:
    context = registry.Context(blueprint, catalog())
    return [
        place(document.root, finding.loc, rule.code, finding.message, finding.hint)
        for rule, finding in registry.run(context)
    ]


def check_locks(document: Document) -> list[Diagnostic]:
    """Every lock must name a field of the schema, and items that exist: a lock with a typo
    (stack.drivr.version) would otherwise protect nothing, silently."""
    root = document.root
    locks = root.items.get("locks")
    diagnostics = []
    for index, item in enumerate(locks.items if isinstance(locks, YSeq) else []):
        text = str(item.plain)
        try:
            problem = _lock_problem(root, parse_path(text))
        except PathSyntaxError as exc:
            problem = str(exc)
        if problem:
            diagnostics.append(
                place(
                    root,
                    ("locks", index),
                    Code.MERGE_DIRECTIVE,
                    f"lock {text!r} names nothing in this blueprint: {problem}",
                    "lock a field of the schema, such as stack.driver.version, or an item that exists",
                )
            )
    return diagnostics


def _lock_problem(root: YNode, segments: list[str]) -> str | None:
    """Why the path does not name a field (with existing items) of the blueprint, or None."""
    model: Any = Blueprint
    node: YNode | None = root
    walked = ""
    for segment in segments:
        where = walked or "the top level"
        model = _without_none(model)
        if segment.startswith("["):
            if get_origin(model) is not list:
                return f"{where} is not a list"
            child = select(node, segment)[0] if node is not None else None
            if node is not None and child is None:
                return f"{where} has no item {segment}"
            model, node = get_args(model)[0], child
        elif get_origin(model) is dict:
            return None  # any key of a mapping such as labels
        elif isinstance(model, type) and issubclass(model, BaseModel):
            fields = {(f.alias or name): f for name, f in model.model_fields.items()}
            if segment not in fields:
                close = difflib.get_close_matches(segment, list(fields), n=1, cutoff=0.6)
                return f"{where} has no field {segment!r}" + (
                    f" (did you mean {close[0]!r}?)" if close else ""
                )
            model = fields[segment].annotation
            node = node.items.get(segment) if isinstance(node, YMap) else None
        else:
            return f"{where} is a single value"
        walked += segment if segment.startswith("[") or not walked else f".{segment}"
    return None


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def build_model(document: Document) -> tuple[Blueprint | None, list[Diagnostic]]:
    root = document.root
    # Built once here and not kept: the model holds what it needs of it.
    values = plain(root)
    api, kind = values.get("apiVersion"), values.get("kind")
    if api != API_VERSION or kind != "Blueprint":
        loc = ("apiVersion",) if api != API_VERSION else ("kind",)
        return None, [
            place(
                root,
                loc,
                Code.NOT_A_BLUEPRINT,
                f"not an aigrid blueprint: apiVersion {api!r}, kind {kind!r}",
                f"start the file with `apiVersion: {API_VERSION}` and `kind: Blueprint`",
            )
        ]
    try:
        return Blueprint.model_validate(values), []
    except ValidationError as exc:
        return None, _schema_diagnostics(document.root, exc.errors(include_url=False))


def _schema_diagnostics(root: YNode, errors: list[ErrorDetails]) -> list[Diagnostic]:
    seen: set[tuple[Loc, str]] = set()
    diagnostics = []
    for error in errors:
        loc = _document_loc(root, tuple(error["loc"]))
        kind = error["type"]
        if (loc, kind) in seen:
            continue  # a union reports once per member; one message is enough
        seen.add((loc, kind))
        where = format_loc(root, loc[:-1]) or "the top level"
        if kind == "extra_forbidden":
            field_name = str(loc[-1])
            allowed = _allowed_keys(loc[:-1])
            close = difflib.get_close_matches(field_name, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
            diagnostics.append(
                place(
                    root,
                    loc,
                    Code.UNKNOWN_FIELD,
                    f"unknown field {field_name!r} in {where}",
                    hint,
                    key=True,
                )
            )
        elif kind == "missing":
            diagnostics.append(
                place(
                    root,
                    loc,
                    Code.MISSING_FIELD,
                    f"missing required field {loc[-1]!r} in {where}",
                    f"add `{loc[-1]}:` to {where}",
                )
            )
        else:
            message = error["msg"].removeprefix("Value error, ")
            # A message that names the value already (", got 5") is not followed by it again.
            shown = "" if ", got " in message else _shown_input(error.get("input"))
            diagnostics.append(
                place(
                    root,
                    loc,
                    Code.INVALID_VALUE,
                    f"{format_loc(root, loc) or 'blueprint'}: {message}{shown}",
                    _hint_for(kind),
                )
            )
    return diagnostics


def _shown_input(value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        return ""
    text = repr(value)
    return f" (got {text})" if len(text) <= 60 else ""


def _hint_for(kind: str) -> str:
    if kind == "literal_error":
        return "use one of the listed values"
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type"):
        return "write a number"
    if kind in ("string_type",):
        return "write a text value (quote it if YAML reads it as something else)"
    if kind in ("list_type",):
        return "write a list: [a, b] or one `- item` per line"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "write a mapping of `key: value` lines"
    return "see the blueprint reference (docs/blueprint.md)"


def _document_loc(root: YNode, loc: tuple[Any, ...]) -> Loc:
    """Drop pydantic's union and validator tags: keep the part of the loc that is data."""
    kept: list[str | int] = []
    node: YNode | None = root
    for part in loc:
        if isinstance(part, int) and isinstance(node, YSeq):
            kept.append(part)
            node = node.items[part] if part < len(node.items) else None
        elif isinstance(part, str) and (isinstance(node, YMap) or node is None):
            if node is not None and part not in node.items and _is_tag(part):
                continue
            kept.append(part)
            node = node.items.get(part) if node is not None else None
        elif isinstance(part, str) and _is_tag(part):
            continue
        else:
            kept.append(part)
            node = None
    return tuple(kept)


def _is_tag(part: str) -> bool:
    return any(c in part for c in "[]()") or part[:1].isupper()


def _allowed_keys(loc: Loc) -> list[str]:
    """The YAML keys a model accepts at `loc`, for did-you-mean hints."""
    model: Any = Blueprint
    for part in loc:
        model = _unwrap(model)
        if isinstance(part, int):
            continue
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = {(f.alias or name): f for name, f in model.model_fields.items()}
            if part not in fields:
                return []
            model = fields[part].annotation
        elif get_origin(model) is dict:
            model = get_args(model)[1]
    model = _unwrap(model)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(f.alias or name for name, f in model.model_fields.items())
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Optional and list[...] down to the model inside."""
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            annotation = members[0] if len(members) == 1 else annotation
            if len(members) != 1:
                return annotation
        elif origin is list:
            annotation = get_args(annotation)[0]
        else:
            return annotation
