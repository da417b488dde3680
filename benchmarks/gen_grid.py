"""Synthetic grid generator: N sites x M GPU nodes x S slices x W workloads.

The grid layers on the shipped base stack, spreads sites over tiers and regions, gives
each site a control-plane node plus M GPU nodes (L4, L40S or H100 with MIG by tier), and
places workloads by tier and region so the capacity and latency rules have real work to
do (by tier alone, every workload of a tier would crowd onto the same closest sites).
Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

TIERS = [("far-edge", "L4", 2, 3), ("edge", "L40S", 4, 8), ("regional", "H100-SXM-80GB", 8, 18)]


def grid(sites: int, nodes: int, slices: int, workloads: int, base: str, contended: bool = False) -> str:
    out = [
        "apiVersion: aigrid.dev/v1alpha1",
        "kind: Blueprint",
        f"extends: [{base}]",
        "metadata:",
        f"  name: synthetic-{sites}",
        "stack:",
        "  gpuOperator: {migStrategy: mixed}",
        "slices:",
    ]
    for s in range(slices):
        out += [
            f"  - name: slice-{s}",
            f'    snssai: {{sst: {1 + s % 3}, sd: "{s:06X}"}}',
            f"    5qi: {(9, 7, 80)[s % 3]}",
            "    bitrate: {maximum: 100Mbps}",
            f"    vlan: {100 + s}",
            f"    ipv6: 2001:db8:{s:x}::/64",
        ]
    out.append("sites:")
    address = 0
    for i in range(sites):
        tier, model, count, rtt = TIERS[i % len(TIERS)]
        carried = ", ".join(f"slice-{s}" for s in range(slices) if (i + s) % 2 == 0 or s == 0)
        out += [
            f"  - name: site-{i:05d}",
            f"    tier: {tier}",
            f"    region: region-{i % 20}",
            f"    rtt: {rtt + ((i // 60) % 4 if contended else 0)}ms",
            f"    slices: [{carried}]",
            "    network: {sliceInterface: eth1}",
            "    nodes:",
            f"      - hostname: site-{i:05d}-cp",
            "        role: control-plane",
            f"        address: 2001:db8:ffff::{address:x}",
        ]
        address += 1
        for j in range(nodes):
            mig = ", mig: {layout: all-balanced}" if tier == "regional" and j % 2 == 0 else ""
            out += [
                f"      - hostname: site-{i:05d}-gpu{j:02d}",
                f"        address: 2001:db8:ffff::{address:x}",
                f"        gpus: {{model: {model}, count: {count}{mig}}}",
            ]
            address += 1
    out.append("workloads:")
    if contended:
        return "\n".join(out + _contended_workloads(workloads)) + "\n"
    for w in range(workloads):
        tier = TIERS[w % len(TIERS)][0]
        gpu = "{mig: 1g.10gb}" if tier == "regional" else "{count: 1}"
        out += [
            f"  - name: workload-{w}",
            "    runtime: triton",
            f"    model: {{name: model-{w}}}",
            f"    gpu: {gpu}",
            f"    replicas: {1 + w % 4}",
            "    latency: {slo: 400ms, inference: 20ms}",
            "    slice: slice-0",
            f"    placement: {{tiers: [{tier}], regions: [region-{w % 20}]}}",
        ]
    return "\n".join(out) + "\n"


def _contended_workloads(workloads: int) -> list[str]:
    """Workloads placed by region alone, so every tier of a region competes for the closest
    sites: a third with a tight SLO (only far-edge sites reach it), every fifth on MIG, every
    fourth sized by demand from its region."""
    out = []
    for w in range(workloads):
        slo = "12ms" if w % 3 == 0 else "40ms"
        gpu = "{mig: 1g.10gb}" if w % 5 == 4 else "{count: 1}"
        out += [
            f"  - name: workload-{w}",
            "    runtime: triton",
            f"    model: {{name: model-{w}}}",
            f"    gpu: {gpu}",
            f"    replicas: {1 + w % 4}",
            f"    latency: {{slo: {slo if gpu == '{count: 1}' else '40ms'}, inference: 6ms}}",
            "    slice: slice-0",
            f"    placement: {{regions: [region-{w % 20}]}}",
        ]
        if w % 4 == 3:
            source = f"{{region: region-{w % 20}, rate: {120 + 10 * (w % 7)}}}"
            out.append(f"    demand: {{perReplica: 50, sources: [{source}]}}")
    return out


def write_grid(
    path: Path, sites: int, nodes: int = 4, slices: int = 8, workloads: int = 50, contended: bool = False
) -> Path:
    """The grid and, beside it, a copy of the base stack it extends (`extends` stays in its folder).

    `contended`: workloads placed by region only, with mixed SLOs and demand (the placement
    benchmark); otherwise by tier and region with loose SLOs (the validate benchmark)."""
    base = Path(__file__).resolve().parent.parent / "blueprints" / "base" / "stack.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base, path.parent / "base-stack.yaml")
    path.write_text(grid(sites, nodes, slices, workloads, "base-stack.yaml", contended), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sites", type=int)
    parser.add_argument("--nodes", type=int, default=4, help="GPU nodes per site (plus one control plane)")
    parser.add_argument("--slices", type=int, default=8)
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument("--contended", action="store_true", help="the placement benchmark's workloads")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    write_grid(args.out, args.sites, args.nodes, args.slices, args.workloads, args.contended)


if __name__ == "__main__":
    main()
