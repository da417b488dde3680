"""Every command in docs/day2.md runs as written, in order, and prints what the page shows.

A ```console block holds `$ COMMAND` lines, each followed by its whole standard output. A
`<!-- exit N -->` line right before a block is the exit status of the block's last command;
every other command must succeed. The commands run with bash in a scratch copy of
blueprints/ made a git repository (so `extends` stays inside its root, as in a checkout), so
what they write (compiled directories, reports) lands there and not in the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import BLUEPRINTS, ROOT

DOC = ROOT / "docs" / "day2.md"


@dataclass
class Command:
    line: int
    text: str
    output: list[str] = field(default_factory=list)
    exit: int = 0


def _commands(text: str) -> list[Command]:
    commands: list[Command] = []
    lines = text.splitlines()
    inside, expected_exit = False, 0
    block: list[Command] = []
    for number, line in enumerate(lines, 1):
        if not inside and line.startswith("```console"):
            inside, block = True, []
            previous = lines[number - 2] if number > 1 else ""
            found = re.fullmatch(r"<!-- exit (\d+) -->", previous)
            expected_exit = int(found.group(1)) if found else 0
        elif inside and line.startswith("```"):
            inside = False
            assert block, f"docs/day2.md:{number}: a console block without a command"
            block[-1].exit = expected_exit
            commands += block
        elif inside and line.startswith("$ "):
            block.append(Command(number, line[2:]))
        elif inside:
            assert block, f"docs/day2.md:{number}: output before any command"
            block[-1].output.append(line)
    assert not inside, "docs/day2.md: a console block is not closed"
    return commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("day2-docs")
    shutil.copytree(BLUEPRINTS, where / "blueprints")
    subprocess.run(["git", "init", "-q", str(where)], check=True)
    return where


def test_the_page_has_commands() -> None:
    commands = _commands(DOC.read_text())
    assert len(commands) >= 8
    assert {c.text.split()[1] for c in commands} == {"diff", "compile", "upgrade"}


def test_every_command_runs_as_written_and_prints_what_the_page_shows(workdir: Path) -> None:
    # `aigrid` as installed beside this Python (a plain `pip install .` puts it there).
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in _commands(DOC.read_text()):
        proc = subprocess.run(
            ["bash", "-c", command.text],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=env,
        )
        where = f"docs/day2.md:{command.line}: {command.text}"
        assert proc.returncode == command.exit, f"{where}\n{proc.stdout}{proc.stderr}"
        assert proc.stdout.splitlines() == command.output, where
        assert "Traceback" not in proc.stderr, where
    assert (workdir / "plan.json").is_file() and (workdir / "diff.md").is_file()
