"""The toolkit's driver root follows where the driver is (nvidia_container_toolkit
driver_root.yml), run by real ansible-playbook with the STAND-IN nvidia-ctk (its `config`
reads and writes the toolkit's config.toml under a scratch root)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aigrid.lab.standins import NVIDIA_CTK
from conftest import run_local_playbook

PLAYBOOK = """\
- name: The toolkit's driver root
  hosts: all
  # The role's defaults read the architecture.
  gather_facts: true
  tasks:
    - name: Point the toolkit at the driver's root
      ansible.builtin.include_role:
        name: nvidia_container_toolkit
        tasks_from: driver_root
"""
OPERATOR_ROOT = "/run/nvidia/driver"


@pytest.mark.parametrize(
    ("before", "driver_root", "after"),
    [
        # The shipped file: the root commented out. A host driver leaves it so.
        ('#root = "/run/nvidia/driver"', "/", '#root = "/run/nvidia/driver"'),
        # The driver moves into the GPU Operator's container.
        ('#root = "/run/nvidia/driver"', OPERATOR_ROOT, f'root = "{OPERATOR_ROOT}"'),
        # ... and back to the host: the runtime and `cdi generate` must look at / again.
        (f'root = "{OPERATOR_ROOT}"', "/", 'root = "/"'),
        ('root = "/"', "/", 'root = "/"'),
    ],
)
def test_the_driver_root_follows_the_driver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str, driver_root: str, after: str
) -> None:
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    config = root / "etc/nvidia-container-runtime/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[nvidia-container-cli]\n{before}\nldconfig = "@/sbin/ldconfig.real"\n')
    bin_dir.mkdir()
    (bin_dir / "nvidia-ctk").write_text(NVIDIA_CTK.replace("#!/usr/bin/python3", f"#!{sys.executable}", 1))
    (bin_dir / "nvidia-ctk").chmod(0o755)
    monkeypatch.setenv("AIGRID_STANDIN_ROOT", str(root))
    playbook = tmp_path / "root.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "nvidia_container_toolkit_version": "1.19.1",
        "nvidia_container_toolkit_packages": ["nvidia-container-toolkit"],
        "nvidia_container_toolkit_package_version": "1.19.1-*",
        "nvidia_container_toolkit_driver_root": driver_root,
    }
    runs = [run_local_playbook(playbook, extra, bin_dir) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = config.read_text().splitlines()
    assert after in lines and lines.count(after) == 1, lines
    # A second run finds the root where it should be and changes nothing.
    assert "changed=0" in runs[1].stdout, runs[1].stdout
