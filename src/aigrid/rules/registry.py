"""The rule registry: every code's title, explanation and a bad and a good example.

A rule is a function over a `Context` that yields `Finding`s; the registry turns them
into diagnostics with file and line. Codes themselves (and their severities) are spelled
once, in `aigrid.rules.codes`; codes raised by the loader, the models and `verify-node`
are registered here too, without a check, so every code has one documented entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from aigrid.load.paths import Loc
from aigrid.rules.codes import GROUPS, Code, Severity

if TYPE_CHECKING:
    from aigrid.catalog import Catalog
    from aigrid.model.blueprint import Blueprint
    from aigrid.placement import Placements
    from aigrid.placement_solver import GridPlacement


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

    @cached_property
    def placement_solution(self) -> GridPlacement:
        from aigrid.placement_solver import solve

        return solve(self.placements)


Check = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: Code
    title: str
    bad: str
    good: str
    check: Check | None = field(default=None, compare=False)
    # For codes without a check (loader, models, verify-node), the explanation itself.
    explanation: str = ""
    # Security rules (AG4xx) only: a CVSS-style score from 0.1 to 10.0, which GitHub code
    # scanning maps to low/medium/high/critical, and the CWE weakness the finding is.
    security_severity: float | None = None
    cwe: int | None = None

    @property
    def name(self) -> str:
        return self.code.rule_name

    @property
    def severity(self) -> Severity:
        return self.code.severity

    @property
    def group(self) -> str:
        return GROUPS[self.code[:3]]

    @property
    def doc(self) -> str:
        """The explanation as one paragraph: what is wrong, why it matters, how to fix it."""
        text = (self.check.__doc__ or "") if self.check else self.explanation
        return " ".join(text.split())


_RULES: dict[Code, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.code in _RULES:
        raise ValueError(f"rule code {rule.code} registered twice")
    security = rule.group == "security"
    scored = rule.security_severity is not None and 0 < rule.security_severity <= 10
    if security != scored or security != (rule.cwe is not None):
        raise ValueError(f"rule {rule.code}: security rules, and only they, need a security severity and CWE")
    _RULES[rule.code] = rule
    return rule


def rule(
    code: Code,
    title: str,
    bad: str,
    good: str,
    *,
    security_severity: float | None = None,
    cwe: int | None = None,
) -> Callable[[Check], Check]:
    """Register a check function as a rule; its docstring is the rule's explanation."""

    def decorate(check: Check) -> Check:
        register(
            Rule(
                code,
                title,
                bad.strip("\n"),
                good.strip("\n"),
                check,
                security_severity=security_severity,
                cwe=cwe,
            )
        )
        return check

    return decorate


def all_rules() -> list[Rule]:
    from aigrid.rules import load_rules

    load_rules()
    return [_RULES[code] for code in sorted(_RULES)]


def get_rule(code: Code) -> Rule:
    all_rules()
    return _RULES[code]


def run(context: Context) -> Iterator[tuple[Rule, Finding]]:
    for each in all_rules():
        if each.check is not None:
            for finding in each.check(context):
                yield each, finding
