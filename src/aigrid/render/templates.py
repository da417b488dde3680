"""The Jinja2 environment for the fixed text outputs (templates/ in the repository).

Only text whose shape is fixed is templated (ansible.cfg, the Pulumi project files, the
verify suite, the output's README); structured outputs are dumped from data. Undefined
variables are errors, so a template can never silently render an empty value.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment(autoescape: bool = False) -> Environment:
    """The templates' environment; `autoescape` for HTML pages (the grid report)."""
    return Environment(
        loader=PackageLoader("aigrid", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=autoescape,
    )


def render(name: str, **context: Any) -> bytes:
    return environment().get_template(name).render(**context).encode()
