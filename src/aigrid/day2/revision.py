"""A revision to compare: a blueprint (validated and planned here), a compiled directory, or
its aigrid.lock.json (the state a compile stored in it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from aigrid import layout
from aigrid.catalog import catalog
from aigrid.day2.state import STATE_KEY, STATE_VERSION, GridState, grid_state
from aigrid.plan import build_plan
from aigrid.validate import Result, validate_file


class RevisionError(Exception):
    """A lock file that cannot be compared; the message says why and what to do."""


class NotARevision(RevisionError):
    """A path that names no revision at all (a folder aigrid compile did not write): misuse."""


class InvalidBlueprint(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(f"{result.file} is invalid")
        self.result = result


@dataclass(frozen=True)
class Revision:
    source: str
    state: GridState


def load_revision(path: Path, root: Path | None = None) -> Revision:
    if path.is_dir():
        return _from_lock(path / layout.LOCK, str(path))
    if path.suffix == ".json":
        return _from_lock(path, str(path))
    result = validate_file(path, root)
    if result.blueprint is None or result.errors:
        raise InvalidBlueprint(result)
    return Revision(str(path), grid_state(build_plan(result.blueprint, catalog())))


def _from_lock(lock: Path, source: str) -> Revision:
    recompile = "compile its blueprint again with this aigrid to get one"
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotARevision(
            f"{source}: no {layout.LOCK} here; name a blueprint, a compiled directory or a lock file"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RevisionError(f"{lock}: cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise RevisionError(f"{lock}: not JSON (line {exc.lineno}): not an aigrid lock file") from exc
    # Every lock aigrid has written names the aigrid that wrote it; one without is another file.
    if not isinstance(data, dict) or "aigrid" not in data:
        raise RevisionError(f"{lock}: JSON, but not an aigrid lock file (it names no aigrid version)")
    state = data.get(STATE_KEY)
    if not isinstance(state, dict):
        raise RevisionError(f"{lock}: holds no deployed state (an older aigrid wrote it); {recompile}")
    if state.get("version") != STATE_VERSION:
        raise RevisionError(
            f"{lock}: its state is version {state.get('version')!r}, this aigrid reads "
            f"{STATE_VERSION}; {recompile}"
        )
    try:
        return Revision(source, GridState.model_validate(state))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RevisionError(f"{lock}: {STATE_KEY}.{where}: {first['msg']}; {recompile}") from exc
