"""The placement solver against the greedy placement it replaced, on generated grids.

For each grid (N sites x 4 GPU nodes, W workloads placed by region with mixed SLOs, MIG and
demand; see gen_grid.py --contended) both placements are scheduled onto nodes the same way
(placement_compare.measure) and compared: workloads fully placed, SLO violations (demand
regions without the throughput in reach), mean latency of the running replicas, whole GPUs and
MIG instances used, and the time each took (the solver's includes building the program).

    python3 benchmarks/placement_scale.py [--sizes 100 1000 10000] [--workloads 50 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import highspy

from aigrid.catalog import catalog
from aigrid.placement import Placements
from aigrid.placement_compare import from_solution, greedy, measure
from aigrid.placement_solver import solve
from aigrid.validate import validate_file
from gen_grid import write_grid

T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--workloads", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--runs", type=int, default=1, help="time each placement this often; the median")
    args = parser.parse_args()
    data = Path(__file__).resolve().parent / ".data"
    print(f"python {platform.python_version()}, {platform.machine()}, HiGHS {highspy.Highs().version()}")
    columns = "sites workloads method placed slo-violations mean-ms gpus mig seconds groups gap"
    print("| " + " | ".join(columns.split()) + " |")
    print("|" + "---:|" * len(columns.split()))
    for sites in args.sizes:
        for workloads in args.workloads:
            path = write_grid(data / f"placement-{sites}-{workloads}.yaml", sites, 4, 8, workloads, True)
            result = validate_file(path)
            assert result.blueprint is not None
            placements = Placements(result.blueprint, catalog())
            baseline, greedy_s = _timed(greedy, placements, args.runs)
            solution, solver_s = _timed(solve, placements, args.runs)
            for method, placed, seconds, groups, gap in (
                ("greedy", baseline, greedy_s, "-", "-"),
                ("solver", from_solution(solution), solver_s, str(solution.groups), f"{solution.gap:.2%}"),
            ):
                m = measure(placements, placed)
                print(
                    f"| {sites:,} | {workloads} | {method} | {m.placed}/{m.workloads} | {m.slo_violations} | "
                    f"{m.mean_latency_ms:.2f} | {m.gpus} | {m.mig_instances} | {seconds:.2f} | {groups} "
                    f"| {gap} |",
                    flush=True,
                )


def _timed(place: Callable[[Placements], T], placements: Placements, runs: int) -> tuple[T, float]:
    """The placement and the median of `runs` timings (the same placement every run)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = place(placements)
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


if __name__ == "__main__":
    main()
