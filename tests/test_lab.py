"""The emulated edge site: a 4-node site from a shipped example brought up for real over SSH,
idempotent, shaped and marked per slice, surviving a host that dies mid-run, and leaving
nothing behind.

Hosts are network namespaces with overlay root filesystems and sshd (aigrid.lab); traffic
only flows between them on the lab's own bridge, never to any other address.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from aigrid import layout
from aigrid.lab import lab, rootfs
from conftest import BLUEPRINTS, ROOT, run_aigrid, run_doc_python

REASON = rootfs.why_not_available() or (
    None if lab.shutil.which("socat") else "needs socat (apt-get install socat)"
)
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))

LAB = BLUEPRINTS / "examples" / "lab-edge-site.yaml"
SITE = "lab-edge-01"
PROBE = (Path(lab.__file__).parent / "probe.py").read_text()


def aigrid(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line, with room for a whole bring-up."""
    return run_aigrid(*args, timeout=900)


def bringup(
    out: Path, labdir: Path, *options: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], float]:
    start = time.monotonic()
    inventory = str(labdir / "inventory.yml")
    proc = aigrid("bringup", str(out), "--inventory", inventory, "--no-hardware-checks", "--json", *options)
    assert proc.stdout, proc.stderr
    return proc, json.loads(proc.stdout), time.monotonic() - start


# What each host's kernel showed right after `lab up`, before any bring-up.
FRESH: dict[str, dict[str, str]] = {}


def on_host(
    state: lab.LabState, host: lab.LabHost, script: str, *, check: bool = False, timeout: int = 30
) -> str:
    """What SCRIPT prints on the lab host (over the lab's SSH); CHECK: it must exit 0."""
    proc = subprocess.run(
        lab.ssh_command(state, host, script), capture_output=True, text=True, timeout=timeout, check=check
    )
    return proc.stdout


def kernel_view(state: lab.LabState, host: lab.LabHost) -> dict[str, str]:
    """Loaded modules, the NVIDIA module's banner and the boot id, as the host sees them."""
    script = (
        "cut -d' ' -f1 /run/aigrid-lab/modules | grep -x -e nouveau -e nvidia | tr '\\n' ' '; echo; "
        # One line whether or not the module is loaded (the banner ends in its own newline).
        'printf "%s\\n" "$(head -n 1 /run/aigrid-lab/proc-driver/nvidia/version 2>/dev/null)"; '
        "cat /run/aigrid-lab/boot_id"
    )
    modules, banner, boot = ([*on_host(state, host, script).split("\n"), "", "", ""])[:3]
    return {"modules": modules.strip(), "banner": banner.strip(), "boot": boot.strip()}


@pytest.fixture(scope="module")
def site_lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("lab")
    out, labdir = base / "out", base / "lab"
    assert aigrid("compile", str(LAB), "--out", str(out)).returncode == 0
    up = aigrid("lab", "up", str(LAB), "--site", SITE, "--dir", str(labdir))
    try:
        assert up.returncode == 0, up.stderr
        state = lab.LabState.load(labdir)
        FRESH.update({host.hostname: kernel_view(state, host) for host in state.hosts})
        yield out, labdir, state
    finally:
        aigrid("lab", "down", "--dir", str(labdir))
        leftovers = [ns for ns in lab.namespaces() if ns.startswith(f"ag{lab.lab_id(labdir)}-")]
        assert not leftovers, leftovers


@pytest.fixture(scope="module")
def converged(site_lab: Any) -> dict[str, Any]:
    out, labdir, _ = site_lab
    first, first_summary, first_s = bringup(out, labdir)
    second, second_summary, second_s = bringup(out, labdir)
    print(
        f"\nlab converge: {len(first_summary['hosts'])} nodes, first run {first_s:.1f} s, "
        f"second run {second_s:.1f} s"
    )
    return {"first": (first, first_summary), "second": (second, second_summary)}


def test_whole_site_converges(converged: dict[str, Any]) -> None:
    proc, summary = converged["first"]
    assert proc.returncode == 0, json.dumps(summary["messages"], indent=1)
    assert len(summary["hosts"]) == 4
    assert all(
        h["failed"] == 0 and h["unreachable"] == 0 and h["changed"] > 0 for h in summary["hosts"].values()
    )
    assert summary["hardware_checks"] is False


def test_fresh_gpu_node_boots_with_nouveau_and_no_driver() -> None:
    """The emulated fresh server (STAND-IN boot): what NVIDIA's procedure starts from."""
    gpu = FRESH["lab-gpu01"]
    assert gpu["modules"] == "nouveau" and gpu["banner"] == ""
    assert FRESH["lab-cp"]["modules"] == ""  # no GPU, no GPU driver


def test_gpu_nodes_rebooted_once_into_the_pinned_driver(converged: dict[str, Any], site_lab: Any) -> None:
    """One bring-up blacklists nouveau, rebuilds the initramfs, installs the driver and reboots;
    after it the pinned nvidia module is loaded and nouveau is gone. The second run (changed=0)
    did not reboot again."""
    _, _, state = site_lab
    for host in state.hosts:
        now = kernel_view(state, host)
        if host.gpus:
            assert now["modules"] == "nvidia", (host.hostname, now)
            assert "Open Kernel Module" in now["banner"] and "  580.126.20  " in now["banner"]
            assert now["boot"] != FRESH[host.hostname]["boot"], f"{host.hostname} never rebooted"
        else:
            assert now["modules"] == "" and now["boot"] == FRESH[host.hostname]["boot"]


def test_gpu_nodes_have_a_cdi_spec_from_nvidia_ctk_after_the_reboot(
    converged: dict[str, Any], site_lab: Any
) -> None:
    """nvidia-ctk (a STAND-IN that refuses without a loaded driver, as the real one does) wrote
    the containerd drop-in and, once the rebooted node had its driver, the CDI spec."""
    _, _, state = site_lab
    for host in state.hosts:
        listed = subprocess.run(
            lab.ssh_command(state, host, "nvidia-ctk", "cdi", "list"),
            capture_output=True,
            text=True,
            check=False,
        )
        dropin = subprocess.run(
            lab.ssh_command(state, host, "cat", "/etc/containerd/conf.d/99-nvidia.toml"),
            capture_output=True,
            text=True,
            check=False,
        )
        if host.gpus:
            assert "nvidia.com/gpu=all" in listed.stdout.split(), (host.hostname, listed.stderr)
            runtime = tomllib.loads(dropin.stdout)["plugins"]["io.containerd.cri.v1.runtime"]
            assert runtime["enable_cdi"] is True
            assert runtime["containerd"]["default_runtime_name"] == "nvidia"
        else:
            assert listed.returncode != 0 and dropin.returncode != 0  # no toolkit on a CPU node


def test_second_converge_changes_nothing(converged: dict[str, Any]) -> None:
    proc, summary = converged["second"]
    assert proc.returncode == 0
    assert {host: h["changed"] for host, h in summary["hosts"].items()} == dict.fromkeys(summary["hosts"], 0)


def host_log(state: lab.LabState, host: lab.LabHost, tool: str) -> list[dict[str, Any]]:
    """What a STAND-IN Kubernetes tool (kubeadm, kubectl) on the host was asked, in order."""
    text = on_host(state, host, f"cat /var/log/aigrid-standins/{tool}.log 2>/dev/null || true", check=True)
    return [json.loads(line) for line in text.splitlines()]


def verbs(records: list[dict[str, Any]]) -> list[list[str]]:
    return [words(r) for r in records if "argv" in r]


def words(record: dict[str, Any]) -> list[str]:
    """The command words of a logged call (none for the stand-in's own records)."""
    return [word for word in record.get("argv", []) if not word.startswith("-")]


def test_site_cluster_formed_once_pod_network_first_then_joins(
    converged: dict[str, Any], site_lab: Any
) -> None:
    """With STAND-IN kubeadm and kubectl (the lab runs no kubelet): kubeadm init once on the
    first control plane; the pod network, then Multus and whereabouts; only then each other node
    joins, with a token the control plane issued for it and the control plane's CA hash, from a
    root-only file that is gone afterwards; the admin kubeconfig lands in DIR/credentials.
    The second converge (in the fixture) ran none of it again."""
    out, _, state = site_lab
    control = next(host for host in state.hosts if not host.gpus)
    workers = [host for host in state.hosts if host.gpus]
    kubeadm = host_log(state, control, "kubeadm")
    assert [v for v in verbs(kubeadm) if v[:1] == ["init"]] == [["init"]]
    inits = [r["init"] for r in kubeadm if "init" in r]
    assert [i["node"] for i in inits] == [control.hostname]
    kubectl = host_log(state, control, "kubectl")
    applied = [r for r in kubectl if words(r)[:1] == ["apply"]]
    assert [r["argv"][-1].rsplit("/", 1)[1] for r in applied] == [
        "calico-operator",
        "calico",
        "multus",
        "whereabouts",
    ]
    init_time = next(r["time"] for r in kubeadm if words(r)[:1] == ["init"])
    assert applied[0]["time"] > init_time
    assert len([r for r in kubeadm if words(r)[:2] == ["token", "create"]]) == len(workers)
    ca = subprocess.run(
        lab.ssh_command(state, control, "cat /var/lib/aigrid-standins/kubernetes.json"),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    cluster = json.loads(ca)
    tokens_seen = set()
    for host in workers:
        joins = [r["join"] for r in host_log(state, host, "kubeadm") if "join" in r]
        assert len(joins) == 1, (host.hostname, joins)  # the second converge did not join again
        join = joins[0]
        assert join["node"] == host.hostname and not join["control_plane"]
        assert join["token_sha256"] in cluster["tokens"]  # a token the control plane issued
        tokens_seen.add(join["token_sha256"])
        assert join["ca_hashes"] == [cluster["ca_hash"]]
        assert join["endpoint"] == cluster["endpoint"]
        assert join["mode"] == "0o600"
        assert min(r["time"] for r in host_log(state, host, "kubeadm")) > applied[-1]["time"]
        leftover = subprocess.run(
            lab.ssh_command(state, host, "ls /etc/kubernetes/aigrid"),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "kubeadm-join.yaml" not in leftover
    assert len(tokens_seen) == len(workers)  # one token per join
    kubeconfig = out / layout.site_kubeconfig(SITE)
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    assert cluster["endpoint"] in kubeconfig.read_text()
    # The second converge compared (kubectl diff) and waited, but applied nothing again.
    assert len([r for r in kubectl if words(r)[:1] == ["diff"]]) == 2 * len(applied)


def test_a_node_new_to_the_cluster_joins_alone(converged: dict[str, Any], site_lab: Any) -> None:
    """A node that has not joined (here: one whose kubelet kubeconfig was removed, as a node
    added to the blueprint would be) joins on the next bring-up; joined nodes and the formed
    control plane are left as they are."""
    out, labdir, state = site_lab
    control = next(host for host in state.hosts if not host.gpus)
    joined, new = [host for host in state.hosts if host.gpus][:2]
    subprocess.run(lab.ssh_command(state, new, "rm /etc/kubernetes/kubelet.conf"), check=True, timeout=30)
    before = {host.hostname: len(host_log(state, host, "kubeadm")) for host in (control, joined, new)}
    proc, summary, _ = bringup(out, labdir, "--limit", ",".join(h.hostname for h in (control, joined, new)))
    assert proc.returncode == 0, json.dumps(summary["messages"], indent=1)
    asked = {
        host.hostname: verbs(host_log(state, host, "kubeadm")[before[host.hostname] :])
        for host in (control, joined, new)
    }
    assert asked[joined.hostname] == []
    assert asked[new.hostname] == [["join"]]
    assert asked[control.hostname] == [["token", "create"]]  # its token; no init
    changed = {name: h["changed"] for name, h in summary["hosts"].items()}
    # The token is created for the new node (delegated): counted as its change, not the control plane's.
    assert changed[joined.hostname] == 0 and changed[control.hostname] == 0, changed


def probe(state: lab.LabState, host: lab.LabHost, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        lab.ssh_command(state, host, "python3", "-", *args),
        input=PROBE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def between(state: lab.LabState, receiver: tuple[str, ...], sender: tuple[str, ...]) -> dict[str, Any]:
    """Run a receiver probe on host 2 and a sender on host 1 against it."""
    received: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: received.update(probe(state, state.hosts[2], *receiver)))
    thread.start()
    time.sleep(1.5)
    probe(state, state.hosts[1], *sender)
    thread.join(timeout=120)
    return received


def slice_address(state: lab.LabState, network: str) -> str:
    """Host 2's address on a slice (the plan gives node n host number 10 + n)."""
    return f"{network}::{10 + 2:x}"


def test_bulk_transfer_is_shaped_to_the_slice_maximum(converged: dict[str, Any], site_lab: Any) -> None:
    _, _, state = site_lab
    result = between(
        state,
        ("receive-tcp", "5101", "8"),
        ("send-tcp", slice_address(state, "2001:db8:ed:210"), "5101", "8"),
    )
    print(
        f"\nlab-urllc (maximum 20 Mbit/s): measured {result['mbps']:.2f} Mbit/s "
        f"over {result['seconds']:.1f} s"
    )
    assert result["mbps"] == pytest.approx(20.0, rel=0.15)


def test_receiver_sees_the_slice_dscp(converged: dict[str, Any], site_lab: Any) -> None:
    _, _, state = site_lab
    urllc = between(
        state, ("receive-udp", "5102"), ("send-udp", slice_address(state, "2001:db8:ed:210"), "5102")
    )
    embb = between(
        state, ("receive-udp", "5103"), ("send-udp", slice_address(state, "2001:db8:ed:220"), "5103")
    )
    print(f"\nDSCP seen by the receiver: lab-urllc {urllc['dscp']}, lab-embb {embb['dscp']}")
    assert urllc["dscp"] == [46]  # 5QI 82, delay-critical GBR -> EF
    assert embb["dscp"] == [34]  # 5QI 7 -> AF41


def test_pod_traffic_on_a_slice_gets_the_slice_dscp(converged: dict[str, Any], site_lab: Any) -> None:
    """Issue 12, defect 5. A pod attaches to a slice by macvlan and sends from its own network
    namespace, past the node's postrouting hook. Emulated here: a macvlan on host 1's slice
    interface moved into a fresh namespace (the "pod") with an address of the slice's pod range;
    what it sends to host 2 must carry the slice's DSCP, marked at the interface's egress."""
    _, _, state = site_lab
    sender, pod = state.hosts[1], f"{state.hosts[1].namespace}-pod"
    received: dict[str, Any] = {}
    setup = [
        ["ip", "netns", "add", pod],
        [
            "ip",
            "-n",
            sender.namespace,
            "link",
            "add",
            "pod0",
            "link",
            "eth0",
            "type",
            "macvlan",
            "mode",
            "bridge",
        ],
        ["ip", "-n", sender.namespace, "link", "set", "pod0", "netns", pod],
        ["ip", "-n", pod, "addr", "add", "2001:db8:ed:210::64/64", "dev", "pod0", "nodad"],
        ["ip", "-n", pod, "link", "set", "pod0", "up"],
    ]
    try:
        for argv in setup:
            subprocess.run(argv, check=True, capture_output=True)
        thread = threading.Thread(
            target=lambda: received.update(probe(state, state.hosts[2], "receive-udp", "5104"))
        )
        thread.start()
        time.sleep(1.5)
        sent = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                pod,
                sys.executable,
                "-",
                "send-udp",
                slice_address(state, "2001:db8:ed:210"),
                "5104",
            ],
            input=PROBE,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        thread.join(timeout=120)
    finally:
        subprocess.run(["ip", "netns", "delete", pod], capture_output=True, check=False)
    assert sent.returncode == 0, sent.stderr
    print(f"\nDSCP seen by the receiver from a pod on lab-urllc: {received['dscp']}")
    assert received["dscp"] == [46]  # 5QI 82, delay-critical GBR -> EF


def test_verify_suite_passes_everywhere_but_on_a_drifted_node(
    converged: dict[str, Any], site_lab: Any, tmp_path: Path
) -> None:
    """One run of the suite on the converged site with one node drifted (kubelet no longer
    held): exactly that node's check fails, every other check on every node passes."""
    out, labdir, state = site_lab
    node = state.hosts[0]
    subprocess.run(
        lab.ssh_command(state, node, "apt-mark", "unhold", "kubelet"), check=True, capture_output=True
    )
    report = tmp_path / "verify.xml"
    start = time.monotonic()
    try:
        proc = aigrid(
            "verify",
            str(out),
            "--inventory",
            str(labdir / "inventory.yml"),
            "--site",
            SITE,
            "--junit",
            str(report),
            "--no-hardware-checks",  # the lab's hosts have no GPUs
        )
    finally:
        subprocess.run(
            lab.ssh_command(state, node, "apt-mark", "hold", "kubelet"), check=True, capture_output=True
        )
    print(f"\naigrid verify: {time.monotonic() - start:.1f} s\n{proc.stdout}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    cases = list(ET.parse(report).getroot().iter("testcase"))
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert failed == {f"test_packages_pinned_and_held[{node.hostname}]"}
    passed = [
        case.get("name") or ""
        for case in cases
        if case.find("failure") is None and case.find("skipped") is None
    ]
    for host in ("lab-cp", "lab-gpu01", "lab-gpu02", "lab-gpu03"):
        assert host in proc.stdout
        assert any(name.endswith(f"[{host}]") for name in passed), (host, passed)


def test_drift_is_clean_after_converge_and_names_a_manual_change(
    converged: dict[str, Any], site_lab: Any
) -> None:
    """aigrid drift reads every node over SSH and finds each as bring-up left it (the GPUs stay
    unchecked: the lab has no driver); then someone lowers a slice's guaranteed rate by hand on
    one host, and drift names exactly that, with its code and the blueprint field."""
    out, labdir, state = site_lab
    inventory = str(labdir / "inventory.yml")
    clean = aigrid("drift", str(out), "--inventory", inventory, "--format", "json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    report = json.loads(clean.stdout)
    assert report["unread"] == {} and len(report["nodes"]) == len(state.hosts)
    assert [node["mismatches"] for node in report["nodes"]] == [[]] * len(state.hosts)
    touched = state.hosts[1]
    lower = [
        "tc",
        "class",
        "change",
        "dev",
        "eth0",
        "parent",
        "1:1",
        "classid",
        "1:101",
        "htb",
        "rate",
        "5mbit",
        "ceil",
        "20mbit",
    ]
    subprocess.run(lab.ssh_command(state, touched, *lower), check=True, capture_output=True)
    try:
        drifted = aigrid("drift", str(out), "--inventory", inventory)
    finally:
        restore = lab.ssh_command(state, touched, "/etc/aigrid/slices/shape.sh")
        subprocess.run(restore, check=True, capture_output=True)
    print(f"\naigrid drift after a manual change:\n{drifted.stdout}")
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert f"{touched.hostname} (lab-edge-01): 1 drifted" in drifted.stdout
    assert "  AG516 error slices[lab-urllc].bitrate: htb class 1:101 on eth0" in drifted.stdout
    assert drifted.stdout.count("drifted") == 2  # that node's line and the summary's


def test_vlan_interfaces_are_rendered_but_need_8021q() -> None:
    """802.1Q is missing from this kernel: the lab shapes on eth0; VLAN files are checked in the
    converge test. Where the kernel has it, a VLAN interface must be creatable in a namespace."""
    proc = subprocess.run(
        ["unshare", "--net", "sh", "-c", "ip link add link lo name vtest type vlan id 210"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"this kernel cannot create 802.1Q VLAN interfaces ({proc.stderr.strip()})")
    assert proc.returncode == 0


def test_unreachable_host_fails_alone_and_recovers(converged: dict[str, Any], site_lab: Any) -> None:
    out, labdir, state = site_lab
    victim = state.hosts[3]
    # The victim and one bystander (the control plane) show it: the rest of the site would
    # only repeat the bystander's converged run.
    bystander = next(host for host in state.hosts if not host.gpus)
    hosts = f"{bystander.hostname},{victim.hostname}"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aigrid",
            "bringup",
            str(out),
            "--inventory",
            str(labdir / "inventory.yml"),
            "--no-hardware-checks",
            "--json",
            "--limit",
            hosts,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    lab._kill(victim.pid)  # the host's sshd and everything else in it die at once
    stdout, _ = run.communicate(timeout=900)
    summary = json.loads(stdout)
    assert run.returncode == 1
    assert summary["failed_hosts"] == [victim.hostname], summary
    assert sorted(summary["hosts"]) == sorted(hosts.split(",")), summary
    assert all(
        h["failed"] == 0 and h["unreachable"] == 0
        for name, h in summary["hosts"].items()
        if name != victim.hostname
    )
    restarted = aigrid("lab", "start", victim.hostname, "--dir", str(labdir))
    assert restarted.returncode == 0, restarted.stderr
    state.hosts[3] = lab.LabState.load(labdir).hosts[3]
    proc, again, _ = bringup(out, labdir, "--limit", hosts)
    assert proc.returncode == 0, again["messages"]
    assert all(h["changed"] == 0 for name, h in again["hosts"].items() if name != victim.hostname)


def test_a_driver_change_on_clustered_nodes_rolls_out_one_node_at_a_time(
    converged: dict[str, Any], site_lab: Any, tmp_path: Path
) -> None:
    """The site serves a cluster (formed by the converge, with the STAND-IN kubeadm and kubectl)
    and the pinned driver moves to the next 580 release: each GPU node is drained, upgraded,
    rebooted into the new driver and uncordoned before the next one starts."""
    out, labdir, state = site_lab

    control = next(host for host in state.hosts if not host.gpus)
    # Two GPU nodes show the order (the site's third would only repeat it).
    gpus = [host for host in state.hosts if host.gpus][:2]
    asked_before = len(host_log(state, control, "kubectl"))
    before = {host.hostname: kernel_view(state, host)["boot"] for host in gpus}
    # What a recompile with the next 580 release pinned writes (the base blueprint locks it).
    upgraded = tmp_path / "out"
    shutil.copytree(out, upgraded)
    gpu_vars = upgraded / layout.group_vars("gpu_nodes")
    gpu_vars.write_text(gpu_vars.read_text().replace("580.126.20", "580.159.04"))

    limit = ",".join(host.hostname for host in [control, *gpus])
    proc, summary, _ = bringup(upgraded, labdir, "--limit", limit)
    assert proc.returncode == 0, json.dumps(summary["messages"], indent=1)
    asked = verbs(host_log(state, control, "kubectl")[asked_before:])
    requests = [words for words in asked if words[0] in ("drain", "uncordon")]
    # Strictly one node at a time: drain A, uncordon A, drain B, uncordon B, ...
    assert [verb for verb, _ in requests] == ["drain", "uncordon"] * len(gpus), requests
    drained = [node for verb, node in requests if verb == "drain"]
    assert [node for verb, node in requests if verb == "uncordon"] == drained
    assert sorted(drained) == sorted(host.hostname for host in gpus)  # never the control plane
    for host in gpus:
        now = kernel_view(state, host)
        assert "  580.159.04  " in now["banner"], (host.hostname, now)
        assert now["boot"] != before[host.hostname]
        # The summary says what was left to the rollout and then that it ran, in that order.
        notices = summary["notices"][host.hostname]
        planned = [n for n in notices if n.startswith("driver 580.126.20-0ubuntu1 -> 580.159.04 ")]
        done = (
            "driver rolled out: 580.159.04 (open kernel modules) installed with the node drained, "
            "loaded after a reboot, the node uncordoned"
        )
        assert planned and "left to the rollout play" in planned[0], notices
        finished = [i for i, notice in enumerate(notices) if notice.startswith(done)]
        assert finished and finished[0] > notices.index(planned[0]), notices


STATUS = "${Package} ${db:Status-Abbrev}\\n"  # dpkg's selection and state: "hi" held, installed


def _flavour_vars(gpu_vars: str, modules: str) -> str:
    """The compiled GPU variables with the blueprint's kernelModules set to MODULES (what a
    recompile writes: the meta package of that flavour, the other one's to replace)."""
    wanted, other = ("nvidia-open", "cuda-drivers") if modules == "open" else ("cuda-drivers", "nvidia-open")
    for name, value in (("kernel_modules", modules), ("packages", wanted), ("replaced_packages", other)):
        written = f" {value}" if name == "kernel_modules" else f"\n  - {value}"
        pattern = rf"(?m)^nvidia_driver_{name}:( .*|\n  - .*)$"
        gpu_vars = re.sub(pattern, f"nvidia_driver_{name}:{written}", gpu_vars)
    return gpu_vars


def test_a_kernel_module_flavour_switch_rolls_out_drained_and_back(
    converged: dict[str, Any], site_lab: Any, tmp_path: Path
) -> None:
    """Driver Installation Guide, "Switching between Driver Module Flavors", on a node that
    serves the cluster (after the rollout above, at 580.159.04): the blueprint's kernelModules
    goes to proprietary and back. Each switch drains the node, replaces the meta package in one
    apt transaction (the old flavour's module package leaves with it), reboots into the other
    flavour (the emulated boot loads whichever module package is installed) and uncordons it."""
    out, labdir, state = site_lab
    control = next(host for host in state.hosts if not host.gpus)
    gpu = next(host for host in state.hosts if host.gpus)
    limit = f"{control.hostname},{gpu.hostname}"
    for modules, banner, installed, gone in (
        ("proprietary", "NVIDIA UNIX x86_64 Kernel Module  580.159.04  ", "cuda-drivers", "nvidia-open"),
        ("open", "NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  ", "nvidia-open", "cuda-drivers"),
    ):
        switched = tmp_path / modules
        shutil.copytree(out, switched)
        gpu_vars = switched / layout.group_vars("gpu_nodes")
        gpu_vars.write_text(_flavour_vars(gpu_vars.read_text().replace("580.126.20", "580.159.04"), modules))
        asked_before = len(host_log(state, control, "kubectl"))
        boot_before = kernel_view(state, gpu)["boot"]
        proc, summary, _ = bringup(switched, labdir, "--limit", limit)
        assert proc.returncode == 0, json.dumps(summary["messages"], indent=1)
        asked = verbs(host_log(state, control, "kubectl")[asked_before:])
        requests = [words for words in asked if words[0] in ("drain", "uncordon")]
        assert requests == [["drain", gpu.hostname], ["uncordon", gpu.hostname]], requests
        now = kernel_view(state, gpu)
        assert banner in now["banner"] and now["boot"] != boot_before, now
        packages = on_host(state, gpu, f"dpkg-query -W -f '{STATUS}' {installed} {gone}")
        assert f"{installed} hi" in packages and f"{gone} ii" not in packages, packages


# What teardown removes; everything aigrid's roles wrote outside these stays nowhere either.
TORN_DOWN = (
    "/etc/aigrid /etc/systemd/system/aigrid-slices.service /etc/systemd/network/20-aigrid-vlan210.netdev "
    "/etc/default/kubelet /etc/modules-load.d/aigrid-kubernetes.conf "
    "/etc/sysctl.d/99-zz-aigrid-kubernetes.conf "
    "/etc/kubernetes/kubelet.conf /etc/kubernetes/admin.conf /etc/kubernetes/aigrid "
    "/etc/containerd/config.toml /etc/containerd/conf.d/99-nvidia.toml "
    "/etc/apt/sources.list.d/aigrid-kubernetes.sources /etc/apt/sources.list.d/aigrid-containerd.sources "
    "/etc/apt/sources.list.d/aigrid-nvidia-container-toolkit.sources "
    "/etc/apt/preferences.d/aigrid-kubernetes /etc/apt/preferences.d/aigrid-containerd "
    "/etc/apt/preferences.d/aigrid-cuda-runtime"
)
PACKAGES = [
    "kubelet",
    "kubeadm",
    "kubectl",
    "containerd.io",
    "nvidia-container-toolkit",
    "cuda-libraries-13-0",
    # installed and held by name beside the meta package, at the release's build
    "cuda-cudart-13-0",
    "libcublas-13-0",
    "nvidia-open",
]
LEFT = (
    f"for p in {TORN_DOWN}; do test -e $p && echo left $p; done; "
    f"dpkg-query -W -f '${{Package}} ${{db:Status-Abbrev}}\\n' {' '.join(PACKAGES)} 2>/dev/null; "
    "nft list tables; tc qdisc show dev eth0; ip -o address show dev eth0"
)


def test_teardown_removes_what_bring_up_installed_and_keeps_the_driver(
    converged: dict[str, Any], site_lab: Any
) -> None:
    """aigrid teardown: bring-up in reverse. Every other node leaves the cluster (drained from
    the control plane, kubeadm reset, its Node deleted) before the control plane resets it; the slices'
    marking, shaping and addresses, the Kubernetes and container packages, their repositories,
    pins and configuration go; the driver stays (no --remove-driver). A second run changes nothing."""
    out, labdir, state = site_lab
    inventory = str(labdir / "inventory.yml")
    control = next(host for host in state.hosts if not host.gpus)
    others = [host for host in state.hosts if host is not control]
    asked_before = len(host_log(state, control, "kubectl"))
    first = aigrid("teardown", str(out), "--inventory", inventory, "--yes", "--json")
    summary = json.loads(first.stdout)
    assert first.returncode == 0, json.dumps(summary["messages"], indent=1)
    deleted = [
        w[2] for w in verbs(host_log(state, control, "kubectl")[asked_before:]) if w[:2] == ["delete", "node"]
    ]
    assert sorted(deleted) == sorted(host.hostname for host in others)
    resets = {
        host.hostname: [r["time"] for r in host_log(state, host, "kubeadm") if "reset" in r]
        for host in state.hosts
    }
    assert all(len(times) == 1 for times in resets.values()), resets
    assert resets[control.hostname][0] > max(resets[host.hostname][0] for host in others)
    # "Remove the node": kubeadm reset before the Node is deleted (reset reads the Node object;
    # without it a further control plane's reset leaves its etcd member behind).
    deleted_at = {
        words(r)[2]: r["time"]
        for r in host_log(state, control, "kubectl")[asked_before:]
        if words(r)[:2] == ["delete", "node"]
    }
    assert all(resets[host.hostname][0] < deleted_at[host.hostname] for host in others), (resets, deleted_at)
    assert not (out / "credentials" / "lab-edge-01.kubeconfig").exists()
    for host in state.hosts:
        seen = on_host(state, host, LEFT, timeout=60)
        assert "left " not in seen, (host.hostname, seen)
        # dpkg's status: selection then state; the kept driver stays held ("hi").
        rows = [line.split() for line in seen.splitlines()]
        installed = {row[0] for row in rows if len(row) > 1 and row[0] in PACKAGES and row[1][1:2] == "i"}
        assert installed == ({"nvidia-open"} if host.gpus else set()), (host.hostname, seen)
        assert "aigrid_slices" not in seen and "htb" not in seen, (host.hostname, seen)
        assert "2001:db8:ed:210:" not in seen and host.address in seen, (host.hostname, seen)
    again = aigrid("teardown", str(out), "--inventory", inventory, "--yes", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    changed = {name: h["changed"] for name, h in json.loads(again.stdout)["hosts"].items()}
    assert changed == dict.fromkeys(changed, 0)


def test_lab_down_leaves_nothing(tmp_path: Path) -> None:
    labdir = tmp_path / "lab"
    assert aigrid("lab", "up", str(LAB), "--site", SITE, "--dir", str(labdir)).returncode == 0
    state = lab.LabState.load(labdir)
    pids = [host.pid for host in state.hosts]
    assert aigrid("lab", "down", "--dir", str(labdir)).returncode == 0
    assert not [ns for ns in lab.namespaces() if ns.startswith(f"ag{state.id}-")]
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
    assert str(labdir) not in Path("/proc/mounts").read_text()
    assert not (labdir / "hosts").exists()


def test_lab_down_after_a_crash(tmp_path: Path) -> None:
    """A lab whose creator was killed midway is still removed completely by name."""
    labdir = tmp_path / "lab"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aigrid", "lab", "up", str(LAB), "--site", SITE, "--dir", str(labdir)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert aigrid("lab", "down", "--dir", str(labdir)).returncode == 0
    assert not [ns for ns in lab.namespaces() if ns.startswith(f"ag{lab.lab_id(labdir)}-")]
    assert str(labdir) not in Path("/proc/mounts").read_text()


def test_the_converge_benchmark_runs_as_written() -> None:
    """docs/performance.md's converge command in its small form (a lab of its own, the control
    plane converged alone): the script brings the lab up, converges it twice (the second run
    changing nothing) and takes it down. Its timings are recorded in the doc, not asserted."""
    doc = (ROOT / "docs" / "performance.md").read_text()
    command = next(line for line in doc.splitlines() if line.startswith("python3 benchmarks/converge_lab.py"))
    proc = run_doc_python(command, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[:2] == ["1", "1"]]
    assert rows, proc.stdout  # round 1, one host
