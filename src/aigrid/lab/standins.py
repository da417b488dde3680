"""STAND-IN vendor packages and a local apt repository, for tests only.

The packages carry the real names and versions of NVIDIA's, Docker's and Kubernetes'
packages (so repository setup, version pinning and holds are exercised for real against
apt), but they install nothing except a marker file saying they are stand-ins. Several
versions of each are published, including newer ones, so a missing pin shows up as the
wrong version installed. Never use them outside tests.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from pathlib import Path

# name -> versions published; the first is what the lab blueprint pins.
STANDINS: dict[str, list[str]] = {
    "containerd.io": ["2.3.1-1", "2.3.0-1", "2.4.0-1"],
    "nvidia-container-toolkit": ["1.19.1-1", "1.20.0-1"],
    "nvidia-container-toolkit-base": ["1.19.1-1", "1.20.0-1"],
    "libnvidia-container-tools": ["1.19.1-1", "1.20.0-1"],
    "libnvidia-container1": ["1.19.1-1", "1.20.0-1"],
    "kubelet": ["1.34.9-1.1", "1.35.0-1.1"],
    "kubeadm": ["1.34.9-1.1", "1.35.0-1.1"],
    "kubectl": ["1.34.9-1.1", "1.35.0-1.1"],
    "nvidia-driver-580-open": ["580.126.20-0ubuntu1", "580.159.04-0ubuntu1"],
    "cuda-libraries-13-0": ["13.0.2-1", "13.0.1-1"],
    "libnvinfer10": ["10.14.1.48-1+cuda13.0", "10.14.1.48-1+cuda12.9", "10.15.1.29-1+cuda13.0"],
    "libnvinfer-plugin10": ["10.14.1.48-1+cuda13.0", "10.14.1.48-1+cuda12.9", "10.15.1.29-1+cuda13.0"],
}
PINNED = {name: versions[0] for name, versions in STANDINS.items()}
MARKER_DIR = "usr/share/aigrid-standins"


def build_deb(workdir: Path, name: str, version: str) -> Path:
    root = workdir / f"{name}_{version}"
    (root / "DEBIAN").mkdir(parents=True)
    marker = root / MARKER_DIR / name
    marker.parent.mkdir(parents=True)
    marker.write_text(f"STAND-IN for tests: {name} {version}\n")
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: aigrid tests <tests@aigrid.invalid>\n"
        f"Description: STAND-IN of {name} for aigrid tests\n"
        " Carries the real name and version; installs a marker.\n"
    )
    deb = workdir / f"{name}_{version.replace(':', '%3a')}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


def build_repo(repo: Path) -> Path:
    """A flat apt repository (Packages, Packages.gz, Release) with every stand-in version."""
    repo.mkdir(parents=True, exist_ok=True)
    stanzas = []
    for name, versions in sorted(STANDINS.items()):
        for version in versions:
            deb = build_deb(repo, name, version)
            data = deb.read_bytes()
            control = subprocess.run(
                ["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True
            ).stdout
            stanzas.append(
                control.rstrip("\n") + f"\nFilename: ./{deb.name}\nSize: {len(data)}\n"
                f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
            )
    packages = "\n".join(stanzas).encode()
    (repo / "Packages").write_bytes(packages)
    (repo / "Packages.gz").write_bytes(gzip.compress(packages, mtime=0))
    lines = ["Origin: aigrid-standins", "Label: aigrid stand-in packages for tests", "Suite: ./", "SHA256:"]
    for index in ("Packages", "Packages.gz"):
        content = (repo / index).read_bytes()
        lines.append(f" {hashlib.sha256(content).hexdigest()} {len(content)} {index}")
    (repo / "Release").write_text("\n".join(lines) + "\n")
    for leftover in repo.iterdir():
        if leftover.is_dir():
            subprocess.run(["rm", "-rf", str(leftover)], check=True)
    return repo
