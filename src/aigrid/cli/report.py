"""`aigrid report`: the grid's placement, GPU use, latency against the cloud and N-1, for people."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aigrid.catalog import catalog
from aigrid.cli import ExistingFile, RootOption, check_output, reject_invalid, write_output
from aigrid.validate import validate_file


class ReportFormat(StrEnum):
    html = "html"
    json = "json"


def report_command(
    file: ExistingFile,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (default: standard output).")
    ] = None,
    format: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="html: one self-contained page; json: the same numbers."),
    ] = ReportFormat.html,
    root: RootOption = None,
) -> None:
    """Report on a grid: sites on a map, GPU and MIG use per site, each workload's latency budget
    against its SLO and a cloud region, what the loss of each site breaks (N-1), and the
    validation findings.

    The HTML page needs nothing from the network. Findings do not stop the report (they are in
    it); a blueprint that cannot be read at all does. Exit status: 0 written, 1 unreadable
    blueprint, 2 misuse.
    """
    check_output(output)
    result = validate_file(file, root)
    if result.blueprint is None:
        reject_invalid(result, f"{file} cannot be read as a blueprint; no report was written")
    # Altair and the Vega libraries take a good part of a second to import, and only this
    # command needs them.
    from aigrid.grid_report import render_html, report_data

    data = report_data(result.blueprint, catalog(), result.diagnostics)
    text = (
        render_html(data)
        if format is ReportFormat.html
        else json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    if output is None:
        sys.stdout.write(text)
    else:
        write_output(output, text)
