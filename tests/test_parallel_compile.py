"""Sites rendered by worker processes (render.sites): the output is the same bytes as a compile
that renders every site itself, a recompile's too, and a worker's error is the compile's."""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from aigrid import layout
from aigrid.compile import compile_blueprint
from aigrid.output import OutputError
from aigrid.render import sites
from conftest import ROOT, run_aigrid
from test_incremental import _gen_grid, change_one_site, contents


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    return Path(_gen_grid().write_grid(tmp_path / "grid" / "grid.yaml", sites=40, nodes=2, workloads=6))


@pytest.fixture
def workers_for_any_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers even for a few sites (the threshold is read by the compile's own process)."""
    monkeypatch.setattr(sites, "PARALLEL_MIN_SITES", 1)


def _counting_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sites of the plan each worker process was started with."""
    started: list[int] = []

    def counting(processes: int, **kwargs: Any) -> ProcessPoolExecutor:
        started.append(len(pickle.loads(kwargs["initargs"][0]).sites))
        return ProcessPoolExecutor(processes, **kwargs)

    monkeypatch.setattr(sites, "ProcessPoolExecutor", counting)
    return started


@pytest.mark.usefixtures("workers_for_any_grid")
def test_workers_write_the_same_bytes_as_one_process(
    grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_workers(monkeypatch)
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert compile_blueprint(grid, serial, jobs=1).plan is not None
    assert started == []
    compiled = compile_blueprint(grid, parallel, jobs=2)
    # Two workers, each handed the plan with only its share of the sites: batches of 5 (40 sites
    # in at least 4 batches per worker), batch i to worker i mod 2.
    assert started == [20, 20]
    assert compiled.plan is not None and len(compiled.sites) == 40 and compiled.workers == 2
    assert contents(parallel) == contents(serial)

    # A recompile after one site changed: only that site is rendered (by a worker), and the lock
    # carries the others' parts over, as a compile in one process does.
    change_one_site(grid)
    again_serial = compile_blueprint(grid, serial, jobs=1)
    again = compile_blueprint(grid, parallel, jobs=2)
    assert list(again.sites) == list(again_serial.sites) == ["site-00001"]
    assert again.changes == again_serial.changes
    assert contents(parallel) == contents(serial)


def test_few_sites_are_rendered_without_workers(
    grid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_workers(monkeypatch)
    assert compile_blueprint(grid, tmp_path / "out", jobs=4).plan is not None
    assert started == []  # 40 sites, under PARALLEL_MIN_SITES: starting workers would cost more


@pytest.mark.usefixtures("workers_for_any_grid")
def test_a_workers_error_fails_the_compile_and_leaves_the_output(grid: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compile_blueprint(grid, out, jobs=2).plan is not None
    # A stack config the user broke: merging the compiled one into it fails in the worker.
    broken = out / layout.stack_config("site-00007")
    broken.write_text("config: [unclosed\n")
    before = contents(out)
    change_one_site(grid)  # and the grid changed, so that every site is looked at again
    grid.write_text(grid.read_text().replace("name: synthetic-40\n", "name: synthetic-40b\n", 1))
    with pytest.raises(OutputError, match=r"Pulumi\.site-00007\.yaml is not valid YAML"):
        compile_blueprint(grid, out, jobs=2)
    assert contents(out) == before
    assert not list(tmp_path.glob(".aigrid-tmp-*"))


def test_the_command_line_renders_with_workers(tmp_path: Path) -> None:
    """`aigrid compile --jobs 2` on a grid large enough for workers, run as `python -m aigrid`:
    a worker imports the main module again, which must not run the command a second time."""
    big = Path(_gen_grid().write_grid(tmp_path / "grid" / "grid.yaml", sites=sites.PARALLEL_MIN_SITES))
    one = run_aigrid("compile", str(big), "--out", str(tmp_path / "one"), "--jobs", "1")
    two = run_aigrid("compile", str(big), "--out", str(tmp_path / "two"), "--jobs", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    said = [run.stdout.replace(str(tmp_path / name), "OUT") for run, name in ((one, "one"), (two, "two"))]
    assert "sites rendered by 2 worker processes" in said[1]
    assert said[0] == said[1].replace("  sites rendered by 2 worker processes (--jobs)\n", "")
    assert contents(tmp_path / "two") == contents(tmp_path / "one")


@pytest.mark.usefixtures("workers_for_any_grid")
def test_workers_render_the_shipped_grid_alike(tmp_path: Path) -> None:
    """Each worker holds only its share of the sites: a renderer that reached for another site
    (a workload served across sites, a carrier's mirrors) would write other bytes here."""
    example = ROOT / "blueprints" / "examples" / "multi-carrier-grid.yaml"
    assert compile_blueprint(example, tmp_path / "serial", jobs=1).plan is not None
    assert compile_blueprint(example, tmp_path / "parallel", jobs=3).plan is not None
    assert contents(tmp_path / "parallel") == contents(tmp_path / "serial")


KILLED = """
import sys
from pathlib import Path
from aigrid.compile import compile_blueprint
from aigrid.render import sites

if __name__ == "__main__":
    sites.PARALLEL_MIN_SITES = 1
    compile_blueprint(Path(sys.argv[1]), Path(sys.argv[2]), jobs=2)
"""


def _workers_of(pid: int) -> list[int]:
    """The processes `pid` started with multiprocessing's spawn (running Python by then)."""
    found = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in listing.read_text().split():
            with contextlib.suppress(OSError):
                if b"--multiprocessing-fork" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads child processes from /proc (Linux)")
def test_workers_end_when_the_compile_is_killed(tmp_path: Path) -> None:
    """SIGKILL (or the OOM killer) gives the compile's process no chance to stop its workers:
    they must not wait for batches forever."""
    grid = Path(_gen_grid().write_grid(tmp_path / "grid" / "grid.yaml", sites=300, nodes=2, workloads=6))
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    compiling = subprocess.Popen([sys.executable, str(script), str(grid), str(tmp_path / "out")])
    try:
        deadline = time.monotonic() + 60
        while len(workers := _workers_of(compiling.pid)) < 2 and compiling.poll() is None:
            assert time.monotonic() < deadline, "no workers started"
            time.sleep(0.05)
        assert len(workers) == 2, "the compile ended before both workers were seen"
        compiling.kill()
        compiling.wait()
        deadline = time.monotonic() + 20
        while any(_alive(worker) for worker in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived the compile"
            time.sleep(0.1)
    finally:
        compiling.kill()
