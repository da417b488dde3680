"""`aigrid lab`: an emulated edge site on this machine (up, status, start, down)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from aigrid.cli import (
    EXIT_INVALID,
    EXIT_MISUSE,
    EXIT_OK,
    AsJson,
    ExistingFile,
    err,
    fail,
    out,
    reject_invalid,
)

app: typer.Typer = typer.Typer(
    help="An emulated edge site on this machine (network namespaces, overlay root "
    "filesystems, sshd): bring-up without hardware. Needs root.",
    no_args_is_help=True,
)
LabDir = Annotated[Path, typer.Option("--dir", help="Lab directory (state, keys, host file systems).")]


@app.command("up")
def lab_up(
    file: ExistingFile,
    site: Annotated[str, typer.Option("--site", help="The blueprint site to emulate.")],
    directory: LabDir = Path("lab"),
) -> None:
    """Create one emulated host per node of SITE and write DIR/inventory.yml for aigrid bringup."""
    from aigrid.lab import lab
    from aigrid.lab.site import InvalidBlueprint, RolledBack, UnknownSite, up_from_blueprint

    try:
        state = up_from_blueprint(file, site, directory)
    except InvalidBlueprint as exc:
        reject_invalid(exc.result)
    except UnknownSite as exc:
        fail(exc, EXIT_MISUSE)
    except RolledBack as exc:
        err.print(f"aigrid: lab up failed and was rolled back: {exc}")
        raise typer.Exit(EXIT_INVALID) from exc
    for host in state.hosts:
        out.print(Text(f"{host.hostname}: [{host.address}] in netns {host.namespace}, sshd pid {host.pid}"))
    inventory = directory / lab.INVENTORY
    out.print(
        f"lab {site} is up; inventory: {inventory} "
        f"(aigrid bringup DIR --inventory {inventory} --no-hardware-checks)"
    )


@app.command("status")
def lab_status(directory: LabDir = Path("lab"), as_json: AsJson = False) -> None:
    """Show each lab host: namespace, address, whether its sshd answers."""
    from aigrid.lab import lab

    if not (directory / lab.STATE).exists():
        err.print(f"aigrid: no lab in {directory}")
        raise typer.Exit(EXIT_MISUSE)
    hosts = lab.status(directory)
    if as_json:
        sys.stdout.write(json.dumps(hosts, indent=2) + "\n")
    else:
        table = Table("host", "address", "namespace", "sshd")
        for host in hosts:
            table.add_row(
                str(host["host"]),
                str(host["address"]),
                str(host["namespace"]),
                "up" if host["sshd"] else "DOWN",
            )
        out.print(table)
    raise typer.Exit(EXIT_OK if all(h["sshd"] for h in hosts) else EXIT_INVALID)


@app.command("start")
def lab_start(
    hostname: Annotated[str, typer.Argument(help="The lab host to start again.")],
    directory: LabDir = Path("lab"),
) -> None:
    """Start one lab host again after it went down (its file system is kept)."""
    from aigrid.lab import lab

    try:
        host = lab.start_host(directory, hostname)
    except lab.LabError as exc:
        fail(exc, EXIT_INVALID)
    out.print(Text(f"{host.hostname}: up again, sshd pid {host.pid}"))


@app.command("down")
def lab_down(directory: LabDir = Path("lab")) -> None:
    """Remove every namespace, mount and process the lab made (also after a crash)."""
    from aigrid.lab import lab

    removed = lab.down(directory)
    out.print(f"lab in {directory} is down ({len(removed)} things removed)")
