"""The preflight hardware checks run for real (ansible-playbook, local connection) on the
compiled variables of a single-H200 node, against a STAND-IN sysfs PCI tree and module list
laid out as the kernel lays them out (a real H200 answers 0x2335 at 0000:00:06.0)."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import pytest

from conftest import compile_for_local_play

PLAYBOOK = """\
- name: Preflight hardware checks
  hosts: gpu_nodes
  gather_facts: true
  tasks:
    - name: Run them
      ansible.builtin.include_role:
        name: preflight
        tasks_from: hardware.yml
"""


def _sysfs(root: Path, devices: dict[str, tuple[str, str, str]]) -> Path:
    """A STAND-IN /sys/bus/pci/devices: address -> (vendor, class, device) files."""
    for address, (vendor, klass, device) in devices.items():
        entry = root / address
        entry.mkdir(parents=True)
        for name, value in (("vendor", vendor), ("class", klass), ("device", device)):
            (entry / name).write_text(value + "\n")
    return root


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    return compile_for_local_play("examples/gpu-node-h200.yaml", tmp_path / "out", PLAYBOOK, ["h200-node-01"])


def _preflight(
    ansible_dir: Path, pci: Path, modules: str, more: dict[str, str] | None = None, *options: str
) -> subprocess.CompletedProcess[str]:
    (ansible_dir / "modules").write_text(modules)
    extra = {
        "preflight_pci_devices_dir": str(pci),
        "preflight_modules_file": str(ansible_dir / "modules"),
        **(more or {}),
    }
    inventories = ["-i", "inventory/hosts.yml", "-i", "local.yml"]
    return subprocess.run(
        ["ansible-playbook", *inventories, "check.yml", "-e", json.dumps(extra), *options],
        cwd=ansible_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


H200 = {"0000:00:06.0": ("0x10de", "0x030200", "0x2335")}
BRIDGE = {"0000:00:01.0": ("0x10de", "0x068000", "0x22a3")}  # an NVSwitch-like bridge, not a GPU


def test_the_declared_h200_passes_and_missing_headers_are_reported(compiled: Path, tmp_path: Path) -> None:
    proc = _preflight(compiled, _sysfs(tmp_path / "pci", {**H200, **BRIDGE}), "nvidia 1 0 - Live 0x0\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kernel_headers = Path("/lib/modules") / platform.release() / "build"
    if not kernel_headers.exists():
        assert "the nvidia_driver role installs linux-headers-" in proc.stdout


def test_check_mode_looks_at_the_gpus_too(compiled: Path, tmp_path: Path) -> None:
    """`aigrid bringup --check` runs preflight in check mode; the GPU listing only reads, so it
    runs there too (Ansible skips a script in check mode otherwise, and the GPU check after it
    would have nothing to compare)."""
    h100 = {"0000:00:06.0": ("0x10de", "0x030200", "0x2330")}
    proc = _preflight(compiled, _sysfs(tmp_path / "h100", h100), "", None, "--check")
    assert proc.returncode != 0
    assert "found 1 NVIDIA GPU(s) 2330" in proc.stdout, proc.stdout
    proc = _preflight(compiled, _sysfs(tmp_path / "h200", H200), "", None, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_h100_where_the_blueprint_declares_an_h200_fails_naming_both(
    compiled: Path, tmp_path: Path
) -> None:
    h100 = {"0000:00:06.0": ("0x10de", "0x030200", "0x2330")}
    proc = _preflight(compiled, _sysfs(tmp_path / "pci", h100), "")
    assert proc.returncode != 0
    assert "found 1 NVIDIA GPU(s) 2330" in proc.stdout and "H200-141GB (PCI ids 2335)" in proc.stdout


def test_nouveau_on_a_fresh_server_is_reported_not_refused(compiled: Path, tmp_path: Path) -> None:
    proc = _preflight(compiled, _sysfs(tmp_path / "pci", H200), "nouveau 2916352 0 - Live 0x0\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nouveau is loaded; the nvidia_driver role will blacklist it" in proc.stdout


# efivarfs: a variable's file is its 4-byte attributes, then its data; SecureBoot's data is one
# byte, 1 when Secure Boot is on (UEFI spec, "Globally Defined Variables"; efivarfs docs).
SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


@pytest.mark.parametrize(
    ("install", "state", "refused_by"),
    [
        ("host", 1, "DKMS builds unsigned NVIDIA modules"),
        ("operator", 1, "the GPU Operator's driver container builds unsigned NVIDIA modules"),
        ("preinstalled", 1, None),  # whoever installed it signed it, or it would not be loaded
        ("host", 0, None),
        ("operator", 0, None),
    ],
)
def test_secure_boot_refuses_a_driver_built_on_the_node(
    compiled: Path, tmp_path: Path, install: str, state: int, refused_by: str | None
) -> None:
    efivars = tmp_path / "efivars"
    efivars.mkdir()
    (efivars / SECURE_BOOT_VAR).write_bytes(b"\x06\x00\x00\x00" + bytes([state]))
    extra = {"preflight_efivars_dir": str(efivars), "preflight_driver_install": install}
    proc = _preflight(compiled, _sysfs(tmp_path / "pci", H200), "nvidia 1 0 - Live 0x0\n", extra)
    if refused_by is None:
        assert "Secure Boot is on" not in proc.stdout, proc.stdout
    else:
        assert proc.returncode != 0
        assert f"Secure Boot is on and stack.driver.install is {install}: {refused_by}" in proc.stdout
