"""aigrid compile: validate, plan, render every target site by site, write what changed atomically.

The lock file records, besides the resolved versions, the digest of every file the compile wrote
and, per site, a digest of everything that site's files are rendered from. A recompile renders
only the sites whose inputs changed (the others' files are carried over from the previous output
unread) and rewrites only the files whose content changed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from aigrid import __version__, layout
from aigrid.catalog import catalog
from aigrid.day2.state import STATE_KEY, grid_state
from aigrid.output import Changes, OutputError, Staging, digest, staged
from aigrid.plan import Plan, SitePlan, build_plan
from aigrid.render import ansible, cluster, indented_json, manifests, pulumi, readme, verify
from aigrid.render.k8s_objects import site_objects
from aigrid.validate import Result, validate_file


@dataclass
class Compiled:
    result: Result
    plan: Plan | None = None
    files: int = 0
    changes: Changes = field(default_factory=Changes)
    site_files: dict[str, list[str]] = field(default_factory=dict)
    # The sites whose files were added, changed or removed.
    sites: dict[str, Changes] = field(default_factory=dict)


@dataclass
class PreviousLock:
    """What the lock of an existing output says about the files it wrote."""

    files: dict[str, str] = field(default_factory=dict)
    site_inputs: dict[str, str] = field(default_factory=dict)
    site_files: dict[str, list[str]] = field(default_factory=dict)
    # renderer_digest() of the aigrid that wrote it: another one renders every site again.
    renderer: str | None = None


def lock_file(
    result: Result, plan: Plan, grid_files: dict[str, str], sites: dict[str, dict[str, Any]]
) -> bytes:
    """Every resolved version, the inputs' digests (paths relative to the blueprint) and the
    digest of every file written, grid-wide and per site."""
    assert result.document is not None
    top = Path(result.document.path).resolve().parent
    inputs = [
        {"file": os.path.relpath(Path(source.display).resolve(), top), "sha256": source.sha256}
        for source in result.document.sources.values()
    ]
    lock = {
        "aigrid": __version__,
        "renderer": renderer_digest(),
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
        "files": grid_files,
        "sites": sites,
        # What this revision deploys per site and node, for `aigrid diff` and upgrade plans.
        STATE_KEY: grid_state(plan).model_dump(mode="json"),
    }
    return (indented_json.dumps(lock, sort_keys=True) + "\n").encode()


def read_lock(out: Path) -> PreviousLock:
    """The previous output's file digests; none (everything is written) when its lock is missing,
    unreadable or from before per-file digests."""
    path = out / layout.LOCK
    try:
        content = path.read_bytes()
        lock = json.loads(content)
        previous = PreviousLock(dict(lock["files"]), renderer=lock.get("renderer"))
        for site, entry in lock["sites"].items():
            previous.site_inputs[site] = entry["inputs"]
            previous.site_files[site] = sorted(entry["files"])
            previous.files.update(entry["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return PreviousLock()
    previous.files[layout.LOCK] = digest(content)
    return previous


def site_inputs(plan: Plan, site: SitePlan, grid: str) -> str:
    """A digest of everything a site's files are rendered from: the grid-wide plan (`grid`, the
    digest of everything but the sites and workloads), the site and the workloads placed there."""
    placed = [w.model_dump_json() for w in plan.workloads if site.name in w.sites]
    text = json.dumps([grid, site.model_dump_json(), placed])
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def renderer_digest() -> str:
    """A digest of aigrid itself: its code, templates, roles and catalog. A site's files are
    rendered again when it changes, not only when the version does: an install from a checkout
    keeps its version number from one commit to the next."""
    sha = hashlib.sha256(__version__.encode())

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__" or child.name.endswith(".pyc"):
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            else:
                sha.update(f"{prefix}{child.name}\0".encode())
                sha.update(child.read_bytes())

    walk(resources.files("aigrid"), "")
    return sha.hexdigest()


def compile_blueprint(path: Path, out: Path, root: Path | None = None) -> Compiled:
    """Writes nothing unless the blueprint is valid; raises OutputError for a bad target."""
    result = validate_file(path, root)
    if result.blueprint is None or result.errors:
        return Compiled(result)
    plan = build_plan(result.blueprint, catalog())
    previous = read_lock(out) if (out / layout.LOCK).is_file() else PreviousLock()
    with staged(out, previous.files, layout.user_owned) as staging:
        compiled = _write(result, plan, out, previous, staging)
        compiled.changes = staging.commit()
    # Sets: scanning every written file for every site took longer than the compile at 10,000
    # sites (about 440,000 files).
    added, changed = set(compiled.changes.added), set(compiled.changes.changed)
    for site, files in compiled.site_files.items():
        before = previous.site_files.get(site, [])
        if (changes := _site_changes(added, changed, before, files)) is not None:
            compiled.sites[site] = changes
    return compiled


def _write(result: Result, plan: Plan, out: Path, previous: PreviousLock, staging: Staging) -> Compiled:
    grid_digest = hashlib.sha256(
        (__version__ + plan.model_dump_json(exclude={"sites", "workloads"})).encode()
    ).hexdigest()
    grid: dict[str, str] = {}
    for relative, content in grid_files(plan):
        staging.put(relative, content)
        grid[relative] = staging.digests[relative]
    sites: dict[str, dict[str, Any]] = {}
    site_files_written: dict[str, list[str]] = {}
    for site in plan.sites:
        inputs = site_inputs(plan, site, grid_digest)
        files = previous.site_files.get(site.name, [])
        same_renderer = previous.renderer == renderer_digest()
        if same_renderer and previous.site_inputs.get(site.name) == inputs and staging.reusable(files):
            staging.reuse(files)
        else:
            files = []
            for relative, content in site_files(out, plan, site):
                staging.put(relative, content)
                files.append(relative)
        sites[site.name] = {"inputs": inputs, "files": {f: staging.digests[f] for f in sorted(files)}}
        site_files_written[site.name] = files
    staging.put(layout.LOCK, lock_file(result, plan, grid, sites))
    return Compiled(result, plan, len(staging.digests), site_files=site_files_written)


def _site_changes(added: set[str], changed: set[str], before: list[str], now: list[str]) -> Changes | None:
    """One site's part of a compile's added and changed files (`before`: its files in the
    previous output, `now`: in this one, in the order they were staged); None when none of them
    changed."""
    site = Changes(
        added=[f for f in now if f in added],
        changed=[f for f in now if f in changed],
        removed=sorted(set(before) - set(now)),
    )
    return site if site.written or site.removed else None


def grid_files(plan: Plan) -> Iterator[tuple[str, bytes]]:
    """The files every site shares, by path."""
    for render in (
        ansible.render_grid,
        cluster.render_grid,
        verify.render_grid,
        pulumi.render_grid,
        readme.render,
    ):
        yield from sorted(render(plan).items())
    # Fetched kubeconfigs are credentials, an upgrade's progress is the operator's: both kept out
    # of a repository the output is committed to.
    yield layout.GITIGNORE, f"{layout.CREDENTIALS}/\n{layout.UPGRADE_STATE}/\n".encode()


def site_files(out: Path, plan: Plan, site: SitePlan) -> Iterator[tuple[str, bytes]]:
    """One site's files, by path, its stack config merged into the previous output's."""
    objects = site_objects(plan, site.name)
    files = ansible.render_site(plan, site) | cluster.render_site(plan, site)
    files |= manifests.render_site(plan, site, objects)
    files |= verify.render_site(plan, site) | pulumi.render_site(plan, site, objects)
    _merge_stack_config(out, plan, site, files)
    yield from sorted(files.items())


def _merge_stack_config(out: Path, plan: Plan, site: SitePlan, files: dict[str, bytes]) -> None:
    """The site's stack config of the previous output merged into the compiled one: the Pulumi
    CLI keeps the stack's secrets and salt there, and the user their own keys."""
    path = layout.stack_config(site.name)
    existing = out / path
    if not existing.is_file():
        return
    try:
        text = existing.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {existing} to keep its secrets: {exc}") from exc
    try:
        files[path] = pulumi.merge_stack_config(text, plan, site, str(existing)).encode()
    except pulumi.StackConfigError as exc:
        raise OutputError(str(exc)) from exc


def render_all(result: Result, plan: Plan) -> dict[str, bytes]:
    """Every file of the compiled directory, by path, in memory (for tests of small blueprints)."""
    files = dict(grid_files(plan))
    for site in plan.sites:
        files |= ansible.render_site(plan, site) | cluster.render_site(plan, site)
        files |= manifests.render_site(plan, site)
        files |= verify.render_site(plan, site) | pulumi.render_site(plan, site)
    grid = {relative: digest(content) for relative, content in files.items()}
    files[layout.LOCK] = lock_file(result, plan, grid, {})
    return files
