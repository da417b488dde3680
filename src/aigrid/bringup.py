"""aigrid bringup: run a compiled site.yml through ansible-runner, with live per-host progress."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
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
    notices: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        """One task result, counted as Ansible's recap counts it (a changed task is ok too; an
        ignored failure is neither ok nor failed)."""
        if status in ("ok", "changed"):
            self.ok += 1
        if status in ("changed", "failed", "unreachable", "skipped"):
            setattr(self, status, getattr(self, status) + 1)


@dataclass
class Outcome:
    rc: int
    status: str
    hosts: dict[str, dict[str, int]]
    messages: dict[str, list[str]]
    # What the roles report without failing (a reboot left pending, a check not run), by host.
    notices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if s["failed"] or s["unreachable"])

    @property
    def changed(self) -> int:
        return sum(s["changed"] for s in self.hosts.values())


class BringupError(Exception):
    pass


class Interrupted(Exception):
    """Ctrl-C (SIGINT) or SIGTERM stopped a run. Ansible was stopped the way Ctrl-C stops
    ansible-playbook: the tasks in flight were ended, no later task ran. `outcome` is what the
    hosts reported until then."""

    def __init__(self, signum: int, outcome: Outcome) -> None:
        super().__init__(f"interrupted ({signal.Signals(signum).name})")
        self.signum = signum
        self.outcome = outcome

    @property
    def exit_code(self) -> int:
        """What a shell reports for a command a signal ended: 128 + its number (130 for Ctrl-C)."""
        return 128 + self.signum


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


def _notice(data: dict[str, Any]) -> str | None:
    """What a role reports to the operator: aigrid's roles print with `debug` only what the
    run must not bury in its log (a reboot left pending, checks not run, nouveau found)."""
    if data.get("task_action") not in ("ansible.builtin.debug", "debug"):
        return None
    message = (data.get("res") or {}).get("msg")
    if not message:
        return None
    text = " ".join(str(message).split())
    return text.removeprefix(f"{data.get('host')}: ")  # the summary names the host itself


def progress_line(result: TaskResult) -> str:
    """One line per task result: `HOST: STATUS: ROLE : TASK[: MESSAGE]`, for logs (CI)."""
    line = f"{result.host}: {result.status}: {result.task}"
    return f"{line}: {result.message}" if result.message else line


def _cmdline(check: bool, secrets: Path | None) -> str | None:
    args = ["--check", "--diff"] if check else []
    if secrets is not None:
        args += ["--extra-vars", f"@{secrets.resolve()}"]
    return shlex.join(args) if args else None


def _processes() -> Iterator[Path]:
    """Each process's /proc folder but this process's own (Linux)."""
    own = str(os.getpid())
    return (entry for entry in Path("/proc").iterdir() if entry.name.isdigit() and entry.name != own)


def _ansible_children(parent: int) -> list[int]:
    """The children of process `parent` that run ansible-playbook (Linux /proc: ansible-runner
    does not hand out the pid of the process it spawns)."""
    found = []
    for process in _processes():
        try:
            # stat: "pid (command) state ppid ...", the command in parentheses may hold spaces.
            ppid = int((process / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            command = (process / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):  # gone meanwhile, or not ours to read
            continue
        if ppid == parent and b"ansible-playbook" in command:
            found.append(int(process.name))
    return found


def _signal_groups(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)


# How long Ansible gets to end its tasks after Ctrl-C before its workers are ended for it.
WORKER_GRACE_S = 5.0


def _end_workers() -> None:
    """SIGTERM to what ansible-playbook's workers run, as ansible-core's own cleanup does on
    Ctrl-C (task_queue_manager.py, _cleanup_processes: terminate). A worker forked just as the
    interrupt came is not in its list yet: ansible-playbook then waits for it at exit while
    its task goes on."""
    for playbook in _ansible_children(os.getpid()):
        _signal_groups(_ansible_children(playbook), signal.SIGTERM)


def _end_leftovers(private: str) -> None:
    """SIGTERM to every process still running with the run's private directory in its
    environment (ansible-runner passes it to ansible-playbook, which its workers and their
    modules inherit). After an interrupt ansible-playbook may exit before WORKER_GRACE_S and
    leave a worker it had not listed yet (forked as the interrupt came) running, orphaned: its
    parent is gone, so only its environment still names the run."""
    marker = private.encode()
    for process in _processes():
        try:
            environment = (process / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environment:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(process.name), signal.SIGTERM)


@contextlib.contextmanager
def _forwarding_interrupts() -> Iterator[list[int]]:
    """Pass Ctrl-C and SIGTERM on to ansible-playbook as Ctrl-C, and note them (the list).

    ansible-runner starts ansible-playbook in a session of its own (a pseudo-terminal), so the
    terminal's Ctrl-C never reaches it; runner's own handler SIGKILLs its process group, but
    ansible-core's workers run each task in sessions of their own (ansible-core
    lib/ansible/executor/process/worker.py, os.setsid) and went on with the tasks in flight,
    orphaned, while aigrid reported nothing ran. On SIGINT ansible-playbook ends its workers
    and exits 99 ("User interrupted execution"), as on a terminal; workers still running after
    WORKER_GRACE_S, or at a second signal, are ended (_end_workers)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        # Only the main thread may handle signals (a caller running bring-ups in threads).
        yield received
        return
    timer = threading.Timer(WORKER_GRACE_S, _end_workers)
    timer.daemon = True

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        _signal_groups(_ansible_children(os.getpid()), signal.SIGINT)
        if len(received) == 1:
            timer.start()
        else:
            _end_workers()

    previous = {number: signal.signal(number, forward) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        timer.cancel()
        for number, handler in previous.items():
            signal.signal(number, handler)


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
        result = task_result(event)
        if host:
            state = states[host]
            if event.get("event") == "runner_on_start":
                state.task = data.get("task", "")
            elif result is not None:
                state.count(result.status)
                if result.status in ("failed", "unreachable"):
                    state.messages.append(f"{data.get('task', '')}: {_message(data.get('res', {}))}")
                notice = _notice(data)
                if notice and notice not in state.notices:
                    state.notices.append(notice)
            if on_event is not None:
                on_event(states)
        if on_result is not None and result is not None:
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
    with (
        tempfile.TemporaryDirectory(prefix="aigrid-runner-") as private,
        _forwarding_interrupts() as interrupts,
    ):
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
            # Never cancel: the signals go to ansible-playbook itself (_forwarding_interrupts).
            cancel_callback=lambda: False,
            quiet=True,
            suppress_env_files=True,
        )
        if interrupts:
            _end_leftovers(private)
        stats = result.stats or {}
        if not stats and result.rc != 0 and not interrupts:
            tail = "".join(result.stdout.readlines()[-20:]) if result.stdout else ""
            raise BringupError(
                f"ansible-playbook exited {result.rc} without running the play: {tail.strip()}"
            )
        rc, status = result.rc, result.status
    hosts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAT_KEYS.values(), 0))
    for key, label in STAT_KEYS.items():
        for host, count in (stats.get(key) or {}).items():
            hosts[host][label] = int(count)
    for host, state in states.items():
        # An interrupted run ends without Ansible's recap: the results the events reported.
        recap = {label: getattr(state, label) for label in STAT_KEYS.values()}
        hosts.setdefault(host, recap if not stats else dict.fromkeys(STAT_KEYS.values(), 0))
    outcome = Outcome(
        rc,
        status,
        dict(sorted(hosts.items())),
        {host: state.messages for host, state in states.items() if state.messages},
        {host: state.notices for host, state in sorted(states.items()) if state.notices},
    )
    if interrupts:
        raise Interrupted(interrupts[0], outcome)
    return outcome
