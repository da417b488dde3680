"""The README's quick start and test command, as written, on a stock Debian 12 root filesystem.

The root is the lab's cached bookworm minbase (src/aigrid/lab/rootfs.py) with Debian's stock
package sources put back; a copy of this working tree sits in /root/aigrid as a clone would. The
commands run in a chroot as root with a clean environment, install from PyPI and Debian's mirror,
and must pass as written. docs/fresh-machine.md records one such run.

The test command runs the whole suite when typed; here PYTEST_ADDOPTS narrows it to NARROWED
(the code-quality checks and the rule examples), since the suite inside the chroot would run this
test again and the lab tests, which need a machine of their own. The command line is the README's.
With AIGRID_RECORD=FILE set, each command and its output are appended to FILE (for the doc).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aigrid.lab import rootfs
from docblocks import copy_checkout, readme_blocks

NARROWED = "tests/test_quality.py tests/test_rules.py"
# What a Debian 12 installation lists in /etc/apt/sources.list; the lab's base has none.
STOCK_SOURCES = """\
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
"""
CHECKOUT = "/root/aigrid"
# Where the chroot gets this machine's CA bundle: a network that passes HTTPS through an
# inspecting proxy makes the host trust the proxy's CA (PIP_CERT, SSL_CERT_FILE), and a
# container on that network needs the same bundle to reach PyPI. Nothing else of the host goes in.
HOST_CA = "/etc/aigrid-host-ca.crt"
CA_VARIABLES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
# A login shell's environment on a stock Debian root, and nothing from this machine.
CLEAN_ENV = {
    "HOME": "/root",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "TERM": "dumb",
}


def why_not_available() -> str | None:
    if reason := rootfs.why_not_available():
        return reason
    if shutil.which("chroot") is None or shutil.which("mount") is None:
        return "needs chroot and mount (coreutils, util-linux)"
    return None


pytestmark = pytest.mark.skipif(why_not_available() is not None, reason=str(why_not_available()))


@dataclass
class Step:
    command: str
    returncode: int
    output: str


class StockDebian:
    """A chroot of stock Debian 12 with this checkout copied in; mounts undone on close."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mounts: list[Path] = []
        self.network_env: dict[str, str] = {}

    def prepare(self) -> None:
        rootfs.unpack(self.root)
        (self.root / "etc/apt/sources.list").write_text(STOCK_SOURCES)
        # The chroot resolves names with this machine's resolver, as a container would.
        shutil.copy("/etc/resolv.conf", self.root / "etc/resolv.conf", follow_symlinks=True)
        if bundle := next(filter(None, map(os.environ.get, CA_VARIABLES)), None):
            shutil.copy(bundle, self.root / HOST_CA.lstrip("/"))
            self.network_env = dict.fromkeys(CA_VARIABLES, HOST_CA)
        copy_checkout(self.root / CHECKOUT.lstrip("/"))
        self._mount(["-t", "proc", "proc"], "proc")
        self._mount(["--rbind", "/dev"], "dev")
        self._mount(["-t", "tmpfs", "tmpfs"], "tmp")

    def _mount(self, how: list[str], where: str) -> None:
        target = self.root / where
        target.mkdir(exist_ok=True)
        subprocess.run(["mount", *how, str(target)], check=True)
        self.mounts.append(target)

    def run(self, command: str, timeout: float = 1800, **env: str) -> Step:
        started = time.monotonic()
        proc = subprocess.run(
            ["chroot", str(self.root), "/bin/bash", "-e", "-c", f"cd {CHECKOUT} && {command}"],
            env={**CLEAN_ENV, **self.network_env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        if record := os.environ.get("AIGRID_RECORD"):
            settings = "".join(f"{name}={shlex.quote(value)} " for name, value in env.items())
            with Path(record).open("a", encoding="utf-8") as log:
                log.write(f"# {settings}{command}\n{proc.stdout}")
                log.write(f"# exit {proc.returncode} after {time.monotonic() - started:.0f} s\n\n")
        return Step(command, proc.returncode, proc.stdout)

    def close(self) -> None:
        for target in reversed(self.mounts):
            # --rbind mounts have submounts (/dev/pts, /dev/shm): a recursive unmount. A command
            # cut off by a timeout may leave a process holding one: then detach it (--lazy).
            if subprocess.run(["umount", "--recursive", str(target)], check=False).returncode:
                subprocess.run(["umount", "--recursive", "--lazy", str(target)], check=False)
        if any(os.path.ismount(target) for target in self.mounts):
            raise RuntimeError(f"mounts under {self.root} are still in place; not removing it")
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.root)], check=False)


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StockDebian]:
    machine = StockDebian(tmp_path_factory.mktemp("stock-debian") / "root")
    try:
        machine.prepare()
        yield machine
    finally:
        machine.close()


def test_stock_python_is_externally_managed_and_has_no_venv(debian: StockDebian) -> None:
    """Why the quick start installs python3-venv and makes a virtual environment (runs first)."""
    assert (debian.root / "usr/lib/python3.11/EXTERNALLY-MANAGED").is_file()
    step = debian.run("python3 -m venv /tmp/venv")
    assert step.returncode != 0 and "python3-venv" in step.output, step.output


def test_quick_start_runs_as_written(debian: StockDebian) -> None:
    prerequisite, quick_start, *_ = readme_blocks("Quick start")
    for command in (prerequisite, quick_start):
        step = debian.run(command)
        assert step.returncode == 0, (command, step.output[-6000:])
    assert "multi-carrier-grid.yaml: valid" in step.output
    assert "operator" in step.output and "blueprints/examples/multi-carrier-grid.yaml:" in step.output


def test_test_command_runs_as_written(debian: StockDebian) -> None:
    _, _, prerequisite, test_command = readme_blocks("Quick start")
    step = debian.run(prerequisite)
    assert step.returncode == 0, step.output[-6000:]
    step = debian.run(test_command, PYTEST_ADDOPTS=NARROWED)
    assert step.returncode == 0, step.output[-6000:]
    assert " passed" in step.output and " failed" not in step.output
