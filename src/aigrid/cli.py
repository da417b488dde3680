"""The `aigrid` command line."""

from __future__ import annotations

import io
import json
import shutil
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from aigrid import __version__, layout
from aigrid.bringup import BringupError, HostState, Outcome
from aigrid.bringup import run as run_bringup
from aigrid.catalog import catalog
from aigrid.compile import compile_blueprint
from aigrid.diagnostics import LoadError, Severity
from aigrid.explain import UnknownPath, explain
from aigrid.facts.gather import CaptureSource, LiveSource, NoDriver, Source, gather
from aigrid.facts.model import NodeFacts
from aigrid.facts.smoke import NoCuda, smoke
from aigrid.facts.verify import find_node, verify_node
from aigrid.load.layers import load_document
from aigrid.load.paths import PathSyntaxError
from aigrid.model.blueprint import json_schema
from aigrid.output import OutputError
from aigrid.plan import build_plan
from aigrid.report import render_json, render_junit, render_sarif, render_text
from aigrid.rules.registry import all_rules
from aigrid.suppress import WaiverError, Waivers, parse_codes
from aigrid.validate import Result, validate_file

EXIT_OK, EXIT_INVALID, EXIT_MISUSE = 0, 1, 2

app = typer.Typer(
    name="aigrid",
    help="Declarative blueprints for carrier GPU AI grids: validate them, explain where values come from, "
    "and (soon) compile them into Ansible, Pulumi and Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}


class Format(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"


def _version(value: bool) -> None:
    if value:
        out.print(f"aigrid {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show Python tracebacks for internal errors.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug


ExistingFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A blueprint YAML file.")
]
RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        exists=True,
        file_okay=False,
        help="Folder that `extends` may not leave (default: the blueprint's git repository, else its "
        "folder).",
    ),
]


@app.command()
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
        err.print(f"aigrid: {exc}")
        raise typer.Exit(EXIT_MISUSE) from exc
    results = [validate_file(path, root, waivers) for path in files]
    if fmt is Format.text and output is None:
        render_text(results, out, strict)
    else:
        text = {
            Format.json: lambda: render_json(results, strict),
            Format.sarif: lambda: render_sarif(results),
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


@app.command("compile")
def compile_command(
    file: ExistingFile,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory (replaced as a whole).")],
    root: RootOption = None,
) -> None:
    """Compile a blueprint into Ansible (inventory, group/host vars, site.yml, roles) and a lock file.

    Validates first and writes nothing when the blueprint is invalid. The output directory is
    replaced atomically: a failed or interrupted compile leaves the previous output untouched.
    Exit status: 0 written, 1 invalid blueprint, 2 misuse (e.g. an output directory aigrid did not make).
    """
    try:
        compiled = compile_blueprint(file, out_dir, root)
    except OutputError as exc:
        err.print(f"aigrid: {exc}")
        raise typer.Exit(EXIT_MISUSE) from exc
    if compiled.plan is None:
        render_text([compiled.result], err)
        err.print(f"aigrid: {file} is invalid; nothing was written to {out_dir}")
        raise typer.Exit(EXIT_INVALID)
    if compiled.result.diagnostics:
        render_text([compiled.result], err)
    plan = compiled.plan
    out.print(
        f"compiled {file} -> {out_dir}: {len(plan.sites)} sites, {len(plan.nodes)} nodes, "
        f"{compiled.files} files ({', '.join(layout.TOP_LEVEL)})"
    )


@app.command()
def bringup(
    directory: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="A directory aigrid compile wrote.")
    ],
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change.")] = False,
    limit: Annotated[
        str | None, typer.Option("--limit", help="Only these hosts or groups (e.g. site_nw_nyc_fe_01).")
    ] = None,
    inventory: Annotated[
        list[Path] | None,
        typer.Option(
            "--inventory", "-i", exists=True, help="Extra inventory applied after the compiled one."
        ),
    ] = None,
    no_hardware_checks: Annotated[
        bool,
        typer.Option(
            "--no-hardware-checks",
            help="Skip GPU, nouveau, Secure Boot and header checks (hosts without GPUs).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Run the compiled playbook against the inventory, with live per-host progress and a summary.

    Exit status: 0 all hosts converged, 1 a host failed or was unreachable, 2 misuse.
    """
    extravars: dict[str, object] = {"aigrid_hardware_checks": False} if no_hardware_checks else {}
    if no_hardware_checks and not as_json:
        err.print(
            Text(
                "hardware checks are OFF (--no-hardware-checks): GPUs, nouveau, Secure Boot and kernel "
                "headers will not be checked",
                style="yellow",
            )
        )
    try:
        outcome = _run_bringup(directory, check, limit, inventory or [], extravars, live=not as_json)
    except BringupError as exc:
        err.print(f"aigrid: {exc}")
        raise typer.Exit(EXIT_MISUSE) from exc
    if as_json:
        payload = {
            "rc": outcome.rc,
            "status": outcome.status,
            "check": check,
            "hosts": outcome.hosts,
            "failed_hosts": outcome.failed_hosts,
            "messages": outcome.messages,
            "hardware_checks": not no_hardware_checks,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        table = Table("host", "ok", "changed", "failed", "unreachable", "skipped", title="bring-up summary")
        for host, counts in outcome.hosts.items():
            style = (
                "red"
                if counts["failed"] or counts["unreachable"]
                else ("yellow" if counts["changed"] else "green")
            )
            table.add_row(
                Text(host, style=style),
                *(str(counts[k]) for k in ("ok", "changed", "failed", "unreachable", "skipped")),
            )
        out.print(table)
        for host, messages in outcome.messages.items():
            for message in messages:
                out.print(Text(f"{host}: {message}", style="red"))
    raise typer.Exit(EXIT_INVALID if outcome.failed_hosts or outcome.rc != 0 else EXIT_OK)


def _run_bringup(
    directory: Path,
    check: bool,
    limit: str | None,
    inventory: list[Path],
    extravars: dict[str, object],
    live: bool,
) -> Outcome:
    if not live or not out.is_terminal:
        return run_bringup(directory, check, limit, inventory, extravars)

    def table(states: dict[str, HostState]) -> Table:
        view = Table("host", "current task", "ok", "changed", "failed")
        for host, state in sorted(states.items()):
            view.add_row(host, Text(state.task), str(state.ok), str(state.changed), str(state.failed))
        return view

    with Live(table({}), console=out, refresh_per_second=4) as display:
        return run_bringup(
            directory,
            check,
            limit,
            inventory,
            extravars,
            on_event=lambda states: display.update(table(states)),
        )


PULUMI_MISSING = (
    "the Pulumi CLI is not installed (see https://www.pulumi.com/docs/install/); the equivalent once it is: "
    "cd {project} && pulumi {verb} -s {stack}"
)


def _pulumi(verb: str, directory: Path, stack: str) -> None:
    project = directory / layout.PULUMI
    if not (directory / layout.stack_config(stack)).is_file():
        err.print(
            f"aigrid: {project} has no stack {stack}; compile the blueprint first (stacks are named by site)"
        )
        raise typer.Exit(EXIT_MISUSE)
    if shutil.which("pulumi") is None:
        err.print(f"aigrid: {PULUMI_MISSING.format(project=project, verb=verb, stack=stack)}")
        raise typer.Exit(EXIT_MISUSE)
    from pulumi import automation

    selected = automation.select_stack(stack_name=stack, work_dir=str(project))
    if verb == "preview":
        result = selected.preview(on_output=out.print)
        out.print(f"preview of {stack}: {result.change_summary}")
    else:
        up = selected.up(on_output=out.print)
        out.print(f"up {stack}: {up.summary.result}, {up.summary.resource_changes}")


StackOption = Annotated[str, typer.Option("--stack", "-s", help="The site whose stack to run.")]
CompiledDir = Annotated[
    Path, typer.Argument(exists=True, file_okay=False, help="A directory aigrid compile wrote.")
]


@app.command()
def preview(directory: CompiledDir, stack: StackOption) -> None:
    """Pulumi preview of one site's stack (needs the Pulumi CLI; exit 2 without it)."""
    _pulumi("preview", directory, stack)


@app.command()
def up(directory: CompiledDir, stack: StackOption) -> None:
    """Pulumi up of one site's stack (needs the Pulumi CLI; exit 2 without it)."""
    _pulumi("up", directory, stack)


@app.command("verify")
def verify_command(
    directory: CompiledDir,
    site: Annotated[str | None, typer.Option("--site", help="Only this site's nodes.")] = None,
    inventory: Annotated[
        list[Path] | None,
        typer.Option(
            "--inventory", "-i", exists=True, help="Extra inventory applied after the compiled one."
        ),
    ] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
) -> None:
    """Run the compiled testinfra suite (DIR/verify) against the nodes and print a per-node table.

    Exit status: 0 every node passed, 1 a check failed, 2 misuse.
    """
    from aigrid.verify.run import VerifyError
    from aigrid.verify.run import run as run_verify

    try:
        results = run_verify(directory, site, inventory or [], junit)
    except VerifyError as exc:
        err.print(f"aigrid: {exc}")
        raise typer.Exit(EXIT_MISUSE) from exc
    table = Table("node", "passed", "failed", "skipped", Column("failed checks", overflow="fold"))
    for node, result in results.items():
        table.add_row(
            Text(node, style="red" if result.failed else "green"),
            str(result.passed),
            str(result.failed),
            str(result.skipped),
            ", ".join(result.failures),
        )
    out.print(table)
    raise typer.Exit(EXIT_INVALID if any(r.failed for r in results.values()) or not results else EXIT_OK)


@app.command("explain")
def explain_command(
    file: ExistingFile,
    path: Annotated[
        str,
        typer.Argument(
            help="A blueprint path, e.g. stack.driver.version or 'sites[nyc-fe-01].nodes[gpu01].gpus'."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
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


@app.command()
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


@app.command()
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


@app.command("catalog")
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


def _gather(source_dir: Path | None, no_nvml: bool) -> NodeFacts:
    source: Source = CaptureSource(source_dir) if source_dir else LiveSource()
    try:
        return gather(source, use_nvml=not no_nvml)
    except NoDriver as exc:
        err.print(f"aigrid: {exc}; is this a GPU node with the NVIDIA driver loaded?")
        raise typer.Exit(EXIT_MISUSE) from exc


@app.command()
def facts(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    source_dir: FromDir = None,
    no_nvml: NoNvml = False,
) -> None:
    """Print this node's GPU facts (NVML, else nvidia-smi): models, driver, CUDA, MIG, modules.

    Exit status: 0, or 2 when no NVIDIA driver answers.
    """
    node = _gather(source_dir, no_nvml)
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
        "GPU", "name", "catalog model", "CC", "memory", "MIG", Column("MIG profiles", overflow="fold")
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
            profiles,
        )
    out.print(table)


@app.command("verify-node")
def verify_node_command(
    file: ExistingFile,
    node: Annotated[str, typer.Option("--node", help="The node's hostname in the blueprint.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    source_dir: FromDir = None,
    no_nvml: NoNvml = False,
) -> None:
    """Compare this node's GPU facts with what the blueprint declares for NODE.

    Exit status: 0 match, 1 mismatch (or invalid blueprint), 2 no NVIDIA driver.
    """
    result = validate_file(file)
    if result.blueprint is None or result.errors:
        render_text([result], err)
        raise typer.Exit(EXIT_INVALID)
    if find_node(result.blueprint, node) is None:
        err.print(f"aigrid: no node {node!r} in {file}")
        raise typer.Exit(EXIT_MISUSE)
    observed = _gather(source_dir, no_nvml)
    mismatches = verify_node(result.blueprint, node, observed, catalog())
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


@app.command("smoke")
def smoke_command(
    method: Annotated[
        str, typer.Option(help="auto (nvcc if installed, else the driver API), nvcc or driver-api.")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
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
        err.print(f"aigrid: {exc}")
        raise typer.Exit(EXIT_MISUSE) from exc
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


lab_app = typer.Typer(
    help="An emulated edge site on this machine (network namespaces, overlay root "
    "filesystems, sshd): bring-up without hardware. Needs root.",
    no_args_is_help=True,
)
app.add_typer(lab_app, name="lab")
LabDir = Annotated[Path, typer.Option("--dir", help="Lab directory (state, keys, host file systems).")]


@lab_app.command("up")
def lab_up(
    file: ExistingFile,
    site: Annotated[str, typer.Option("--site", help="The blueprint site to emulate.")],
    directory: LabDir = Path("lab"),
) -> None:
    """Create one emulated host per node of SITE and write DIR/inventory.yml for aigrid bringup."""
    from aigrid.lab import lab

    result = validate_file(file)
    if result.blueprint is None or result.errors:
        render_text([result], err)
        raise typer.Exit(EXIT_INVALID)
    plan = build_plan(result.blueprint, catalog())
    chosen = next((s for s in plan.sites if s.name == site), None)
    if chosen is None:
        err.print(f"aigrid: no site {site!r} in {file}; sites: {', '.join(s.name for s in plan.sites)}")
        raise typer.Exit(EXIT_MISUSE)
    try:
        state = lab.up(chosen, directory)
    except lab.LabError as exc:
        lab.down(directory)
        err.print(f"aigrid: lab up failed and was rolled back: {exc}")
        raise typer.Exit(EXIT_INVALID) from exc
    for host in state.hosts:
        out.print(Text(f"{host.hostname}: [{host.address}] in netns {host.namespace}, sshd pid {host.pid}"))
    out.print(
        f"lab {site} is up; inventory: {directory / 'inventory.yml'} "
        f"(aigrid bringup DIR --inventory {directory / 'inventory.yml'} --no-hardware-checks)"
    )


@lab_app.command("status")
def lab_status(
    directory: LabDir = Path("lab"),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
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


@lab_app.command("start")
def lab_start(
    hostname: Annotated[str, typer.Argument(help="The lab host to start again.")],
    directory: LabDir = Path("lab"),
) -> None:
    """Start one lab host again after it went down (its file system is kept)."""
    from aigrid.lab import lab

    try:
        host = lab.start_host(directory, hostname)
    except lab.LabError as exc:
        err.print(f"aigrid: {exc}")
        raise typer.Exit(EXIT_INVALID) from exc
    out.print(Text(f"{host.hostname}: up again, sshd pid {host.pid}"))


@lab_app.command("down")
def lab_down(directory: LabDir = Path("lab")) -> None:
    """Remove every namespace, mount and process the lab made (also after a crash)."""
    from aigrid.lab import lab

    removed = lab.down(directory)
    out.print(f"lab in {directory} is down ({len(removed)} things removed)")


def main() -> None:
    try:
        app()
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(
            f"aigrid: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback, "
            "and please report it)"
        )
        sys.exit(70)
