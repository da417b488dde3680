"""A cached Debian bookworm root filesystem for lab hosts and converge tests (debootstrap once,
reuse): a tarball to unpack for chroot tests, and an unpacked directory lab hosts overlay."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(os.environ.get("AIGRID_LAB_CACHE", "/var/cache/aigrid-lab"))
# python3-yaml: the stand-in kubeadm and kubectl read YAML, as the real ones do.
PACKAGES = [
    "python3",
    "python3-apt",
    "python3-yaml",
    "sudo",
    "iproute2",
    "nftables",
    "kmod",
    "procps",
    "openssh-server",
]
# The cache is named after what it holds: a changed package list builds a new one.
TARBALL = CACHE / f"bookworm-minbase-{hashlib.sha256(' '.join(PACKAGES).encode()).hexdigest()[:8]}.tar"
BASE_DIR = CACHE / TARBALL.stem
MIRROR = "http://deb.debian.org/debian"


def why_not_available() -> str | None:
    """The reason these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot and namespaces)"
    for tool in ("debootstrap", "unshare", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install debootstrap util-linux dpkg)"
    return None


@contextmanager
def _cache_lock() -> Iterator[None]:
    """One builder at a time: test workers and labs started side by side share the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def base_tarball() -> Path:
    """Build the base once; later runs and tests unpack the cached tarball."""
    if TARBALL.exists():
        return TARBALL
    with _cache_lock():
        return TARBALL if TARBALL.exists() else _build_tarball()


def _build_tarball() -> Path:
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


def base_dir() -> Path:
    """The unpacked base that lab hosts overlay (read-only lower layer)."""
    if (BASE_DIR / "usr/sbin/sshd").exists():
        return BASE_DIR
    base_tarball()  # outside the lock below: it takes the lock itself
    with _cache_lock():
        return BASE_DIR if (BASE_DIR / "usr/sbin/sshd").exists() else _unpack_base()


def _unpack_base() -> Path:
    partial = BASE_DIR.with_name(BASE_DIR.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    unpack(partial)
    # One set of host keys for every lab host: they are throwaway hosts on a private bridge.
    subprocess.run(["chroot", str(partial), "ssh-keygen", "-A"], check=True, capture_output=True)
    partial.rename(BASE_DIR)
    return BASE_DIR


def unpack(target: Path) -> Path:
    target.mkdir(parents=True)
    with tarfile.open(base_tarball()) as archive:
        archive.extractall(target, numeric_owner=True, filter="fully_trusted")
    return target
