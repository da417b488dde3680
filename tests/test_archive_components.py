"""Debian 12 needs its `contrib` component for NVIDIA's driver packages (CUDA Installation
Guide for Linux, Debian, "Prepare Debian"). The nvidia_driver role enables it on the OS's own
archive entries with files/enable-components.py; real apt-get reads the result."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aigrid.catalog import catalog
from conftest import ROOT, apt_reads

SCRIPT = ROOT / "roles" / "nvidia_driver" / "files" / "enable-components.py"
MIRROR = "http://mirror.carrier.example/debian"
CUDA = "https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/"

# What the Debian 12 installer writes (one-line format), with the site's own mirror.
SOURCES_LIST = f"""\
# bookworm, from the carrier mirror
deb {MIRROR} bookworm main non-free-firmware
deb-src {MIRROR} bookworm main non-free-firmware
deb [arch=amd64] {MIRROR} bookworm-updates main  # updates
deb http://security.debian.org/debian-security bookworm-security main
# deb {MIRROR} bookworm-backports main
deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] {CUDA} /
"""
# What Debian cloud images ship (deb822).
DEBIAN_SOURCES = f"""\
Types: deb deb-src
URIs: {MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: {MIRROR}
Suites: trixie
Components: main

Types: deb
URIs: {MIRROR}
Suites: bookworm-backports
Components: main
Enabled: no
"""


def enable(apt: Path, *components: str) -> str:
    proc = subprocess.run(
        ["python3", str(SCRIPT), "--apt-dir", str(apt), "--codename", "bookworm", *components],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


@pytest.fixture
def apt(tmp_path: Path) -> Path:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(SOURCES_LIST)
    (apt / "sources.list.d" / "debian.sources").write_text(DEBIAN_SOURCES)
    return apt


def test_contrib_is_added_to_the_releases_own_entries_only(apt: Path) -> None:
    out = enable(apt, "contrib")
    assert out.count("enabled contrib in") == 2
    lines = (apt / "sources.list").read_text().splitlines()
    assert f"deb {MIRROR} bookworm main non-free-firmware contrib" in lines
    assert f"deb-src {MIRROR} bookworm main non-free-firmware contrib" in lines
    assert f"deb [arch=amd64] {MIRROR} bookworm-updates main contrib # updates" in lines
    assert "deb http://security.debian.org/debian-security bookworm-security main contrib" in lines
    assert f"# deb {MIRROR} bookworm-backports main" in lines  # comments untouched
    assert f"deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] {CUDA} /" in lines
    stanzas = (apt / "sources.list.d" / "debian.sources").read_text().split("\n\n")
    assert "Components: main contrib" in stanzas[0]
    assert "Components: main\n" in stanzas[1] + "\n"  # another release: not this node's
    assert "Components: main\nEnabled: no" in stanzas[2]  # disabled: left alone


def test_a_second_run_changes_nothing(apt: Path) -> None:
    enable(apt, "contrib")
    before = {p.name: p.read_bytes() for p in apt.rglob("*") if p.is_file()}
    assert enable(apt, "contrib") == ""
    assert {p.name: p.read_bytes() for p in apt.rglob("*") if p.is_file()} == before


@pytest.mark.skipif(
    subprocess.run(["which", "apt-get"], capture_output=True).returncode != 0, reason="no apt"
)
def test_apt_reads_the_contrib_indexes_after(apt: Path, tmp_path: Path) -> None:
    assert "/contrib/" not in apt_reads(apt, tmp_path / "lists-before")
    enable(apt, "contrib")
    read = apt_reads(apt, tmp_path / "lists-after")
    assert f"{MIRROR}/dists/bookworm/contrib/binary-" in read, read
    assert f"{MIRROR}/dists/bookworm-updates/contrib/binary-" in read, read
    assert "could not be read" not in read and "Malformed" not in read, read


def test_only_debian_12_asks_for_archive_components() -> None:
    systems = catalog().systems
    assert systems["debian-12"].archive_components == ["contrib"]
    assert systems["ubuntu-24.04"].archive_components == systems["ubuntu-22.04"].archive_components == []
