"""Validate time and peak memory for synthetic grids of 100, 1,000 and 10,000 sites.

Each measurement runs `aigrid validate` in a fresh process (so peak RSS is that run's
own) and reports the median wall time of several runs, its CPU time (user + system: on a
shared machine it varies less than the wall time), the in-process validate time (load +
model + rules, without interpreter start-up) and the peak resident set size.

In the same rounds it measures the reference, the **event floor**: libyaml's event stream
for the same file through PyYAML's bindings with no work done per event, the least any
loader built on them can take (also a fresh process, the same parts measured). With
`--baseline SRC` it also validates the grid with another aigrid source tree, alternately.

    python benchmarks/validate_scale.py [--sizes 100 1000 10000] [--runs 5] [--baseline /tmp/base/src]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gen_grid import write_grid

SOURCE = Path(__file__).resolve().parent.parent / "src"
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
EVENT_FLOOR = """
import json, resource, sys, time
from pathlib import Path
import yaml
start = time.perf_counter()
parser = yaml.CSafeLoader(Path(sys.argv[1]).read_text(encoding="utf-8"))
while parser.get_event() is not None:
    pass
done = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"validate_s": done - start, "peak_rss_mib": peak}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(source: Path, code: str, path: Path) -> dict[str, float]:
    """One fresh process: its wall and CPU time, and what it measured of itself."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False, env=env
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return {"wall_s": wall, "cpu_s": _children_cpu() - cpu, **json.loads(proc.stdout)}


def summary(samples: list[dict[str, float]]) -> dict[str, float]:
    """Medians of the times, the largest peak."""
    medians = {key: statistics.median(s[key] for s in samples) for key in ("wall_s", "cpu_s", "validate_s")}
    return {**medians, "peak_rss_mib": max(s["peak_rss_mib"] for s in samples)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument(
        "--baseline", type=Path, help="another aigrid tree's src folder, validated alternately"
    )
    args = parser.parse_args()
    data = Path(__file__).resolve().parent / ".data"
    print(f"python {platform.python_version()}, {platform.machine()}, runs per size: {args.runs}")
    print(
        f"grid: N sites x ({args.nodes} GPU nodes + 1 control plane), {args.slices} slices, "
        f"{args.workloads} workloads; floor: libyaml events of the same file, no work per event"
    )
    header = ["sites", "nodes", "file MiB", "wall s", "cpu s", "validate s", "peak MiB", "us/site"]
    header += ["floor s", "validate/floor"]
    if args.baseline:
        header += ["base wall s", "base cpu s", "base validate s", "base peak MiB", "cpu this/base"]
    print(" | ".join(header))
    for sites in args.sizes:
        path = write_grid(data / f"grid-{sites}.yaml", sites, args.nodes, args.slices, args.workloads)
        trees = {"this": SOURCE, **({"base": args.baseline} if args.baseline else {})}
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in (*trees, "floor")}
        for _ in range(args.runs):
            for name, source in trees.items():
                samples[name].append(run_once(source, PROBE, path))
            samples["floor"].append(run_once(SOURCE, EVENT_FLOOR, path))
        this, floor = summary(samples["this"]), summary(samples["floor"])
        row = [
            f"{sites:>6}",
            str(sites * (args.nodes + 1)),
            f"{path.stat().st_size / 2**20:.1f}",
            f"{this['wall_s']:.2f}",
            f"{this['cpu_s']:.2f}",
            f"{this['validate_s']:.2f}",
            f"{this['peak_rss_mib']:.0f}",
            f"{this['validate_s'] / sites * 1e6:.0f}",
            f"{floor['validate_s']:.2f}",
            f"{this['validate_s'] / floor['validate_s']:.1f}x",
        ]
        if args.baseline:
            base = summary(samples["base"])
            row += [
                f"{base['wall_s']:.2f}",
                f"{base['cpu_s']:.2f}",
                f"{base['validate_s']:.2f}",
                f"{base['peak_rss_mib']:.0f}",
                f"{this['cpu_s'] / base['cpu_s']:.2f}",
            ]
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
