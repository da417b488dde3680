"""Converge of the emulated lab site: the first bring-up of fresh hosts and a rerun on the
converged ones (which must change nothing), each round in a lab of its own, with the settings of
the compiled ansible.cfg. The rerun is measured against the first converge of the same round
(ratio); the emulated reboot's wait (the GPU nodes' `ansible.builtin.reboot`) is shown and left
out of the "first" figure. Needs root, socat and the lab's Debian base (docs/lab.md).

    python benchmarks/converge_lab.py [--runs 3] [--limit HOSTS] [--profile 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aigrid import bringup
from aigrid.lab import lab
from aigrid.lab import site as lab_site

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINT = ROOT / "blueprints" / "examples" / "lab-edge-site.yaml"
SITE = "lab-edge-01"
REBOOT_ACTIONS = {"reboot", "ansible.builtin.reboot"}


@dataclass
class Converge:
    """One `aigrid bringup` of the lab: its wall time and when each task ran on each host."""

    seconds: float
    outcome: bringup.Outcome
    # (role : task) -> [(start, end)] per host, in seconds since the epoch.
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    reboot_spans: list[tuple[float, float]] = field(default_factory=list)

    @property
    def reboot_wait(self) -> float:
        """Wall seconds in which some host was inside its reboot (hosts reboot in parallel)."""
        return covered(self.reboot_spans)

    @property
    def hosts(self) -> int:
        return len(self.outcome.hosts)


def covered(spans: list[tuple[float, float]]) -> float:
    """The length of the union of the intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def converge(out: Path, labdir: Path, limit: str | None) -> Converge:
    """`aigrid bringup OUT --inventory LAB/inventory.yml --no-hardware-checks`, in-process."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    reboots: list[tuple[float, float]] = []

    def record(event: dict[str, Any]) -> None:
        if bringup.task_result(event) is None:
            return
        data = event["event_data"]
        if not (data.get("start") and data.get("end")):
            return
        span = (_stamp(data["start"]), _stamp(data["end"]))
        role = data.get("role")
        spans[f"{role} : {data.get('task', '')}" if role else str(data.get("task", ""))].append(span)
        if data.get("task_action") in REBOOT_ACTIONS and (data.get("res") or {}).get("changed"):
            reboots.append(span)

    start = time.perf_counter()
    outcome = bringup.run(
        out,
        limit=limit,
        inventories=[labdir / lab.INVENTORY],
        extravars={"aigrid_hardware_checks": False},
        on_raw_event=record,
    )
    seconds = time.perf_counter() - start
    if outcome.rc != 0:
        sys.exit(f"bring-up failed ({outcome.status}): {outcome.messages}")
    return Converge(seconds, outcome, dict(spans), reboots)


def aigrid(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "aigrid", *args], check=True, capture_output=True, text=True)


def one_round(limit: str | None) -> tuple[Converge, Converge]:
    with tempfile.TemporaryDirectory(prefix="aigrid-converge-") as work:
        out, labdir = Path(work, "out"), Path(work, "lab")
        aigrid("compile", str(BLUEPRINT), "--out", str(out))
        lab_site.up_from_blueprint(BLUEPRINT, SITE, labdir)
        try:
            first = converge(out, labdir, limit)
            rerun = converge(out, labdir, limit)
        finally:
            aigrid("lab", "down", "--dir", str(labdir))
    if rerun.outcome.changed:
        sys.exit(f"the rerun changed {rerun.outcome.changed} things: not converged")
    return first, rerun


def profile(run: Converge, top: int) -> None:
    """The tasks that took the most wall time (first start to last end over the hosts)."""
    walls = sorted(((covered(s), len(s), task) for task, s in run.spans.items()), reverse=True)
    print(f"  {len(walls)} tasks, {sum(len(s) for s in run.spans.values())} task results; slowest:")
    for wall, hosts, task in walls[:top]:
        print(f"  {wall:7.2f} s  {hosts} hosts  {task}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds, each in a fresh lab")
    parser.add_argument("--limit", help="converge only these hosts (Ansible --limit)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="show the N slowest tasks")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {platform.machine()}; {BLUEPRINT.name}, site {SITE}")
    header = f"{'round':>5} {'hosts':>5} {'first s':>8} {'reboot s':>9} {'first-reboot s':>15}"
    print(f"{header} {'rerun s':>8} {'rerun/first':>12}")
    firsts, reruns, ratios = [], [], []
    for number in range(1, args.runs + 1):
        first, rerun = one_round(args.limit)
        net = first.seconds - first.reboot_wait
        firsts.append(net)
        reruns.append(rerun.seconds)
        ratios.append(rerun.seconds / net)
        print(
            f"{number:>5} {first.hosts:>5} {first.seconds:>8.1f} {first.reboot_wait:>9.1f} {net:>15.1f} "
            f"{rerun.seconds:>8.1f} {ratios[-1]:>11.0%}",
            flush=True,
        )
        if args.profile:
            print(" first converge:")
            profile(first, args.profile)
            print(" rerun:")
            profile(rerun, args.profile)
    print(
        f"median first (reboot wait excluded) {statistics.median(firsts):.1f} s, "
        f"rerun {statistics.median(reruns):.1f} s, rerun/first {statistics.median(ratios):.0%}"
    )


if __name__ == "__main__":
    main()
