"""aigrid compile: validate, plan, render every target, write them atomically with a lock file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from aigrid import __version__, layout
from aigrid.catalog import catalog
from aigrid.day2.state import STATE_KEY, grid_state
from aigrid.output import OutputError, check_target, write_tree
from aigrid.plan import Plan, build_plan
from aigrid.render import ansible, cluster, manifests, pulumi, readme, verify
from aigrid.validate import Result, validate_file


@dataclass
class Compiled:
    result: Result
    plan: Plan | None = None
    files: int = 0


def lock_file(result: Result, plan: Plan) -> bytes:
    """Every resolved version and the inputs' digests, paths relative to the blueprint."""
    assert result.document is not None
    top = Path(result.document.path).resolve().parent
    inputs = [
        {"file": os.path.relpath(Path(source.display).resolve(), top), "sha256": source.sha256}
        for source in result.document.sources.values()
    ]
    lock = {
        "aigrid": __version__,
        "blueprint": plan.name,
        "inputs": sorted(inputs, key=lambda entry: entry["file"]),
        "stack": plan.stack.model_dump(),
        "nodes": {
            node.hostname: {
                "site": node.site,
                "gpu_model": node.gpu_model,
                "gpu_count": node.gpu_count,
                "mig_config": node.mig_config,
            }
            for node in plan.nodes
        },
        # What this revision deploys per site and node, for `aigrid diff` and upgrade plans.
        STATE_KEY: grid_state(plan).model_dump(mode="json"),
    }
    return (json.dumps(lock, indent=2, sort_keys=True) + "\n").encode()


def compile_blueprint(path: Path, out: Path, root: Path | None = None) -> Compiled:
    """Writes nothing unless the blueprint is valid; raises OutputError for a bad target."""
    result = validate_file(path, root)
    if result.blueprint is None or result.errors:
        return Compiled(result)
    plan = build_plan(result.blueprint, catalog())
    files = render_all(result, plan)
    check_target(out)
    merge_stack_configs(out, plan, files)
    write_tree(out, files, keep=layout.user_owned)
    return Compiled(result, plan, len(files))


def merge_stack_configs(out: Path, plan: Plan, files: dict[str, bytes]) -> None:
    """Each stack config of the previous output merged into the compiled one: the Pulumi CLI
    keeps the stack's secrets and salt there, and the user their own keys."""
    for site in plan.sites:
        path = layout.stack_config(site.name)
        existing = out / path
        if not existing.is_file():
            continue
        try:
            text = existing.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise OutputError(f"cannot read {existing} to keep its secrets: {exc}") from exc
        try:
            files[path] = pulumi.merge_stack_config(text, plan, site, str(existing)).encode()
        except pulumi.StackConfigError as exc:
            raise OutputError(str(exc)) from exc


def render_all(result: Result, plan: Plan) -> dict[str, bytes]:
    """Every file of the compiled directory, by path, in memory."""
    files = ansible.render(plan)
    files |= cluster.render(plan)
    files |= manifests.render(plan)
    files |= verify.render(plan)
    files |= pulumi.render(plan)
    files |= readme.render(plan)
    # Fetched kubeconfigs are credentials: kept out of a repository the output is committed to.
    files[layout.GITIGNORE] = f"{layout.CREDENTIALS}/\n".encode()
    files[layout.LOCK] = lock_file(result, plan)
    return files
