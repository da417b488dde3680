from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aigrid import tools

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
DATA = Path(__file__).resolve().parent / "data"

# The README's test command runs the suite as `.venv/bin/python -m pytest`, the environment
# never activated: the tools pip installed beside this Python (ansible-playbook, ansible-lint,
# pre-commit, python3 itself) are then not on PATH. Tests and what they start find them by
# name, as in an activated shell.
os.environ["PATH"] = tools.search_path()


# The lab and converge files take most of the suite's time and mostly wait on hosts: first in
# the order, so with two xdist workers (pyproject addopts) they start at once, side by side,
# while the other worker runs the rest. The stock-machine run (downloads, then mypy) is the
# next longest. A stable sort: the rest keep pytest's order.
FIRST = ("test_lab.py", "test_converge.py", "test_lab_upgrade.py", "test_fresh_machine.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return FIRST.index(name) if name in FIRST else len(FIRST)

    items.sort(key=rank)


def run_aigrid(
    *args: str, cwd: Path = ROOT, columns: int = 100, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess, as CI and users do."""
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "aigrid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def as_listed(value: Any) -> Any:
    """A value as ansible-inventory lists it, with `!unsafe` ({"__ansible_unsafe": ...}) unwrapped."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: as_listed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_listed(item) for item in value]
    return value


def run_doc_python(command: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """A `python3 SCRIPT ARGS` command shown in the docs, run as written from the repository
    root with this interpreter (the README's install)."""
    return subprocess.run(
        [sys.executable, *command.split()[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_local_playbook(
    playbook: Path,
    extra: dict[str, object],
    path: Path | None = None,
    hosts: str = "localhost",
    *options: str,
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook against this machine (local connection, this Python) with the shipped
    roles and EXTRA as extra variables; PATH puts stand-in commands first. HOSTS (comma
    separated) are inventory names that all stand for this machine."""
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles")}
    if path is not None:
        env["PATH"] = f"{path}:{env['PATH']}"
    variables = {"ansible_python_interpreter": sys.executable, **extra}
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            f"{hosts},",
            "-c",
            "local",
            str(playbook),
            "-e",
            json.dumps(variables),
            *options,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def compile_for_local_play(blueprint: str, out: Path, playbook: str, hosts: list[str]) -> Path:
    """Compile BLUEPRINT (under blueprints/) into OUT and put beside its playbook a play
    (`check.yml`) and an inventory (`local.yml`) that makes HOSTS this machine (local
    connection, this Python), to run a role's tasks on the compiled variables. Returns the
    compiled ansible directory."""
    proc = run_aigrid("compile", str(BLUEPRINTS / blueprint), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    ansible_dir = out / "ansible"
    (ansible_dir / "check.yml").write_text(playbook)
    local = "".join(
        f"    {host}:\n      ansible_connection: local\n      ansible_python_interpreter: {sys.executable}\n"
        for host in hosts
    )
    (ansible_dir / "local.yml").write_text(f"all:\n  hosts:\n{local}")
    return ansible_dir


def apt_reads(apt: Path, lists: Path) -> str:
    """What real apt-get says reading the sources under apt directory `apt` (sources.list and
    sources.list.d), with the URIs it would fetch; the fetch itself fails offline."""
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    sources_list = apt / "sources.list"
    options = {
        "Dir::Etc::SourceList": str(sources_list) if sources_list.exists() else "/dev/null",
        "Dir::Etc::SourceParts": f"{apt}/sources.list.d",
        "Dir::State::Lists": str(lists),
        "Acquire::Retries": "0",
        "Acquire::http::Timeout": "2",
        "Acquire::https::Timeout": "2",
    }
    settings = [arg for name, value in options.items() for arg in ("-o", f"{name}={value}")]
    proc = subprocess.run(
        ["apt-get", *settings, "--print-uris", "update"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stdout + proc.stderr


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


class _VarsLoader(yaml.SafeLoader):
    """Reads compiled Ansible variables files, whose strings are tagged `!unsafe`."""


_VarsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_vars(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_VarsLoader)


@pytest.fixture
def deadline():
    """Fail a test that runs past 60 s instead of letting a hang block CI.

    The alarm interrupts even a blocking system call (opening a FIFO, reading a device):
    the handler raises, so Python does not retry the call."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("test ran past its 60 s deadline (a hang in the loader?)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
