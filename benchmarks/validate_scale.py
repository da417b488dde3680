"""Validate time and peak memory for synthetic grids of 100, 1,000 and 10,000 sites.

Each measurement runs `aigrid validate` in a fresh process (so peak RSS is that run's
own) and reports the median wall time of several runs, the in-process validate time
(load + model + rules, without interpreter start-up) and the peak resident set size.

    python benchmarks/validate_scale.py [--sizes 100 1000 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gen_grid import write_grid

PROBE = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
from aigrid.validate import validate_file
imported = time.perf_counter()
result = validate_file(Path(sys.argv[1]))
done = time.perf_counter()
assert result.blueprint is not None and not result.errors, [d.message for d in result.errors[:3]]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"validate_s": done - imported, "peak_rss_mib": peak}))
"""


def measure(path: Path, runs: int) -> dict[str, float]:
    walls, validates, peaks = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True
        )
        walls.append(time.perf_counter() - start)
        sample = json.loads(proc.stdout)
        validates.append(sample["validate_s"])
        peaks.append(sample["peak_rss_mib"])
    return {
        "wall_s": statistics.median(walls),
        "validate_s": statistics.median(validates),
        "peak_rss_mib": max(peaks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--workloads", type=int, default=50)
    args = parser.parse_args()
    data = Path(__file__).resolve().parent / ".data"
    print(f"python {platform.python_version()}, {platform.machine()}, runs per size: {args.runs}")
    print(
        f"grid: N sites x ({args.nodes} GPU nodes + 1 control plane), {args.slices} slices, "
        f"{args.workloads} workloads"
    )
    header = ("sites", 7), ("nodes", 7), ("file MiB", 9), ("wall s", 8), ("validate s", 11), ("peak MiB", 9)
    print(" ".join(f"{name:>{width}}" for name, width in header) + f" {'us/site':>8}")
    for sites in args.sizes:
        path = write_grid(data / f"grid-{sites}.yaml", sites, args.nodes, args.slices, args.workloads)
        result = measure(path, args.runs)
        per_site = result["validate_s"] / sites * 1e6
        print(
            f"{sites:>7} {sites * (args.nodes + 1):>7} {path.stat().st_size / 2**20:>9.1f} "
            f"{result['wall_s']:>8.2f} {result['validate_s']:>11.2f} {result['peak_rss_mib']:>9.0f} "
            f"{per_site:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
