"""kubernetes_cluster labels.yml run for real (ansible-playbook, local connection) against the
STAND-IN kubeadm and kubectl: the node's labels reach its Node object, a label the blueprint
drops is removed, and a label aigrid never set (the GPU Operator's) is left alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import run_local_playbook
from test_kubernetes_standins import formed_standin_cluster

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
    root, bin_dir, admin = formed_standin_cluster(tmp_path, monkeypatch)
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
