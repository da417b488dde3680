"""Incremental compile: a recompile rewrites only the files whose content changed, atomically."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigrid import layout
from aigrid.compile import compile_blueprint
from conftest import ROOT, run_aigrid

CHANGED_SITE = "site-00001"


def _gen_grid() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_grid", ROOT / "benchmarks" / "gen_grid.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def identities(root: Path) -> dict[str, tuple[int, int]]:
    """Each file's inode and modification time: a file written again gets a new inode."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            status = path.stat()
            found[path.relative_to(root).as_posix()] = (status.st_ino, status.st_mtime_ns)
    return found


def contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    return Path(_gen_grid().write_grid(tmp_path / "grid" / "grid.yaml", sites=3, nodes=2, workloads=3))


def change_one_site(blueprint: Path) -> None:
    """Site 1 stops carrying one of its slices: only its own files depend on that."""
    text = blueprint.read_text()
    lines = text.splitlines(keepends=True)
    at = lines.index(f"  - name: {CHANGED_SITE}\n")
    carried = next(i for i in range(at, len(lines)) if lines[i].startswith("    slices: ["))
    assert lines[carried] == "    slices: [slice-0, slice-1, slice-3, slice-5, slice-7]\n"
    lines[carried] = "    slices: [slice-0, slice-1, slice-3, slice-5]\n"
    blueprint.write_text("".join(lines))


def test_unchanged_blueprint_writes_nothing(
    grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    before, folder = identities(out), out.stat().st_ino

    def no_link(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"linked {args[0]}: nothing changed, so nothing is to be staged")

    monkeypatch.setattr("aigrid.output.os.link", no_link)
    again = compile_blueprint(grid, out)
    monkeypatch.undo()
    assert not again.changes.written and not again.changes.removed and not again.sites
    assert again.changes.unchanged == len(before)
    # Not one file written, and no swap: DIR is the very same directory.
    assert identities(out) == before
    assert out.stat().st_ino == folder
    assert not list(tmp_path.glob(".aigrid-tmp-*"))


def test_a_new_aigrid_renders_every_site_again(
    grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another aigrid (other code, templates or roles, the same version number, as an install
    from a newer checkout) must not carry the previous output's site files over as they were."""
    out = tmp_path / "out"
    first = compile_blueprint(grid, out)
    assert first.plan is not None
    monkeypatch.setattr("aigrid.compile.renderer_digest", lambda: "another aigrid")
    again = compile_blueprint(grid, out)
    assert sorted(again.site_files) == sorted(first.site_files)
    assert all(again.site_files.values())  # each site rendered, none carried over


def test_one_site_change_rewrites_only_that_sites_files(grid: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    before = identities(out)
    site_files = set(json.loads((out / layout.LOCK).read_text())["sites"][CHANGED_SITE]["files"])

    change_one_site(grid)
    proc = run_aigrid("compile", str(grid), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    after = identities(out)
    rewritten = {path for path in after if after[path] != before.get(path)}
    assert layout.LOCK in rewritten
    assert rewritten - {layout.LOCK}, "the change rewrote none of the site's files"
    assert rewritten - {layout.LOCK} <= site_files, sorted(rewritten - site_files)
    removed = set(before) - set(after)
    assert removed and removed <= site_files  # the objects of the slice it no longer carries
    assert set(after) - set(before) == set()
    report = f"site {CHANGED_SITE}: 0 added, {len(rewritten) - 1} changed, {len(removed)} removed"
    assert report in proc.stdout
    assert "site site-00000" not in proc.stdout and "site site-00002" not in proc.stdout

    # What the incremental compile left is exactly what a compile from scratch writes.
    fresh = tmp_path / "fresh"
    assert compile_blueprint(grid, fresh).plan is not None
    assert contents(out) == contents(fresh)


def test_a_recompile_carries_the_deployed_state_of_unchanged_sites_over(
    grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock's entry and deployed state of a site whose inputs did not change are the
    previous lock's text, not made again; the lock is the same bytes as a compile from scratch
    writes."""
    from aigrid import compile as compiling

    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    made: list[str] = []
    real = compiling.site_state

    def recording(plan, site):  # type: ignore[no-untyped-def]
        made.append(site.name)
        return real(plan, site)

    digested: list[str] = []
    real_digests = compiling._file_digests

    def recording_digests(files, digests):  # type: ignore[no-untyped-def]
        digested.extend(files)
        return real_digests(files, digests)

    monkeypatch.setattr(compiling, "site_state", recording)
    monkeypatch.setattr(compiling, "_file_digests", recording_digests)
    change_one_site(grid)
    recompiled = compile_blueprint(grid, out)
    assert made == [CHANGED_SITE]
    # The grid's own files and the changed site's: no other site's entry made again.
    assert set(digested) == set(recompiled.site_files[CHANGED_SITE]) | set(
        json.loads((out / layout.LOCK).read_text())["files"]
    )
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    assert compile_blueprint(grid, fresh).plan is not None
    assert (out / layout.LOCK).read_bytes() == (fresh / layout.LOCK).read_bytes()


def test_a_lock_edited_by_hand_has_its_edited_parts_made_again(grid: Path, tmp_path: Path) -> None:
    """A site's carried parts of the lock are checked against the digests the lock recorded: a
    value changed by hand, or a line broken (a merge conflict's markers), is made again."""
    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    lock = out / layout.LOCK
    text = lock.read_text()
    states = json.loads(text)["state"]["sites"]
    assert [site["name"] for site in states][:3] == ["site-00000", CHANGED_SITE, "site-00002"]
    # site-00000's state: a value changed; site-00002's: a line that is not JSON. Neither part is
    # parsed when the lock is read.
    first_rtt = text.index('"rtt_ms": ', text.index('"state": {'))
    text = text[:first_rtt] + '"rtt_ms": 999.5,' + text[text.index("\n", first_rtt) :]
    third = text.index('"rtt_ms": ', text.index('        "name": "site-00002"'))
    text = text[:third] + "<<<<<<< ours\n" + text[third:]
    stat = lock.stat()
    lock.write_text(text)
    os.utime(lock, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as a checkout that keeps its time

    change_one_site(grid)
    assert compile_blueprint(grid, out).plan is not None
    fresh = tmp_path / "fresh"
    assert compile_blueprint(grid, fresh).plan is not None
    assert lock.read_bytes() == (fresh / layout.LOCK).read_bytes()


def test_file_edited_by_hand_is_written_again(grid: Path, tmp_path: Path) -> None:
    """A file modified after the lock is not trusted to hold what the lock says."""
    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    host_vars = out / layout.host_vars(f"{CHANGED_SITE}-gpu00")
    original = host_vars.read_bytes()
    host_vars.write_bytes(original.replace(b"preflight_gpu_count: 4", b"preflight_gpu_count: 9"))
    lock = (out / layout.LOCK).stat()
    os.utime(host_vars, ns=(lock.st_atime_ns, lock.st_mtime_ns + 1_000_000))
    again = compile_blueprint(grid, out)
    assert again.changes.changed == [layout.host_vars(f"{CHANGED_SITE}-gpu00")]
    assert host_vars.read_bytes() == original
    # Written once: the lock is written after it, so the next recompile trusts it again.
    assert host_vars.stat().st_mtime_ns <= (out / layout.LOCK).stat().st_mtime_ns
    third = compile_blueprint(grid, out)
    assert not third.changes.written and not third.changes.removed


def test_output_from_before_digests_is_rewritten_whole(grid: Path, tmp_path: Path) -> None:
    """A lock without file digests (an older aigrid) trusts nothing and rewrites everything."""
    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    lock = json.loads((out / layout.LOCK).read_text())
    del lock["files"], lock["sites"]
    (out / layout.LOCK).write_text(json.dumps(lock))
    again = compile_blueprint(grid, out)
    assert len(again.changes.added) == again.files and again.changes.unchanged == 0
    fresh = tmp_path / "fresh"
    compile_blueprint(grid, fresh)
    assert contents(out) == contents(fresh)


@pytest.mark.parametrize("site", [None, "site-00002"])
def test_verify_suite_collects_nodes_from_per_site_expectations(
    grid: Path, tmp_path: Path, site: str | None
) -> None:
    """The expectations are one file per site; the suite reads all of them, or with
    --aigrid-site only that site's."""
    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    suite = out / layout.VERIFY
    options = ["--collect-only", "-q", "-p", "no:cacheprovider", "--aigrid-inventory=unused.yml"]
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(suite),
        *options,
        *([f"--aigrid-site={site}"] if site else []),
    ]
    proc = subprocess.run(command, cwd=suite, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hosts = {line.split("[")[1].rstrip("]") for line in proc.stdout.splitlines() if "[" in line}
    sites = [site] if site else ["site-00000", "site-00001", "site-00002"]
    assert hosts == {f"{name}-{node}" for name in sites for node in ("cp", "gpu00", "gpu01")}


def _read_whole(out: Path) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]], str]:
    """What read_lock gives, from the lock parsed whole (as it was read before it streamed)."""
    from aigrid.output import digest

    content = (out / layout.LOCK).read_bytes()
    lock = json.loads(content)
    files, inputs, site_files = dict(lock["files"]), {}, {}
    for site, entry in lock["sites"].items():
        inputs[site], site_files[site] = entry["inputs"], sorted(entry["files"])
        files.update(entry["files"])
    files[layout.LOCK] = digest(content)
    return files, inputs, site_files, lock["renderer"]


@pytest.mark.parametrize("indent", [2, 4, None])
def test_the_lock_is_read_as_parsed_whole_in_any_layout(
    grid: Path, tmp_path: Path, indent: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_lock reads the members it needs line by line from the layout the compile writes; a
    lock in another layout (indent 4, or one line) is parsed whole, with the same result."""
    from aigrid.compile import read_lock

    out = tmp_path / "out"
    assert compile_blueprint(grid, out).plan is not None
    if indent != 2:
        lock = json.loads((out / layout.LOCK).read_text())
        (out / layout.LOCK).write_text(json.dumps(lock, indent=indent))
    previous = read_lock(out)
    assert (previous.files, previous.site_inputs, previous.site_files, previous.renderer) == _read_whole(out)
    assert len(previous.site_files) == 3 and all(previous.site_files.values())
    # Where each site's deployed state is, in the layout a compile writes (none in another).
    text = (out / layout.LOCK).read_bytes()
    states = {site["name"]: site for site in json.loads(text)["state"]["sites"]}
    assert sorted(previous.states) == (sorted(states) if indent == 2 else [])
    for site, (start, end) in previous.states.items():
        assert json.loads(text[start:end]) == states[site]
    entries = json.loads(text)["sites"]
    assert sorted(previous.entries) == (sorted(entries) if indent == 2 else [])
    for site, (start, end) in previous.entries.items():
        assert json.loads(text[start:end]) == entries[site]
    digests = json.loads(text)["text_digests"]
    assert previous.text_digests == (digests if indent == 2 else {})
    # The same when the state is read in blocks that end mid-line.
    monkeypatch.setattr("aigrid.compile._LockReader.BLOCK", 997)
    again = read_lock(out)
    assert (again.states, again.text_digests) == (previous.states, previous.text_digests)


# Path segments a compiled directory has, and some it could have.
FOLDERS = (
    *layout.TOP_LEVEL,
    layout.PULUMI_SITES,
    layout.PULUMI_SITE_PLANS,
    layout.UPGRADE_PROGRESS,
    layout.PLAN,
)
NAMES = {part for path in FOLDERS for part in path.strip("/").split("/")}
SEGMENTS = st.sampled_from(sorted(NAMES | {layout.CREDENTIALS, "venv", "bin", "x.yaml", "site-1"}))


@given(st.lists(SEGMENTS, min_size=1, max_size=5))
def test_a_recompile_looks_for_the_users_files_in_every_folder_that_can_hold_them(parts: list[str]) -> None:
    """A recompile walks only the folders `may_hold_user_files` names: a folder it skips must
    hold nothing the user owns, or a recompile would drop that file."""
    path = "/".join(parts)
    if layout.user_owned(path):
        folders = ["/".join(parts[:end]) for end in range(1, len(parts))]
        assert layout.may_hold_user_files(".")
        # The first folder that is the user's whole is carried as it is, unwalked below.
        for folder in folders:
            if layout.user_owned(folder):
                break
            assert layout.may_hold_user_files(folder), (path, folder)


def test_a_workload_change_reaches_every_sites_dashboard(grid: Path, tmp_path: Path) -> None:
    """Every site's dashboard ConfigMap has a panel per workload, wherever it runs: a workload's
    objective changed where only one site runs it still changes every site's files."""
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert compile_blueprint(grid, out).plan is not None
    text = grid.read_text()
    at = text.index("  - name: workload-0\n")
    slo = text.index("latency: {slo: 400ms", at)
    grid.write_text(text[:slo] + "latency: {slo: 350ms" + text[slo + len("latency: {slo: 400ms") :])
    again = compile_blueprint(grid, out)
    assert compile_blueprint(grid, fresh).plan is not None
    assert contents(out) == contents(fresh)
    assert len(again.sites) == 3  # the workload runs at one site; the dashboard is in all three
