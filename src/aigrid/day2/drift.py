"""aigrid drift: compare what a node runs with what its compiled site says it should.

The expectations are DIR's `verify/expectations/<site>.json` (the same role variables the roles
converged to); what the node runs is what `node_state.py` read there. Every difference is a
`Mismatch` with an AG5xx code and the blueprint field to look at, like `aigrid verify-node`'s.
What could not be read (no NVIDIA driver answering on a lab host) is listed as unchecked, never
counted as clean or as drift.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from aigrid.diagnostics import Code
from aigrid.facts.gather import NoDriver, gather
from aigrid.facts.verify import Mismatch, check_driver_pin

# tc prints rates in SI units (tc(8), "PARAMETERS": 1 Mbit = 1000 Kbit = 1,000,000 bit).
RATE_UNITS = {"bit": 1, "Kbit": 10**3, "Mbit": 10**6, "Gbit": 10**9, "Tbit": 10**12}
HTB_CLASS = re.compile(
    r"^class htb (\S+) .*?\brate (\d+(?:\.\d+)?)(\w+) ceil (\d+(?:\.\d+)?)(\w+)", re.MULTILINE
)


@dataclass
class NodeDrift:
    hostname: str
    site: str
    mismatches: list[Mismatch] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "site": self.site,
            "drifted": bool(self.mismatches),
            "mismatches": [m.to_dict() for m in self.mismatches],
            "unchecked": self.unchecked,
        }


class GatheredSource:
    """`aigrid.facts.gather.Source` over what node_state.py read on the node."""

    name = "aigrid drift"

    def __init__(self, state: dict[str, Any]) -> None:
        self._state = state

    def _get(self, key: str) -> str | None:
        value = self._state.get(key)
        return value if isinstance(value, str) else None

    def nvml(self) -> str | None:
        return None  # read on the node through nvidia-smi only: NVML's bindings are not there

    def smi_xml(self) -> str | None:
        return self._get("smi_xml")

    def smi_csv(self) -> str | None:
        return self._get("smi_csv")

    def mig_lgip(self) -> str | None:
        return self._get("mig_lgip")

    def proc_version(self) -> str | None:
        return self._get("proc_version")

    def nvcc(self) -> str | None:
        return None

    def os_release(self) -> str | None:
        return self._get("os_release")

    def kernel(self) -> str | None:
        return self._get("kernel")

    def hostname(self) -> str | None:
        return self._get("hostname")


def compare(expected: dict[str, Any], state: dict[str, Any]) -> NodeDrift:
    """The differences between one node of an expectations file and what it runs."""
    drift = NodeDrift(expected["hostname"], expected["site"])
    base = f"sites[{drift.site}].nodes[{drift.hostname}]"

    def report(code: Code, message: str, path: str, observed: Any) -> None:
        drift.mismatches.append(Mismatch(code, message, path, observed))

    _packages(expected, state, report)
    _containerd(expected, state, report)
    _labels(expected, state, base, report)
    _slices(expected, state, report)
    _gpus(expected, state, base, report, drift.unchecked)
    return drift


def _packages(expected: dict[str, Any], state: dict[str, Any], report: Any) -> None:
    installed: dict[str, str] = state.get("packages") or {}
    held = set(state.get("holds") or [])
    fields: dict[str, str] = expected.get("package_fields") or {}
    for name, pattern in expected["packages"].items():
        path = fields.get(name, "stack")
        running = installed.get(name)
        if running is None:
            report(Code.NODE_PACKAGE_VERSION, f"{name} is not installed (pinned {pattern})", path, None)
            continue
        if not fnmatch.fnmatchcase(running, pattern):
            report(Code.NODE_PACKAGE_VERSION, f"{name} is {running}, pinned {pattern}", path, running)
        if name not in held:
            report(Code.NODE_PACKAGE_NOT_HELD, f"{name} is not held (dpkg selection)", path, running)


def _containerd(expected: dict[str, Any], state: dict[str, Any], report: Any) -> None:
    path, wanted = "stack.containerRuntime.version", expected["containerd_config_version"]
    text = state.get("containerd_config")
    if text is None:
        report(Code.NODE_CONTAINERD_CONFIG, "/etc/containerd/config.toml is missing", path, None)
        return
    try:
        found = tomllib.loads(text).get("version")
    except tomllib.TOMLDecodeError as exc:
        report(Code.NODE_CONTAINERD_CONFIG, f"/etc/containerd/config.toml does not parse: {exc}", path, None)
        return
    if found != wanted:
        message = f"/etc/containerd/config.toml is configuration version {found}, not {wanted}"
        report(Code.NODE_CONTAINERD_CONFIG, message, path, found)


def _labels(expected: dict[str, Any], state: dict[str, Any], base: str, report: Any) -> None:
    text = state.get("kubelet_defaults") or ""
    found = re.search(r"--node-labels=([^\s\"]*)", text)
    labels = dict(item.split("=", 1) for item in found.group(1).split(",") if "=" in item) if found else {}
    for key, value in expected["labels"].items():
        if labels.get(key) != value:
            found_value = labels.get(key, "(none)")
            message = f"the kubelet registers {key}={found_value}, not {value} (/etc/default/kubelet)"
            report(Code.NODE_LABELS, message, f"{base}.labels", labels.get(key))


def _slices(expected: dict[str, Any], state: dict[str, Any], report: Any) -> None:
    addresses = _addresses(state.get("addresses"))
    classes = {
        m[0]: (_bps(m[1], m[2]), _bps(m[3], m[4])) for m in HTB_CLASS.findall(state.get("tc_classes") or "")
    }
    marking = state.get("nft_slices") or ""
    parent = expected.get("slice_interface")
    for index, slice_ in enumerate(expected["slices"], start=1):
        name, classid = slice_["name"], f"1:{100 + index}"
        for family in ("ipv4", "ipv6"):
            if slice_[family] and ipaddress.ip_interface(slice_[family]) not in addresses:
                message = f"{slice_[family]} (slice {name}) is on no interface"
                report(Code.NODE_SLICE_ADDRESS, message, f"slices[{name}].{family}", None)
        want = (slice_["guaranteed_bps"] or slice_["maximum_bps"], slice_["maximum_bps"])
        if classes.get(classid) != want:
            got = classes.get(classid)
            found = f"rate {got[0]} ceil {got[1]} bit/s" if got else "no such class"
            wanted = f"rate {want[0]} ceil {want[1]}"
            message = f"htb class {classid} on {parent} (slice {name}): {found}, not {wanted}"
            report(Code.NODE_SLICE_SHAPING, message, f"slices[{name}].bitrate", got)
        if not _marked(marking, slice_, classid):
            message = f"no egress rule sets slice {name}'s DSCP {slice_['dscp']} and class {classid}"
            report(Code.NODE_SLICE_MARKING, message, f"slices[{name}].dscp", None)


def _addresses(listing: Any) -> set[ipaddress.IPv4Interface | ipaddress.IPv6Interface]:
    found: set[ipaddress.IPv4Interface | ipaddress.IPv6Interface] = set()
    for link in listing if isinstance(listing, list) else []:
        for info in link.get("addr_info") or []:
            if "local" in info and "prefixlen" in info:
                found.add(ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}"))
    return found


def _bps(number: str, unit: str) -> int | None:
    factor = RATE_UNITS.get(unit)
    return round(float(number) * factor) if factor else None


def _marked(listing: str, slice_: dict[str, Any], classid: str) -> bool:
    """The slice's DSCP and class set either in a chain on its own interface's egress (VLAN)
    or by its networks on the shared parent's (as nft -n lists the rules of mark.nft)."""
    dscp = f"dscp set 0x{slice_['dscp']:02x}"
    device = re.escape(slice_["interface"])
    chain = re.search(rf'hook egress device "{device}"[^}}]*}}', listing)
    if chain:
        return f"meta priority set {classid}" in chain.group(0) and dscp in chain.group(0)
    rules = [
        f"{family} {end} {network} meta priority set {classid} {family} {dscp}"
        for family, network in (("ip", slice_["ipv4_network"]), ("ip6", slice_["ipv6_network"]))
        if network
        for end in ("saddr", "daddr")
    ]
    return bool(rules) and all(rule in listing for rule in rules)


def _gpus(
    expected: dict[str, Any], state: dict[str, Any], base: str, report: Any, unchecked: list[str]
) -> None:
    declared = expected.get("gpus")
    if not declared:
        return
    try:
        facts = gather(GatheredSource(state), use_nvml=False)
    except NoDriver:
        unchecked.append("GPUs and driver: no NVIDIA driver answered (nvidia-smi)")
        return
    if len(facts.gpus) != declared["count"]:
        message = f"nvidia-smi lists {len(facts.gpus)} GPU(s); the blueprint declares {declared['count']}"
        report(Code.NODE_GPU_COUNT, message, f"{base}.gpus", len(facts.gpus))
    for gpu in facts.gpus:
        if gpu.catalog_model != declared["model"]:
            model = gpu.catalog_model or "not in the catalog"
            message = f"GPU {gpu.index} is {gpu.name} ({model}), not {declared['model']}"
            report(Code.NODE_GPU_MODEL, message, f"{base}.gpus", gpu.name)
    check_driver_pin(facts.driver_version, expected["driver_version"], report)
