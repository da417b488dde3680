"""Day-2 commands: `diff` (what changes between two revisions, and what applying it takes),
`upgrade` (the plan to apply it, and running it node batch by node batch) and `drift` (what
nodes run that their compiled site does not say)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table
from rich.text import Text

from aigrid.bringup import BringupError, Interrupted, progress_line
from aigrid.cli import (
    EXIT_INVALID,
    EXIT_MISUSE,
    EXIT_OK,
    ExtraInventory,
    NoHardwareChecks,
    RootOption,
    check_output,
    err,
    fail,
    out,
    reject_invalid,
    write_output,
)
from aigrid.day2 import diff_report, upgrade_report, upgrade_run
from aigrid.day2.compare import compare, highest
from aigrid.day2.revision import InvalidBlueprint, NotARevision, Revision, RevisionError, load_revision
from aigrid.day2.upgrade import plan_upgrade

REVISION_HELP = "A blueprint, a directory aigrid compile wrote, or its aigrid.lock.json."


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class PlanFormat(StrEnum):
    text = "text"
    json = "json"


def _load(path: Path, root: Path | None) -> Revision:
    try:
        return load_revision(path, root)
    except InvalidBlueprint as exc:
        reject_invalid(exc.result, f"{path} is invalid: fix it before comparing")
    except NotARevision as exc:
        fail(exc, EXIT_MISUSE)
    except RevisionError as exc:
        fail(exc, EXIT_INVALID)


def diff_command(
    old: Annotated[Path, typer.Argument(exists=True, metavar="OLD", help=REVISION_HELP)],
    new: Annotated[Path, typer.Argument(exists=True, metavar="NEW", help=REVISION_HELP)],
    output_format: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Output format.")
    ] = DiffFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    root: RootOption = None,
) -> None:
    """The differences between two revisions per site, node and workload, each with what it
    takes to apply: none, rolling pod restart, node drain, node reboot, control plane first,
    site-wide disruption.

    Exit status: the most disruptive change's class, so CI can require an approval above a
    threshold: 0 nothing disruptive (no change, metadata, in place), 3 rolling pod restart,
    4 node drain, 5 node reboot, 6 control plane first, 7 site-wide; 1 an invalid blueprint or
    unreadable lock file, 2 misuse (e.g. a folder without aigrid.lock.json).
    """
    check_output(output)
    before, after = _load(old, root), _load(new, root)
    changes = compare(before.state, after.state)
    render = {
        DiffFormat.text: diff_report.render_text,
        DiffFormat.json: diff_report.render_json,
        DiffFormat.markdown: diff_report.render_markdown,
    }[output_format]
    report = render(before.source, after.source, changes)
    if output is None:
        sys.stdout.write(report)
    else:
        write_output(output, report)
    raise typer.Exit(highest(changes).exit_code)


def upgrade_command(
    directory: Annotated[
        Path,
        typer.Argument(
            exists=True,
            file_okay=False,
            metavar="DIR",
            help="The new revision: a directory aigrid compile wrote.",
        ),
    ],
    from_: Annotated[
        Path,
        typer.Option(
            "--from",
            exists=True,
            metavar="LOCK",
            help="The running revision: its aigrid.lock.json (or compiled directory).",
        ),
    ],
    plan_only: Annotated[bool, typer.Option("--plan-only", help="Print the plan; change nothing.")] = False,
    max_unavailable: Annotated[
        int,
        typer.Option("--max-unavailable", min=1, help="Nodes of one site out of service at once, at most."),
    ] = 1,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="Output format of --plan-only.")
    ] = PlanFormat.text,
    inventory: ExtraInventory = None,
    secrets: Annotated[
        Path | None,
        typer.Option(
            "--secrets", exists=True, dir_okay=False, help="Vars file with aigrid_secrets, as for bringup."
        ),
    ] = None,
    no_hardware_checks: NoHardwareChecks = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask: run the plan without confirmation.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Machine-readable summary (with --plan-only: the plan, as --format json)."
        ),
    ] = False,
) -> None:
    """The upgrade plan from the running revision to DIR, and (without --plan-only) running it:
    waves of sites that share no workload, per site control planes before workers, node
    batches that keep every workload's floor, and per node cordon, drain, apply (bring-up on
    the node), reboot when needed, verify (the compiled checks), uncordon.

    The first failing node stops the upgrade: it stays cordoned, later batches are untouched.
    Running the same command again resumes there (DIR/upgrade/progress.json). Kubernetes minor
    upgrades and nodes leaving the grid are planned, not run: the plan names what must come
    first. The site objects (workloads) are applied after, with pulumi up or the GitOps sync.
    Exit status: 0 the plan can run (--plan-only) or every node upgraded, 1 the plan has blockers
    or needs something done first, a revision is invalid, or a node failed, 2 misuse, 130
    interrupted (Ctrl-C: the batch in flight is redone by the next run).
    """
    before, after = _load(from_, None), _load(directory, None)
    changes = compare(before.state, after.state)
    plan = plan_upgrade(before.state, after.state, changes, before.source, after.source, max_unavailable)
    problems = upgrade_run.refusals(plan)
    if plan_only:
        as_data = output_format is PlanFormat.json or as_json
        sys.stdout.write((upgrade_report.render_json if as_data else upgrade_report.render_text)(plan))
        # 0 only for a plan that `aigrid upgrade` would run as it is: a CI gate on it means that.
        raise typer.Exit(EXIT_INVALID if problems else EXIT_OK)
    if problems:
        for problem in problems:
            err.print(Text(f"error: {problem}", style="red"))
        raise typer.Exit(EXIT_INVALID)
    if not yes:
        if not sys.stdin.isatty():
            fail(RuntimeError("upgrade drains, changes and reboots nodes: pass --yes to go on"), EXIT_MISUSE)
        sys.stdout.write(upgrade_report.render_text(plan))
        typer.confirm("Run this plan?", abort=True)
    log = err if as_json else out
    runner = upgrade_run.Runner(
        directory,
        inventory or [],
        {"aigrid_hardware_checks": False} if no_hardware_checks else {},
        secrets,
        on_result=lambda result: log.print(Text(progress_line(result))),
        verify=_verify(directory, inventory or [], hardware_checks=not no_hardware_checks),
    )
    try:
        outcome = upgrade_run.run(
            plan, upgrade_run.plan_digest(before.state, after.state, max_unavailable), runner
        )
    except (upgrade_run.UpgradeError, BringupError) as exc:
        fail(exc, EXIT_MISUSE)
    _report(outcome, as_json)
    if outcome.interrupted is not None:
        raise typer.Exit(128 + outcome.interrupted)
    raise typer.Exit(EXIT_INVALID if outcome.stopped else EXIT_OK)


def _verify(
    directory: Path, inventories: list[Path], hardware_checks: bool
) -> Callable[[str], dict[str, list[str]]]:
    """The verify step: the compiled checks of one site, each node's failures."""

    def checks(site: str) -> dict[str, list[str]]:
        from aigrid.verify.run import run as run_verify

        return {
            node: list(result.failures)
            for node, result in run_verify(directory, site, inventories, None, hardware_checks).items()
        }

    return checks


def _report(outcome: upgrade_run.UpgradeOutcome, as_json: bool) -> None:
    if as_json:
        payload = {
            "stopped": outcome.stopped,
            "interrupted": outcome.interrupted is not None,
            "resumed": outcome.resumed,
            "progress": outcome.progress_file,
            "nodes": [vars(node) for node in outcome.nodes],
            "rollouts": outcome.rollouts,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    table = Table("site", "node", "status", Column("detail", overflow="fold"), title="upgrade summary")
    styles = {"upgraded": "green", "already upgraded": "green", "failed": "red", "not started": "yellow"}
    for node in outcome.nodes:
        table.add_row(node.site, node.hostname, Text(node.status, style=styles[node.status]), node.detail)
    out.print(table)
    if outcome.interrupted is not None:
        out.print(
            Text(
                "interrupted: the nodes of the batch in flight may be left cordoned and later batches "
                "are untouched; run the same command again to resume (it redoes that batch)",
                style="yellow",
            )
        )
    elif outcome.stopped:
        out.print(
            Text(
                "stopped: the failed node is left cordoned and later batches are untouched; fix the cause "
                "and run the same command again to resume",
                style="red",
            )
        )
    elif outcome.rollouts:
        out.print("nodes done; now apply the site objects (pulumi up, or the GitOps sync):")
        for rollout in outcome.rollouts:
            out.print(f"  {rollout}")


def drift_command(
    directory: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, metavar="DIR", help="A directory aigrid compile wrote."),
    ],
    site: Annotated[str | None, typer.Option("--site", help="Only this site's nodes.")] = None,
    inventory: ExtraInventory = None,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="Output format.")
    ] = PlanFormat.text,
) -> None:
    """Read every node of DIR's sites over Ansible (changing nothing) and report each difference
    from what bring-up configured: pinned packages and holds, containerd's configuration, the
    kubelet's labels, slice addresses, shaping and marking, GPUs and driver; each with an AG5xx
    code and the blueprint field.

    Exit status: 0 every node read and none drifted, 1 a node drifted or could not be read,
    2 misuse, 130 interrupted.
    """
    from aigrid.day2 import drift_report
    from aigrid.day2.drift_run import DriftError
    from aigrid.day2.drift_run import run as run_drift

    try:
        report = run_drift(directory, site, inventory or [])
    except DriftError as exc:
        fail(exc, EXIT_MISUSE)
    except Interrupted as stop:  # it only reads: nothing to report but the stop
        fail(stop, stop.exit_code)
    render = drift_report.render_json if output_format is PlanFormat.json else drift_report.render_text
    sys.stdout.write(render(report))
    raise typer.Exit(EXIT_INVALID if report.drifted or report.unread else EXIT_OK)
