"""kubernetes_cluster addon.yml run for real (ansible-playbook, local connection) against the
STAND-IN kubeadm and kubectl, with the lab blueprint's compiled kustomizations: the Calico
operator's manifests bring their own namespace, which a `kubectl diff` before the first apply
cannot dry-run into (kubernetes/kubernetes#114141), so the role must take that error for
"not applied yet"; a second run finds nothing to change."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from aigrid.lab.kubernetes_standins import UPSTREAM
from conftest import BLUEPRINTS, run_aigrid, run_local_playbook
from test_kubernetes_standins import formed_standin_cluster

PLAYBOOK = """\
- name: Apply the add-on
  hosts: all
  gather_facts: false
  tasks:
    - name: Apply one add-on
      ansible.builtin.include_role:
        name: kubernetes_cluster
        tasks_from: addon.yml
"""


def test_an_addon_that_creates_its_namespace_is_applied_then_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert (
        run_aigrid("compile", str(BLUEPRINTS / "examples/lab-edge-site.yaml"), "-o", str(out)).returncode == 0
    )
    steps = yaml.safe_load((out / "ansible/inventory/group_vars/all.yml").read_text())[
        "kubernetes_cluster_addons"
    ]
    operator = steps[0]
    assert operator["name"] == "calico-operator"

    root, bin_dir, admin = formed_standin_cluster(tmp_path, monkeypatch)
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    sources = {}
    for manifest in operator["manifests"]:
        name = manifest["url"].rsplit("/", 1)[1]
        (upstream / name).write_text(UPSTREAM[name])
        sources[manifest["url"]] = {
            "url": (upstream / name).as_uri(),
            "sha256": hashlib.sha256(UPSTREAM[name].encode()).hexdigest(),
        }
    playbook = tmp_path / "addon.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "kubernetes_cluster_addon": operator,
        "kubernetes_cluster_inputs": str(out / "ansible/cluster"),
        "kubernetes_cluster_site": "lab-edge-01",
        "kubernetes_cluster_config_dir": str(tmp_path / "aigrid"),
        "kubernetes_cluster_admin_kubeconfig": admin,
        "kubernetes_cluster_manifest_sources": sources,
        "kubernetes_cluster_version": "1.33.4",
    }

    first = run_local_playbook(playbook, extra, path=bin_dir)
    assert first.returncode == 0, first.stdout
    log = [
        json.loads(line) for line in (root / "var/log/aigrid-standins/kubectl.log").read_text().splitlines()
    ]
    assert [entry["argv"][1] for entry in log] == ["diff", "apply"]  # the diff failed: NotFound
    state = json.loads((root / "var/lib/aigrid-standins/kubernetes.json").read_text())
    assert "apps/v1/Deployment/tigera-operator/tigera-operator" in state["objects"]

    second = run_local_playbook(playbook, extra, path=bin_dir)
    assert second.returncode == 0, second.stdout
    assert "changed=0" in second.stdout, second.stdout
