"""nvidia_driver operator.yml run for real (ansible-playbook, local connection, real dpkg-query
over a dpkg database written here): with stack.driver.install operator, a driver already on
the host would make the GPU Operator leave it in place, unpinned ("pre-installed"), so the role
refuses it before changing anything; a pinning package left behind is no driver."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_local_playbook

PLAYBOOK = """\
- name: Check the host
  hosts: all
  gather_facts: false
  tasks:
    - name: Check the host has no driver of its own
      ansible.builtin.include_role:
        name: nvidia_driver
        tasks_from: operator.yml
"""


def _package(name: str, version: str, state: str = "installed") -> str:
    # A dpkg status entry as dpkg writes it (state: installed, half-configured, ...).
    return (
        f"Package: {name}\nStatus: install ok {state}\nPriority: optional\nSection: misc\n"
        f"Maintainer: NVIDIA <cudatools@nvidia.com>\nArchitecture: amd64\nVersion: {version}\n"
        "Description: stand-in entry\n\n"
    )


@pytest.mark.parametrize(
    ("installed", "refused"),
    [
        ([], False),
        ([("nvidia-driver-pinning-580.126.20", "580.126.20-1")], False),
        ([("nvidia-dkms-580-open", "580.95.05-0ubuntu1"), ("nvidia-open", "580.95.05-0ubuntu1")], True),
        ([("linux-modules-nvidia-580-open-6.8.0-90-generic", "6.8.0-90.91")], True),
        ([("nvidia-kernel-dkms", "535.247.01-1~deb12u1")], True),  # Debian 12's own
        ([("nvidia-driver-assistant", "0.22.65.06-1")], False),  # picks a driver, carries none
    ],
    ids=["clean", "pinning-left", "dkms-driver", "signed-prebuilt", "debian-dkms", "assistant"],
)
def test_a_host_driver_is_refused_under_the_operator(
    tmp_path: Path, installed: list[tuple[str, str]], refused: bool
) -> None:
    if shutil.which("nvidia-smi") or Path("/usr/bin/nvidia-smi").exists():
        pytest.skip("this machine has nvidia-smi: it would be refused whatever the packages")
    admin = tmp_path / "dpkg"
    admin.mkdir()
    (admin / "status").write_text("".join(_package(name, version) for name, version in installed))
    playbook = tmp_path / "operator.yml"
    playbook.write_text(PLAYBOOK)
    proc = run_local_playbook(
        playbook, {"nvidia_driver_dpkg_admindir": str(admin), "nvidia_driver_version": "580.126.20"}
    )
    if not refused:
        assert proc.returncode == 0, proc.stdout
        return
    assert proc.returncode != 0
    drivers = ", ".join(sorted(name for name, _ in installed))
    assert f"the host has an NVIDIA driver ({drivers})" in proc.stdout, proc.stdout
    assert "stack.driver.install: preinstalled" in proc.stdout


def test_a_driver_left_half_configured_by_a_failed_build_is_refused_too(tmp_path: Path) -> None:
    """A DKMS build that failed leaves the package half-configured, its files in place."""
    if Path("/usr/bin/nvidia-smi").exists():
        pytest.skip("this machine has nvidia-smi: it would be refused whatever the packages")
    admin = tmp_path / "dpkg"
    admin.mkdir()
    (admin / "status").write_text(_package("nvidia-dkms-580-open", "580.95.05-0ubuntu1", "half-configured"))
    playbook = tmp_path / "operator.yml"
    playbook.write_text(PLAYBOOK)
    proc = run_local_playbook(
        playbook, {"nvidia_driver_dpkg_admindir": str(admin), "nvidia_driver_version": "580.126.20"}
    )
    assert proc.returncode != 0 and "the host has an NVIDIA driver (nvidia-dkms-580-open)" in proc.stdout, (
        proc.stdout
    )
