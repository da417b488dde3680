"""Compile time and peak memory for a synthetic grid, each against its reference in the same run.

For N sites (grids from gen_grid.py) it measures, each in a fresh process:

- `aigrid compile` into a new directory (wall, peak RSS, files, bytes), against the write floor:
  the very same files written by a plain Python loop (open/write, folders made as needed) from
  memory into another new directory;
- a recompile of the unchanged blueprint into the output (nothing is to be written);
- a recompile after one site changed (it stops carrying a slice), against a compile of the
  changed blueprint into a new directory.

    python benchmarks/compile_scale.py [--sizes 1000 10000] [--runs 3] [--workloads 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gen_grid import write_grid

COMPILE = """
import glob, json, resource, sys, threading, time
from pathlib import Path
from aigrid.compile import compile_blueprint

def status(pid, field):
    lines = read(f"/proc/{pid}/status").decode().splitlines()
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(field)), 0.0)

def read(path):
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:
        return b""

# The processes that render sites, sampled every 50 ms: their own peaks (VmHWM, not ru_maxrss,
# which counts the copy of this process a child is before it execs Python) and the largest
# resident total of this process and them at one moment.
workers, together, done = {}, [0.0], threading.Event()
def sample():
    while not done.wait(0.05):
        # Only once they run Python's spawn_main: before its exec a child is a copy of this one.
        listed = [read(path).split() for path in glob.glob("/proc/self/task/*/children")]
        children = [pid.decode() for pids in listed for pid in pids
                    if b"--multiprocessing-fork" in read(f"/proc/{pid.decode()}/cmdline")]
        for pid in children:
            workers[pid] = max(workers.get(pid, 0.0), status(pid, "VmHWM"))
        total = status("self", "VmRSS") + sum(status(pid, "VmRSS") for pid in children)
        together[0] = max(together[0], total)
threading.Thread(target=sample, daemon=True).start()
# jobs only where more than 1: a tree from before `jobs` (a --baseline) takes none.
jobs = {"jobs": int(sys.argv[3])} if len(sys.argv) > 3 and sys.argv[3] != "1" else {}
compiled = compile_blueprint(Path(sys.argv[1]), Path(sys.argv[2]), **jobs)
done.set()
assert compiled.plan is not None, [d.message for d in compiled.result.errors[:3]]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_rss_mib": peak, "worker_rss_mib": max(workers.values(), default=0.0),
                  "together_mib": max(together[0], peak), "files": compiled.files,
                  "written": len(compiled.changes.written), "sites_changed": len(compiled.sites)}))
"""

# The floor: the same bytes, read into memory before the clock starts, then written plainly.
WRITE_FLOOR = """
import json, os, sys, time
from pathlib import Path
source, target = Path(sys.argv[1]), Path(sys.argv[2])
files = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*") if p.is_file()}
start = time.perf_counter()
made = set()
for relative, content in files.items():
    path = target / relative
    if path.parent not in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        made.add(path.parent)
    with open(path, "wb") as stream:
        stream.write(content)
print(json.dumps({"write_s": time.perf_counter() - start, "bytes": sum(map(len, files.values()))}))
"""


def timed(code: str, *args: str) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return wall, json.loads(proc.stdout)


def change_one_site(blueprint: Path, site: str) -> None:
    lines = blueprint.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines.index(f"  - name: {site}\n")
    carried = next(i for i in range(at, len(lines)) if lines[i].startswith("    slices: ["))
    lines[carried] = lines[carried].replace(", slice-7]", "]").replace(", slice-6]", "]")
    blueprint.write_text("".join(lines), encoding="utf-8")


def measure(sites: int, runs: int, work: Path, workloads: int, jobs: int) -> dict[str, float]:
    grid = write_grid(work / f"grid-{sites}" / "grid.yaml", sites, workloads=workloads)
    out, floor = work / f"out-{sites}", work / f"floor-{sites}"
    full, writes, peaks, worker_peaks, together, again, one, fresh = [], [], [], [], [], [], [], []
    sample: dict[str, float] = {}
    for _ in range(runs):
        for folder in (out, floor):
            shutil.rmtree(folder, ignore_errors=True)
        wall, sample = timed(COMPILE, str(grid), str(out), str(jobs))
        full.append(wall)
        peaks.append(sample["peak_rss_mib"])
        worker_peaks.append(sample["worker_rss_mib"])
        together.append(sample["together_mib"])
        _, written = timed(WRITE_FLOOR, str(out), str(floor))
        writes.append(written["write_s"])
        wall, unchanged = timed(COMPILE, str(grid), str(out), str(jobs))
        assert unchanged["written"] == 0, unchanged
        again.append(wall)
    size = written["bytes"]
    original = grid.read_text(encoding="utf-8")
    try:
        change_one_site(grid, "site-00001")
        for _ in range(runs):
            wall, changed = timed(COMPILE, str(grid), str(out), str(jobs))
            assert changed["sites_changed"] == 1, changed
            one.append(wall)
            shutil.rmtree(floor, ignore_errors=True)
            fresh.append(timed(COMPILE, str(grid), str(floor), str(jobs))[0])
            grid.write_text(original, encoding="utf-8")
            timed(COMPILE, str(grid), str(out), str(jobs))
            change_one_site(grid, "site-00001")
    finally:
        grid.write_text(original, encoding="utf-8")
    for folder in (out, floor):
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "compile_s": statistics.median(full),
        "floor_s": statistics.median(writes),
        "peak_mib": max(peaks),
        "worker_peak_mib": max(worker_peaks),
        "together_mib": max(together),
        "files": sample["files"],
        "mib": size / 2**20,
        "unchanged_s": statistics.median(again),
        "one_site_s": statistics.median(one),
        "fresh_s": statistics.median(fresh),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument(
        "--jobs", type=int, default=len(os.sched_getaffinity(0)),
        help="processes that render sites, as `aigrid compile --jobs` (default: its default, the CPUs)",
    )  # fmt: skip
    parser.add_argument(
        "--work", type=Path, default=Path(__file__).resolve().parent / ".data",
        help="where the grids and outputs go (e.g. a tmpfs, to leave the disk out of the figures)",
    )  # fmt: skip
    args = parser.parse_args()
    work = args.work
    print(
        f"python {platform.python_version()}, {platform.machine()}, runs per size: {args.runs} (medians), "
        f"jobs: {args.jobs}, work: {work}"
    )
    columns = (
        "sites", "files", "MiB", "compile s", "floor s", "x floor", "peak MiB", "worker peak MiB", "all MiB",
        "rerun s", "1-site s", "fresh s",
    )  # fmt: skip
    print(" | ".join(columns))
    for sites in args.sizes:
        r = measure(sites, args.runs, work, args.workloads, args.jobs)
        print(
            f"{sites} | {r['files']:.0f} | {r['mib']:.0f} | {r['compile_s']:.1f} | {r['floor_s']:.1f} | "
            f"{r['compile_s'] / r['floor_s']:.1f} | {r['peak_mib']:.0f} | {r['worker_peak_mib']:.0f} | "
            f"{r['together_mib']:.0f} | "
            f"{r['unchanged_s']:.1f} | "
            f"{r['one_site_s']:.1f} | {r['fresh_s']:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
