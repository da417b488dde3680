"""Layering: resolve `extends`, merge layers base to leaf, enforce locks.

Semantics (documented in docs/blueprint.md):
- mappings deep-merge; an overlay key replaces or merges into the base key;
- lists whose items all carry `name` (or `hostname`) merge item by item by that name,
  new items are appended in overlay order; any other list is replaced whole;
- `$patch: replace` in a mapping (or as the first item of a named list) replaces the
  base value instead of merging; `$patch: delete` removes the key or named item;
- `locks` accumulate across layers: a locked path may not change value in any layer
  above the one that locked it;
- `extends` is per file: bases are merged left to right, then the file on top.

`extends` names files, so it is confined: every path must stay inside the root (the
blueprint's repository unless the caller names one), a chain is at most
MAX_EXTENDS_DEPTH files deep, and a file extended must look like a blueprint layer
before anything of it is merged or may be quoted in a report.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from aigrid.diagnostics import Code, Diagnostic, LoadError
from aigrid.load.conflicts import parent_conflicts
from aigrid.load.nodes import Origin, YMap, YNode, YScalar, YSeq, key_positions, pack, pack_keys
from aigrid.load.paths import PathSyntaxError, item_name, parse_path, resolve
from aigrid.load.yamlsrc import DIRECTIVE_KEY, decode_text, fail, parse_yaml, read_text

DIRECTIVES = ("replace", "delete")
MAX_EXTENDS_DEPTH = 32
# A blueprint's top-level keys (the model's fields; tests/test_layering.py keeps them in step).
LAYER_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "extends",
        "locks",
        "stack",
        "carriers",
        "slices",
        "sites",
        "workloads",
        "resilience",
        "cloud",
        "observability",
    }
)
# A layer may leave these out; one that sets them to anything else is another kind of file.
LAYER_IDENTITY = {"apiVersion": "aigrid.dev/v1alpha1", "kind": "Blueprint"}
# How reports name a blueprint read from standard input (`aigrid validate -`).
STDIN_NAME = "<stdin>"


@dataclass
class SourceFile:
    display: str
    sha256: str
    text: str


@dataclass
class Document:
    """A resolved blueprint: the merged tree plus the files it came from.

    `sources` holds the text a report may quote: the file the user named (their own input,
    even when it turns out not to be a blueprint), and each file it extends once that has
    parsed as a blueprint layer. A file that `extends` names but that is not a blueprint
    (a credential, /etc/passwd) is never quoted, so a hostile blueprint cannot use the
    report to print it.
    """

    root: YMap
    sources: dict[str, SourceFile] = field(default_factory=dict)
    # AG021 warnings: fields that two files one layer extends set differently.
    conflicts: list[Diagnostic] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.root.origin.file


def display_path(path: Path) -> str:
    """Paths as the user would type them: relative to the working directory when below it."""
    if not path.is_absolute():
        return str(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def repository_root(path: Path) -> Path | None:
    """The top of the git repository holding `path`: the nearest folder above it with a
    `.git` (a folder, or the file of a worktree or submodule); None outside any repository."""
    folder = path.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def find_root(blueprint: Path) -> Path:
    """Where `extends` may reach by default: the repository holding the blueprint, else its
    folder."""
    return repository_root(blueprint) or blueprint.parent


def load_document(path: Path, root: Path | None = None, data: bytes | None = None) -> Document:
    """Load a blueprint with its bases; `extends` stays inside `root` (default: find_root).

    With `data` (standard input, already read), `path` is ignored: the blueprint is named
    STDIN_NAME and stands in the working directory, so its relative `extends` resolve against
    that directory and `root` defaults to the working directory's repository, else itself."""
    if data is not None:
        return _load_top(Path.cwd() / STDIN_NAME, root, data)
    return _load_top(path, root, None)


def _load_top(path: Path, root: Path | None, data: bytes | None) -> Document:
    display = STDIN_NAME if data is not None else display_path(path)
    document = Document(root=YMap({}, b"", pack(Origin(display, 1, 1))))
    try:
        try:
            top = (
                Path(os.path.realpath(path.parent, strict=True)) / path.name
                if data is not None
                else Path(os.path.realpath(path, strict=True))
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise fail(
                Code.UNREADABLE_FILE,
                f"cannot read {display}: {reason}",
                "check the path",
                Origin(display, 1, 1),
            ) from exc
        fence = Path(os.path.realpath(root)) if root is not None else find_root(top)
        document.root = _load_file(top, [], document, None, {}, fence, data)
    except LoadError as exc:
        exc.sources = {name: source.text for name, source in document.sources.items()}
        raise
    return document


def _locate(entry: YScalar, folder: Path, fence: Path) -> Path:
    """The real path of an extends entry, refused if it leaves the root or does not resolve.

    The path as written is checked before the file system is asked anything (so nothing
    outside the root is even probed), and again once symbolic links are resolved."""
    written = str(entry.value)
    outside = (
        f"extends {written!r} reaches outside the root {fence}",
        "extend files inside the root, or pass --root with a folder that holds both files",
    )
    lexical = Path(os.path.normpath(folder / written))
    if not lexical.is_relative_to(fence):
        raise fail(Code.EXTENDS_OUTSIDE_ROOT, *outside, entry.origin, "extends")
    try:
        real = Path(os.path.realpath(lexical, strict=True))
    except ValueError as exc:
        raise fail(
            Code.INVALID_VALUE, f"extends {written!r} is not a file path: {exc}", "fix the path", entry.origin
        ) from exc
    except OSError as exc:
        problem = "is a symbolic link loop" if exc.errno == errno.ELOOP else f"not found ({exc.strerror})"
        raise fail(
            Code.EXTENDS_MISSING,
            f"extended file {written} {problem}",
            "fix the path (relative to this file)",
            entry.origin,
            "extends",
        ) from exc
    if not real.is_relative_to(fence):
        outside = (f"{outside[0]} through a symbolic link", outside[1])
        raise fail(Code.EXTENDS_OUTSIDE_ROOT, *outside, entry.origin, "extends")
    return real


def _not_a_layer(display: str, why: str, via: Origin) -> LoadError:
    return fail(
        Code.NOT_A_BLUEPRINT,
        f"extended file {display} is not a blueprint layer: {why}",
        f"extend blueprint files only; a layer's top level has keys from: {', '.join(sorted(LAYER_KEYS))}",
        via,
        "extends",
    )


def _load_file(
    path: Path,
    chain: list[Path],
    document: Document,
    via: Origin | None,
    loaded: dict[Path, YMap],
    fence: Path,
    data: bytes | None = None,
) -> YMap:
    """Resolve one file and its bases; `loaded` shares a base reached twice (a diamond).

    `data` is the top file's content when it was read already (standard input).
    Recursion is bounded by MAX_EXTENDS_DEPTH, so no chain can exhaust Python's stack."""
    display = STDIN_NAME if data is not None else display_path(path)
    if path in loaded:
        return loaded[path]
    if path in chain:
        names = " -> ".join(display_path(p) for p in [*chain[chain.index(path) :], path])
        assert via is not None
        raise fail(
            Code.EXTENDS_CYCLE,
            f"extends cycle: {names}",
            "remove one of the extends entries in the cycle",
            via,
        )
    if len(chain) >= MAX_EXTENDS_DEPTH:
        assert via is not None
        raise fail(
            Code.EXTENDS_CYCLE,
            f"extends chain from {display_path(chain[0])} is more than {MAX_EXTENDS_DEPTH} files deep",
            "flatten the layers: base, carrier, region and site need four",
            via,
            "extends",
        )
    text = decode_text(data, display) if data is not None else read_text(path, display, via)
    source = SourceFile(display, hashlib.sha256(text.encode()).hexdigest(), text)
    if via is None:
        document.sources[display] = source
    root = parse_yaml(text, display)
    start = Origin(display, 1, 1)
    if via is not None and not isinstance(root, YMap):
        raise _not_a_layer(display, "it is empty" if root is None else "its top level is not a mapping", via)
    if root is None:
        raise fail(
            Code.NOT_A_BLUEPRINT, "empty file: no blueprint document", "start from a shipped example", start
        )
    if not isinstance(root, YMap):
        raise fail(
            Code.NOT_A_BLUEPRINT,
            "the top level is not a mapping",
            "a blueprint starts with `apiVersion:` and `kind:`",
            root.origin,
        )
    if via is not None:
        if LAYER_KEYS.isdisjoint(root.items):
            raise _not_a_layer(display, "none of its top-level keys is a blueprint key", via)
        for key, wanted in LAYER_IDENTITY.items():
            node = root.items.get(key)
            if node is not None and not (isinstance(node, YScalar) and node.value == wanted):
                raise _not_a_layer(display, f"its {key} is not {wanted}", via)
        document.sources[display] = source
    resolved: YMap | None = None
    for entry in _extends_entries(root):
        target = _locate(entry, path.parent, fence)
        base = _load_file(target, [*chain, path], document, entry.origin, loaded, fence)
        if resolved is not None:
            document.conflicts += parent_conflicts(resolved, base, root, entry.origin)
        resolved = base if resolved is None else _merge_layer(resolved, base)
    if resolved is None:
        settled = settle(root, "")
        assert isinstance(settled, YMap)
        resolved = settled
    else:
        resolved = _merge_layer(resolved, root)
    loaded[path] = resolved
    return resolved


def extended_files(path: Path, within: Path) -> list[Path]:
    """The files inside the folder `within` that the blueprint `path` names in `extends` (real
    paths), read leniently: a file that cannot be read or parsed, or an entry that is not a
    path, names nothing here; validating the file reports it. Entries that leave `within` as
    written are not looked up at all, so nothing outside it is probed."""
    try:
        real = Path(os.path.realpath(path, strict=True))
        display = display_path(real)
        root = parse_yaml(read_text(real, display), display)
        entries = _extends_entries(root) if isinstance(root, YMap) else []
    except (LoadError, OSError, ValueError):
        return []
    found = []
    for entry in entries:
        lexical = Path(os.path.normpath(real.parent / str(entry.value)))
        if lexical.is_relative_to(within):
            try:
                found.append(Path(os.path.realpath(lexical)))
            except (OSError, ValueError):
                continue
    return found


def _extends_entries(root: YMap) -> list[YScalar]:
    node = root.items.get("extends")
    if node is None:
        return []
    entries = node.items if isinstance(node, YSeq) else [node]
    for entry in entries:
        if not isinstance(entry, YScalar) or not isinstance(entry.value, str) or not entry.value:
            raise fail(
                Code.INVALID_VALUE,
                "extends entries must be file paths",
                "write `extends: [../base/stack.yaml]`",
                entry.origin,
                "extends",
            )
    return [entry for entry in entries if isinstance(entry, YScalar)]


def _directive(node: YNode, path: str) -> str | None:
    if not isinstance(node, YMap) or DIRECTIVE_KEY not in node.items:
        return None
    value = node.items[DIRECTIVE_KEY]
    if not isinstance(value, YScalar) or value.value not in DIRECTIVES:
        raise fail(
            Code.MERGE_DIRECTIVE,
            f"unknown merge directive {DIRECTIVE_KEY}: {value.plain!r}",
            "use `$patch: replace` or `$patch: delete`",
            value.origin,
            path,
        )
    return str(value.value)


def _without_directive(node: YMap) -> YMap:
    items = {k: v for k, v in node.items.items() if k != DIRECTIVE_KEY}
    keys = key_positions(node)
    return YMap(items, pack_keys([keys[k] for k in items]), node.pos, node.overrides, has_directive=True)


def settle(node: YNode, path: str, overrides: tuple[YNode, ...] = ()) -> YNode:
    """Strip directives from a subtree that has nothing below it to merge into."""
    if not (isinstance(node, YMap | YSeq) and node.has_directive):
        if overrides:
            return _with_overrides(node, overrides)
        return node
    if isinstance(node, YSeq):
        entries = node.items
        if entries and _directive(entries[0], path) == "replace":
            entries = entries[1:]
        return YSeq([settle(item, f"{path}[{i}]") for i, item in enumerate(entries)], node.pos, overrides)
    assert isinstance(node, YMap)
    directive = _directive(node, path)
    if directive == "delete":
        raise fail(
            Code.MERGE_DIRECTIVE,
            f"nothing to delete at {path or 'the top level'}",
            "the layers below do not set this; remove the entry",
            node.origin,
            path,
        )
    items = {
        key: settle(child, f"{path}.{key}" if path else key)
        for key, child in node.items.items()
        if key != DIRECTIVE_KEY
    }
    keys = key_positions(node)
    return YMap(items, pack_keys([keys[k] for k in items]), node.pos, overrides)


def _with_overrides(node: YNode, overrides: tuple[YNode, ...]) -> YNode:
    if isinstance(node, YScalar):
        return YScalar(node.value, node.pos, overrides)
    if isinstance(node, YSeq):
        return YSeq(node.items, node.pos, overrides)
    assert isinstance(node, YMap)
    return YMap(node.items, node.key_pos, node.pos, overrides)


def _named(node: YSeq) -> bool:
    return all(item_name(item) is not None for item in node.items)


def merge(base: YNode, over: YNode, path: str) -> YNode | None:
    """Merge one overlay node onto its base; None means the overlay deleted it."""
    history = base.history()
    if any(over is earlier for earlier in history):
        # Diamond: both sides inherited this very node from a shared base, so the overlay
        # did not set it; a change made on the base side must survive.
        return base
    directive = _directive(over, path)
    if directive == "delete":
        return None
    if directive == "replace":
        assert isinstance(over, YMap)
        return settle(_without_directive(over), path, history)
    if isinstance(over, YMap) and isinstance(base, YMap):
        return _merge_maps(base, over, path)
    if isinstance(over, YSeq) and isinstance(base, YSeq):
        first = over.items[0] if over.items else None
        if first is not None and _directive(first, path) == "replace":
            return settle(YSeq(over.items[1:], over.pos, has_directive=True), path, history)
        if base.items and over.items and _named(base) and _named(over):
            return _merge_named(base, over, path)
    return settle(over, path, history)


def _merge_maps(base: YMap, over: YMap, path: str) -> YMap:
    items = dict(base.items)
    keys = key_positions(base)
    over_keys = key_positions(over)
    for key, child in over.items.items():
        child_path = f"{path}.{key}" if path else key
        if key in items:
            merged = merge(items[key], child, child_path)
            if merged is None:
                del items[key]
                del keys[key]
                continue
            items[key] = merged
        else:
            items[key] = settle(child, child_path)
        keys[key] = over_keys[key]
    return YMap(items, pack_keys([keys[k] for k in items]), over.pos, base.history())


def _merge_named(base: YSeq, over: YSeq, path: str) -> YSeq:
    items = list(base.items)
    index = {item_name(item): i for i, item in enumerate(items)}
    deleted: set[int] = set()
    for child in over.items:
        name = item_name(child)
        child_path = f"{path}[{name}]"
        if name in index:
            merged = merge(items[index[name]], child, child_path)
            if merged is None:
                deleted.add(index[name])
            else:
                items[index[name]] = merged
        else:
            index[name] = len(items)
            items.append(settle(child, child_path))
    kept = [item for i, item in enumerate(items) if i not in deleted]
    return YSeq(kept, over.pos, base.history())


def _locks(node: YMap) -> list[YScalar]:
    locks = node.items.get("locks")
    if not isinstance(locks, YSeq):
        return []
    return [item for item in locks.items if isinstance(item, YScalar) and isinstance(item.value, str)]


def _merge_layer(base: YMap, over: YMap) -> YMap:
    """Put one file on top of its resolved bases, refusing changes to locked paths."""
    merged = merge(base, over, "")
    if not isinstance(merged, YMap):
        raise fail(
            Code.MERGE_DIRECTIVE,
            "the top level cannot be deleted or replaced",
            "remove `$patch` from the top level",
            over.origin,
        )
    for lock in _locks(base):
        _check_lock(lock, base, over, merged)
    lock_items = _locks(base) + [
        lock for lock in _locks(over) if lock.value not in {b.value for b in _locks(base)}
    ]
    if lock_items:
        items = dict(merged.items)
        items["locks"] = YSeq(list(lock_items), merged.items["locks"].pos)
        merged = YMap(items, merged.key_pos, merged.pos, merged.overrides)
    return merged


def _check_lock(lock: YScalar, base: YMap, over: YMap, merged: YMap) -> None:
    try:
        segments = parse_path(str(lock.value))
    except PathSyntaxError as exc:
        raise fail(
            Code.MERGE_DIRECTIVE,
            f"invalid lock path: {exc}",
            "write a path such as stack.driver.version",
            lock.origin,
            "locks",
        ) from exc
    before = resolve(base, segments)
    after = resolve(merged, segments)
    if (before.plain if before else None) == (after.plain if after else None):
        return
    changed = _first_change(before, after) if after is not None else None
    where = changed.origin if changed is not None else over.origin
    was = f"set at {before.origin}" if before is not None else "unset"
    raise fail(
        Code.LOCKED_FIELD,
        f"{lock.value} is locked by {lock.origin.file}:{lock.origin.line} ({was}); this layer changes it",
        "keep the base's value, or change it in the base blueprint where it is locked",
        where,
        str(lock.value),
    )


def _first_change(before: YNode | None, after: YNode) -> YNode:
    """The outermost node in `after` whose value differs from `before`, for pointing at."""
    if isinstance(before, YMap) and isinstance(after, YMap):
        for key, child in after.items.items():
            if before.items.get(key) is None or before.items[key].plain != child.plain:
                return _first_change(before.items.get(key), child)
        return after
    if isinstance(before, YSeq) and isinstance(after, YSeq) and len(before.items) == len(after.items):
        for old, new in zip(before.items, after.items, strict=True):
            if old.plain != new.plain:
                return _first_change(old, new)
    return after
