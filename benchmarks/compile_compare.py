"""Compile time of this checkout against another aigrid source tree, on the same grid, alternately.

On a shared machine the load changes from minute to minute; compiling the same grid with the
two trees one after the other, several times, in fresh processes, and writing the same files
with a plain Python loop (the write floor) in the same rounds, keeps the comparison fair.

    git archive BASE src | tar -x -C /tmp/base
    python3 benchmarks/compile_compare.py --baseline /tmp/base/src [--sizes 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from compile_scale import COMPILE, WRITE_FLOOR
from gen_grid import write_grid

SOURCE = Path(__file__).resolve().parent.parent / "src"


def timed(source: Path, code: str, *args: str) -> tuple[float, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, env=env
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return wall, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", type=Path, required=True, help="the other tree's src folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[300])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1, help="this tree's compile --jobs (the baseline's: 1)")
    args = parser.parse_args()
    work = Path(__file__).resolve().parent / ".data"
    columns = "sites files MiB baseline-s this-s floor-s baseline/floor this/floor baseline-MiB this-MiB"
    print(" | ".join(columns.split()))
    for sites in args.sizes:
        grid = write_grid(work / f"compare-{sites}" / "grid.yaml", sites, workloads=args.workloads)
        out, floor = work / f"compare-out-{sites}", work / f"compare-floor-{sites}"
        walls: dict[str, list[float]] = {"baseline": [], "this": []}
        peaks: dict[str, float] = {"baseline": 0.0, "this": 0.0}
        floors: list[float] = []
        sample: dict[str, float] = {}
        size = 0
        for _ in range(args.runs):
            for name, source in (("baseline", args.baseline), ("this", SOURCE)):
                shutil.rmtree(out, ignore_errors=True)
                jobs = str(args.jobs) if name == "this" else "1"
                wall, sample = timed(source, COMPILE, str(grid), str(out), jobs)
                walls[name].append(wall)
                peaks[name] = max(peaks[name], sample["peak_rss_mib"])
            shutil.rmtree(floor, ignore_errors=True)
            _, written = timed(SOURCE, WRITE_FLOOR, str(out), str(floor))
            floors.append(written["write_s"])
            size = int(written["bytes"])
        for folder in (out, floor):
            shutil.rmtree(folder, ignore_errors=True)
        base, this, floor_s = (statistics.median(v) for v in (walls["baseline"], walls["this"], floors))
        print(
            f"{sites} | {sample['files']:.0f} | {size / 2**20:.0f} | {base:.1f} | {this:.1f} | "
            f"{floor_s:.1f} | {base / floor_s:.1f} | {this / floor_s:.1f} | "
            f"{peaks['baseline']:.0f} | {peaks['this']:.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
