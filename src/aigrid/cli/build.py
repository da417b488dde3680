"""Commands on a compiled grid: compile, bringup, preview, up, verify."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from aigrid import layout, pulumi_run
from aigrid.bringup import BringupError, HostState, Interrupted, Outcome, progress_line
from aigrid.bringup import run as run_bringup
from aigrid.cli import (
    EXIT_INVALID,
    EXIT_MISUSE,
    EXIT_OK,
    ExistingFile,
    ExtraInventory,
    NoHardwareChecks,
    RootOption,
    check_output,
    err,
    fail,
    out,
    reject_invalid,
)
from aigrid.output import OutputError
from aigrid.report import render_text

CompiledDir = Annotated[
    Path, typer.Argument(exists=True, file_okay=False, help="A directory aigrid compile wrote.")
]
StackOption = Annotated[str, typer.Option("--stack", "-s", help="The site whose stack to run.")]


# A recompile names each site it changed, up to this many (a first compile of a grid changes all).
SITES_SHOWN = 20


def compile_command(
    file: ExistingFile,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory (replaced as a whole).")],
    root: RootOption = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes that render sites, for a grid with 800 or more to render (default: the "
            "CPUs aigrid may use, at most 2; 1: render in this process). The output is the same bytes "
            "either way.",
        ),
    ] = None,
) -> None:
    """Compile a blueprint into ansible/, manifests/, pulumi/, verify/, README.md, .gitignore and the lock.

    ansible/: inventory, group and host vars, site.yml, the roles and each site's kubeadm
    configuration and add-on kustomizations (cluster/). manifests/: the Kubernetes
    objects of each site, for GitOps. pulumi/: the Pulumi project, with one stack per site.
    verify/: the testinfra suite and what it expects of each node. README.md: how to use the
    output. .gitignore: keeps credentials/ (the kubeconfigs bringup fetches) out of commits.
    aigrid.lock.json: the resolved versions and the digests of the input files.

    Validates first and writes nothing when the blueprint is invalid. The output directory is
    replaced atomically: a failed or interrupted compile leaves the previous output untouched.
    A recompile renders only the sites whose inputs changed, rewrites only the files whose
    content changed (digests in aigrid.lock.json) and names each site it changed.
    Exit status: 0 written, 1 invalid blueprint, 2 misuse (e.g. an output directory aigrid did not make).
    """
    # A shell whose working directory is the output (`cd out/ansible` to run a playbook) is left
    # in the folder the swap removed: its files and ansible.cfg seem gone until it cds again.
    inside = _holds_working_directory(out_dir)
    try:
        # The renderers (and what they import) load here, not for every command of the CLI.
        from aigrid.compile import compile_blueprint
        from aigrid.render.sites import default_jobs

        compiled = compile_blueprint(file, out_dir, root, jobs or default_jobs())
    except OutputError as exc:
        fail(exc, EXIT_MISUSE)
    if compiled.plan is None:
        reject_invalid(compiled.result, f"{file} is invalid; nothing was written to {out_dir}")
    if compiled.result.diagnostics:
        render_text([compiled.result], err)
    plan = compiled.plan
    changes = compiled.changes
    out.print(
        f"compiled {file} -> {out_dir}: {len(plan.sites)} sites, {len(plan.nodes)} nodes, "
        f"{compiled.files} files ({', '.join(layout.TOP_LEVEL)}); {len(changes.added)} added, "
        f"{len(changes.changed)} changed, {len(changes.removed)} removed, {changes.unchanged} unchanged",
    )
    if compiled.workers:
        out.print(f"  sites rendered by {compiled.workers} worker processes (--jobs)")
    shown = list(compiled.sites.items())
    for site, change in shown[:SITES_SHOWN]:
        out.print(
            f"  site {site}: {len(change.added)} added, {len(change.changed)} changed, "
            f"{len(change.removed)} removed",
        )
    if len(shown) > SITES_SHOWN:
        out.print(f"  and {len(shown) - SITES_SHOWN} more sites changed")
    if inside and changes.replaced:
        err.print(
            f"note: {out_dir} was replaced by a new folder while the working directory was in it; the "
            'shell sees the old, removed one until it changes directory again: cd "$PWD"',
            soft_wrap=True,
            highlight=False,
        )


def _holds_working_directory(out_dir: Path) -> bool:
    try:
        here, target = Path.cwd().resolve(), out_dir.resolve()
    except OSError:
        return False
    return here == target or target in here.parents


def bringup(
    directory: CompiledDir,
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change.")] = False,
    site: Annotated[
        str | None,
        typer.Option("--site", help="Only this site: its inventory alone is loaded (fast on a large grid)."),
    ] = None,
    limit: Annotated[
        str | None, typer.Option("--limit", help="Only these hosts or groups (e.g. site_nw_nyc_fe_01).")
    ] = None,
    inventory: ExtraInventory = None,
    secrets: Annotated[
        Path | None,
        typer.Option(
            "--secrets",
            exists=True,
            dir_okay=False,
            help="Vars file (ansible-vault encrypted or not) with aigrid_secrets: the value of each "
            "secret:// and vault:// reference the roles write, by reference.",
        ),
    ] = None,
    no_hardware_checks: NoHardwareChecks = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Run the compiled playbook against the inventory, with live per-host progress and a summary.

    On a terminal the progress is a live table; otherwise (CI, a log file) one line per task
    result per host as it arrives: HOST: ok|changed|skipped|failed|unreachable: ROLE : TASK.
    With --json those lines go to stderr and stdout holds only the JSON summary.
    Exit status: 0 all hosts converged, 1 a host failed or was unreachable, 2 misuse, 130 interrupted
    (Ctrl-C: Ansible stops as on a terminal, the summary says what ran).
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
    extra: dict[str, object] = {"check": check, "hardware_checks": not no_hardware_checks}
    try:
        outcome = _run_bringup(
            directory, check, limit, inventory or [], extravars, as_json, secrets=secrets, site=site
        )
    except BringupError as exc:
        fail(exc, EXIT_MISUSE)
    except Interrupted as stop:
        report_outcome(stop.outcome, as_json, "bring-up summary", extra, stop)
    report_outcome(outcome, as_json, "bring-up summary", extra)


def teardown_command(
    directory: CompiledDir,
    site: Annotated[str | None, typer.Option("--site", help="Only this site's nodes.")] = None,
    limit: Annotated[
        str | None, typer.Option("--limit", help="Only these hosts or groups (e.g. lab-gpu01).")
    ] = None,
    inventory: ExtraInventory = None,
    remove_driver: Annotated[
        bool, typer.Option("--remove-driver", help="Remove the NVIDIA driver too (kept otherwise).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask: remove without confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Remove what bring-up installed, bring-up in reverse (DIR/ansible/teardown.yml): slice
    interfaces, shaping and marking; each node leaves its site's cluster (drained, deleted,
    kubeadm reset), the first control plane last; the Kubernetes packages and the kubelet's
    settings; the container toolkit and containerd with their configuration; TensorRT and CUDA;
    the driver only with --remove-driver. Remove what Pulumi deployed first (pulumi destroy).

    Exit status: 0 every host torn down, 1 a host failed or was unreachable, 2 misuse, 130 interrupted
    (Ctrl-C: Ansible stops as on a terminal, the summary says what ran).
    """
    if not (directory / layout.TEARDOWN).is_file():
        fail(
            RuntimeError(f"{directory} has no {layout.TEARDOWN}: recompile the blueprint into it"),
            EXIT_MISUSE,
        )
    if site is not None and limit is not None:
        fail(RuntimeError("give --site or --limit, not both"), EXIT_MISUSE)
    scope = f"every host of {directory}"
    if site is not None or limit is not None:
        # Imported here, as compile is: the renderers load the plan and the placement solver.
        from aigrid.layout import group_name

        scope = f"the hosts of {limit or group_name('site', site or '')}"
    if not yes:
        if not sys.stdin.isatty():
            fail(
                RuntimeError(f"teardown removes aigrid's stack from {scope}: pass --yes to go on"),
                EXIT_MISUSE,
            )
        typer.confirm(f"Remove aigrid's stack from {scope}?", abort=True)
    extravars: dict[str, object] = {"aigrid_teardown_driver": remove_driver}
    try:
        outcome = _run_bringup(
            directory,
            False,
            limit,
            inventory or [],
            extravars,
            as_json,
            playbook=directory / layout.TEARDOWN,
            site=site,
        )
    except BringupError as exc:
        fail(exc, EXIT_MISUSE)
    except Interrupted as stop:
        report_outcome(stop.outcome, as_json, "teardown summary", {"removed_driver": remove_driver}, stop)
    report_outcome(outcome, as_json, "teardown summary", {"removed_driver": remove_driver})


def report_outcome(
    outcome: Outcome,
    as_json: bool,
    title: str,
    extra: dict[str, object],
    interrupted: Interrupted | None = None,
) -> NoReturn:
    """A run's summary, a table or JSON on stdout; exit 0 when every host finished, 1 when
    one did not, 128 + the signal's number when a signal stopped the run (130 for Ctrl-C)."""
    if interrupted is not None:
        title += " (interrupted)"
        err.print(
            Text(
                f"aigrid: {interrupted}: Ansible ended the tasks in flight and ran no later task; "
                "the hosts keep what the tasks before it did (below). Run the same command again to "
                "finish: its steps are idempotent.",
                style="yellow",
            )
        )
    if as_json:
        payload = {
            "rc": outcome.rc,
            "status": "interrupted" if interrupted is not None else outcome.status,
            "hosts": outcome.hosts,
            "failed_hosts": outcome.failed_hosts,
            "messages": outcome.messages,
            "notices": outcome.notices,
            **extra,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        table = Table("host", "ok", "changed", "failed", "unreachable", "skipped", title=title)
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
        for host, notices in outcome.notices.items():
            for notice in notices:
                out.print(Text(f"{host}: {notice}", style="yellow"))
        for host, messages in outcome.messages.items():
            for message in messages:
                out.print(Text(f"{host}: {message}", style="red"))
    if interrupted is not None:
        raise typer.Exit(interrupted.exit_code)
    raise typer.Exit(EXIT_INVALID if outcome.failed_hosts or outcome.rc != 0 else EXIT_OK)


def _run_bringup(
    directory: Path,
    check: bool,
    limit: str | None,
    inventory: list[Path],
    extravars: dict[str, object],
    as_json: bool,
    *,
    playbook: Path | None = None,
    secrets: Path | None = None,
    site: str | None = None,
) -> Outcome:
    if as_json or not out.is_terminal:
        log = err if as_json else out
        return run_bringup(
            directory,
            check,
            limit,
            inventory,
            extravars,
            on_result=lambda result: log.print(Text(progress_line(result))),
            playbook=playbook,
            secrets=secrets,
            site=site,
        )

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
            playbook=playbook,
            secrets=secrets,
            site=site,
        )


def preview(directory: CompiledDir, stack: StackOption) -> None:
    """Pulumi preview of one site's stack (needs the Pulumi CLI; exit 2 without it)."""
    try:
        result = pulumi_run.preview(directory, stack, on_output=out.print)
    except pulumi_run.PulumiError as exc:
        fail(exc, EXIT_MISUSE)
    out.print(f"preview of {stack}: {result.change_summary}")


def up(directory: CompiledDir, stack: StackOption) -> None:
    """Pulumi up of one site's stack (needs the Pulumi CLI; exit 2 without it)."""
    try:
        result = pulumi_run.up(directory, stack, on_output=out.print)
    except pulumi_run.PulumiError as exc:
        fail(exc, EXIT_MISUSE)
    out.print(f"up {stack}: {result.summary.result}, {result.summary.resource_changes}")


def verify_command(
    directory: CompiledDir,
    site: Annotated[str | None, typer.Option("--site", help="Only this site's nodes.")] = None,
    inventory: ExtraInventory = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
    no_hardware_checks: NoHardwareChecks = False,
) -> None:
    """Run the compiled testinfra suite (DIR/verify) against the nodes and print a per-node table.

    A GPU node whose driver is on the host (stack.driver.install host or preinstalled) must
    answer nvidia-smi; --no-hardware-checks skips the GPU checks instead (hosts without GPUs).

    Exit status: 0 every node passed, 1 a check failed, 2 misuse.
    """
    from aigrid.verify.run import VerifyError
    from aigrid.verify.run import run as run_verify

    check_output(junit, create_folders=True)
    try:
        results = run_verify(directory, site, inventory or [], junit, not no_hardware_checks)
    except VerifyError as exc:
        fail(exc, EXIT_MISUSE)
    table = Table("node", "passed", "failed", "skipped", Column("failed checks", overflow="fold"))
    for node, result in results.items():
        table.add_row(
            Text(node, style="red" if result.failed else "green"),
            str(result.passed),
            str(result.failed),
            str(result.skipped),
            "\n".join(result.failures),
        )
    out.print(table)
    raise typer.Exit(EXIT_INVALID if any(r.failed for r in results.values()) or not results else EXIT_OK)
