"""aigrid bringup: run a compiled site.yml through ansible-runner, with live per-host progress."""

from __future__ import annotations

import shlex
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigrid import layout, tools

STAT_KEYS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
}


@dataclass
class HostState:
    """What the live display shows for one host."""

    task: str = ""
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    rc: int
    status: str
    hosts: dict[str, dict[str, int]]
    messages: dict[str, list[str]]

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if s["failed"] or s["unreachable"])

    @property
    def changed(self) -> int:
        return sum(s["changed"] for s in self.hosts.values())


class BringupError(Exception):
    pass


@dataclass(frozen=True)
class TaskResult:
    """One task's result on one host, as the run reports it."""

    host: str
    task: str
    status: str  # ok, changed, skipped, failed, failed (ignored), unreachable
    message: str = ""


# ansible-runner's events that carry a task's result on a host (a loop's items come as
# runner_item_on_* first; the task's own result follows as one of these).
RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


def _message(result: dict[str, Any]) -> str:
    # A no_log task's result holds only "censored"; say so rather than print nothing.
    text = result.get("msg") or result.get("stderr") or result.get("reason") or result.get("censored") or ""
    return " ".join(str(text).split())[:400]


def task_result(event: dict[str, Any]) -> TaskResult | None:
    """The task result an ansible-runner event reports for one host; None for other events."""
    data = event.get("event_data") or {}
    status = RESULT_EVENTS.get(event.get("event", ""))
    host = data.get("host")
    if status is None or not host:
        return None
    outcome = data.get("res") or {}
    if status == "ok" and outcome.get("changed"):
        status = "changed"
    message = ""
    if status in ("failed", "unreachable"):
        message = _message(outcome)
        if status == "failed" and data.get("ignore_errors"):
            status = "failed (ignored)"
    task = str(data.get("task", ""))
    role = data.get("role")
    return TaskResult(str(host), f"{role} : {task}" if role else task, status, message)


def progress_line(result: TaskResult) -> str:
    """One line per task result: `HOST: STATUS: ROLE : TASK[: MESSAGE]`, for logs (CI)."""
    line = f"{result.host}: {result.status}: {result.task}"
    return f"{line}: {result.message}" if result.message else line


def _cmdline(check: bool, secrets: Path | None) -> str | None:
    args = ["--check", "--diff"] if check else []
    if secrets is not None:
        args += ["--extra-vars", f"@{secrets.resolve()}"]
    return shlex.join(args) if args else None


def run(
    directory: Path,
    check: bool = False,
    limit: str | None = None,
    inventories: list[Path] | None = None,
    extravars: dict[str, Any] | None = None,
    on_event: Callable[[dict[str, HostState]], None] | None = None,
    on_result: Callable[[TaskResult], None] | None = None,
    *,
    playbook: Path | None = None,
    on_raw_event: Callable[[dict[str, Any]], None] | None = None,
    secrets: Path | None = None,
    site: str | None = None,
) -> Outcome:
    """Run DIR/ansible/site.yml (or another `playbook`, with DIR's inventory and ansible.cfg);
    `inventories` are added after the compiled one (they win).

    `on_event` gets every host's state after each event (a live table); `on_result` each
    task's result on each host as it arrives (a log); `on_raw_event` each ansible-runner event.
    `secrets` is the operator's vars file with `aigrid_secrets` (the values of the blueprint's
    secret:// and vault:// references), given to Ansible as extra variables and read on the
    controller only; ansible-vault encrypted, its password comes from ANSIBLE_VAULT_PASSWORD_FILE.
    `site`: only that site's inventory is loaded (its hosts and groups, the grid's variables), so
    Ansible does not parse every site's hosts to run one."""
    # ansible-runner runs from a private directory: every path it gets must be absolute, or
    # the compiled inventory silently fails to load and no host is in any group.
    directory = directory.resolve()
    project = playbook.resolve().parent if playbook else directory / layout.ANSIBLE
    entry = playbook.name if playbook else layout.relative_to(layout.PLAYBOOK, layout.ANSIBLE)
    if not (directory / layout.PLAYBOOK).is_file():
        raise BringupError(f"{directory} has no {layout.PLAYBOOK}: compile a blueprint into it first")
    if tools.which("ansible-playbook") is None:
        raise BringupError("ansible-playbook is not installed beside aigrid or on PATH; pip install ansible")
    states: dict[str, HostState] = defaultdict(HostState)

    def handle(event: dict[str, Any]) -> bool:
        data = event.get("event_data", {})
        host = data.get("host")
        name = event.get("event", "")
        if host:
            state = states[host]
            if name == "runner_on_start":
                state.task = data.get("task", "")
            elif name in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                state.messages.append(f"{data.get('task', '')}: {_message(data.get('res', {}))}")
            if on_event is not None:
                on_event(states)
        if on_result is not None and (result := task_result(event)) is not None:
            on_result(result)
        if on_raw_event is not None:
            on_raw_event(event)
        return True  # keep the event: ansible-runner drops events a handler rejects

    # Imported here: the node commands (facts, verify-node, smoke) run on GPU nodes that need
    # aigrid's CLI without Ansible installed.
    import ansible_runner

    compiled = directory / (layout.site_inventory(site) if site else layout.INVENTORY)
    if not compiled.is_file():
        raise BringupError(
            f"{directory} has no {compiled.relative_to(directory)}: no site {site!r}, or recompile"
        )
    inventory = [str(compiled), *(str(p.resolve()) for p in inventories or [])]
    # The runner's artifacts (events, stats) live in the private directory: read them inside.
    with tempfile.TemporaryDirectory(prefix="aigrid-runner-") as private:
        result = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(project),
            playbook=entry,
            inventory=inventory,
            extravars=extravars or {},
            limit=limit,
            cmdline=_cmdline(check, secrets),
            envvars={
                # ansible-runner starts ansible-playbook by name: the one beside aigrid first.
                "PATH": tools.search_path(),
                "ANSIBLE_CONFIG": str(directory / layout.ANSIBLE_CFG),
                "ANSIBLE_FORCE_COLOR": "0",
            },
            event_handler=handle,
            quiet=True,
            suppress_env_files=True,
        )
        stats = result.stats or {}
        if not stats and result.rc != 0:
            tail = "".join(result.stdout.readlines()[-20:]) if result.stdout else ""
            raise BringupError(
                f"ansible-playbook exited {result.rc} without running the play: {tail.strip()}"
            )
        rc, status = result.rc, result.status
    hosts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAT_KEYS.values(), 0))
    for key, label in STAT_KEYS.items():
        for host, count in (stats.get(key) or {}).items():
            hosts[host][label] = int(count)
    for host in states:
        hosts.setdefault(host, dict.fromkeys(STAT_KEYS.values(), 0))
    return Outcome(
        rc,
        status,
        dict(sorted(hosts.items())),
        {host: state.messages for host, state in states.items() if state.messages},
    )
