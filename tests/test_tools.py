"""aigrid finds the Ansible that pip installed beside it, in a virtual environment nobody activated."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from aigrid import tools

# A PATH without the interpreter's scripts folder: `.venv/bin/aigrid ...` from a plain shell.
BARE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def test_the_scripts_folder_comes_first_once() -> None:
    scripts = sysconfig.get_path("scripts")
    assert tools.search_path(BARE_PATH).split(os.pathsep) == [scripts, *BARE_PATH.split(os.pathsep)]
    assert tools.search_path(f"/bin:{scripts}:/usr/bin").split(os.pathsep) == [scripts, "/bin", "/usr/bin"]


def test_collection_builds_with_the_scripts_folder_off_path(tmp_path: Path) -> None:
    """`aigrid collection` starts ansible-galaxy: found beside the interpreter, not on PATH."""
    env = {**os.environ, "PATH": BARE_PATH, "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "aigrid", "collection", str(tmp_path / "dist")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "dist").glob("aigrid-gpu_grid-*.tar.gz"))
