"""Validation rules, registered by importing their group modules."""

from __future__ import annotations

import importlib

GROUP_MODULES = (
    "schema",
    "carriers",
    "compat",
    "network",
    "cluster",
    "capacity",
    "placement",
    "security",
    "node",
    "observability",
)


def load_rules() -> None:
    for name in GROUP_MODULES:
        importlib.import_module(f"aigrid.rules.{name}")
