"""The rule registry: stable codes, titles, docs with a bad and a good example.

A rule is a function over a `Context` that yields `Finding`s; the registry turns them
into diagnostics with file and line. Codes never change meaning once released; groups:
AG0xx loading and schema, AG1xx compatibility, AG2xx network, AG3xx capacity and
latency, AG4xx security.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from aigrid.diagnostics import Severity
from aigrid.load.paths import Loc

if TYPE_CHECKING:
    from aigrid.catalog import Catalog
    from aigrid.model.blueprint import Blueprint
    from aigrid.placement import Placements

GROUPS = {
    "AG0": "schema",
    "AG1": "compatibility",
    "AG2": "network",
    "AG3": "capacity-latency",
    "AG4": "security",
}


@dataclass(frozen=True)
class Finding:
    loc: Loc
    message: str
    hint: str = ""


@dataclass
class Context:
    blueprint: Blueprint
    catalog: Catalog

    @cached_property
    def placements(self) -> Placements:
        from aigrid.placement import Placements

        return Placements(self.blueprint, self.catalog)


Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    title: str
    bad: str
    good: str
    check: Check | None = field(default=None, compare=False)

    @property
    def group(self) -> str:
        return GROUPS[self.code[:3]]

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip() if self.check else ""


_RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.code in _RULES:
        raise ValueError(f"rule code {rule.code} registered twice")
    _RULES[rule.code] = rule
    return rule


def rule(
    code: str, name: str, severity: Severity, title: str, bad: str, good: str
) -> Callable[[Check], Check]:
    """Register a check function as a rule; its docstring is the rule's explanation."""

    def decorate(check: Check) -> Check:
        register(Rule(code, name, severity, title, bad.strip("\n"), good.strip("\n"), check))
        return check

    return decorate


def all_rules() -> list[Rule]:
    from aigrid.rules import load_rules

    load_rules()
    return [_RULES[code] for code in sorted(_RULES)]


def get_rule(code: str) -> Rule:
    all_rules()
    return _RULES[code]


def run(context: Context) -> Iterator[tuple[Rule, Finding]]:
    for each in all_rules():
        if each.check is not None:
            for finding in each.check(context):
                yield each, finding
