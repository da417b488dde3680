"""kubernetes_cluster taints.yml run for real (ansible-playbook, local connection) against the
STAND-IN kubeadm and kubectl: the taints aigrid decides reach the Node object after
registration (a worker that gains GPUs, a control plane that stops being the site's only
node or gains GPUs), a second run changes nothing, and a taint under another key is left alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from aigrid.render.cluster import CONTROL_PLANE_TAINT, GPU_TAINT
from aigrid.rolevars import role_defaults
from conftest import run_local_playbook
from test_kubernetes_standins import formed_standin_cluster

PLAYBOOK = """\
- name: Taint the node
  hosts: "{{ aigrid_test_node }}"
  gather_facts: false
  tasks:
    - name: Set the node's taints on its Node object
      ansible.builtin.include_role:
        name: kubernetes_cluster
        tasks_from: taints.yml
"""
GPU = "nvidia.com/gpu=present:NoSchedule"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane:NoSchedule"


def test_aigrids_taints_follow_the_blueprint_and_others_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No taints stated in INIT: kubeadm gives the control plane its own.
    root, bin_dir, admin = formed_standin_cluster(tmp_path, monkeypatch)

    def kubectl(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "kubectl"), f"--kubeconfig={admin}", *words], capture_output=True, text=True
        )

    assert kubectl("label", "node", "worker-1", "a=b").returncode == 0  # the worker registers
    assert kubectl("taint", "node", "worker-1", "example.com/maintenance=yes:NoExecute").returncode == 0
    playbook = tmp_path / "taints.yml"
    playbook.write_text(PLAYBOOK)

    def taint(node: str, taints: list[str]) -> subprocess.CompletedProcess[str]:
        extra = {
            "kubernetes_cluster_first_control_plane": "cp-1",
            "kubernetes_cluster_admin_kubeconfig": admin,
            "kubernetes_cluster_node_taints": taints,
            "kubernetes_cluster_label_retries": 1,
            "aigrid_test_node": node,
        }
        return run_local_playbook(playbook, extra, path=bin_dir, hosts=f"cp-1,{node}")

    def taints_of(node: str) -> list[dict[str, str]]:
        state = json.loads((root / "var/lib/aigrid-standins/kubernetes.json").read_text())
        return sorted(state["taints"].get(node, []), key=lambda t: t["key"])

    maintenance = {"key": "example.com/maintenance", "value": "yes", "effect": "NoExecute"}
    gpu = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    first = taint("worker-1", [GPU])
    assert first.returncode == 0, first.stdout
    assert taints_of("worker-1") == [maintenance, gpu]
    again = taint("worker-1", [GPU])
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout

    # The worker's GPUs go: aigrid's taint goes, the other stays.
    gone = taint("worker-1", [])
    assert gone.returncode == 0, gone.stdout
    assert taints_of("worker-1") == [maintenance]

    # The control plane (kubeadm tainted it at init) gets GPUs, or is a one-node site's.
    assert taints_of("cp-1") == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    freed = taint("cp-1", [])
    assert freed.returncode == 0, freed.stdout
    assert taints_of("cp-1") == []
    back = taint("cp-1", [CONTROL_PLANE])
    assert back.returncode == 0, back.stdout
    assert taints_of("cp-1") == [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]


def test_the_role_owns_exactly_the_keys_aigrid_taints_with() -> None:
    """taints.yml sets and removes taints under the role's keys only; those must be the keys of
    every taint render/cluster.py can give a node, or a taint aigrid decides would never reach
    the Node object (or one it dropped would stay)."""
    owned = role_defaults("kubernetes_cluster")["kubernetes_cluster_taint_keys"]
    assert sorted(owned) == sorted({CONTROL_PLANE_TAINT["key"], GPU_TAINT["key"]})
