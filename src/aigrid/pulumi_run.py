"""Preview or update one site's stack of a compiled directory through Pulumi's automation API.

The stacks are named by site (`layout.stack_config`); Pulumi's CLI and engine do the work, so
both must be installed. Pulumi is imported only when a stack actually runs: it is slow to import.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aigrid import layout

if TYPE_CHECKING:
    from pulumi.automation import PreviewResult, Stack, UpResult

PULUMI_MISSING = (
    "the Pulumi CLI is not installed (see https://www.pulumi.com/docs/install/); the equivalent once it is: "
    "cd {project} && pulumi {verb} -s {stack}"
)


class PulumiError(Exception):
    """A stack that cannot run: no such stack in the directory, or no Pulumi CLI."""


def preview(directory: Path, stack: str, on_output: Callable[[str], object]) -> PreviewResult:
    """`pulumi preview` of `stack` (a site) in the compiled `directory`."""
    return _select("preview", directory, stack).preview(on_output=on_output)


def up(directory: Path, stack: str, on_output: Callable[[str], object]) -> UpResult:
    """`pulumi up` of `stack` (a site) in the compiled `directory`."""
    return _select("up", directory, stack).up(on_output=on_output)


def _select(verb: Literal["preview", "up"], directory: Path, stack: str) -> Stack:
    project = directory / layout.PULUMI
    if not (directory / layout.stack_config(stack)).is_file():
        raise PulumiError(
            f"{project} has no stack {stack}; compile the blueprint first (stacks are named by site)"
        )
    if shutil.which("pulumi") is None:
        raise PulumiError(PULUMI_MISSING.format(project=project, verb=verb, stack=stack))
    from pulumi import automation

    # The stack is the site's; on a backend that has none yet it is made (`pulumi stack init`),
    # with the config compiled beside it. select_stack alone failed there.
    return automation.create_or_select_stack(stack_name=stack, work_dir=str(project))
