"""Validation rules, registered by importing their group modules."""

from __future__ import annotations

import importlib

GROUP_MODULES = ("schema", "compat", "network", "capacity", "placement", "security", "node")


def load_rules() -> None:
    for name in GROUP_MODULES:
        importlib.import_module(f"aigrid.rules.{name}")
