"""Checks every node of a compiled site against the plan's expectations (expectations/<site>.json).

Copied into DIR/verify/ by `aigrid compile`; run by `aigrid verify` through pytest-testinfra,
one test per check and node. GPU checks run only where the node declares GPUs and has a
driver; elsewhere they are skipped with that reason.
"""

import fnmatch
import functools
import ipaddress
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import testinfra

EXPECTATIONS = Path(__file__).parent / "expectations"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "node" in metafunc.fixturenames:
        wanted = metafunc.config.getoption("--aigrid-site", default=None)
        # One file per site: a run for one site reads only that site's.
        files = [EXPECTATIONS / f"{wanted}.json"] if wanted else sorted(EXPECTATIONS.glob("*.json"))
        nodes = [node for file in files for node in json.loads(file.read_text())["nodes"]]
        metafunc.parametrize("node", nodes, ids=[n["hostname"] for n in nodes])


@pytest.fixture
def host(node: dict[str, Any], request: pytest.FixtureRequest) -> Any:
    """The node over Ansible's connection, as root: the roles write some of what the checks
    read root-only (the netplan file, the registry login drop-in that `containerd config dump`
    reads) and nft needs CAP_NET_ADMIN. Through sudo where the login is not root, as the
    playbooks' `become` does."""
    inventory = request.config.getoption("--aigrid-inventory")
    return _root_host(f"ansible://{node['hostname']}?ansible_inventory={inventory}")


@functools.cache
def _root_host(spec: str) -> Any:
    """Once per node, not per check: whether its login needs sudo."""
    node_host = testinfra.get_host(spec)
    if node_host.check_output("id -u") != "0":
        node_host = testinfra.get_host(f"{spec}&sudo=true")
    return node_host


def _content(host: Any, path: str, written_by: str) -> str:
    """The text of a file the roles write; a clear failure when it is missing."""
    file = host.file(path)
    assert file.exists, f"{path} is missing (the {written_by} role writes it: has bring-up run?)"
    text: str = file.content_string
    return text


def test_packages_pinned_and_held(host: Any, node: dict[str, Any]) -> None:
    for name, version in node["packages"].items():
        package = host.package(name)
        assert package.is_installed, f"{name} is not installed"
        # The pin's glob, as apt and aigrid drift match it (fnmatch).
        pinned = fnmatch.fnmatchcase(package.version, version)
        assert pinned, f"{name} {package.version} is not the pinned {version}"
        # dpkg-query(1) db:Status-Want; `dpkg --get-selections` names a Multi-Arch: same package
        # with its architecture (libnvidia-container1:amd64), which a plain comparison misread.
        want = host.check_output("dpkg-query --show --showformat='${db:Status-Want}' %s", name)
        assert want == "hold", f"{name} is not held (dpkg wants it {want!r})"


# A dependency a meta package bounds (dpkg's ${Depends}: "name[:arch] (>= version)"), as the
# pinned_packages role reads them: alternatives ("a | b") are not pinned.
BOUNDED = re.compile(r"([^ :|(]+)(?::\S+)? *\( *(?:>=|=) *[^)]+\)")


def test_release_components_pinned_and_held(host: Any, node: dict[str, Any]) -> None:
    """The libraries of the pinned CUDA release, which its meta package bounds from below only:
    each is installed at the version the node's apt pin names (priority 1001, as the
    pinned_packages role pins it beside the meta package) and held, not a newer build."""
    if not node["release_components"]:
        pytest.skip("no meta package whose release is pinned by component on this node")
    for meta in node["release_components"]:
        depends = host.check_output("dpkg-query --show --showformat='${Depends}' %s", meta)
        relations = [relation.strip() for relation in depends.split(",") if "|" not in relation]
        for name in [match[1] for match in map(BOUNDED.fullmatch, relations) if match]:
            package = host.package(name)
            assert package.is_installed, f"{name} ({meta} depends on it) is not installed"
            # apt-cache(8) policy: the version table, "*** VERSION PRIORITY" for the installed one.
            policy = host.check_output("apt-cache policy %s", name)
            installed = re.search(r"^ \*\*\* (\S+) (-?\d+)$", policy, flags=re.MULTILINE)
            assert installed and installed.group(2) == "1001", (
                f"{name} {package.version} is not the version pinned for {meta}'s release:\n{policy}"
            )
            want = host.check_output("dpkg-query --show --showformat='${db:Status-Want}' %s", name)
            assert want == "hold", f"{name} is not held (dpkg wants it {want!r})"
    # A library set at another build (stack.cuda.patches): that build, with any Debian
    # revision (and epoch) where the patch names none, as the role matches it.
    for name, build in node["release_patches"].items():
        version = host.package(name).version
        upstream = version if ":" in build else version.split(":", 1)[-1]
        assert version == build or ("-" not in build and upstream.rsplit("-", 1)[0] == build), (
            f"{name} {version} is not the patch build {build} the blueprint sets"
        )


def test_containerd_config(host: Any, node: dict[str, Any]) -> None:
    text = _content(host, "/etc/containerd/config.toml", "container_runtime")
    config = tomllib.loads(text)
    assert config["version"] == node["containerd_config_version"]
    if host.exists("containerd"):
        # containerd itself reads the file, drop-ins included
        dumped = host.check_output("containerd --config /etc/containerd/config.toml config dump")
        # The dump holds the registry mirror's login where it needs one (root-only drop-in):
        # only booleans reach the assertions, so pytest's report never shows it.
        systemd_cgroup = "SystemdCgroup = true" in dumped
        nvidia_runtime = "nvidia-container-runtime" in dumped
        del dumped
        assert systemd_cgroup, "containerd's effective configuration lacks SystemdCgroup = true"
        if node["gpus"]:
            assert nvidia_runtime, "containerd's effective configuration has no nvidia runtime"
    if node["gpus"]:
        dropin = tomllib.loads(
            _content(host, "/etc/containerd/conf.d/99-nvidia.toml", "nvidia_container_toolkit")
        )
        assert dropin["version"] == node["containerd_config_version"]


def test_kernel_settings_files(host: Any, node: dict[str, Any]) -> None:
    modules = _content(host, "/etc/modules-load.d/aigrid-kubernetes.conf", "kubernetes_node").split()
    assert {"overlay", "br_netfilter"} <= set(modules)
    sysctl_file = _inventory(host, "kubernetes_node_sysctl_file", node["sysctl_file"])
    sysctls = _content(host, sysctl_file, "kubernetes_node")
    assert "net.ipv4.ip_forward = 1" in sysctls
    assert "net.ipv4.conf.all.rp_filter = 0" in sysctls  # strict filtering drops slice traffic
    kubelet = _content(host, "/etc/default/kubelet", "kubernetes_node")
    for key, value in node["labels"].items():
        assert f"{key}={value}" in kubelet


def _needs_systemd(host: Any) -> None:
    """Services and links are what systemd starts and networkd or netplan configures; a host
    whose init is not systemd (an emulated lab host) has neither to check."""
    state = host.run("systemctl is-system-running")
    if state.rc == 127 or state.stdout.strip() in ("", "offline"):
        init = host.run("cat /proc/1/comm").stdout.strip() or "unknown"
        pytest.skip(f"systemd is not this host's init (PID 1 is {init}): nothing starts its units")


def _inventory(host: Any, name: str, default: Any) -> Any:
    """A role variable as the node's inventory sets it (the roles obey it), else the default."""
    return host.backend.get_variables().get(name, default)


# Units a role leaves as packaged when the inventory turns its switch off.
UNIT_SWITCHES = {"nvidia-persistenced": "nvidia_driver_persistence"}


def test_services_enabled_and_running(host: Any, node: dict[str, Any]) -> None:
    """Each unit bring-up leaves: enabled, so it comes back after a reboot, and running where it
    must be (containerd, the kubelet, nvidia-persistenced, the fabric services)."""
    _needs_systemd(host)
    problems = []
    for unit, wanted in node["services"].items():
        if unit in UNIT_SWITCHES and not _inventory(host, UNIT_SWITCHES[unit], True):
            continue
        enabled = host.run("systemctl is-enabled %s", unit).stdout.strip() or "not installed"
        if enabled != "enabled":
            problems.append(f"{unit} is {enabled}, not enabled")
        if wanted == "active":
            active = host.run("systemctl is-active %s", unit).stdout.strip() or "unknown"
            if active != "active":
                problems.append(f"{unit} is {active}, not running")
    assert not problems, "; ".join(problems)


def _kernel_is_the_nodes(host: Any) -> None:
    # The same switch kubernetes_node obeys: off where the kernel is not the node's own.
    if not _inventory(host, "kubernetes_node_apply_kernel_settings", True):
        pytest.skip("the inventory leaves this host's kernel alone (kubernetes_node_apply_kernel_settings)")


def test_kernel_modules_loaded(host: Any, node: dict[str, Any]) -> None:
    """overlay (containerd's snapshotter) and br_netfilter (bridged pod traffic through
    iptables): loaded, or built into the kernel (Kubernetes docs, "Container Runtimes")."""
    _kernel_is_the_nodes(host)
    builtin = host.run("cat /lib/modules/$(uname -r)/modules.builtin").stdout
    missing = [
        name
        for name in _inventory(host, "kubernetes_node_modules", node["kernel_modules"])
        if not host.file(f"/sys/module/{name}").is_directory and f"/{name}.ko" not in builtin
    ]
    assert not missing, f"kernel modules not loaded: {', '.join(missing)}"


def test_sysctls_in_effect(host: Any, node: dict[str, Any]) -> None:
    """The values the kernel runs with, not only the file: sysctl.d applies at boot, and
    net.bridge.* exist only once br_netfilter is loaded."""
    _kernel_is_the_nodes(host)
    problems = []
    for key, value in _inventory(host, "kubernetes_node_sysctls", node["sysctls"]).items():
        wanted = str(value)
        value = host.run("sysctl -n %s", key)
        if value.rc != 0:
            problems.append(f"{key} does not exist ({value.stderr.strip()})")
        elif value.stdout.strip() != wanted:
            problems.append(f"{key} = {value.stdout.strip()}, not {wanted}")
    assert not problems, "; ".join(problems)


def test_swap_off(host: Any, node: dict[str, Any]) -> None:
    """The kubelet refuses to start with swap on unless told otherwise (failSwapOn,
    Kubernetes docs, "Installing kubeadm")."""
    _kernel_is_the_nodes(host)
    swaps = host.check_output("swapon --show=NAME --noheadings")
    assert not swaps, f"swap is on: {', '.join(swaps.split())}"


def test_slice_interfaces_config(host: Any, node: dict[str, Any]) -> None:
    ifupdown_dir = _inventory(host, "network_slice_ifupdown_dir", "/etc/network/interfaces.d")
    interfaces = _inventory(host, "network_slice_ifupdown_interfaces", "/etc/network/interfaces")
    for slice_ in node["slices"]:
        netplan = host.file("/etc/netplan/60-aigrid-slices.yaml")
        networkd = host.file(f"/etc/systemd/network/20-aigrid-{slice_['interface']}.netdev")
        ifupdown = host.file(f"{ifupdown_dir}/60-aigrid-{slice_['interface']}")
        if ifupdown.exists:
            # Where ifupdown configures the parent it carries the VLANs; ifquery(8) reads the
            # configuration as ifup does, through the main file's `source` line.
            query = host.run("ifquery --interfaces=%s -- %s", interfaces, slice_["interface"])
            assert query.rc == 0, f"ifupdown does not read {ifupdown.path}: {query.stderr.strip()}"
            assert f"vlan-raw-device: {node['slice_interface']}" in query.stdout, slice_["name"]
        elif netplan.exists:
            assert f"id: {slice_['vlan']}" in netplan.content_string
            link = re.escape(node["slice_interface"])
            assert re.search(rf'^\s+link: "?{link}"?$', netplan.content_string, re.MULTILINE), slice_["name"]
        else:
            assert f"Id={slice_['vlan']}" in _content(host, networkd.path, "network_slice")
            # On the parent's unit, ours or a drop-in beside the node's own.
            attached = host.run("grep -rqx -- %s /etc/systemd/network", f"VLAN={slice_['interface']}")
            assert attached.rc == 0, f"no systemd-networkd unit puts {slice_['interface']} on its parent"


def _needs_slices_applied(host: Any, node: dict[str, Any]) -> None:
    if not node["slices"]:
        pytest.skip("the node carries no slices")
    if not _inventory(host, "network_slice_apply", True):
        pytest.skip("the inventory leaves the slices to the next boot (network_slice_apply)")


def test_slice_interfaces_up(host: Any, node: dict[str, Any]) -> None:
    """Each slice's VLAN interface as the node's network manager made it (networkd, netplan's
    networkd or ifupdown): present, up, with the node's addresses on the slice."""
    _needs_slices_applied(host, node)
    _needs_systemd(host)
    problems = []
    for slice_ in node["slices"]:
        shown = host.run("ip -json address show dev %s", slice_["interface"])
        if shown.rc != 0:
            problems.append(f"{slice_['interface']} does not exist ({shown.stderr.strip()})")
            continue
        (link,) = json.loads(shown.stdout)
        if link.get("operstate") != "UP":
            problems.append(f"{slice_['interface']} is {link.get('operstate')}, not UP")
        # iproute2 flags an IPv6 address that another host on the link holds "dadfailed" (the
        # kernel never uses it) and one still being checked "tentative" (ip-address(8)).
        addresses = {
            ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}"): a for a in link.get("addr_info", [])
        }
        for address in (slice_["ipv4"], slice_["ipv6"]):
            found = addresses.get(ipaddress.ip_interface(address)) if address else {}
            if found is None:
                problems.append(f"{slice_['interface']} lacks {address}")
            elif found.get("dadfailed") or found.get("tentative"):
                why = "another host on the slice has it" if found.get("dadfailed") else "still tentative"
                problems.append(f"{slice_['interface']} cannot use {address}: {why}")
    assert not problems, "; ".join(problems)


def test_slice_shaping_classes(host: Any, node: dict[str, Any]) -> None:
    _needs_slices_applied(host, node)
    shape = _content(host, "/etc/aigrid/slices/shape.sh", "network_slice")
    parent = re.search(r"^dev=(\S+)$", shape, re.MULTILINE)
    for slice_ in node["slices"]:
        device = parent.group(1) if parent else slice_["interface"]
        classes = host.run("tc class show dev %s", device)
        # Bring-up applies the shaping (aigrid-slices.service at boot): none is the fault.
        assert classes.rc == 0 and "htb" in classes.stdout, (
            f"no htb shaping on {device}: has aigrid-slices.service run? ({classes.stderr.strip()})"
        )
        rate = slice_["guaranteed_bps"] or slice_["maximum_bps"]
        assert f"rate {_tc_rate(rate)} ceil {_tc_rate(slice_['maximum_bps'])}" in classes.stdout, slice_[
            "name"
        ]


def _tc_rate(bps: int) -> str:
    for unit, factor in (("Gbit", 10**9), ("Mbit", 10**6), ("Kbit", 10**3)):
        if bps >= factor and bps % factor == 0:
            return f"{bps // factor}{unit}"
    return f"{bps}bit"


def test_slice_dscp_marking(host: Any, node: dict[str, Any]) -> None:
    """Each slice's DSCP and shaping class are set at the egress of the device its traffic
    (the pods' macvlan traffic too) leaves by: its VLAN interface, or the shared parent."""
    _needs_slices_applied(host, node)
    listing = host.run("nft -n list table netdev aigrid_slices")
    why = listing.stderr.strip()
    assert listing.rc == 0, f"no aigrid_slices marking table: has aigrid-slices.service run? ({why})"
    for index, slice_ in enumerate(node["slices"], start=1):
        marks = f"meta priority set 1:{100 + index}"
        dscp = f"dscp set 0x{slice_['dscp']:02x}"
        device = re.escape(slice_["interface"])
        chain = re.search(rf'hook egress device "{device}"[^}}]*}}', listing.stdout)
        if chain:
            assert marks in chain.group(0) and f"ip6 {dscp}" in chain.group(0), slice_["name"]
            continue
        for family, network in (("ip", slice_["ipv4_network"]), ("ip6", slice_["ipv6_network"])):
            if network:
                for end in ("saddr", "daddr"):
                    rule = f"{family} {end} {network} {marks} {family} {dscp}"
                    assert rule in listing.stdout, slice_["name"]


@pytest.fixture
def hardware_checks(request: pytest.FixtureRequest) -> bool:
    return not request.config.getoption("--aigrid-no-hardware-checks")


def _needs_nvidia_smi(host: Any, node: dict[str, Any], hardware_checks: bool) -> None:
    if not node["gpus"]:
        pytest.skip("the blueprint declares no GPUs on this node")
    if not hardware_checks:
        pytest.skip("hardware checks are off (--no-hardware-checks)")
    if not host.exists("nvidia-smi"):
        # The nvidia_driver role installs it with the driver; the GPU Operator's driver
        # container keeps it inside the container, off the host.
        assert node["driver_on_host"] is False, "nvidia-smi is missing: the NVIDIA driver is not installed"
        pytest.skip("the GPU Operator's driver container holds the driver: checked in the cluster")


def test_gpus_match_the_blueprint(host: Any, node: dict[str, Any], hardware_checks: bool) -> None:
    _needs_nvidia_smi(host, node, hardware_checks)
    names = host.check_output("nvidia-smi --query-gpu=name --format=csv,noheader").splitlines()
    assert len(names) == node["gpus"]["count"], f"nvidia-smi lists {len(names)} GPU(s)"
    if node["gpus"]["product_names"]:  # empty: the catalog has no sourced nvidia-smi name
        assert set(names) <= set(node["gpus"]["product_names"]), f"nvidia-smi names {sorted(set(names))}"
    driver = host.check_output("nvidia-smi --query-gpu=driver_version --format=csv,noheader").splitlines()
    assert set(driver) == {node["driver_version"]}, (
        f"driver {sorted(set(driver))}, pinned {node['driver_version']}"
    )


def test_gpus_are_in_persistence_mode(host: Any, node: dict[str, Any], hardware_checks: bool) -> None:
    """nvidia-persistenced keeps the driver initialised: without it every CUDA start on an idle
    GPU pays the driver's initialisation again (NVIDIA driver docs, "Persistence Daemon");
    Ubuntu's packaging starts it with --no-persistence-mode, which aigrid's drop-in replaces."""
    if not node["persistence_mode"]:
        pytest.skip("the driver is not aigrid's to configure")
    _needs_nvidia_smi(host, node, hardware_checks)
    modes = host.check_output("nvidia-smi --query-gpu=persistence_mode --format=csv,noheader").splitlines()
    assert modes and set(modes) == {"Enabled"}, f"persistence mode {modes}"
