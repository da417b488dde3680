"""aigrid upgrade on the emulated site: revision A (lab-upgrade-from) brought up for real, then
B (lab-upgrade-to: Kubernetes 1.34.9 to 1.35.0, the next 580 driver on every GPU node, the H100
partitioned into MIG devices, a higher eMBB bitrate on every node) rolled out node by node. A
failure injected on one node stops the rollout there with that node cordoned and the next
untouched; the same command resumes and finishes; drift is clean after.

Its own lab (the one of test_lab.py runs revision A of another blueprint)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aigrid import layout
from aigrid.lab import lab
from conftest import BLUEPRINTS, run_aigrid
from test_lab import REASON, aigrid, host_log, kernel_view, verbs, words

pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))

FROM = BLUEPRINTS / "examples" / "day2" / "lab-upgrade-from.yaml"
TO = BLUEPRINTS / "examples" / "day2" / "lab-upgrade-to.yaml"
SITE = "lab-edge-01"
# A package hook that fails, as a broken one on a real node would: apt stops before dpkg runs.
# It fails only for the new driver's packages (apt hands DPkg::Pre-Install-Pkgs the .deb files
# it installs), so the node fails after its drain and its kubeadm upgrade, in the bring-up.
BROKEN_HOOK = "/etc/apt/apt.conf.d/99-aigrid-test-broken-hook"
BREAKS_NEW_DRIVER = 'DPkg::Pre-Install-Pkgs {"! grep -q 580.159.04";};'


def ssh(state: lab.LabState, host: lab.LabHost, script: str) -> str:
    proc = subprocess.run(
        lab.ssh_command(state, host, script), capture_output=True, text=True, timeout=60, check=True
    )
    return proc.stdout


def cluster(state: lab.LabState, control: lab.LabHost) -> dict[str, Any]:
    """What the STAND-IN cluster on the control plane holds."""
    loaded: dict[str, Any] = json.loads(ssh(state, control, "cat /var/lib/aigrid-standins/kubernetes.json"))
    return loaded


@pytest.fixture(scope="module")
def revision_a(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("upgrade")
    old, new, labdir = base / "a", base / "b", base / "lab"
    assert aigrid("compile", str(FROM), "--out", str(old)).returncode == 0
    assert aigrid("compile", str(TO), "--out", str(new)).returncode == 0
    up = aigrid("lab", "up", str(FROM), "--site", SITE, "--dir", str(labdir))
    try:
        assert up.returncode == 0, up.stderr
        inventory = str(labdir / "inventory.yml")
        first = aigrid("bringup", str(old), "--inventory", inventory, "--no-hardware-checks", "--json")
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        yield old, new, labdir, lab.LabState.load(labdir)
    finally:
        aigrid("lab", "down", "--dir", str(labdir))


def upgrade(old: Path, new: Path, labdir: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    # Four nodes one after another, each through bring-up, a reboot and its checks.
    proc = run_aigrid(
        "upgrade",
        str(new),
        "--from",
        str(old / layout.LOCK),
        "--inventory",
        str(labdir / "inventory.yml"),
        "--no-hardware-checks",
        "--yes",
        "--json",
        timeout=2400,
    )
    assert proc.stdout, proc.stderr[-3000:]
    return proc, json.loads(proc.stdout)


def packages(state: lab.LabState, host: lab.LabHost) -> dict[str, str]:
    listing = ssh(
        state, host, "dpkg-query --show --showformat='${Package} ${Version}\\n' kubeadm kubelet kubectl"
    )
    return dict(line.split() for line in listing.splitlines())


def dpkg_upgraded(state: lab.LabState, host: lab.LabHost, package: str) -> float:
    """When dpkg upgraded `package` to a 1.35 version on the host (dpkg.log, to the second)."""
    log = ssh(state, host, f"grep ' upgrade {package}:' /var/log/dpkg.log")
    stamp = next(line for line in log.splitlines() if line.split()[5].startswith("1.35."))
    when = ssh(state, host, f"date -d '{' '.join(stamp.split()[:2])}' +%s")
    return float(when)


def statuses(summary: dict[str, Any]) -> dict[str, str]:
    return {node["hostname"]: node["status"] for node in summary["nodes"]}


def test_upgrade_stops_at_a_failing_node_and_resumes_one_node_at_a_time(revision_a: Any) -> None:
    old, new, labdir, state = revision_a
    control = next(host for host in state.hosts if not host.gpus)
    gpu01, gpu02, gpu03 = (host for host in state.hosts if host.gpus)
    boots = {host.hostname: kernel_view(state, host)["boot"] for host in state.hosts if host.gpus}
    asked_before = len(host_log(state, control, "kubectl"))

    ssh(state, gpu02, f"echo '{BREAKS_NEW_DRIVER}' > {BROKEN_HOOK}")
    try:
        stopped, summary = upgrade(old, new, labdir)
    finally:
        ssh(state, gpu02, f"rm -f {BROKEN_HOOK}")
    print(f"\nfirst run, with a broken package hook on {gpu02.hostname}:\n{json.dumps(summary, indent=1)}")
    assert stopped.returncode == 1, stopped.stderr[-3000:]
    assert statuses(summary) == {
        control.hostname: "upgraded",
        gpu01.hostname: "upgraded",
        gpu02.hostname: "failed",
        gpu03.hostname: "not started",
    }
    # The failed node is left cordoned; the node after it was never drained nor changed.
    assert cluster(state, control)["unschedulable"] == [gpu02.hostname]
    assert "  580.126.20  " in kernel_view(state, gpu03)["banner"]
    assert kernel_view(state, gpu03)["boot"] == boots[gpu03.hostname]
    progress = json.loads((new / layout.UPGRADE_PROGRESS).read_text())
    assert progress["done"] == [control.hostname, gpu01.hostname]
    # Kubernetes: the control plane and lab-gpu01 on 1.35.0; the failed node too (kubeadm
    # upgrade, drain and kubelet come before the bring-up whose driver step failed); the next
    # node was not touched.
    assert cluster(state, control)["version"] == "v1.35.0"
    old_packages = {"kubeadm": "1.34.9-1.1", "kubelet": "1.34.9-1.1", "kubectl": "1.34.9-1.1"}
    assert packages(state, gpu02) == dict.fromkeys(old_packages, "1.35.0-1.1")
    assert "  580.126.20  " in kernel_view(state, gpu02)["banner"]
    assert packages(state, gpu03) == old_packages
    assert list(progress["failed"]) == [gpu02.hostname]

    resumed, summary = upgrade(old, new, labdir)
    print(f"\nsecond run, the hook removed:\n{json.dumps(summary, indent=1)}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert summary["resumed"] is True
    assert statuses(summary) == {
        control.hostname: "already upgraded",
        gpu01.hostname: "already upgraded",
        gpu02.hostname: "upgraded",
        gpu03.hostname: "upgraded",
    }

    # The order on the control plane: never two nodes cordoned at once, control plane first.
    asked = [
        w for w in verbs(host_log(state, control, "kubectl")[asked_before:]) if w[0] in ("drain", "uncordon")
    ]
    cordoned: set[str] = set()
    for verb, node in asked:
        if verb == "drain":
            cordoned.add(node)
        else:
            cordoned.discard(node)
        assert len(cordoned) <= 1, asked
    drained = [node for verb, node in asked if verb == "drain"]
    assert drained == [control.hostname, gpu01.hostname, gpu02.hostname, gpu02.hostname, gpu03.hostname]
    held = cluster(state, control)
    assert held["unschedulable"] == []
    # The MIG layout is on the H100 node's Node object, where the mig-manager reads it.
    assert held["labels"][gpu03.hostname]["nvidia.com/mig.config"] == "all-1g.10gb"
    for host in (gpu01, gpu02, gpu03):
        now = kernel_view(state, host)
        assert "  580.159.04  " in now["banner"], (host.hostname, now)
        assert now["boot"] != boots[host.hostname]
    for host in state.hosts:
        assert "ceil 80Mbit" in ssh(state, host, "tc class show dev eth0"), host.hostname

    # Kubernetes docs, "Upgrading kubeadm clusters": on each node kubeadm first (the new kubeadm
    # logged its own upgrade), `kubeadm upgrade apply` on the control plane before any `kubeadm
    # upgrade node`, and the kubelet only after kubeadm upgraded the node.
    (applied,) = [r for r in host_log(state, control, "kubeadm") if "upgrade_apply" in r]
    assert applied["upgrade_apply"] == {"from": "v1.34.9", "to": "v1.35.0", "kubeadm": "v1.35.0"}
    applied_at = applied["time"]
    # ... and before the control plane is drained: kubeadm's CreateJob check needs a schedulable
    # node that the control-plane taint alone keeps, which the GPU nodes' taint rules out.
    (control_drained,) = [
        r
        for r in host_log(state, control, "kubectl")[asked_before:]
        if words(r)[:2] == ["drain", control.hostname]
    ]
    assert control_drained["time"] >= applied_at
    for host in state.hosts:
        assert packages(state, host) == dict.fromkeys(old_packages, "1.35.0-1.1"), host.hostname
        records = host_log(state, host, "kubeadm")
        step = "upgrade_apply" if host is control else "upgrade_node"
        upgraded = [r for r in records if step in r]
        # The failed node's batch ran again when the upgrade resumed: kubeadm upgrade node twice.
        runs = 2 if host is gpu02 else 1
        assert [r[step]["kubeadm"] for r in upgraded] == ["v1.35.0"] * runs, host.hostname
        assert upgraded[0]["time"] >= applied_at
        assert int(upgraded[0]["time"]) <= dpkg_upgraded(state, host, "kubelet"), host.hostname

    drift = aigrid("drift", str(new), "--inventory", str(labdir / "inventory.yml"))
    assert drift.returncode == 0, drift.stdout + drift.stderr

    again, summary = upgrade(old, new, labdir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(statuses(summary).values()) == {"already upgraded"}
    assert len([w for w in verbs(host_log(state, control, "kubectl")[asked_before:]) if w[0] == "drain"]) == 5
