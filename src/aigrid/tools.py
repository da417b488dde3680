"""Finding the command-line tools that pip installs beside aigrid (ansible-playbook, ansible-galaxy).

pip puts them in the interpreter's scripts directory. In a virtual environment that nobody
activated (`.venv/bin/aigrid ...`, the README's quick start) that directory is not on PATH, so
a plain PATH lookup would miss the very Ansible aigrid was installed with. The scripts directory
goes first: it is the Ansible that matches the ansible-runner and ansible-core aigrid imports.
"""

from __future__ import annotations

import os
import shutil
import sysconfig


def search_path(path: str | None = None) -> str:
    """PATH (or `path`) with this interpreter's scripts directory in front, once."""
    scripts = sysconfig.get_path("scripts")
    entries = (os.environ.get("PATH", "") if path is None else path).split(os.pathsep)
    return os.pathsep.join([scripts, *(entry for entry in entries if entry and entry != scripts)])


def which(tool: str) -> str | None:
    """The tool's full path: from this interpreter's scripts directory, else from PATH."""
    return shutil.which(tool, path=search_path())
