"""kubernetes_cluster labels.yml run for real (ansible-playbook, local connection) against the
STAND-IN kubeadm and kubectl: the node's labels reach its Node object, a label the blueprint
drops is removed, and a label aigrid never set (the GPU Operator's) is left alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aigrid.lab.kubernetes_standins import KUBECTL, kubeadm
from conftest import run_local_playbook
from test_kubernetes_standins import INIT

PLAYBOOK = """\
- name: Label the node
  hosts: all
  gather_facts: false
  tasks:
    - name: Set the node's labels on its Node object
      ansible.builtin.include_role:
        name: kubernetes_cluster
        tasks_from: labels.yml
"""


def test_labels_follow_the_blueprint_and_only_aigrids_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("kubeadm", kubeadm("1.33.4-1.1")), ("kubectl", KUBECTL)):
        # This Python, which has PyYAML, instead of the lab hosts' /usr/bin/python3.
        (bin_dir / name).write_text(script.replace("#!/usr/bin/python3", f"#!{sys.executable}", 1))
        (bin_dir / name).chmod(0o755)
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))
    monkeypatch.setenv("AIGRID_STANDIN_ROOT", str(root))
    init = subprocess.run(
        [str(bin_dir / "kubeadm"), "init", f"--config={config}"], capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    admin = str(root / "etc/kubernetes/admin.conf")
    state = root / "var/lib/aigrid-standins/kubernetes.json"
    playbook = tmp_path / "labels.yml"
    playbook.write_text(PLAYBOOK)

    def label(labels: dict[str, str]) -> subprocess.CompletedProcess[str]:
        extra = {
            "kubernetes_cluster_first_control_plane": "localhost",
            "kubernetes_cluster_config_dir": str(tmp_path / "aigrid"),
            "kubernetes_cluster_admin_kubeconfig": admin,
            "kubernetes_cluster_version": "1.33.4",
            "kubernetes_cluster_site": "s",
            "kubernetes_cluster_node_labels": labels,
        }
        return run_local_playbook(playbook, extra, path=bin_dir)

    mig = {"aigrid.dev/tier": "edge", "nvidia.com/mig.config": "all-1g.10gb"}
    first = label(mig)
    assert first.returncode == 0, first.stdout
    # The GPU Operator's own label, set by someone else.
    other = subprocess.run(
        [
            str(bin_dir / "kubectl"),
            f"--kubeconfig={admin}",
            "label",
            "node",
            "localhost",
            "nvidia.com/gpu.present=true",
        ],
        capture_output=True,
        text=True,
    )
    assert other.returncode == 0, other.stderr
    assert json.loads(state.read_text())["labels"]["localhost"] == {**mig, "nvidia.com/gpu.present": "true"}

    dropped = label({"aigrid.dev/tier": "edge"})
    assert dropped.returncode == 0, dropped.stdout
    assert json.loads(state.read_text())["labels"]["localhost"] == {
        "aigrid.dev/tier": "edge",
        "nvidia.com/gpu.present": "true",
    }
    again = label({"aigrid.dev/tier": "edge"})
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout
