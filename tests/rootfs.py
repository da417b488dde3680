"""A cached Debian bookworm root filesystem for converge tests (debootstrap once, reuse)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

CACHE = Path(os.environ.get("AIGRID_TEST_CACHE", "/var/cache/aigrid-tests"))
TARBALL = CACHE / "bookworm-minbase.tar"
PACKAGES = ["python3", "python3-apt", "sudo", "iproute2", "nftables", "kmod", "procps", "openssh-server"]
MIRROR = "http://deb.debian.org/debian"


def why_not_available() -> str | None:
    """The reason these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot and namespaces)"
    for tool in ("debootstrap", "unshare", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install debootstrap util-linux dpkg)"
    return None


def base_tarball() -> Path:
    """Build the base once; later runs and tests unpack the cached tarball."""
    if TARBALL.exists():
        return TARBALL
    CACHE.mkdir(parents=True, exist_ok=True)
    build = CACHE / "build"
    shutil.rmtree(build, ignore_errors=True)
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            "bookworm",
            str(build),
            MIRROR,
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    subprocess.run(["chroot", str(build), "apt-get", "clean"], check=True, capture_output=True)
    # Hosts in tests install only from the local stand-in repository: no network sources.
    (build / "etc/apt/sources.list").write_text("")
    partial = TARBALL.with_suffix(".partial")
    subprocess.run(["tar", "--numeric-owner", "-C", str(build), "-cf", str(partial), "."], check=True)
    partial.rename(TARBALL)
    shutil.rmtree(build, ignore_errors=True)
    return TARBALL


def unpack(target: Path) -> Path:
    target.mkdir(parents=True)
    with tarfile.open(base_tarball()) as archive:
        archive.extractall(target, numeric_owner=True, filter="fully_trusted")
    return target
