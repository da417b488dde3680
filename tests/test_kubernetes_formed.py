"""kubernetes_cluster formed.yml run for real (ansible-playbook, local connection): what makes a
formed cluster's configuration differ from the blueprint's is what formed it (ClusterConfiguration,
KubeletConfiguration, the API endpoint), not InitConfiguration's nodeRegistration, which kubeadm
applied once (adding a node to a one-node site changes the first node's taints there), nor the
header comment; aigrid upgrade leaves the version's line out."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_local_playbook
from test_kubernetes_standins import INIT

PLAYBOOK = """\
- name: Compare
  hosts: all
  gather_facts: false
  tasks:
    - name: Compare with the formed configuration
      ansible.builtin.include_role:
        name: kubernetes_cluster
        tasks_from: formed.yml
    - name: Say whether it differs
      ansible.builtin.debug:
        msg: "DIFFERS={{ kubernetes_cluster_formed_differs }}"
"""

KUBELET = {
    "apiVersion": "kubelet.config.k8s.io/v1beta1",
    "kind": "KubeletConfiguration",
    "cgroupDriver": "systemd",
}
FORMED = [*INIT, KUBELET]


def _edit(kind: str, change: Any) -> list[dict[str, Any]]:
    docs = copy.deepcopy(FORMED)
    change(next(doc for doc in docs if doc["kind"] == kind))
    return docs


@pytest.mark.parametrize(
    ("compiled", "ignore_version", "differs"),
    [
        (_edit("InitConfiguration", lambda d: d["nodeRegistration"].update(taints=[])), False, False),
        # A cluster formed before aigrid set init's token TTL: the token is long gone either way.
        (_edit("InitConfiguration", lambda d: d.update(bootstrapTokens=[{"ttl": "15m0s"}])), False, False),
        (
            _edit("InitConfiguration", lambda d: d["localAPIEndpoint"].update(advertiseAddress="fd00:ed::b")),
            False,
            True,
        ),
        (
            _edit("ClusterConfiguration", lambda d: d["networking"].update(podSubnet="fd10:c::/56")),
            False,
            True,
        ),
        (_edit("KubeletConfiguration", lambda d: d.update(cgroupDriver="cgroupfs")), False, True),
        (_edit("ClusterConfiguration", lambda d: d.update(kubernetesVersion="v1.34.1")), False, True),
        (_edit("ClusterConfiguration", lambda d: d.update(kubernetesVersion="v1.34.1")), True, False),
    ],
    ids=[
        "init-taints",
        "init-token",
        "advertise-address",
        "pod-range",
        "kubelet-cgroup",
        "version",
        "version-in-upgrade",
    ],
)
def test_only_what_kubeadm_keeps_for_the_cluster_counts(
    tmp_path: Path, compiled: list[dict[str, Any]], ignore_version: bool, differs: bool
) -> None:
    config_dir = tmp_path / "aigrid"
    config_dir.mkdir()
    (config_dir / "kubeadm-config.yaml").write_text(
        "# formed from blueprint a\n" + yaml.safe_dump_all(FORMED)
    )
    site = tmp_path / "cluster/sites/s"
    site.mkdir(parents=True)
    (site / "kubeadm-config.yaml").write_text("# compiled from blueprint b\n" + yaml.safe_dump_all(compiled))
    playbook = tmp_path / "formed.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "kubernetes_cluster_config_dir": str(config_dir),
        "kubernetes_cluster_inputs": str(tmp_path / "cluster"),
        "kubernetes_cluster_site": "s",
        "kubernetes_cluster_formed_ignore_version": ignore_version,
    }
    proc = run_local_playbook(playbook, extra)
    assert proc.returncode == 0, proc.stdout
    assert f'"msg": "DIFFERS={differs}"' in proc.stdout, proc.stdout
