"""What Ansible parses to run one site: `ansible-inventory --list` on one site's inventory
(DIR/ansible/inventory/site-<site>.yml, what `aigrid bringup --site` loads) against the whole
grid's (hosts.yml), both with the compiled group and host variables, median of several runs.

    python benchmarks/inventory_scale.py [--sizes 100 1000] [--runs 3] [--workloads 50]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aigrid import layout
from aigrid.compile import compile_blueprint
from gen_grid import write_grid


def listed(inventory: Path) -> float:
    """Seconds for `ansible-inventory -i INVENTORY --list` (every host with its variables)."""
    start = time.perf_counter()
    subprocess.run(["ansible-inventory", "-i", str(inventory), "--list"], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", type=int, default=50)
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {platform.machine()}; median of {args.runs} runs")
    print(f"{'sites':>6} {'hosts':>6} {'grid s':>8} {'one site s':>11} {'ratio':>6}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="aigrid-inventory-") as work:
            blueprint = write_grid(Path(work, "grid.yaml"), size, workloads=args.workloads)
            out = Path(work, "out")
            compiled = compile_blueprint(blueprint, out)
            if compiled.plan is None:
                sys.exit(f"{blueprint} is invalid: {[d.message for d in compiled.result.errors[:3]]}")
            first = compiled.plan.sites[0].name
            grid = statistics.median(listed(out / layout.INVENTORY) for _ in range(args.runs))
            site = statistics.median(listed(out / layout.site_inventory(first)) for _ in range(args.runs))
            print(f"{size:>6} {len(compiled.plan.nodes):>6} {grid:>8.2f} {site:>11.2f} {grid / site:>5.1f}x")


if __name__ == "__main__":
    main()
