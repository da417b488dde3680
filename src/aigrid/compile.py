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
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, BinaryIO

from aigrid import __version__, layout
from aigrid.catalog import catalog
from aigrid.day2.state import STATE_KEY, grid_state, site_state
from aigrid.output import Changes, Staging, UserFiles, digest, staged
from aigrid.plan import NodePlan, Plan, SitePlan, build_plan, per_plan
from aigrid.render import ansible, cluster, indented_json, pulumi, readme, verify
from aigrid.render.indented_json import Elements, Members, Written
from aigrid.render.k8s_objects import dashboard_file
from aigrid.render.sites import rendered as sites_rendered
from aigrid.render.sites import site_files, workers_for
from aigrid.validate import Result, validate_file

# What of a previous output a recompile carries over (layout names it).
USER_FILES = UserFiles(layout.user_owned, layout.may_hold_user_files)


@dataclass
class Compiled:
    result: Result
    plan: Plan | None = None
    files: int = 0
    changes: Changes = field(default_factory=Changes)
    site_files: dict[str, list[str]] = field(default_factory=dict)
    # The sites whose files were added, changed or removed.
    sites: dict[str, Changes] = field(default_factory=dict)
    # The worker processes that rendered sites (render.sites), 0 when this process did.
    workers: int = 0


@dataclass
class PreviousLock:
    """What the lock of an existing output says about the files it wrote."""

    files: dict[str, str] = field(default_factory=dict)
    site_inputs: dict[str, str] = field(default_factory=dict)
    site_files: dict[str, list[str]] = field(default_factory=dict)
    # renderer_digest() of the aigrid that wrote it: another one renders every site again.
    renderer: str | None = None
    # Where each site's entry in "sites" and its deployed state are in the lock's text (start and
    # end offsets), so that a site whose inputs did not change has them carried over as written
    # instead of made again.
    entries: dict[str, tuple[int, int]] = field(default_factory=dict)
    states: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The digest of each of those texts as that lock recorded it (TEXT_DIGESTS).
    text_digests: dict[str, dict[str, str]] = field(default_factory=dict)


# The lock's member with the digest of each site's parts of its text (its entry under "sites"
# and its deployed state): after both, as sort_keys orders the members.
TEXT_DIGESTS = "text_digests"


class SiteTexts:
    """Each site's parts of the lock as text (its entry under "sites" and its deployed state),
    and the digest of each, which the lock records under TEXT_DIGESTS. A site whose inputs did
    not change and whose files were carried over has them carried over too: read from the
    previous lock instead of made again (at 10,000 sites, making every site's again cost more
    than the rest of a one-site recompile's lock), when their digest is the one that lock
    recorded. A part edited by hand since, or in a lock of another layout, is made again."""

    def __init__(
        self,
        stream: BinaryIO | None = None,
        previous: PreviousLock | None = None,
        spool: BinaryIO | None = None,
    ) -> None:
        self.stream, self.previous = stream, previous or PreviousLock()
        self.carried: set[str] = set()  # the sites whose parts may be carried over
        self.digests: dict[str, dict[str, str]] = {}
        # Deployed states made as text where their site was rendered (site_state_text), kept in
        # `spool` (a temporary file) until the lock is written: at 10,000 sites they are about
        # 120 MB, which the compile would otherwise hold from the first site to the lock.
        self.spool = spool
        self._spooled: dict[str, tuple[int, int]] = {}

    def keep_state(self, site: str, text: str) -> None:
        """`site`'s deployed state, made as text where it was rendered, for `state`."""
        assert self.spool is not None, "SiteTexts without a spool"
        data = text.encode()
        self._spooled[site] = (self.spool.seek(0, os.SEEK_END), len(data))
        self.spool.write(data)

    def entry(self, site: str, made: Callable[[], Any]) -> Written:
        """Its entry under "sites" (two levels deep); `made` gives it as data."""
        return self._part(site, "entry", self.previous.entries, made, 2)

    def state(self, site: str, made: Callable[[], Any]) -> Written:
        """Its deployed state (STATE_DEPTH levels deep); `made` gives it as data, unless it was
        made as text where the site was rendered (`keep_state`)."""
        if self.spool is not None and (where := self._spooled.pop(site, None)) is not None:
            self.spool.seek(where[0])
            data = self.spool.read(where[1])
            self.digests.setdefault(site, {})["state"] = hashlib.sha256(data).hexdigest()
            return Written(data.decode())
        return self._part(site, "state", self.previous.states, made, STATE_DEPTH)

    def _part(
        self, site: str, part: str, where: Mapping[str, tuple[int, int]], made: Callable[[], Any], depth: int
    ) -> Written:
        previous = self._previous_text(site, where)
        recorded = self.previous.text_digests.get(site, {}).get(part)
        if previous is not None and (sha := hashlib.sha256(previous).hexdigest()) == recorded:
            text = previous.decode()
        else:
            text = indented_json.dumps_at(made(), depth, sort_keys=True)
            sha = hashlib.sha256(text.encode()).hexdigest()
        self.digests.setdefault(site, {})[part] = sha
        return Written(text)

    def _previous_text(self, site: str, where: Mapping[str, tuple[int, int]]) -> bytes | None:
        """The part as the previous lock wrote it, for a site that may carry it over."""
        if self.stream is None or site not in self.carried or site not in where:
            return None
        start, end = where[site]
        self.stream.seek(start)
        return self.stream.read(end - start)


# A site's entry in the lock: the digest of its inputs (site_inputs) and its files' paths.
SiteLock = tuple[str, list[str]]


def lock_inputs(result: Result) -> list[dict[str, str]]:
    """The blueprint's files and their digests, paths relative to the blueprint, for the lock."""
    assert result.document is not None
    top = Path(result.document.path).resolve().parent
    inputs = [
        {"file": os.path.relpath(Path(source.display).resolve(), top), "sha256": source.sha256}
        for source in result.document.sources.values()
    ]
    return sorted(inputs, key=lambda entry: entry["file"])


def lock_chunks(
    plan: Plan,
    inputs: list[dict[str, str]],
    digests: Mapping[str, str],
    grid: Iterable[str],
    sites: Mapping[str, SiteLock],
    texts: SiteTexts | None = None,
) -> Iterator[bytes]:
    """The lock's text in pieces: every resolved version, the inputs' digests (`lock_inputs`)
    and the digest of every file written (`digests`), grid-wide (`grid`) and per site. The same
    bytes as `indented_json.dumps(lock, sort_keys=True)` of it as one dict, but the per-file and
    per-site parts are made as they are written: at 10,000 sites the text is about 200 MB and
    the dicts it would be dumped from take more than that again. `texts`: each site's parts,
    carried over from the previous lock where they can be."""
    texts = texts or SiteTexts()
    # Lazy members must come in the order sort_keys gives; a later node of the same name
    # replaces an earlier one, as it did in a dict.
    nodes = {node.hostname: node for node in plan.nodes}
    lock = {
        "aigrid": __version__,
        "renderer": renderer_digest(),
        "blueprint": plan.name,
        "inputs": inputs,
        "stack": plan.stack.model_dump(),
        "nodes": Members((hostname, _node_lock(nodes[hostname])) for hostname in sorted(nodes)),
        "files": _file_digests(grid, digests),
        "sites": Members(
            (name, texts.entry(name, functools.partial(_site_entry, inputs, files, digests)))
            for name, (inputs, files) in sorted(sites.items())
        ),
        # What this revision deploys per site and node, for `aigrid diff` and upgrade plans.
        STATE_KEY: _state_lock(plan, texts),
        # Written after the two parts they are the digests of.
        TEXT_DIGESTS: Members((name, texts.digests[name]) for name in sorted(sites)),
    }
    for chunk in indented_json.chunks(lock, sort_keys=True):
        yield chunk.encode()
    yield b"\n"


def lock_file(plan: Plan, inputs: list[dict[str, str]], digests: Mapping[str, str]) -> bytes:
    """The lock of the grid-wide files `digests` and no site's, whole, for a small grid."""
    return b"".join(lock_chunks(plan, inputs, digests, digests, {}))


def _node_lock(node: NodePlan) -> dict[str, Any]:
    return {
        "site": node.site,
        "gpu_model": node.gpu_model,
        "gpu_count": node.gpu_count,
        "mig_config": node.mig_config,
    }


def _file_digests(files: Iterable[str], digests: Mapping[str, str]) -> Members:
    """Each file's digest by path, looked up as it is written (not a second dict of them)."""
    return Members((relative, digests[relative]) for relative in sorted(set(files)))


def _site_entry(inputs: str, files: Iterable[str], digests: Mapping[str, str]) -> dict[str, Any]:
    return {"inputs": inputs, "files": _file_digests(files, digests)}


def _site_state(plan: Plan, site: SitePlan) -> dict[str, Any]:
    return site_state(plan, site).model_dump(mode="json")


# How deep each site's deployed state sits in the lock: "state", its "sites", the site's item.
STATE_DEPTH = 3


def site_state_text(plan: Plan, site: SitePlan) -> str:
    """A site's deployed state as the lock writes it, made where the site is rendered (by a
    worker process on a large grid: render.sites) instead of by the process writing the lock."""
    return indented_json.dumps_at(_site_state(plan, site), STATE_DEPTH, sort_keys=True)


def _state_lock(plan: Plan, texts: SiteTexts) -> dict[str, Any]:
    """`grid_state(plan).model_dump(mode="json")`, each site's state made and dumped as it is
    written (or carried over): the state of every site is the lock's largest part."""
    state = grid_state(plan, sites=[]).model_dump(mode="json")
    state["sites"] = Elements(
        texts.state(site.name, functools.partial(_site_state, plan, site)) for site in plan.sites
    )
    return state


def read_lock(out: Path) -> PreviousLock:
    """The previous output's file digests; none (everything is written) when its lock is missing,
    unreadable or from before per-file digests."""
    path = out / layout.LOCK
    try:
        with open(path, "rb") as stream:  # noqa: PTH123
            reader = _LockReader(stream)
        lock = (
            reader.members if {"files", "sites"} <= reader.members.keys() else json.loads(path.read_bytes())
        )
        previous = PreviousLock(
            dict(lock["files"]),
            renderer=lock.get("renderer"),
            entries=reader.entries,
            states=reader.states,
            text_digests=reader.text_digests,
        )
        for site, entry in lock["sites"].items():
            previous.site_inputs[site] = entry["inputs"]
            previous.site_files[site] = sorted(entry["files"])
            previous.files.update(entry["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return PreviousLock()
    previous.files[layout.LOCK] = reader.sha.hexdigest()
    return previous


class _LockReader:
    """The members of a lock a recompile needs ("files", "renderer", "sites"), read line by line
    and the file hashed on the way, without its largest part (every site's deployed state, over
    half of its 200 MB at 10,000 sites). lock_chunks writes it with an indent of 2, and its
    strings hold no line breaks, so a line that starts with two spaces and a quote starts a
    member of the top object, one with four spaces and a quote in "sites" starts a site; each
    site is parsed alone. A lock in another layout (edited by hand) gives no members here, and
    read_lock parses it whole.

    Of the deployed state (STATE_KEY, the last member, as sort_keys puts it after every wanted
    one), only where each site's is, found in blocks by a pattern instead of line by line (it is
    most of the lock's lines): an item of its "sites" starts with a line of six spaces and "{",
    names its site on a line of eight spaces and "name", and ends with six spaces and "}"."""

    WANTED = frozenset({"files", "renderer", "sites"})
    BLOCK = 1 << 22
    # The lines of the deployed state that say where a site's state is, each with the line break
    # before it: a pattern that starts with a character is tried only where that character is
    # (one that starts with ^ is tried at every byte, and took 1.5 s for the 130 MB of state of
    # a 10,000-site lock).
    STATE_LINES = re.compile(
        rb'\n(?:    "sites": \[(?=\n)|    \]|      \{(?=\n)'
        rb'|        "name": ("[^"\\]*")|      \}|  "text_digests": )'
    )

    def __init__(self, stream: BinaryIO) -> None:
        self.sha = hashlib.sha256()
        self.members: dict[str, Any] = {}
        self._key: str | None = None  # the member being read, when it is wanted
        self._lines: list[bytes] = []  # its lines (in "sites", the current site's)
        self.entries: dict[str, tuple[int, int]] = {}
        self.states: dict[str, tuple[int, int]] = {}
        self.text_digests: dict[str, dict[str, str]] = {}
        self._digests_at: int | None = None  # where TEXT_DIGESTS starts
        self._in_sites = False  # in the deployed state's "sites"
        self._site: str | None = None  # the site whose state is being read
        self._start = 0  # where the site being read starts (its entry, or its state)
        first = stream.readline()
        self.sha.update(first)
        at = len(first)
        for line in stream:
            self.sha.update(line)
            if first == b"{\n" and self._line(line, at):
                self._state(stream, at + len(line))
                return
            at += len(line)

    def _line(self, line: bytes, at: int) -> bool:
        """Reads one line of the top object (at offset `at`); True when it starts the deployed
        state."""
        if line.startswith((b'  "', b"}")):  # the next member, or the end of the lock
            self._done()
            key = json.JSONDecoder().raw_decode(line.decode(), 2)[0] if line.startswith(b" ") else None
            self._key = key if key in self.WANTED else None
            if key == STATE_KEY:
                return True
            if self._key == "sites":
                self.members["sites"] = {}
                return False
        elif self._key == "sites" and line.startswith(b'    "'):  # the next site
            self._done()
            self._start = at
        elif self._key == "sites" and line.startswith(b"  }"):  # the end of "sites"
            self._done()
            self._key = None
        if self._key is not None:
            self._lines.append(line)
        return False

    def _state(self, stream: BinaryIO, at: int) -> None:
        """The rest of the lock from `at` (the deployed state), hashed and scanned in blocks."""
        rest = b""  # the last block's unfinished line
        while block := stream.read(self.BLOCK):
            self.sha.update(block)
            text = rest + block
            cut = text.rfind(b"\n") + 1
            self._state_lines(text[:cut], at)
            at, rest = at + cut, text[cut:]
        self._state_lines(rest, at)
        if self._digests_at is not None:
            # The last member: the rest of the lock, its own closing brace taken off.
            stream.seek(self._digests_at)
            tail = stream.read().rstrip().removesuffix(b"}")
            try:
                self.text_digests = json.loads(b"{" + tail + b"}").get(TEXT_DIGESTS, {})
            except ValueError:
                self.text_digests = {}

    def _state_lines(self, text: bytes, at: int) -> None:
        """The lines of `text` (whole lines, from offset `at` of the lock) that place a site."""
        # With a line break before the first line, every line is found the same way; a line
        # found at `start` of this text is at `at + start` in the lock.
        for found in self.STATE_LINES.finditer(b"\n" + text):
            line, line_at = found.group()[1:], at + found.start()
            if line == b'  "text_digests": ':
                self._digests_at = line_at
            elif line == b'    "sites": [':
                self._in_sites = True
            elif not self._in_sites:
                continue
            elif line == b"    ]":
                self._in_sites = False
            elif line == b"      {":
                self._site, self._start = None, line_at + 6
            elif found.group(1) is not None:
                self._site = json.loads(found.group(1))
            elif self._site is not None:  # six spaces and "}"
                self.states[self._site] = (self._start, line_at + 7)
                self._site = None

    def _done(self) -> None:
        """The lines read so far as the member (or in "sites", the site) they are."""
        if self._key is None or not self._lines:
            return
        text = b"".join(self._lines).rstrip().removesuffix(b",")
        self._lines = []
        # Each is a member of an object as written, so it parses as the only one in an object.
        member = json.loads(b"{" + text + b"}")
        (self.members["sites"] if self._key == "sites" else self.members).update(member)
        if self._key == "sites" and len(member) == 1:
            # Its value's text: after the four spaces, the key, a colon and a space.
            site = next(iter(member))
            self.entries[site] = (
                self._start + 6 + len(encode_basestring_ascii(site)),
                self._start + len(text),
            )


@per_plan
def _workload_texts(plan: Plan) -> list[tuple[dict[str, int], str]]:
    """Each workload's sites (with their replicas) and its JSON, for `site_inputs`: made once,
    not once for every site it is placed on (50 workloads on 10,000 sites)."""
    return [(workload.placement, workload.model_dump_json()) for workload in plan.workloads]


def site_inputs(plan: Plan, site: SitePlan, grid: str) -> str:
    """A digest of everything a site's files are rendered from: the grid-wide plan (`grid`, the
    digest of everything but the sites and workloads, and of the grid's dashboard), the site and
    the workloads placed there."""
    placed = [text for placement, text in _workload_texts(plan) if site.name in placement]
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


def compile_blueprint(path: Path, out: Path, root: Path | None = None, jobs: int = 1) -> Compiled:
    """Writes nothing unless the blueprint is valid; raises OutputError for a bad target. `jobs`:
    the processes that may render sites (render.sites); above 1, the caller's main module must
    be import-safe (`if __name__ == "__main__":`), as "spawn" needs (the CLI's is)."""
    result = validate_file(path, root)
    if result.blueprint is None or result.errors:
        return Compiled(result)
    inputs = lock_inputs(result)
    # Released as soon as they are not needed (the result keeps its diagnostics and the sources
    # they quote): the merged document (a node per value, with its position) before the plan
    # is built, the model after; the plan holds what the files are rendered from. At 10,000
    # sites, the document, the model and the plan together were the peak of the compile.
    result.document = None
    plan = build_plan(result.blueprint, catalog())
    result.blueprint = None
    previous = read_lock(out) if (out / layout.LOCK).is_file() else PreviousLock()
    with staged(out, previous.files, USER_FILES) as staging:
        compiled = _write(result, plan, inputs, out, previous, staging, jobs)
        compiled.changes = staging.commit()
    # Sets: scanning every written file for every site took longer than the compile at 10,000
    # sites (about 440,000 files).
    added, changed = set(compiled.changes.added), set(compiled.changes.changed)
    for site, files in compiled.site_files.items():
        before = previous.site_files.get(site, [])
        if (changes := _site_changes(added, changed, before, files)) is not None:
            compiled.sites[site] = changes
    return compiled


def _write(
    result: Result,
    plan: Plan,
    sources: list[dict[str, str]],
    out: Path,
    previous: PreviousLock,
    staging: Staging,
    jobs: int,
) -> Compiled:
    """Stage every file and the lock (`sources`: its inputs, lock_inputs)."""
    # What every site's files are rendered from besides the site and the workloads placed there:
    # the plan without sites and workloads, and the grid's dashboard, which every site's
    # ConfigMap holds and which every workload's objective is a panel of.
    grid_wide = plan.model_dump_json(exclude={"sites", "workloads"}) + "".join(dashboard_file(plan))
    grid_digest = hashlib.sha256((__version__ + grid_wide).encode()).hexdigest()
    grid: list[str] = []
    for relative, content in grid_files(plan):
        staging.put(relative, content)
        grid.append(relative)
    sites: dict[str, SiteLock] = {}
    same_renderer = previous.renderer == renderer_digest()
    with _previous_lock(out, previous, staging.path) as texts:
        # Decided for every site first, so that the sites to render can be rendered ahead
        # (by worker processes) while the others are carried over.
        to_render: list[SitePlan] = []
        for site in plan.sites:
            inputs = site_inputs(plan, site, grid_digest)
            files = previous.site_files.get(site.name, [])
            if same_renderer and previous.site_inputs.get(site.name) == inputs and staging.reusable(files):
                texts.carried.add(site.name)
            else:
                to_render.append(site)
            sites[site.name] = (inputs, files)
        made = sites_rendered(out, plan, to_render, jobs, site_state_text)
        with closing(made) as rendered:
            for site in plan.sites:
                inputs, files = sites[site.name]
                if site.name in texts.carried:
                    staging.reuse(files)
                    continue
                done = next(rendered)
                assert done.site == site.name, f"rendered {done.site} where {site.name} was due"
                for relative, content, sha in done.files:
                    staging.put(relative, content, sha)
                texts.keep_state(site.name, done.state)
                sites[site.name] = (inputs, [relative for relative, _, _ in done.files])
        # Written in pieces, straight into the staged file: the lock of a large grid is the
        # largest thing a compile would otherwise hold.
        staging.put_chunks(layout.LOCK, lock_chunks(plan, sources, staging.digests, grid, sites, texts))
    site_files_written = {name: files for name, (_, files) in sites.items()}
    workers = workers_for(len(to_render), jobs)
    return Compiled(result, plan, len(staging.digests), site_files=site_files_written, workers=workers)


@contextmanager
def _previous_lock(out: Path, previous: PreviousLock, staging_folder: Path) -> Iterator[SiteTexts]:
    """SiteTexts with the previous lock open, while the next is written."""
    # In the staging folder (on the output's file system, not in a TMPDIR that may be memory),
    # unlinked at once: never part of the output.
    with tempfile.TemporaryFile(dir=staging_folder) as spool:
        if not previous.text_digests:
            yield SiteTexts(spool=spool)
            return
        with open(out / layout.LOCK, "rb") as stream:  # noqa: PTH123
            yield SiteTexts(stream, previous, spool)


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


def render_all(result: Result, plan: Plan) -> dict[str, bytes]:
    """Every file of the compiled directory, by path, in memory (for tests of small blueprints)."""
    files = dict(grid_files(plan))
    for site in plan.sites:
        files |= site_files(plan, site)
    grid = {relative: digest(content) for relative, content in files.items()}
    files[layout.LOCK] = lock_file(plan, lock_inputs(result), grid)
    return files
