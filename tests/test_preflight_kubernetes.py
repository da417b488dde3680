"""Preflight stops a bring-up that would change a formed cluster's Kubernetes version by
installing packages (ansible-playbook for real, local connection, on the compiled variables of
lab-edge-site's control plane; a STAND-IN dpkg-query answers the installed kubeadm version)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import compile_for_local_play

PLAYBOOK = """\
- name: Preflight Kubernetes check
  hosts: lab-cp
  gather_facts: false
  tasks:
    - name: Run it
      ansible.builtin.include_role:
        name: preflight
        tasks_from: kubernetes.yml
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("preflight") / "out"
    return compile_for_local_play("examples/lab-edge-site.yaml", out, PLAYBOOK, ["lab-cp"])


def _check(
    ansible_dir: Path, tmp_path: Path, installed: str, joined: bool
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = (
        bin_dir / "dpkg-query"
    )  # STAND-IN: prints the installed kubeadm version, as dpkg-query -W -f does
    stand_in.write_text(f"#!/bin/sh\nprintf '%s' '{installed}'\n")
    stand_in.chmod(0o755)
    kubeconfig = tmp_path / "kubelet.conf"
    if joined:
        kubeconfig.write_text("# a joined node's kubelet kubeconfig\n")
    extra = json.dumps({"preflight_kubelet_kubeconfig": str(kubeconfig)})
    inventories = ["-i", "inventory/hosts.yml", "-i", "local.yml"]
    return subprocess.run(
        ["ansible-playbook", *inventories, "check.yml", "-e", extra],
        cwd=ansible_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )


def test_a_joined_node_at_another_version_stops_the_run(compiled: Path, tmp_path: Path) -> None:
    proc = _check(compiled, tmp_path, "1.33.4-1.1", joined=True)
    assert proc.returncode == 2, proc.stdout
    assert "serves a cluster at kubeadm 1.33.4-1.1, and the blueprint pins 1.34.9" in proc.stdout
    assert "Nothing was changed" in proc.stdout


def test_a_joined_node_at_the_pinned_version_passes(compiled: Path, tmp_path: Path) -> None:
    proc = _check(compiled, tmp_path, "1.34.9-1.1", joined=True)
    assert proc.returncode == 0, proc.stdout


def test_a_node_not_yet_in_a_cluster_is_not_held_to_it(compiled: Path, tmp_path: Path) -> None:
    proc = _check(compiled, tmp_path, "1.33.4-1.1", joined=False)
    assert proc.returncode == 0, proc.stdout
