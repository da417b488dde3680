"""The driver role tells the loaded kernel module's flavour from /proc/driver/nvidia/version, as
real drivers word it, so a node whose blueprint switched flavour reboots into the new one and a
reboot that loads the wrong one fails (Ansible's own templating of the role's pattern)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, run_local_playbook

H200_BANNER = (ROOT / "tests/fixtures/gpu-node-h200/proc-driver-nvidia-version.txt").read_text()
# A proprietary module's banner (NVIDIA UNIX <arch> Kernel Module), as tests/test_facts.py has it.
PROPRIETARY_BANNER = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.144.03  Thu Oct 10 2024\n"

PLAYBOOK = """\
- name: Match the banner
  hosts: localhost
  gather_facts: false
  vars_files: [{defaults}]
  tasks:
    - name: Print whether the pattern matches
      ansible.builtin.debug:
        msg: "MATCH={{{{ banner is search(nvidia_driver_loaded_pattern) }}}}"
"""


def _matches(tmp_path: Path, banner: str, flavour: str, version: str) -> bool:
    playbook = tmp_path / "match.yml"
    defaults = ROOT / "roles/nvidia_driver/defaults/main.yml"
    playbook.write_text(PLAYBOOK.format(defaults=defaults))
    extra = {"banner": banner, "nvidia_driver_kernel_modules": flavour, "nvidia_driver_version": version}
    proc = run_local_playbook(playbook, extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return '"MATCH=True"' in proc.stdout


@pytest.mark.parametrize(
    ("banner", "flavour", "version", "loaded"),
    [
        (H200_BANNER, "open", "580.159.04", True),
        (H200_BANNER, "proprietary", "580.159.04", False),  # the other flavour: reboot
        (H200_BANNER, "open", "580.126.20", False),  # another version: reboot
        (H200_BANNER, "open", "580.159.0", False),  # a prefix of the version is not it
        (PROPRIETARY_BANNER, "proprietary", "550.144.03", True),
        (PROPRIETARY_BANNER, "open", "550.144.03", False),
    ],
)
def test_the_loaded_module_is_read_with_its_flavour(
    tmp_path: Path, banner: str, flavour: str, version: str, loaded: bool
) -> None:
    assert _matches(tmp_path, banner, flavour, version) is loaded
