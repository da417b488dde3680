"""kubernetes_cluster addon.yml run for real (ansible-playbook, local connection) against the
STAND-IN kubeadm and kubectl, with the lab blueprint's compiled kustomizations: the Calico
operator's manifests bring their own namespace, which a `kubectl diff` before the first apply
cannot dry-run into (kubernetes/kubernetes#114141), so the role must take that error for
"not applied yet"; a second run finds nothing to change."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aigrid.lab.kubernetes_standins import KUBECTL, UPSTREAM, kubeadm
from conftest import BLUEPRINTS, run_aigrid, run_local_playbook
from test_kubernetes_standins import INIT

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

    root, bin_dir, upstream = tmp_path / "root", tmp_path / "bin", tmp_path / "upstream"
    for folder in (bin_dir, upstream):
        folder.mkdir()
    for name, script in (("kubeadm", kubeadm("1.33.4-1.1")), ("kubectl", KUBECTL)):
        # This Python, which has PyYAML, instead of the lab hosts' /usr/bin/python3.
        (bin_dir / name).write_text(script.replace("#!/usr/bin/python3", f"#!{sys.executable}", 1))
        (bin_dir / name).chmod(0o755)
    sources = {}
    for manifest in operator["manifests"]:
        name = manifest["url"].rsplit("/", 1)[1]
        (upstream / name).write_text(UPSTREAM[name])
        sources[manifest["url"]] = {
            "url": (upstream / name).as_uri(),
            "sha256": hashlib.sha256(UPSTREAM[name].encode()).hexdigest(),
        }
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))
    monkeypatch.setenv("AIGRID_STANDIN_ROOT", str(root))
    init = subprocess.run(
        [str(bin_dir / "kubeadm"), "init", f"--config={config}"], capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    playbook = tmp_path / "addon.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "kubernetes_cluster_addon": operator,
        "kubernetes_cluster_inputs": str(out / "ansible/cluster"),
        "kubernetes_cluster_site": "lab-edge-01",
        "kubernetes_cluster_config_dir": str(tmp_path / "aigrid"),
        "kubernetes_cluster_admin_kubeconfig": str(root / "etc/kubernetes/admin.conf"),
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
