"""A lab for one site of a blueprint: validate it, plan it, pick the site, bring the lab up, and
take back whatever was made when that fails, so a failed `lab up` leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from aigrid.catalog import catalog
from aigrid.lab import lab
from aigrid.plan import build_plan
from aigrid.validate import Result, validate_file


class InvalidBlueprint(Exception):
    """The blueprint has errors; `result` holds its diagnostics."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"{result.file} is invalid")
        self.result = result


class UnknownSite(Exception):
    """The blueprint has no site of that name."""


class RolledBack(lab.LabError):
    """Bringing the lab up failed; everything it had made was removed again."""


def up_from_blueprint(file: Path, site: str, directory: Path) -> lab.LabState:
    """Emulate `site` of the blueprint in `file`, one host per node, in `directory`."""
    result = validate_file(file)
    if result.blueprint is None or not result.valid():
        raise InvalidBlueprint(result)
    plan = build_plan(result.blueprint, catalog())
    chosen = next((s for s in plan.sites if s.name == site), None)
    if chosen is None:
        raise UnknownSite(f"no site {site!r} in {file}; sites: {', '.join(s.name for s in plan.sites)}")
    try:
        return lab.up(chosen, directory)
    except lab.LabError as exc:
        lab.down(directory)
        raise RolledBack(str(exc)) from exc
