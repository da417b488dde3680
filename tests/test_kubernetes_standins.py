"""The STAND-IN kubeadm outside the lab: what the roles' procedure depends on must hold for it
as it does for the real tool (here: tokens asked for at the same time, as the workers' joins do)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from aigrid.lab.kubernetes_standins import kubeadm

INIT = [
    {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "InitConfiguration",
        "localAPIEndpoint": {"advertiseAddress": "fd00:ed::a", "bindPort": 6443},
        "nodeRegistration": {"name": "cp-1", "criSocket": "unix:///run/containerd/containerd.sock"},
    },
    {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "ClusterConfiguration",
        "kubernetesVersion": "v1.33.4",
        "networking": {"podSubnet": "fd10:a::/56", "serviceSubnet": "fd10:b::/108"},
    },
]


def test_tokens_asked_for_at_once_are_all_kept(tmp_path: Path) -> None:
    """Every worker's join asks the first control plane for its own token at the same moment
    (the role delegates `kubeadm token create` there); the API server keeps each one. A stand-in
    that lost one would fail that worker's join for a reason a real cluster never has."""
    script = tmp_path / "kubeadm"
    script.write_text(kubeadm("1.33.4-1.1"))
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))
    env = {"AIGRID_STANDIN_ROOT": str(tmp_path / "root"), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True)

    init = run("init", f"--config={config}", "--skip-token-print")
    assert init.returncode == 0, init.stderr
    with ThreadPoolExecutor(max_workers=16) as pool:
        asks = [("token", "create", "--print-join-command", "--ttl=15m")] * 16
        created = list(pool.map(lambda argv: run(*argv), asks))
    assert [c.stderr for c in created if c.returncode] == []
    tokens = {c.stdout.split("--token ")[1].split()[0] for c in created}
    assert len(tokens) == 16
    state = json.loads((tmp_path / "root/var/lib/aigrid-standins/kubernetes.json").read_text())
    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens} <= set(state["tokens"])


def test_kubectl_labels_drains_and_uncordons_like_kubectl(tmp_path: Path) -> None:
    """What aigrid upgrade and the joins ask of kubectl: labels set on the Node object (a
    different value only with --overwrite; "not labeled" when nothing changes), drain and
    uncordon of a registered node only."""
    from aigrid.lab.kubernetes_standins import KUBECTL

    kubeadm_script, kubectl_script = tmp_path / "kubeadm", tmp_path / "kubectl"
    kubeadm_script.write_text(kubeadm("1.33.4-1.1"))
    kubectl_script.write_text(KUBECTL)
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))
    root = tmp_path / "root"
    env = {"AIGRID_STANDIN_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    admin = f"--kubeconfig={root}/etc/kubernetes/admin.conf"

    def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True)

    assert run(kubeadm_script, "init", f"--config={config}", "--skip-token-print").returncode == 0
    unknown = run(kubectl_script, admin, "drain", "worker-1", "--ignore-daemonsets")
    assert unknown.returncode == 1 and 'nodes "worker-1" not found' in unknown.stderr

    labelled = run(
        kubectl_script, admin, "label", "node", "worker-1", "--overwrite", "nvidia.com/mig.config=all-1g.10gb"
    )
    assert (labelled.returncode, labelled.stdout) == (0, "node/worker-1 labeled\n")
    again = run(
        kubectl_script, admin, "label", "node", "worker-1", "--overwrite", "nvidia.com/mig.config=all-1g.10gb"
    )
    assert again.stdout == "node/worker-1 not labeled\n"
    refused = run(kubectl_script, admin, "label", "node", "worker-1", "nvidia.com/mig.config=all-balanced")
    assert refused.returncode == 1 and "--overwrite is false" in refused.stderr

    assert run(kubectl_script, admin, "drain", "worker-1", "--ignore-daemonsets").returncode == 0
    state_file = root / "var/lib/aigrid-standins/kubernetes.json"
    assert json.loads(state_file.read_text())["unschedulable"] == ["worker-1"]
    assert run(kubectl_script, admin, "uncordon", "worker-1").returncode == 0
    state = json.loads(state_file.read_text())
    assert state["unschedulable"] == []
    assert state["labels"]["worker-1"] == {"nvidia.com/mig.config": "all-1g.10gb"}
