"""Commands run on a GPU node: facts, verify-node, smoke."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table
from rich.text import Text

from aigrid.catalog import catalog
from aigrid.cli import (
    EXIT_INVALID,
    EXIT_MISUSE,
    EXIT_OK,
    AsJson,
    ExistingFile,
    err,
    fail,
    out,
    valid_blueprint,
)
from aigrid.diagnostics import Severity
from aigrid.facts.gather import (
    CaptureExists,
    CaptureSource,
    LiveSource,
    NoDriver,
    Recorded,
    Source,
    gather,
    save_capture,
)
from aigrid.facts.model import NodeFacts
from aigrid.facts.smoke import NoCuda, smoke
from aigrid.facts.verify import find_node, verify_node

FromDir = Annotated[
    Path | None,
    typer.Option(
        "--from",
        exists=True,
        file_okay=False,
        help="Read captured outputs from this directory instead of asking the local node.",
    ),
]
NoNvml = Annotated[bool, typer.Option("--no-nvml", help="Skip NVML; use nvidia-smi only.")]


def _source(source_dir: Path | None) -> Source:
    return CaptureSource(source_dir) if source_dir else LiveSource()


def _gather(source: Source, no_nvml: bool, capture: Path | None) -> NodeFacts:
    """`capture`: the --from folder the source reads, if any."""
    try:
        return gather(source, use_nvml=not no_nvml)
    except NoDriver as exc:
        if capture is not None:
            # A folder without the answers is not a node without a driver.
            err.print(
                f"aigrid: {capture} holds no GPU answers (nvml.json, nvidia-smi-q.xml or "
                "nvidia-smi-query.csv): name a folder that `aigrid facts --save` wrote",
                soft_wrap=True,
                highlight=False,
            )
        else:
            err.print(f"aigrid: {exc}; is this a GPU node with the NVIDIA driver loaded?")
        raise typer.Exit(EXIT_MISUSE) from exc


def facts(
    as_json: AsJson = False,
    source_dir: FromDir = None,
    no_nvml: NoNvml = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            file_okay=False,
            help="Also write the raw outputs to this new (or empty) directory, for --from elsewhere.",
        ),
    ] = None,
) -> None:
    """Print this node's GPU facts (NVML, else nvidia-smi): models, driver, CUDA, MIG, modules.

    Exit status: 0, or 2 when no NVIDIA driver answers or --save names a non-empty directory.
    """
    source = Recorded(_source(source_dir))
    node = _gather(source, no_nvml, source_dir)
    if save is not None:
        try:
            written = save_capture(source, save)
        except (CaptureExists, OSError) as exc:
            fail(exc, EXIT_MISUSE)
        err.print(f"capture written to {save}: {', '.join(written)}")
    if as_json:
        sys.stdout.write(node.model_dump_json(indent=2) + "\n")
        return
    out.print(
        Text(f"node {node.hostname} ({node.os_id} {node.os_version}, kernel {node.kernel})", style="bold")
    )
    out.print(
        f"driver {node.driver_version} ({node.kernel_modules or 'unknown'} kernel modules), "
        f"CUDA driver API {node.cuda_driver_version}, CUDA toolkit {node.cuda_toolkit or 'not installed'}"
    )
    out.print(Text(f"source: {node.source}", style="dim"))
    table = Table(
        "GPU",
        "name",
        "catalog model",
        "CC",
        "memory",
        "MIG",
        "persistence",
        Column("MIG profiles", overflow="fold"),
    )
    for gpu in node.gpus:
        profiles = ", ".join(f"{name} x{total}" for name, total in gpu.mig_profiles.items()) or "-"
        table.add_row(
            str(gpu.index),
            Text(gpu.name),
            gpu.catalog_model or "unknown",
            gpu.compute_capability or "?",
            f"{gpu.memory_mib} MiB" if gpu.memory_mib else "?",
            gpu.mig_mode or "n/a",
            {True: "on", False: "off", None: "?"}[gpu.persistence_mode],
            profiles,
        )
    out.print(table)


def verify_node_command(
    file: ExistingFile,
    node: Annotated[str, typer.Option("--node", help="The node's hostname in the blueprint.")],
    as_json: AsJson = False,
    source_dir: FromDir = None,
    no_nvml: NoNvml = False,
) -> None:
    """Compare this node's GPU facts with what the blueprint declares for NODE.

    Exit status: 0 match, 1 mismatch (or invalid blueprint), 2 no NVIDIA driver.
    """
    blueprint = valid_blueprint(file)
    if find_node(blueprint, node) is None:
        err.print(f"aigrid: no node {node!r} in {file}")
        raise typer.Exit(EXIT_MISUSE)
    observed = _gather(_source(source_dir), no_nvml, source_dir)
    mismatches = verify_node(blueprint, node, observed, catalog())
    failed = any(m.severity is Severity.ERROR for m in mismatches)
    if as_json:
        payload = {
            "node": node,
            "match": not failed,
            "mismatches": [m.to_dict() for m in mismatches],
            "facts": observed.model_dump(),
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        table = Table("code", "severity", "blueprint path", "observed", Column("message", overflow="fold"))
        for m in mismatches:
            table.add_row(
                m.code, m.severity.value, Text(m.path), Text(json.dumps(m.observed)), Text(m.message)
            )
        if mismatches:
            out.print(table)
        verdict = "does not match" if failed else "matches"
        out.print(
            Text(
                f"node {node} {verdict} {file} ({len(mismatches)} finding(s))",
                style="red" if failed else "green",
            )
        )
    raise typer.Exit(EXIT_INVALID if failed else EXIT_OK)


def smoke_command(
    method: Annotated[
        str, typer.Option(help="auto (nvcc if installed, else the driver API), nvcc or driver-api.")
    ] = "auto",
    as_json: AsJson = False,
) -> None:
    """Check that CUDA really works here: allocate, copy, run a trivial kernel, compare.

    Exit status: 0 passed, 1 failed, 2 no CUDA driver or toolkit.
    """
    if method not in ("auto", "nvcc", "driver-api"):
        err.print(f"aigrid: unknown method {method!r}; use auto, nvcc or driver-api")
        raise typer.Exit(EXIT_MISUSE)
    try:
        result = smoke(method)  # type: ignore[arg-type]
    except NoCuda as exc:
        fail(exc, EXIT_MISUSE)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        status = "passed" if result.ok else "FAILED"
        out.print(
            Text(
                f"CUDA smoke check {status} ({result.method}, {result.seconds:.2f} s): {result.detail}",
                style="green" if result.ok else "red",
            )
        )
    raise typer.Exit(EXIT_OK if result.ok else EXIT_INVALID)
