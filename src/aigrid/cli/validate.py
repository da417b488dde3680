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
from aigrid.cli import (
    EXIT_INVALID,
    EXIT_MISUSE,
    EXIT_OK,
    AsJson,
    ExistingFile,
    RootOption,
    check_output,
    err,
    fail,
    out,
    write_output,
)
from aigrid.diagnostics import LoadError
from aigrid.explain import UnknownPath, explain
from aigrid.inputs import STDIN, InputError, expand
from aigrid.load.layers import load_document
from aigrid.load.paths import PathSyntaxError
from aigrid.load.yamlsrc import MAX_FILE_BYTES
from aigrid.model.blueprint import json_schema
from aigrid.model.layer_schema import layer_json_schema
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
        list[str],
        typer.Argument(
            metavar="FILE|DIR|-",
            help="Blueprint files to validate (each resolved with its extends); a folder stands for "
            "the blueprints under it that no other file there extends (its layers are checked "
            "through them); - reads one blueprint from standard input (named <stdin>, its extends "
            "relative to the working directory).",
            show_default=False,
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
    Exit status: 0 valid (warnings allowed unless --strict), 1 invalid, 2 misuse (a path that
    does not exist, a folder without blueprints, an --output that cannot be written).
    """
    try:
        waivers = Waivers(
            ignore=parse_codes(ignore or [], "--ignore", warnings_only=True),
            select=parse_codes(select or [], "--select", warnings_only=False),
        )
        paths = expand(files)
    except (WaiverError, InputError) as exc:
        fail(exc, EXIT_MISUSE)
    if base is not None and fmt is not Format.sarif:
        fail(ValueError("--base applies to --format sarif only"), EXIT_MISUSE)
    check_output(output)
    results = [
        validate_file(Path(STDIN), root, waivers, _read_stdin())
        if path is None
        else validate_file(path, root, waivers)
        for path in paths
    ]
    if fmt is Format.text and output is None:
        render_text(results, out, strict)
    else:
        text = {
            Format.json: lambda: render_json(results, strict),
            Format.sarif: lambda: render_sarif(results, base or sarif_base(Path(files[0]))),
            Format.junit: lambda: render_junit(results, strict),
            Format.text: lambda: _text_report(results, strict),
        }[fmt]()
        text = text if text.endswith("\n") else text + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            write_output(output, text)
    raise typer.Exit(EXIT_OK if all(r.valid(strict) for r in results) else EXIT_INVALID)


def _read_stdin() -> bytes:
    """Standard input, at most one byte past the size limit (the loader refuses more)."""
    return sys.stdin.buffer.read(MAX_FILE_BYTES + 1)


def _text_report(results: list[Result], strict: bool) -> str:
    # As printed to a terminal (the `out` console): a record is never broken over lines.
    console = Console(
        record=True, width=120, file=io.StringIO(), color_system=None, highlight=False, soft_wrap=True
    )
    render_text(results, console, strict)
    return console.export_text()


def explain_command(
    file: ExistingFile,
    path: Annotated[
        str,
        typer.Argument(
            help="A blueprint path: keys joined by dots, list items by name (or index) in brackets, "
            "e.g. stack.driver.version or 'sites\\[NAME].nodes\\[HOST].gpus'.",
        ),
    ],
    as_json: AsJson = False,
) -> None:
    try:
        document = load_document(file)
        explanation = explain(document, path)
    except LoadError as exc:
        for d in exc.diagnostics:
            err.print(Text(f"{d.file}:{d.line}:{d.column}: error {d.code}: {d.message} (hint: {d.hint})"))
        raise typer.Exit(EXIT_INVALID) from exc
    except PathSyntaxError as exc:
        err.print(
            Text(f"error: {exc}; write a path such as stack.driver.version or sites[NAME].nodes[HOST].gpus")
        )
        raise typer.Exit(EXIT_MISUSE) from exc
    except UnknownPath as exc:
        err.print(Text(f"error: nothing is set at {path} in {file} (after layering){_alternatives(exc)}"))
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


# The help's example, a command that works as shown (brackets escaped for rich's markup); one
# line, so that a wide terminal shows it whole.
EXPLAIN_EXAMPLE = (
    "aigrid explain blueprints/examples/multi-carrier-grid.yaml "
    "'sites\\[nw-nwk-co-01].nodes\\[nw-nwk-co-01-gpu01].gpus'"
)
explain_command.__doc__ = f"""Show the resolved value at PATH and the files:lines that set it, base to leaf.

    Example: {EXPLAIN_EXAMPLE}

    A path that is not set gets the paths that are, close to it ("did you mean").
    It reads the layered YAML without validating it, so that a value a check refuses can be traced
    to the file that set it; `aigrid validate` checks it.
    Exit status: 0 shown, 1 nothing set at PATH (or a file that cannot be read or layered), 2 a
    malformed PATH.
    """


def _alternatives(unknown: UnknownPath) -> str:
    if unknown.suggestions:
        return f"; did you mean {' or '.join(unknown.suggestions)}?"
    if not unknown.available:
        return f"; {unknown.known} has nothing below it"
    shown = ", ".join(unknown.available[:12]) + (", ..." if len(unknown.available) > 12 else "")
    return f"; {f'under {unknown.known} ' if unknown.known else ''}the blueprint sets {shown}"


def _inline(value: object) -> str:
    text = yaml.safe_dump(
        json.loads(json.dumps(value)), default_flow_style=True, sort_keys=False, width=10_000
    )
    return text.strip().removesuffix("...").strip()


def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the schema to this file.")
    ] = None,
    layer: Annotated[
        bool,
        typer.Option(
            "--layer",
            help="The schema of a layer file (one that extends or is extended): every field "
            "optional, `$patch` allowed.",
        ),
    ] = False,
) -> None:
    """Print the blueprint JSON Schema (generated from the models), for editors and CI.

    Without --layer: the resolved blueprint (schema/blueprint.schema.json); with it: a file as
    written before layering (schema/blueprint-layer.schema.json).
    """
    check_output(output)
    text = json.dumps(layer_json_schema() if layer else json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_output(output, text)


def rules(
    as_markdown: Annotated[bool, typer.Option("--markdown", help="The rule reference as Markdown.")] = False,
    as_json: AsJson = False,
) -> None:
    """List the validation rules with their codes, severities and titles.

    --json: {"rules": [{"code", "name", "severity", "group", "title", "doc"}]}, in code order.
    """
    if as_markdown and as_json:
        fail(ValueError("--markdown and --json are two formats; choose one"), EXIT_MISUSE)
    if as_markdown:
        from aigrid.docs import rules_markdown

        sys.stdout.write(rules_markdown())
        return
    if as_json:
        listed = [
            {
                "code": str(rule.code),
                "name": rule.name,
                "severity": rule.severity.value,
                "group": rule.group,
                "title": rule.title,
                "doc": rule.doc,
            }
            for rule in all_rules()
        ]
        sys.stdout.write(json.dumps({"rules": listed}, indent=2) + "\n")
        return
    table = Table("code", "name", "severity", "group", "title")
    for rule in all_rules():
        table.add_row(rule.code, rule.name, rule.severity.value, rule.group, rule.title)
    out.print(table)


def catalog_command(as_json: AsJson = False) -> None:
    """List the GPU models the catalog knows, with their MIG support and requirements.

    --json: {"gpus": [...]}, each GPU with every catalog field (model, architecture,
    compute_capability, memory_gib, form_factor, open_kernel_modules_required, min_driver,
    product_names, pci_device_ids, source, ...) and mig_profiles, the names of its MIG profiles.
    """
    if as_json:
        gpus = [
            {
                **gpu.model_dump(mode="json"),
                "mig_profiles": list(family.profiles) if (family := catalog().mig_family(gpu)) else [],
            }
            for gpu in catalog().gpus.values()
        ]
        sys.stdout.write(json.dumps({"gpus": gpus}, indent=2) + "\n")
        return
    models = list(catalog().gpus.values())
    # The model is what a blueprint must spell exactly: never cut, the other columns give way.
    widest = max(len(gpu.model) for gpu in models)
    families = {gpu.model: catalog().mig_family(gpu) for gpu in models}
    profiles = [profile for family in families.values() if family for profile in family.profiles]
    longest_profile = max((len(profile) for profile in profiles), default=1)
    table = Table(
        Column("model", no_wrap=True, min_width=widest),
        "architecture",
        "CC",
        "memory",
        "open modules",
        "min driver",
        # Wrapped between profiles, not inside one (each is a name to copy into a blueprint).
        Column("MIG profiles", min_width=longest_profile + 1),
    )
    for gpu in models:
        family = families[gpu.model]
        mig = ", ".join(family.profiles) if family else "-"
        table.add_row(
            gpu.model,
            gpu.architecture,
            gpu.compute_capability,
            f"{gpu.memory_gib} GiB",
            "required" if gpu.open_kernel_modules_required else "-",
            gpu.min_driver or "-",
            mig,
        )
    out.print(table)
