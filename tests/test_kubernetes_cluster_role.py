"""The kubernetes_cluster role's recovery from a failed kubeadm init or join, run for real
(ansible-playbook, local connection) against a STAND-IN kubeadm that fails the way the real
one does: after it has written the kubeconfig that marks the node formed or joined."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import run_local_playbook

PLAYBOOK = """\
- name: Kubernetes cluster
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the entry point
      ansible.builtin.include_role:
        name: kubernetes_cluster
        tasks_from: {entry}
"""


# kubeadm's preflight refusal (cmd/kubeadm/app/preflight/checks.go): before anything is written.
PREFLIGHT = "[preflight] Some fatal errors occurred:\\n\\t[ERROR Port-10250]: Port 10250 is in use"


def stand_in_kubeadm(bin_dir: Path, log: Path, kubeconfig: Path, phase: str) -> None:
    """`init`/`join` write KUBECONFIG (as kubeadm's kubeconfig phase does), then fail in PHASE;
    in the preflight phase they fail before writing anything; `reset --force` removes it;
    every call is logged."""
    bin_dir.mkdir()
    fail = (
        f"    printf '{PREFLIGHT}\\n' >&2; exit 1 ;;\n"
        if phase == "preflight"
        else f"    echo 'STAND-IN kubeconfig' > {kubeconfig}\n"
        f"    echo '[{phase}] timed out waiting for the condition' >&2; exit 1 ;;\n"
    )
    (bin_dir / "kubeadm").write_text(
        "#!/bin/sh\n# STAND-IN kubeadm\n"
        f'echo "$*" >> {log}\n'
        'case "$1" in\n'
        "  init|join)\n" + fail + f'  reset) [ "$2" = --force ] && rm -f {kubeconfig}; exit 0 ;;\n'
        "  token) echo 'kubeadm join [2001:db8::10]:6443 --token abcdef.0123456789abcdef "
        "--discovery-token-ca-cert-hash sha256:" + "a" * 64 + "' ;;\n"
        "esac\n"
    )
    (bin_dir / "kubeadm").chmod(0o755)


def run(
    tmp_path: Path, entry: str, phase: str, **variables: object
) -> tuple[subprocess.CompletedProcess[str], Path, list[str]]:
    log, config = tmp_path / "kubeadm.log", tmp_path / "etc"
    kubeconfig = config / ("admin.conf" if entry == "init" else "kubelet.conf")
    config.mkdir()
    stand_in_kubeadm(tmp_path / "bin", log, kubeconfig, phase)
    compiled = tmp_path / "kubeadm-config.yaml"
    compiled.write_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n")
    playbook = tmp_path / "cluster.yml"
    playbook.write_text(PLAYBOOK.format(entry=entry))
    extra = {
        "kubernetes_cluster_version": "1.34.9",
        "kubernetes_cluster_site": "lab-edge-01",
        "kubernetes_cluster_first_control_plane": "localhost",
        "kubernetes_cluster_config_dir": str(config / "aigrid"),
        "kubernetes_cluster_admin_kubeconfig": str(config / "admin.conf"),
        "kubernetes_cluster_kubelet_kubeconfig": str(config / "kubelet.conf"),
        "kubernetes_cluster_compiled_config": str(compiled),
        **variables,
    }
    proc = run_local_playbook(playbook, extra, path=tmp_path / "bin")
    calls = log.read_text().splitlines() if log.exists() else []
    return proc, kubeconfig, calls


def test_a_failed_init_is_reset_so_the_next_run_forms_the_cluster(tmp_path: Path) -> None:
    """Before, admin.conf stayed: the next bring-up skipped kubeadm init and failed on kubectl."""
    proc, admin, calls = run(tmp_path, "init", "wait-control-plane")
    assert proc.returncode != 0
    assert "kubeadm init failed on localhost (exit 1): [wait-control-plane] timed out" in proc.stdout
    assert "runs kubeadm init again" in proc.stdout
    assert [call.split()[0] for call in calls] == ["init", "reset"]
    assert not admin.exists()


def test_a_failed_join_is_reset_so_the_next_run_joins(tmp_path: Path) -> None:
    join = {"nodeRegistration": {"name": "lab-gpu01"}}
    proc, kubelet, calls = run(
        tmp_path,
        "join",
        "kubelet-start",
        kubernetes_cluster_first_control_plane="localhost",
        kubernetes_cluster_join_config=join,
        kubernetes_cluster_labels_record=str(tmp_path / "labels.json"),
    )
    assert proc.returncode != 0
    assert "Join with kubeadm join failed on localhost: [kubelet-start] timed out" in proc.stdout
    assert "joins it again" in proc.stdout
    assert [call.split()[0] for call in calls] == ["token", "join", "reset"]
    assert not kubelet.exists()
    assert not (tmp_path / "etc" / "aigrid" / "kubeadm-join.yaml").exists()  # the token's file is gone


def test_a_refused_init_or_join_resets_nothing(tmp_path: Path) -> None:
    """kubeadm's preflight refused (a port in use, another cluster's static pods): it wrote
    nothing, and what it refused was on the node before, perhaps another cluster's kubelet.
    `kubeadm reset --force` would wipe that: the rescue must not run it."""
    variables = {
        "kubernetes_cluster_join_config": {"nodeRegistration": {"name": "lab-gpu01"}},
        "kubernetes_cluster_labels_record": str(tmp_path / "labels.json"),
    }
    for entry, steps in (("init", ["init"]), ("join", ["token", "join"])):
        (tmp_path / entry).mkdir()
        proc, _, calls = run(tmp_path / entry, entry, "preflight", **variables)
        assert proc.returncode != 0
        assert "Some fatal errors occurred" in proc.stdout and "nothing was changed" in proc.stdout, (
            proc.stdout
        )
        assert [call.split()[0] for call in calls] == steps, calls
