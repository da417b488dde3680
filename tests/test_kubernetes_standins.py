"""The STAND-IN kubeadm outside the lab: what the roles' procedure depends on must hold for it
as it does for the real tool (here: tokens asked for at the same time, as the workers' joins do)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from aigrid.lab.kubernetes_standins import KUBECTL, kubeadm

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


def formed_standin_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, str]:
    """A cluster formed by the STAND-IN kubeadm (INIT) under tmp_path/root, with kubeadm and
    kubectl in tmp_path/bin (this Python, which has PyYAML, instead of the lab hosts'
    /usr/bin/python3): the root, the bin folder and the admin kubeconfig's path."""
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("kubeadm", kubeadm("1.33.4-1.1")), ("kubectl", KUBECTL)):
        (bin_dir / name).write_text(script.replace("#!/usr/bin/python3", f"#!{sys.executable}", 1))
        (bin_dir / name).chmod(0o755)
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))
    monkeypatch.setenv("AIGRID_STANDIN_ROOT", str(root))
    init = subprocess.run(
        [str(bin_dir / "kubeadm"), "init", f"--config={config}"], capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stderr
    return root, bin_dir, str(root / "etc/kubernetes/admin.conf")


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

    # KEY- removes a label; a label that is not there is reported and left alone.
    removed = run(kubectl_script, admin, "label", "node", "worker-1", "--overwrite", "nvidia.com/mig.config-")
    assert (removed.returncode, removed.stdout) == (0, "node/worker-1 unlabeled\n")
    absent = run(kubectl_script, admin, "label", "node", "worker-1", "--overwrite", "nvidia.com/mig.config-")
    assert (
        absent.stdout == "node/worker-1 not labeled\n"
        and 'label "nvidia.com/mig.config" not found' in absent.stderr
    )
    assert json.loads(state_file.read_text())["labels"]["worker-1"] == {}


def test_kubeadm_upgrade_needs_kubeadm_first_and_one_minor_at_a_time(tmp_path: Path) -> None:
    """What the upgrade procedure depends on (Kubernetes docs, "Upgrading kubeadm clusters"):
    `kubeadm upgrade apply` refuses a version above kubeadm's own (kubeadm is upgraded first),
    a skipped minor and a question left unanswered; `kubeadm upgrade node` needs a joined node."""
    root = tmp_path / "root"
    env = {"AIGRID_STANDIN_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))

    def run(version: str, *args: str) -> subprocess.CompletedProcess[str]:
        script = tmp_path / f"kubeadm-{version}"
        script.write_text(kubeadm(version))
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True)

    assert run("1.33.4-1.1", "upgrade", "node").returncode == 1  # not joined yet
    assert run("1.33.4-1.1", "init", f"--config={config}", "--skip-token-print").returncode == 0
    old_kubeadm = run("1.33.4-1.1", "upgrade", "apply", "v1.34.1", "--yes")
    assert old_kubeadm.returncode == 1 and "Upgrade kubeadm first" in old_kubeadm.stderr
    unanswered = run("1.34.1-1.1", "upgrade", "apply", "v1.34.1")
    assert unanswered.returncode == 1 and "won't proceed" in unanswered.stderr
    skipped = run("1.35.0-1.1", "upgrade", "apply", "v1.35.0", "--yes")
    assert skipped.returncode == 1 and "only 1 minor version at a time" in skipped.stderr
    state_file = root / "var/lib/aigrid-standins/kubernetes.json"
    assert json.loads(state_file.read_text())["version"] == "v1.33.4"

    applied = run("1.34.1-1.1", "upgrade", "apply", "v1.34.1", "--yes")
    assert applied.returncode == 0, applied.stderr
    state = json.loads(state_file.read_text())
    assert state["version"] == "v1.34.1"
    assert state["config"]["ClusterConfiguration"]["kubernetesVersion"] == "v1.34.1"
    down = run("1.34.1-1.1", "upgrade", "apply", "v1.33.4", "--yes")
    assert down.returncode == 1 and "Downgrades are not supported" in down.stderr
    node = run("1.34.1-1.1", "upgrade", "node")
    assert node.returncode == 0, node.stderr
    assert "kubeadm v1.34.1" in (root / "var/lib/kubelet/config.yaml").read_text()
    assert run("1.34.1-1.1", "version", "-o", "short").stdout.strip() == "v1.34.1"


def test_kubeadm_upgrade_apply_needs_a_node_its_health_check_job_can_run_on(tmp_path: Path) -> None:
    """kubeadm upgrade apply's CreateJob check (cmd/kubeadm/app/phases/upgrade/health.go): its
    Job tolerates only the control-plane taint. With the control plane cordoned and the other
    node carrying the GPU taint, nothing can run it and the upgrade stops (kubernetes/kubeadm
    #3050); uncordoned, the control plane runs it; with every node cordoned it is skipped."""
    root = tmp_path / "root"
    env = {"AIGRID_STANDIN_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    admin = f"--kubeconfig={root}/etc/kubernetes/admin.conf"
    config = tmp_path / "kubeadm-config.yaml"
    config.write_text(yaml.safe_dump_all(INIT))
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(KUBECTL)
    newer = tmp_path / "kubeadm-new"
    newer.write_text(kubeadm("1.34.1-1.1"))
    old = tmp_path / "kubeadm-old"
    old.write_text(kubeadm("1.33.4-1.1"))

    def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True)

    assert run(old, "init", f"--config={config}", "--skip-token-print").returncode == 0
    assert run(kubectl, admin, "label", "node", "gpu-1", "--overwrite", "a=b").returncode == 0
    assert run(kubectl, admin, "taint", "node", "gpu-1", "nvidia.com/gpu=present:NoSchedule").returncode == 0
    assert run(kubectl, admin, "drain", "cp-1", "--ignore-daemonsets").returncode == 0

    blocked = run(newer, "upgrade", "apply", "v1.34.1", "--yes")
    assert blocked.returncode == 1 and "[ERROR CreateJob]" in blocked.stderr
    state_file = root / "var/lib/aigrid-standins/kubernetes.json"
    assert json.loads(state_file.read_text())["version"] == "v1.33.4"

    assert run(kubectl, admin, "drain", "gpu-1", "--ignore-daemonsets").returncode == 0
    skipped = run(newer, "upgrade", "apply", "v1.34.1", "--yes")
    assert skipped.returncode == 0 and "was skipped because there are no schedulable Nodes" in skipped.stderr

    assert run(kubectl, admin, "uncordon", "cp-1").returncode == 0
    assert run(kubectl, admin, "uncordon", "gpu-1").returncode == 0
    assert run(newer, "upgrade", "apply", "v1.34.1", "--yes").returncode == 0
