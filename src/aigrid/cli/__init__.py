"""The `aigrid` command line: the app, its global options and what every command shares.

The commands live in one module per group (validate, build, node, lab); they are registered at
the bottom of this module, in the order `aigrid --help` lists them, so importing `aigrid.cli`
gives the whole command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from aigrid import __version__
from aigrid.model.blueprint import Blueprint
from aigrid.report import render_text
from aigrid.validate import Result, validate_file

EXIT_OK, EXIT_INVALID, EXIT_MISUSE = 0, 1, 2
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)

app = typer.Typer(
    name="aigrid",
    help="Declarative blueprints for carrier GPU AI grids: validate them, explain where values come from, "
    "compile them into Ansible, Pulumi stacks and Kubernetes manifests, bring the hosts up and verify "
    "them, rehearse on an emulated lab site, and check a GPU node's facts against its blueprint.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}

ExistingFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A blueprint YAML file.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
# The lab's inventory (and any other) given after a compiled directory's own.
ExtraInventory = Annotated[
    list[Path] | None,
    typer.Option("--inventory", "-i", exists=True, help="Extra inventory applied after the compiled one."),
]
# Hosts without GPUs (a lab): bringup, upgrade and verify leave out what needs them.
NoHardwareChecks = Annotated[
    bool,
    typer.Option(
        "--no-hardware-checks",
        help="Skip GPU, nouveau, Secure Boot and header checks (hosts without GPUs).",
    ),
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


def fail(exc: Exception, code: int) -> NoReturn:
    """Say what went wrong in one line (`aigrid: ...`) and exit with `code`.

    The message is plain text: a blueprint path such as `sites[nw-nyc-fe-01]` is not markup."""
    err.print(Text(f"aigrid: {exc}"))
    raise typer.Exit(code) from exc


def write_output(path: Path, text: str) -> None:
    """Write a report the user asked for (`-o FILE`); a path that cannot be written ends the
    command with exit 2 and one line naming it, not an internal error."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(OutputPathError(path, output_problem(path) or exc.strerror or str(exc)), EXIT_MISUSE)


def check_output(path: Path | None, create_folders: bool = False) -> None:
    """Before any work: end the command (exit 2) when `path` can never be written as a file.
    `create_folders`: the writer makes missing folders itself (pytest's --junitxml does)."""
    if path is not None and (problem := output_problem(path, create_folders)):
        fail(OutputPathError(path, problem), EXIT_MISUSE)


def output_problem(path: Path, create_folders: bool = False) -> str | None:
    """Why `path` cannot be written as an output file, or None when nothing says so yet."""
    if path.is_dir():
        return "it is a directory; name a file"
    folder = path.parent
    while create_folders and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.exists():
        return f"its folder {folder} does not exist; create it first"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    return None


class OutputPathError(Exception):
    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"cannot write {path}: {why}")


def reject_invalid(result: Result, note: str | None = None) -> NoReturn:
    """Print an invalid blueprint's diagnostics (and `note`) to stderr and exit 1."""
    render_text([result], err)
    if note:
        err.print(f"aigrid: {note}")
    raise typer.Exit(EXIT_INVALID)


def valid_blueprint(file: Path) -> Blueprint:
    """The blueprint in `file`, validated; an invalid one ends the command (see `reject_invalid`)."""
    result = validate_file(file)
    if result.blueprint is None or not result.valid():
        reject_invalid(result)
    return result.blueprint


def main() -> None:
    try:
        # The program's name is `aigrid` however it was started (`python3 -m aigrid` too), so
        # usage lines and shell completion name the command people type.
        app(prog_name="aigrid")
    except SystemExit as exc:
        # typer ends a command that Ctrl-C interrupted with 130 and says nothing (typer
        # core.py, _main): say it, as a Ctrl-C while the command line loads does (__main__).
        stop = exc.__context__
        if isinstance(stop, typer.Exit) and isinstance(stop.__cause__, KeyboardInterrupt):
            err.print("aigrid: interrupted")
        raise
    except Exception as exc:
        if _state["debug"]:
            raise
        err.print(
            f"aigrid: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback, "
            "and please report it)"
        )
        sys.exit(EXIT_INTERNAL)


# The command modules use the names above, so they are imported once those exist.
from aigrid.cli import build, collection, day2, lab, node, report, validate  # noqa: E402

app.command()(validate.validate)
app.command("compile")(build.compile_command)
app.command()(build.bringup)
app.command("teardown")(build.teardown_command)
app.command()(build.preview)
app.command()(build.up)
app.command("verify")(build.verify_command)
app.command("report")(report.report_command)
app.command("explain")(validate.explain_command)
app.command()(validate.schema)
app.command()(validate.rules)
app.command("catalog")(validate.catalog_command)
app.command()(node.facts)
app.command("verify-node")(node.verify_node_command)
app.command("smoke")(node.smoke_command)
app.command("collection")(collection.collection_command)
app.command("diff")(day2.diff_command)
app.command("upgrade")(day2.upgrade_command)
app.command("drift")(day2.drift_command)
app.add_typer(lab.app, name="lab")
