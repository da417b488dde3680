"""Commands about blueprints and what aigrid knows: validate, explain, schema, rules, catalog."""

from __future__ import annotations

import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from aigrid.catalog import catalog
from aigrid.cli import EXIT_INVALID, EXIT_MISUSE, EXIT_OK, AsJson, ExistingFile, RootOption, err, fail, out
from aigrid.diagnostics import LoadError
from aigrid.explain import UnknownPath, explain
from aigrid.load.layers import load_document
from aigrid.load.paths import PathSyntaxError
from aigrid.model.blueprint import json_schema
from aigrid.report import render_json, render_junit, render_sarif, render_text, sarif_base
from aigrid.rules.registry import all_rules
from aigrid.suppress import WaiverError, Waivers, parse_codes
from aigrid.validate import Result, validate_file


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"


def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Blueprint files to validate (each resolved with its extends).",
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as failures.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    root: RootOption = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="Waive these warnings: codes or prefixes, e.g. AG402 or AG4."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Report only these warnings: codes or prefixes (errors always)."),
    ] = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base",
            exists=True,
            file_okay=False,
            help="SARIF only: file URIs are relative to DIR, %SRCROOT% (default: the git repository "
            "holding the first file, else the current directory); files outside it get absolute URIs.",
        ),
    ] = None,
) -> None:
    """Check blueprints: schema, version compatibility, network, capacity, latency, secrets.

    Warnings can be waived with --ignore/--select or a `# aigrid: ignore[CODE] reason` comment;
    waived findings stay in the JSON and SARIF reports as suppressed. Errors cannot be waived.
    Exit status: 0 valid (warnings allowed unless --strict), 1 invalid, 2 misuse.
    """
    try:
        waivers = Waivers(
            ignore=parse_codes(ignore or [], "--ignore", warnings_only=True),
            select=parse_codes(select or [], "--select", warnings_only=False),
        )
    except WaiverError as exc:
        fail(exc, EXIT_MISUSE)
    if base is not None and fmt is not Format.sarif:
        fail(ValueError("--base applies to --format sarif only"), EXIT_MISUSE)
    results = [validate_file(path, root, waivers) for path in files]
    if fmt is Format.text and output is None:
        render_text(results, out, strict)
    else:
        text = {
            Format.json: lambda: render_json(results, strict),
            Format.sarif: lambda: render_sarif(results, base or sarif_base(files[0])),
            Format.junit: lambda: render_junit(results, strict),
            Format.text: lambda: _text_report(results, strict),
        }[fmt]()
        if output is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    raise typer.Exit(EXIT_OK if all(r.valid(strict) for r in results) else EXIT_INVALID)


def _text_report(results: list[Result], strict: bool) -> str:
    console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
    render_text(results, console, strict)
    return console.export_text()


def explain_command(
    file: ExistingFile,
    path: Annotated[
        str,
        typer.Argument(
            help="A blueprint path, e.g. stack.driver.version or 'sites[nyc-fe-01].nodes[gpu01].gpus'."
        ),
    ],
    as_json: AsJson = False,
) -> None:
    """Show the resolved value at PATH and the chain of files:lines that set it, base to leaf."""
    try:
        document = load_document(file)
        explanation = explain(document, path)
    except LoadError as exc:
        for d in exc.diagnostics:
            err.print(f"{d.file}:{d.line}:{d.column}: error {d.code}: {d.message} (hint: {d.hint})")
        raise typer.Exit(EXIT_INVALID) from exc
    except PathSyntaxError as exc:
        err.print(f"error: {exc}; write a path such as stack.driver.version or sites[NAME].nodes[HOST].gpus")
        raise typer.Exit(EXIT_MISUSE) from exc
    except UnknownPath as exc:
        err.print(f"error: nothing is set at {path} in {file} (after layering)")
        raise typer.Exit(EXIT_INVALID) from exc
    if as_json:
        sys.stdout.write(json.dumps(explanation.to_dict(), indent=2) + "\n")
        return
    out.print(Text.assemble((path, "bold"), " = ", _inline(explanation.value)))
    count = len(explanation.layers)
    out.print(f"set by {count} layer{'s' if count != 1 else ''}, base to leaf:")
    for number, layer in enumerate(explanation.layers, 1):
        winner = " (resolved)" if number == count else ""
        out.print(
            Text(f"  {number}. {layer.origin.file}:{layer.origin.line}{winner}: {_inline(layer.value)}")
        )


def _inline(value: object) -> str:
    text = yaml.safe_dump(
        json.loads(json.dumps(value)), default_flow_style=True, sort_keys=False, width=10_000
    )
    return text.strip().removesuffix("...").strip()


def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the schema to this file.")
    ] = None,
) -> None:
    """Print the blueprint JSON Schema (generated from the models), for editors and CI."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def rules(
    as_markdown: Annotated[bool, typer.Option("--markdown", help="The rule reference as Markdown.")] = False,
) -> None:
    """List the validation rules with their codes, severities and titles."""
    if as_markdown:
        from aigrid.docs import rules_markdown

        sys.stdout.write(rules_markdown())
        return
    table = Table("code", "name", "severity", "group", "title")
    for rule in all_rules():
        table.add_row(rule.code, rule.name, rule.severity.value, rule.group, rule.title)
    out.print(table)


def catalog_command() -> None:
    """List the GPU models the catalog knows, with their MIG support and requirements."""
    table = Table(
        "model",
        "architecture",
        "CC",
        "memory",
        "open modules",
        "min driver",
        Column("MIG profiles", overflow="fold"),
    )
    for gpu in catalog().gpus.values():
        family = catalog().mig_family(gpu)
        mig = ", ".join(family.profiles) if family else "-"
        table.add_row(
            Text(gpu.model, no_wrap=True),
            gpu.architecture,
            gpu.compute_capability,
            f"{gpu.memory_gib} GiB",
            "required" if gpu.open_kernel_modules_required else "-",
            gpu.min_driver or "-",
            mig,
        )
    out.print(table)
