"""aigrid drift without a lab: the node-side reader runs here for real, and the comparison is
checked on a node as bring-up leaves it (built from the compiled expectations) and on that node
with one thing changed at a time. The lab test (tests/test_lab.py) runs it over SSH."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aigrid import layout
from aigrid.day2 import drift_report
from aigrid.day2.drift import compare
from aigrid.day2.drift_run import DriftError, DriftReport, expected_nodes
from conftest import BLUEPRINTS, ROOT, run_aigrid

H100 = ROOT / "tests/fixtures/gpu-node-h100"
NODE_STATE = ROOT / "src/aigrid/day2/node_state.py"


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("drift") / "out"
    proc = run_aigrid("compile", str(BLUEPRINTS / "examples/lab-edge-site.yaml"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return next(node for node in expected_nodes(out, None) if node["hostname"] == "lab-gpu01")


def as_configured(node: dict[str, Any]) -> dict[str, Any]:
    """What node_state.py reads on this node right after bring-up (the lab's parent-interface
    slices; nft -n and tc print the rules and classes as written here)."""
    slices, parent = node["slices"], node["slice_interface"]
    rules, classes, addresses = [], [], []
    for index, slice_ in enumerate(slices, start=1):
        for end in ("saddr", "daddr"):
            rules.append(
                f"\t\tip6 {end} {slice_['ipv6_network']} meta priority set 1:{100 + index} "
                f'ip6 dscp set 0x{slice_["dscp"]:02x} comment "slice {slice_["name"]}"'
            )
        rate, ceil = slice_["guaranteed_bps"] or slice_["maximum_bps"], slice_["maximum_bps"]
        classes.append(
            f"class htb 1:{100 + index} parent 1:1 prio 0 rate {rate // 10**6}Mbit ceil {ceil // 10**6}Mbit "
            "burst 1600b cburst 1600b"
        )
        local, prefix = slice_["ipv6"].split("/")
        addresses.append({"family": "inet6", "local": local, "prefixlen": int(prefix)})
    nft = (
        "table netdev aigrid_slices {\n\tchain parent {\n"
        f'\t\ttype filter hook egress device "{parent}" priority 0; policy accept;\n'
        + "\n".join(rules)
        + "\n\t}\n}\n"
    )
    labels = ",".join(f"{k}={v}" for k, v in sorted(node["labels"].items()))
    return {
        "hostname": node["hostname"],
        "packages": {name: pattern.replace("*", "1") for name, pattern in node["packages"].items()},
        "holds": sorted(node["packages"]),
        "containerd_config": f"version = {node['containerd_config_version']}\n",
        "kubelet_defaults": f'KUBELET_EXTRA_ARGS="--node-labels={labels} --register-with-taints=x"\n',
        "addresses": [{"ifname": parent, "addr_info": addresses}],
        "tc_classes": "class htb 1:1 root rate 10Gbit ceil 10Gbit burst 0b cburst 0b\n" + "\n".join(classes),
        "nft_slices": nft,
    }


def codes(node: dict[str, Any], state: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m.code.value, m.path) for m in compare(node, state).mismatches]


def test_the_node_side_reader_runs_with_the_standard_library_only() -> None:
    """It runs on the nodes with their python3 (aigrid is not installed there): here, with -I
    (no site packages, no PYTHONPATH), it reads this machine and prints one JSON object."""
    proc = subprocess.run(
        [sys.executable, "-I", str(NODE_STATE), "lo"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    assert state["packages"]["python3"]  # Debian's python3 is installed here
    assert any(a["ifname"] == "lo" for a in state["addresses"])
    assert state["smi_xml"] is None  # no NVIDIA driver on this machine


def test_held_packages_count_as_installed() -> None:
    """dpkg's abbreviated status: selection, then state. Bring-up holds what it pins, so its
    packages read `hi`, not `ii`; a removed package whose configuration stays reads `rc`."""
    from aigrid.day2.node_state import packages

    listing = "kubelet\t1.34.9-1.1\thi \ncurl\t7.88.1-10\tii \ncontainerd.io\t2.3.1-1\trc \n"
    assert packages(listing) == ({"kubelet": "1.34.9-1.1", "curl": "7.88.1-10"}, ["kubelet"])


def test_a_node_as_bring_up_left_it_has_not_drifted(expected: dict[str, Any]) -> None:
    drift = compare(expected, as_configured(expected))
    assert drift.mismatches == []
    assert drift.unchecked == ["GPUs and driver: no NVIDIA driver answered (nvidia-smi)"]


def change(state: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(state)
    changed[key] = value
    return changed


def test_each_manual_change_is_reported_with_its_code_and_field(expected: dict[str, Any]) -> None:
    state = as_configured(expected)
    kubelet = dict(state["packages"], kubelet="1.34.7-1.1")
    assert codes(expected, change(state, "packages", kubelet)) == [("AG511", "stack.kubernetes.version")]
    removed = {k: v for k, v in state["packages"].items() if k != "nvidia-open"}
    assert codes(expected, change(state, "packages", removed)) == [("AG511", "stack.driver.version")]
    unheld = [name for name in state["holds"] if name != "libnvidia-container1"]
    assert codes(expected, change(state, "holds", unheld)) == [("AG512", "stack.containerToolkit.version")]
    assert codes(expected, change(state, "containerd_config", "version = 2\n")) == [
        ("AG513", "stack.containerRuntime.version")
    ]
    assert codes(expected, change(state, "containerd_config", None)) == [
        ("AG513", "stack.containerRuntime.version")
    ]
    no_gpu_label = state["kubelet_defaults"].replace("aigrid.dev/gpu-model=L4", "aigrid.dev/gpu-model=L40S")
    assert codes(expected, change(state, "kubelet_defaults", no_gpu_label)) == [
        ("AG514", "sites[lab-edge-01].nodes[lab-gpu01].labels")
    ]
    assert codes(expected, change(state, "addresses", [])) == [
        ("AG515", "slices[lab-urllc].ipv6"),
        ("AG515", "slices[lab-embb].ipv6"),
    ]
    slower = state["tc_classes"].replace("rate 10Mbit ceil 20Mbit", "rate 5Mbit ceil 20Mbit")
    assert codes(expected, change(state, "tc_classes", slower)) == [("AG516", "slices[lab-urllc].bitrate")]
    unmarked = "\n".join(line for line in state["nft_slices"].splitlines() if "saddr" not in line)
    assert codes(expected, change(state, "nft_slices", unmarked)) == [
        ("AG517", "slices[lab-urllc].dscp"),
        ("AG517", "slices[lab-embb].dscp"),
    ]
    assert {code for code, _ in codes(expected, change(state, "nft_slices", None))} == {"AG517"}


def test_marking_on_each_vlans_own_egress_counts(expected: dict[str, Any]) -> None:
    """Where the slices have VLAN interfaces, each one's chain sets the DSCP and the class."""
    chains = "".join(
        f'\tchain {s["interface"]} {{\n\t\ttype filter hook egress device "{s["interface"]}" priority 0; '
        f"policy accept;\n\t\tmeta priority set 1:{100 + i}\n\t\tip dscp set 0x{s['dscp']:02x}\n"
        f"\t\tip6 dscp set 0x{s['dscp']:02x}\n\t}}\n"
        for i, s in enumerate(expected["slices"], start=1)
    )
    state = change(as_configured(expected), "nft_slices", "table netdev aigrid_slices {\n" + chains + "}\n")
    assert codes(expected, state) == []
    swapped = state["nft_slices"].replace("set 1:101", "set 1:199")
    assert codes(expected, change(state, "nft_slices", swapped)) == [("AG517", "slices[lab-urllc].dscp")]


def test_gpu_facts_are_read_with_aigrids_own_parser(expected: dict[str, Any]) -> None:
    """The real H100 capture, read where the blueprint declares two L4s and driver 580.126.20."""
    state = as_configured(expected)
    state["smi_xml"] = (H100 / "nvidia-smi-q.xml").read_text()
    state["smi_csv"] = (H100 / "nvidia-smi-query.csv").read_text()
    drift = compare(expected, state)
    assert [(m.code.value, m.path) for m in drift.mismatches] == [
        ("AG502", "sites[lab-edge-01].nodes[lab-gpu01].gpus"),
        ("AG501", "sites[lab-edge-01].nodes[lab-gpu01].gpus"),
        ("AG509", "stack.driver.version"),  # the capture's 580.159.04 is newer than the pin
    ]
    assert drift.unchecked == []


def test_text_and_json_reports(expected: dict[str, Any]) -> None:
    state = as_configured(expected)
    report = DriftReport([compare(expected, change(state, "holds", []))], {"lab-gpu02": "ssh: timed out"})
    text = drift_report.render_text(report)
    assert "lab-gpu01 (lab-edge-01): 12 drifted" in text
    assert "  AG512 warning stack.kubernetes.version: kubelet is not held (dpkg selection)" in text
    assert "lab-gpu02: NOT READ: ssh: timed out" in text
    assert text.endswith("1 node(s) read, 1 drifted, 1 not read\n")
    data = json.loads(drift_report.render_json(report))
    assert data["drifted"] is True and data["unread"] == {"lab-gpu02": "ssh: timed out"}
    assert data["nodes"][0]["mismatches"][0]["code"] == "AG512"


def test_drift_needs_a_compiled_directory(tmp_path: Path) -> None:
    with pytest.raises(DriftError, match="compile a blueprint into it first"):
        expected_nodes(tmp_path, None)
    proc = run_aigrid("drift", str(tmp_path))
    assert proc.returncode == 2 and "compile a blueprint into it first" in proc.stderr
    assert layout.EXPECTATIONS in proc.stderr
