"""The differences between two revisions' states, each attributed to its site and node or
workload and classified (aigrid.day2.classify). Output order follows the new revision (sites
and nodes in blueprint order, then those only the old one has), so it is deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from aigrid.day2.classify import Context, Scope, classify
from aigrid.day2.disruption import Disruption
from aigrid.day2.state import GridState, NodeState, SiteState

# Fields that name or hold the things compared, rather than being facts of them.
STRUCTURE = {"grid": {"version", "sites"}, "site": {"name", "nodes", "workloads"}, "node": {"hostname"}}


@dataclass(frozen=True)
class Change:
    scope: Scope
    site: str | None
    # The node's hostname or the workload's name, for those scopes.
    target: str | None
    path: str
    old: Any
    new: Any
    disruption: Disruption
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "site": self.site,
            self.scope if self.scope in ("node", "workload") else "target": self.target,
            "path": self.path,
            "old": _plain(self.old),
            "new": _plain(self.new),
            "disruption": self.disruption.label,
            "reason": self.reason,
        }


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _pairs(
    old: Any, new: Any, skip: set[str], path: str = "", pattern: str = ""
) -> Iterator[tuple[str, str, Any, Any]]:
    """(path, pattern, old, new) for every fact that differs, down to the entries of a mapping
    (`labels[rack]`, `slices[embb].vlan`); a thing present on one side only is one difference
    at its own path, not one per field."""
    if isinstance(old, BaseModel) and type(old) is type(new):
        for name in type(old).model_fields:
            if not path and name in skip:
                continue
            yield from _pairs(
                getattr(old, name), getattr(new, name), skip, _join(path, name), _join(pattern, name)
            )
    elif isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from _pairs(old.get(key), new.get(key), skip, f"{path}[{key}]", f"{pattern}[*]")
    elif old != new:
        yield path, pattern, old, new


def _changes(
    scope: Scope, site: str | None, target: str | None, old: Any, new: Any, context: Context
) -> list[Change]:
    changes = []
    for path, pattern, before, after in _pairs(old, new, STRUCTURE.get(scope, set())):
        verdict = classify(scope, pattern, before, after, context)
        changes.append(Change(scope, site, target, path, before, after, verdict.disruption, verdict.reason))
    return changes


def _in_order(old: list[str], new: list[str]) -> list[str]:
    return new + [name for name in old if name not in new]


def _site_changes(old: SiteState | None, new: SiteState | None) -> list[Change]:
    site = new or old
    assert site is not None
    if old is None or new is None:
        return _changes("site", site.name, None, old, new, Context())
    changes = _changes("site", site.name, None, old, new, Context())
    for hostname in _in_order([n.hostname for n in old.nodes], [n.hostname for n in new.nodes]):
        before, after = old.node(hostname), new.node(hostname)
        changes += _changes("node", site.name, hostname, before, after, Context(before, after))
    for name in _in_order(sorted(old.workloads), sorted(new.workloads)):
        before_w, after_w = old.workloads.get(name), new.workloads.get(name)
        changes += _changes("workload", site.name, name, before_w, after_w, Context())
    return changes


def compare(old: GridState, new: GridState) -> list[Change]:
    changes = _changes("grid", None, None, old, new, Context())
    for name in _in_order([s.name for s in old.sites], [s.name for s in new.sites]):
        changes += _site_changes(old.site(name), new.site(name))
    return changes


def highest(changes: list[Change]) -> Disruption:
    return max((change.disruption for change in changes), default=Disruption.NONE)


def node_changes(changes: list[Change], site: str, node: NodeState) -> list[Change]:
    return [c for c in changes if c.scope == "node" and c.site == site and c.target == node.hostname]
