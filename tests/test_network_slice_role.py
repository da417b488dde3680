"""The network_slice role's files, rendered by Ansible itself from the role's templates, and
its refusal to run without the interface the slice VLANs ride on (ansible-playbook, local
connection; nothing is written outside the test's directory)."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, run_local_playbook

ROLE = ROOT / "roles" / "network_slice"
TEMPLATES = ("netplan.yaml.j2", "parent.network.j2", "parent-vlans.conf.j2", "aigrid-slices.service.j2")
SLICES = [
    {
        "name": "urllc",
        "vlan": 210,
        "interface": "vlan210",
        "ipv4": None,
        "ipv6": "2001:db8:ed:210::a/64",
        "ipv4_network": None,
        "ipv6_network": "2001:db8:ed:210::/64",
        "dscp": 46,
        "guaranteed_bps": 10000000,
        "maximum_bps": 20000000,
    },
    {
        "name": "embb",
        "vlan": 220,
        "interface": "vlan220",
        "ipv4": "198.51.100.10/26",
        "ipv6": None,
        "ipv4_network": "198.51.100.0/26",
        "ipv6_network": None,
        "dscp": 34,
        "guaranteed_bps": None,
        "maximum_bps": 50000000,
    },
]


CHECKS = """\
- name: Slices' checks
  hosts: all
  gather_facts: false
  tasks:
    - name: Checks
      ansible.builtin.include_role:
        name: network_slice
        tasks_from: checks
    - name: Show the parent's netplan type
      ansible.builtin.debug:
        msg: "parent netplan type: [{{ network_slice_parent_netplan_type | default('') }}]"
"""


def playbook(tmp_path: Path, text: str, **variables: object) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "play.yml"
    path.write_text(text)
    return run_local_playbook(path, {"network_slice_slices": SLICES, **variables})


SHOW_MANAGER = """\
    - name: Show what configures the slice VLANs
      ansible.builtin.debug:
        msg: "slice VLANs by [{{ network_slice_manager }}]"
"""


def render(tmp_path: Path, **variables: object) -> dict[str, str]:
    """Each of the role's network templates as Ansible's template module writes it."""
    out = tmp_path / "out"
    out.mkdir()
    play = f"""\
- name: Render the network_slice templates
  hosts: all
  gather_facts: false
  vars_files: [{ROLE / "defaults" / "main.yml"}]
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{ROLE / "templates"}/{{{{ item }}}}"
        dest: "{out}/{{{{ item }}}}"
        mode: "0644"
      loop: {json.dumps(list(TEMPLATES))}
"""
    proc = playbook(tmp_path, play, **variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {name: (out / name).read_text() for name in TEMPLATES}


def ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def vlan_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("VLAN=")]


def test_the_role_has_no_default_interface() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    assert defaults["network_slice_parent_interface"] == ""
    assert options["network_slice_parent_interface"]["default"] == ""
    assert set(defaults) == set(options)


def test_netplan_defines_the_ethernet_its_vlans_link_to(tmp_path: Path) -> None:
    """netplan refuses a VLAN whose link no netplan file defines (netplan(5), vlans: link)."""
    network: dict[str, Any] = yaml.safe_load(
        render(tmp_path, network_slice_parent_interface="ens1f0")["netplan.yaml.j2"]
    )["network"]
    assert network["ethernets"] == {"ens1f0": {}}  # defined, with nothing that overrides the node's own
    assert {name: vlan["link"] for name, vlan in network["vlans"].items()} == {
        "vlan210": "ens1f0",
        "vlan220": "ens1f0",
    }
    assert network["vlans"]["vlan220"] == {
        "id": 220,
        "link": "ens1f0",
        "addresses": ["198.51.100.10/26"],
        "link-local": [],  # as the networkd backend's LinkLocalAddressing=no
        "accept-ra": False,  # a router advertisement on the slice adds no default route
    }


def test_netplan_leaves_a_bond_to_the_nodes_own_configuration(tmp_path: Path) -> None:
    bond = {"network_slice_parent_interface": "bond0", "network_slice_parent_netplan_type": "bonds"}
    files = render(tmp_path, **bond)
    network = yaml.safe_load(files["netplan.yaml.j2"])["network"]
    assert "ethernets" not in network and "bonds" not in network
    assert {vlan["link"] for vlan in network["vlans"].values()} == {"bond0"}


def test_netplan_quotes_an_interface_yaml_would_read_as_another_type(tmp_path: Path) -> None:
    network = yaml.safe_load(render(tmp_path, network_slice_parent_interface="on")["netplan.yaml.j2"])[
        "network"
    ]
    assert network["ethernets"] == {"on": {}} and network["vlans"]["vlan210"]["link"] == "on"


def test_networkd_parent_unit_only_adds_vlans_and_keeps_the_addresses(tmp_path: Path) -> None:
    """A parent nothing else configures (a NIC for the slices): the unit only creates the VLANs on it."""
    files = render(tmp_path, network_slice_parent_interface="eno1")
    unit = ini(files["parent.network.j2"])
    assert dict(unit["Match"]) == {"Name": "eno1"}
    assert unit["Network"]["KeepConfiguration"] == "static"
    assert not {"Address", "DHCP", "Gateway", "DNS"} & set(unit["Network"])
    assert vlan_lines(files["parent.network.j2"]) == ["VLAN=vlan210", "VLAN=vlan220"]


def test_networkd_drop_in_joins_the_parents_own_unit(tmp_path: Path) -> None:
    """A drop-in has no [Match]: it only adds VLAN= to the unit that configures the parent."""
    files = render(
        tmp_path, network_slice_parent_interface="eno1", network_slice_parent_network_file="50-eno1.network"
    )
    assert ini(files["parent-vlans.conf.j2"]).sections() == ["Network"]
    assert vlan_lines(files["parent-vlans.conf.j2"]) == ["VLAN=vlan210", "VLAN=vlan220"]


def test_networkd_tasks_write_a_drop_in_and_start_the_daemon() -> None:
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    by_name = {task["name"]: task for task in tasks}
    drop_in = by_name["Attach the VLANs to the parent's own unit (systemd-networkd drop-in)"]
    assert drop_in["ansible.builtin.template"]["dest"] == (
        "/etc/systemd/network/{{ network_slice_parent_network_file }}.d/60-aigrid-slices.conf"
    )
    daemon = by_name["Run systemd-networkd"]
    assert daemon["ansible.builtin.systemd_service"]["enabled"] is True
    assert "ansible_facts['service_mgr'] == 'systemd'" in daemon["when"]


def test_the_role_refuses_slices_without_an_interface(tmp_path: Path) -> None:
    """It stops at its first task, before it installs or writes anything."""
    play = "- name: Slices\n  hosts: all\n  gather_facts: false\n  roles: [network_slice]\n"
    proc = playbook(tmp_path, play, network_slice_apply=False)
    assert proc.returncode != 0
    assert "network_slice_parent_interface is unset" in proc.stdout
    assert "sites[].network.sliceInterface" in proc.stdout
    assert "Install the tools" not in proc.stdout


# The checks, then the node's turn where ifupdown carries the VLANs.
IFUPDOWN = (
    CHECKS
    + SHOW_MANAGER
    + """\
    - name: The node's turn
      ansible.builtin.include_role:
        name: network_slice
        tasks_from: ifupdown
      when: network_slice_manager == 'ifupdown'
"""
)

needs_ifupdown = pytest.mark.skipif(
    shutil.which("ifquery") is None, reason="ifupdown is not installed here (.ci/run installs it)"
)


def ifupdown_node(tmp_path: Path, main: str = "source interfaces.d/*\n") -> Path:
    """An ifupdown configuration as Debian 12's installer leaves it: the main file sources its
    folder, and configures the uplink eno1 by DHCP (here in a file of that folder)."""
    network = tmp_path / "network"
    (network / "interfaces.d").mkdir(parents=True)
    (network / "interfaces").write_text(f"{main}auto lo\niface lo inet loopback\n")
    (network / "interfaces.d" / "uplink").write_text("allow-hotplug eno1\niface eno1 inet dhcp\n")
    return network


def ifupdown_play(
    tmp_path: Path, network: Path, slices: list[dict[str, Any]] = SLICES
) -> subprocess.CompletedProcess[str]:
    """The role's checks and then its ifupdown turn, nothing applied (no ifup: the stanzas are
    written and read back by ifupdown's own parser)."""
    path = tmp_path / "play.yml"
    path.write_text(IFUPDOWN)
    variables = {
        "network_slice_slices": slices,
        "network_slice_parent_interface": "eno1",
        "network_slice_ifupdown_interfaces": str(network / "interfaces"),
        "network_slice_ifupdown_dir": str(network / "interfaces.d"),
        "network_slice_apply": False,
    }
    return run_local_playbook(path, variables)


def ifupdown(*args: str) -> str:
    """What an ifupdown command prints (`ifup -n` prints the commands it would run on stderr)."""
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


@needs_ifupdown
@pytest.mark.parametrize("main", ["source interfaces.d/*\n", "source-directory {dir}\n"])
def test_a_parent_that_ifupdown_configures_carries_vlans_ifupdown_makes(tmp_path: Path, main: str) -> None:
    """Debian's installer configures the uplink with ifupdown; systemd-networkd, taking it to
    carry the VLANs, would drop ifupdown's default route (protocol boot) and DHCP address, so
    the role refused such a parent. ifupdown carries the VLANs now, in stanzas that ifupdown's
    own parser reads through the main file's `source` line (source-directory reads only names
    without dots, which ours are)."""
    network = ifupdown_node(tmp_path)
    (network / "interfaces").write_text(
        main.format(dir=network / "interfaces.d") + "auto lo\niface lo inet loopback\n"
    )
    proc = ifupdown_play(tmp_path, network)
    assert proc.returncode == 0, proc.stdout
    assert "slice VLANs by [ifupdown]" in proc.stdout
    interfaces = str(network / "interfaces")
    # Class aigrid, which aigrid-slices.service brings up at boot; the boot's own `ifup -a`
    # (the auto class) does not wait or fail for them.
    listed = ifupdown("ifquery", f"--interfaces={interfaces}", "--allow=aigrid", "--list").split()
    assert listed == ["vlan210", "vlan220"]
    assert ifupdown("ifquery", f"--interfaces={interfaces}", "--list").split() == ["lo"]
    embb = ifupdown("ifquery", f"--interfaces={interfaces}", "vlan220")
    assert (
        "vlan-raw-device: eno1" in embb
        and "address: 198.51.100.10" in embb
        and "netmask: 255.255.255.192" in embb
    )
    # What ifup would run (-n), in order: the IPv6-only slice takes no router advertisement, set
    # before its link goes up; the IPv4-only one carries no IPv6.
    urllc = ifupdown(
        "ifup", "-n", f"--interfaces={interfaces}", "--state-dir", str(tmp_path / "state"), "vlan210"
    )
    assert (
        urllc.index("net.ipv6.conf.vlan210.accept_ra=0")
        < urllc.index("ip link set dev vlan210")
        < urllc.index("ip -6 addr add 2001:db8:ed:210::a/64")
    )
    embb_up = ifupdown(
        "ifup", "-n", f"--interfaces={interfaces}", "--state-dir", str(tmp_path / "state"), "vlan220"
    )
    assert "net.ipv6.conf.vlan220.disable_ipv6=1" in embb_up


@needs_ifupdown
def test_a_slice_the_node_no_longer_carries_leaves_ifupdowns_configuration(tmp_path: Path) -> None:
    network = ifupdown_node(tmp_path)
    assert ifupdown_play(tmp_path, network).returncode == 0
    proc = ifupdown_play(tmp_path, network, slices=SLICES[1:])
    assert proc.returncode == 0, proc.stdout
    assert not (network / "interfaces.d" / "60-aigrid-vlan210").exists()
    listed = ifupdown("ifquery", f"--interfaces={network / 'interfaces'}", "--allow=aigrid", "--list").split()
    assert listed == ["vlan220"]


@needs_ifupdown
def test_teardown_removes_the_stanzas_ifupdown_reads(tmp_path: Path) -> None:
    network = ifupdown_node(tmp_path)
    assert ifupdown_play(tmp_path, network).returncode == 0
    play = tmp_path / "teardown.yml"
    play.write_text(
        "- name: Teardown\n  hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Teardown\n      ansible.builtin.include_role:\n        name: network_slice\n"
        "        tasks_from: teardown\n"
    )
    variables = {
        "network_slice_slices": SLICES,
        "network_slice_parent_interface": "eno1",
        "network_slice_ifupdown_interfaces": str(network / "interfaces"),
        "network_slice_ifupdown_dir": str(network / "interfaces.d"),
        "network_slice_config_dir": str(tmp_path / "aigrid" / "slices"),
        "network_slice_netplan_dir": str(tmp_path / "netplan"),
        "network_slice_apply": False,
    }
    proc = run_local_playbook(play, variables)
    assert proc.returncode == 0, proc.stdout
    assert sorted(path.name for path in (network / "interfaces.d").iterdir()) == ["uplink"]
    assert ifupdown("ifquery", f"--interfaces={network / 'interfaces'}", "--allow=aigrid", "--list") == ""


# The node's turn applied for real by ifupdown, in a private network and mount namespace
# (ifupdown's state in /run/network and sysfs are the namespace's own). eno1 and eno2 are veths
# with their peers up (so IPv6 DAD completes); the vlan package's hooks are stand-ins that make
# and delete a macvlan where the real ones make an 802.1Q VLAN (this kernel has none): a
# macvlan hangs off its parent as a VLAN does (lower_eno1 in sysfs) and goes when ifdown runs
# the hooks. Each argument is one run: extra variables as JSON, or `teardown`; `leftover` makes
# what a failed ifup leaves (the device and an address, nothing in ifupdown's state).
VLAN_HOOKS = {
    "if-pre-up.d": (
        "[ -e /sys/class/net/$IFACE ] || ip link add link $IF_VLAN_RAW_DEVICE name $IFACE type macvlan"
    ),
    "if-post-down.d": "ip link delete $IFACE",
}
APPLY_IFUPDOWN = """\
mount -t tmpfs none /run/network && mount -t sysfs none /sys
for hooks in if-pre-up.d if-post-down.d; do mount --bind "hooks/$hooks" "/etc/network/$hooks"; done
for nic in eno1 eno2; do
  ip link add $nic type veth peer name wire-$nic && ip link set $nic up && ip link set wire-$nic up
done
for run in "$@"; do
  echo "=== $run" | cut -c1-60
  case "$run" in
    leftover)
      ifdown --no-scripts --interfaces=network/interfaces vlan220 2>/dev/null
      ip address add 198.51.100.11/26 dev vlan220
      continue ;;
    teardown) play=teardown.yml; echo '{}' > run.json ;;
    *) play=play.yml; echo "$run" > run.json ;;
  esac
  ansible-playbook -i localhost, -c local $play -e @vars.json -e @run.json > run.log \\
    || { cat run.log; exit 1; }
  grep '^localhost ' run.log
  echo "state: $(ifquery --interfaces=network/interfaces --state | sort | tr '\\n' ' ')"
  ip -o address show scope global | awk '{print "address:", $2, $4}'
  for dev in vlan210 vlan220; do
    sys=/sys/class/net/$dev
    echo "$dev: $(ls $sys 2>/dev/null | grep lower_ || echo absent) $(cat $sys/ifindex 2>/dev/null) \\
      $(cat /proc/sys/net/ipv6/conf/$dev/disable_ipv6 2>/dev/null)"
  done
  echo "stanzas: $(ls network/interfaces.d | tr '\\n' ' ')"
  echo "applied: $(cat applied.log | tr '\\n' ' ')"
done
"""

TEARDOWN = """\
- name: Teardown
  hosts: all
  gather_facts: true
  tasks:
    - name: Teardown
      ansible.builtin.include_role:
        name: network_slice
        tasks_from: teardown
"""


@needs_ifupdown
def test_ifupdown_takes_the_vlans_through_their_changes(tmp_path: Path) -> None:
    """Runs of the node's turn, then teardown, each applied by ifupdown: the slices come up;
    one goes while the other changes its address and gains IPv6 (its device stays, so the
    pods' macvlans on it would too); a rerun reports nothing; a failed ifup's leftovers are
    taken down and the slice brought up again; the slices move to another parent; none are
    left when the node carries no slice; teardown takes them down. Shaping and marking follow
    each change."""
    if subprocess.run(["unshare", "--net", "--mount", "true"], check=False).returncode != 0:
        pytest.skip("unshare --net --mount needs root (a private network and mount namespace)")
    network = ifupdown_node(tmp_path)
    (network / "interfaces.d" / "lab").write_text("iface eno2 inet manual\n")  # a NIC for the slices alone
    bin_dir, config = tmp_path / "bin", tmp_path / "slices"
    bin_dir.mkdir()
    config.mkdir()
    log = tmp_path / "applied.log"
    log.touch()
    (bin_dir / "nft").write_text(
        f"#!/bin/sh\n# STAND-IN nft (none installed here): logs the marking\necho nft >> {log}\n"
    )
    (config / "shape.sh").write_text(
        f"#!/bin/sh\n# STAND-IN for the rendered shaping script\necho shape >> {log}\n"
    )
    hooks = []
    for folder, command in VLAN_HOOKS.items():
        (tmp_path / "hooks" / folder).mkdir(parents=True)
        hook = tmp_path / "hooks" / folder / "vlan"
        stand_in = "# STAND-IN for the vlan package's hook"
        hook.write_text(f'#!/bin/sh\n{stand_in}\n[ -n "$IF_VLAN_RAW_DEVICE" ] || exit 0\n{command}\n')
        hooks.append(hook)
    for script in (bin_dir / "nft", config / "shape.sh", *hooks):
        script.chmod(0o755)
    (tmp_path / "play.yml").write_text(IFUPDOWN)
    (tmp_path / "teardown.yml").write_text(TEARDOWN)
    variables = {
        "ansible_python_interpreter": sys.executable,
        "network_slice_parent_interface": "eno1",
        "network_slice_ifupdown_interfaces": str(network / "interfaces"),
        "network_slice_ifupdown_dir": str(network / "interfaces.d"),
        "network_slice_config_dir": str(config),
        "network_slice_netplan_dir": str(tmp_path / "netplan"),
        "network_slice_slices": SLICES,
    }
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    dual = [{**SLICES[1], "ipv4": "198.51.100.11/26", "ipv6": "2001:db8:ed:220::b/64"}]
    runs = [
        {"network_slice_slices": SLICES},
        {"network_slice_slices": dual},
        {"network_slice_slices": dual},
        "leftover",
        {"network_slice_slices": dual},
        {"network_slice_slices": dual, "network_slice_parent_interface": "eno2"},
        {"network_slice_slices": [], "network_slice_parent_interface": "eno2"},
        {"network_slice_slices": SLICES},
        "teardown",
    ]
    proc = subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-ec", APPLY_IFUPDOWN, "sh"]
        + [run if isinstance(run, str) else json.dumps(run) for run in runs],
        cwd=tmp_path,
        env={
            **os.environ,
            "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    up, moved_on, rerun, _, recovered, elsewhere, none, again, torn_down = (
        _run_report(block) for block in proc.stdout.split("=== ")[1:]
    )
    assert up["state"] == ["vlan210=vlan210", "vlan220=vlan220"]
    assert up["address"] == ["vlan210 2001:db8:ed:210::a/64", "vlan220 198.51.100.10/26"]
    # sysfs lower_PARENT (or absent), ifindex, disable_ipv6: an IPv4-only slice carries no IPv6.
    assert up["vlan210"][::2] == ["lower_eno1", "0"] and up["vlan220"][::2] == ["lower_eno1", "1"]
    assert up["applied"] == ["shape", "nft"]
    # vlan210 went with its stanza; vlan220's addresses changed on the same device, IPv6 on.
    assert moved_on["state"] == ["vlan220=vlan220"] and moved_on["vlan210"] == ["absent"]
    assert moved_on["address"] == ["vlan220 198.51.100.11/26", "vlan220 2001:db8:ed:220::b/64"]
    assert moved_on["vlan220"] == ["lower_eno1", up["vlan220"][1], "0"]
    assert moved_on["stanzas"] == ["60-aigrid-vlan220", "lab", "uplink"]
    assert moved_on["applied"] == ["shape", "nft"] * 2
    # Converged: nothing to do, nothing reported.
    assert "changed=0" in rerun["localhost"] and rerun["applied"] == moved_on["applied"]
    # A failed ifup's leftovers (the device, an address, nothing in ifupdown's state): made anew.
    assert recovered["state"] == ["vlan220=vlan220"] and "failed=0" in recovered["localhost"]
    assert recovered["address"] == moved_on["address"] and recovered["vlan220"][1] != rerun["vlan220"][1]
    assert elsewhere["vlan220"][0] == "lower_eno2" and elsewhere["address"] == moved_on["address"]
    # No slice left on the node: ifupdown still takes its VLANs down and their stanzas out.
    assert none["state"] == [] and none["vlan220"] == ["absent"] and none["stanzas"] == ["lab", "uplink"]
    assert again["state"] == ["vlan210=vlan210", "vlan220=vlan220"]
    assert torn_down["state"] == [] and torn_down["vlan210"] == torn_down["vlan220"] == ["absent"]
    assert torn_down["stanzas"] == ["lab", "uplink"]


def _run_report(block: str) -> dict[str, list[str]]:
    """One run of APPLY_IFUPDOWN: each line's words after its label, by label; address lines
    gathered in order."""
    report: dict[str, list[str]] = {"address": []}
    for line in block.splitlines()[1:]:
        label, _, value = line.partition(":")
        if label == "address":
            report["address"].append(value.strip())
        else:
            report[label.strip()] = value.split()
    return report


def test_the_boot_unit_brings_up_ifupdowns_slice_class_before_shaping(tmp_path: Path) -> None:
    """The stanzas are of class aigrid, not auto: nothing else brings them up at boot."""

    def exec_start(manager: str) -> list[str]:
        (tmp_path / manager).mkdir()
        unit = render(tmp_path / manager, network_slice_manager=manager)["aigrid-slices.service.j2"]
        assert "networking.service" in ini(unit).get("Unit", "After").split()
        return [
            line.removeprefix("ExecStart=") for line in unit.splitlines() if line.startswith("ExecStart=")
        ]

    shaping = ["/etc/aigrid/slices/shape.sh", "/usr/sbin/nft -f /etc/aigrid/slices/mark.nft"]
    ifup = "/usr/sbin/ifup -a --allow=aigrid --interfaces=/etc/network/interfaces"
    assert exec_start("ifupdown") == [ifup, *shaping]
    assert exec_start("networkd") == shaping


def test_ifupdown_must_read_the_folder_of_the_slice_stanzas(tmp_path: Path) -> None:
    """A main file that does not source interfaces.d would leave the stanzas unread: the VLANs
    never made, at boot or now. Refused before anything is written."""
    uplink = "allow-hotplug eno1\niface eno1 inet dhcp\n"  # in the main file, which reads *.cfg only
    network = ifupdown_node(tmp_path, main=f"source interfaces.d/*.cfg\n{uplink}")
    (network / "interfaces.d" / "uplink").unlink()
    proc = ifupdown_play(tmp_path, network)
    assert proc.returncode != 0
    assert f"{network / 'interfaces'} does not read {network / 'interfaces.d'}" in proc.stdout
    assert list((network / "interfaces.d").iterdir()) == []


def test_vlans_ifupdown_made_are_not_taken_over_by_networkd(tmp_path: Path) -> None:
    """eno1 no longer in ifupdown's configuration, but ifupdown still carries the slices
    (their stanzas are there): systemd-networkd would make the same VLANs again."""
    network = ifupdown_node(tmp_path)
    (network / "interfaces.d" / "uplink").write_text("allow-hotplug eno2\niface eno2 inet dhcp\n")
    (network / "interfaces.d" / "60-aigrid-vlan210").write_text("auto vlan210\n")
    proc = ifupdown_play(tmp_path, network)
    assert proc.returncode != 0
    assert (
        f"ifupdown carries this node's slice VLANs ({network / 'interfaces.d' / '60-aigrid-vlan210'})"
        in proc.stdout
    )
    assert "eno1 is not configured by ifupdown): run `aigrid teardown`" in proc.stdout


def test_the_ifupdown_check_reads_the_whole_interface_name(tmp_path: Path) -> None:
    """eno1's check does not match eno10's stanza (the checks alone run: they change nothing)."""
    network = tmp_path / "interfaces"
    network.write_text("iface eno10 inet dhcp\n")
    variables = {
        "network_slice_parent_interface": "eno1",
        "network_slice_ifupdown_interfaces": str(network),
        "network_slice_ifupdown_dir": str(tmp_path / "none"),
    }
    proc = playbook(tmp_path, CHECKS + SHOW_MANAGER, **variables)
    assert proc.returncode == 0, proc.stdout
    assert "slice VLANs by [networkd]" in proc.stdout
    network.write_text("source none/*\niface eno1 inet static\n  address 192.0.2.10/24\n")
    proc = playbook(tmp_path, CHECKS + SHOW_MANAGER, **variables)
    assert proc.returncode == 0, proc.stdout
    assert "slice VLANs by [ifupdown]" in proc.stdout


def test_netplan_teardown_regenerates_its_units_without_applying() -> None:
    """netplan's networkd units in /run still named the slice VLANs after teardown, so the next
    `networkctl reload` by anyone made them again; `netplan apply` would reconfigure the uplink."""
    handlers = {h["name"]: h for h in yaml.safe_load((ROLE / "handlers" / "main.yml").read_text())}
    regenerate = handlers["Regenerate netplan's units after teardown"]
    assert regenerate["ansible.builtin.command"] == "netplan generate"
    assert regenerate["when"] == "network_slice_backend == 'netplan'"
    teardown = yaml.safe_load((ROLE / "tasks" / "teardown.yml").read_text())
    removal = next(task for task in teardown if task["name"] == "Remove the slice files")
    assert "Regenerate netplan's units after teardown" in removal["notify"]


def netplan_checks(tmp_path: Path, node_config: str, parent: str) -> subprocess.CompletedProcess[str]:
    """The role's checks (real netplan, a staging root) against a node's netplan folder."""
    netplan = tmp_path / "etc" / "netplan"
    netplan.mkdir(parents=True)
    (netplan / "50-node.yaml").write_text(node_config)
    (netplan / "50-node.yaml").chmod(0o600)
    return playbook(
        tmp_path,
        CHECKS,
        network_slice_backend="netplan",
        network_slice_netplan_dir=str(netplan),
        network_slice_parent_interface=parent,
    )


BRIDGE = """\
network:
  version: 2
  ethernets:
    eno1: {}
  bridges:
    br0:
      interfaces: [eno1]
      addresses: [192.0.2.10/24]
"""


def test_a_bridge_as_parent_is_not_declared_again_as_an_ethernet(tmp_path: Path) -> None:
    """netplan refuses `ethernets: {br0: {}}` beside the node's bridge br0 ("changes device
    type"), and the file left in /etc/netplan failed every later `netplan apply`."""
    proc = netplan_checks(tmp_path, BRIDGE, "br0")
    assert proc.returncode == 0, proc.stdout
    assert "parent netplan type: [bridges]" in proc.stdout
    network = yaml.safe_load(
        render(tmp_path, network_slice_parent_interface="br0", network_slice_parent_netplan_type="bridges")[
            "netplan.yaml.j2"
        ]
    )["network"]
    assert "ethernets" not in network and network["vlans"]["vlan210"]["link"] == "br0"
    assert sorted(p.name for p in (tmp_path / "etc" / "netplan").iterdir()) == ["50-node.yaml"]


def test_a_nic_the_node_defines_is_merged_as_an_ethernet(tmp_path: Path) -> None:
    proc = netplan_checks(tmp_path, BRIDGE, "eno1")
    assert proc.returncode == 0, proc.stdout
    assert "parent netplan type: [ethernets]" in proc.stdout


def test_a_slices_file_netplan_refuses_is_not_installed(tmp_path: Path) -> None:
    """netplan generate runs on the node's files and aigrid's in a staging root first; here the
    node already has a device named vlan210, a bridge."""
    proc = netplan_checks(tmp_path, BRIDGE + "    vlan210: {}\n", "eno1")
    assert proc.returncode != 0
    assert "netplan generate refuses the slice VLANs beside the node's netplan configuration" in proc.stdout
    assert "/etc/netplan/60-aigrid-slices.yaml" in proc.stdout and "changes device type" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "etc" / "netplan").iterdir()) == ["50-node.yaml"]


def test_a_bond_the_node_does_not_define_is_refused(tmp_path: Path) -> None:
    proc = netplan_checks(tmp_path, BRIDGE, "bond0")
    assert proc.returncode != 0 and "bond0 is not defined as a bond" in proc.stdout


ROUNDS = """\
- name: Slices' reconfiguration
  hosts: all
  gather_facts: false
  # The stand-ins below learn which host calls them from here (the hosts share this machine).
  environment:
    AIGRID_TEST_HOST: "{{ inventory_hostname }}"
  tasks:
    - name: Reconfigure
      ansible.builtin.include_role:
        name: network_slice
        tasks_from: reconfigure
"""


def reconfigure_rounds(
    tmp_path: Path, failing: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The role's reconfiguration on two sites of local hosts (a1-a3, b1-b2) whose netplan file
    changed, with a stand-in netplan that logs each apply's start and end and fails on
    `failing`; returns the run and the log."""
    log = tmp_path / "applies.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "netplan").write_text(
        "#!/bin/sh\n# STAND-IN netplan: logs `netplan apply`, which takes a moment, as the real one does\n"
        f'echo "start $AIGRID_TEST_HOST" >> {log}\nsleep 1\n'
        f'[ "$AIGRID_TEST_HOST" = "{failing}" ] && {{ echo "netplan: cannot apply" >&2; exit 1; }}\n'
        f'echo "end $AIGRID_TEST_HOST" >> {log}\n'
    )
    (bin_dir / "netplan").chmod(0o755)
    (tmp_path / "shape.sh").write_text("#!/bin/sh\n")
    (tmp_path / "shape.sh").chmod(0o755)
    (bin_dir / "nft").write_text("#!/bin/sh\n# STAND-IN nft\n")
    (bin_dir / "nft").chmod(0o755)
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    sites = {"site_a": ["a1", "a2", "a3"], "site_b": ["b1", "b2"]}
    inventory = {
        "all": {
            "children": {
                group: {
                    "hosts": {host: dict(local) for host in hosts},
                    "vars": {"network_slice_site_group": group},
                }
                for group, hosts in sites.items()
            }
        }
    }
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(ROUNDS)
    changed = {"changed": True}
    variables = {
        "network_slice_backend": "netplan",
        "network_slice_manager": "netplan",
        "network_slice_shape_on": "parent",
        "network_slice_config_dir": str(tmp_path),
        "network_slice_netdevs": {"skipped": True},
        "network_slice_networks": {"skipped": True},
        "network_slice_parent_unit": {"skipped": True},
        "network_slice_parent_dropin": {"skipped": True},
        "network_slice_parent_unit_removed": {"skipped": True},
        "network_slice_netplan_file": changed,
    }
    inventory_file, play = tmp_path / "inventory.yml", tmp_path / "play.yml"
    path = f"{bin_dir}:{os.environ['PATH']}"
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory_file), str(play), "-e", json.dumps(variables), "-f", "5"],
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, log.read_text().splitlines() if log.exists() else []


def test_a_site_reconfigures_its_network_one_node_at_a_time(tmp_path: Path) -> None:
    """netplan apply reconfigures every link of a node, its uplink too: all of a site's nodes
    at once was a blip of the whole site. One node per site at a time, sites side by side."""
    proc, log = reconfigure_rounds(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for site in ("a", "b"):
        events = [line for line in log if line.split()[1].startswith(site)]
        # Never two nodes of a site applying at once: each start follows the previous end.
        hosts = [line.split()[1] for line in events[::2]]
        assert events == [f"{kind} {host}" for host in hosts for kind in ("start", "end")], log
        assert sorted(hosts) == sorted({line.split()[1] for line in events})
    # Sites side by side: b's first node started before a's first node ended.
    assert log.index("start b1") < log.index("end a1"), log


def test_a_node_that_fails_its_reconfiguration_stops_its_site_only(tmp_path: Path) -> None:
    proc, log = reconfigure_rounds(tmp_path, failing="a1")
    assert proc.returncode != 0
    assert "start a1" in log and "end a1" not in log
    assert not any(line.endswith(("a2", "a3")) for line in log), log  # kept as they were
    assert {"end b1", "end b2"} <= set(log)  # the other site went on
    assert "a2 keeps its network as it was: a1 of site group site_a failed" in proc.stdout


# networkctl status as systemd 252 (Debian 12) prints it for a link networkd configures.
NETWORKCTL_STATUS = """\
● 2: eno1
                     Link File: /usr/lib/systemd/network/99-default.link
                  Network File: {unit}
                         State: routable (configured)
"""


def networkd_checks(tmp_path: Path, applied: str, named: str = "") -> subprocess.CompletedProcess[str]:
    """The role's checks with a stand-in networkctl answering that systemd-networkd applies
    unit `applied` to eno1 (the file search finds nothing: no unit here names eno1)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "networkctl").write_text(
        "#!/bin/sh\n# STAND-IN networkctl: `status -- eno1` as the real one prints it\n"
        f"cat <<'EOF'\n{NETWORKCTL_STATUS.format(unit=applied)}EOF\n"
    )
    (bin_dir / "networkctl").chmod(0o755)
    path = tmp_path / "play.yml"
    path.write_text(CHECKS)
    variables = {
        "network_slice_slices": SLICES,
        "network_slice_parent_interface": "eno1",
        "network_slice_parent_network_file": named,
        "network_slice_ifupdown_interfaces": str(tmp_path / "none"),
        "network_slice_ifupdown_dir": str(tmp_path / "none.d"),
    }
    return run_local_playbook(path, variables, path=bin_dir)


def test_a_parent_networkd_matches_by_glob_is_refused(tmp_path: Path) -> None:
    """A unit matching `Name=en*` (or by MACAddress=) configures eno1 without naming it: the
    file search missed it, and aigrid's own unit for eno1 would shadow it or be shadowed."""
    proc = networkd_checks(tmp_path, "/etc/systemd/network/10-uplink.network")
    assert proc.returncode != 0
    assert "systemd-networkd configures eno1 with /etc/systemd/network/10-uplink.network" in proc.stdout
    assert "set network_slice_parent_network_file to 10-uplink.network" in proc.stdout


def test_the_unit_networkd_applies_may_be_the_one_named_or_none(tmp_path: Path) -> None:
    named = networkd_checks(tmp_path, "/etc/systemd/network/10-uplink.network", "10-uplink.network")
    assert named.returncode == 0, named.stdout
    unmanaged = networkd_checks(tmp_path, "n/a")
    assert unmanaged.returncode == 0, unmanaged.stdout
    ours = networkd_checks(tmp_path, "/etc/systemd/network/90-aigrid-eno1.network")
    assert ours.returncode == 0, ours.stdout
    other = networkd_checks(tmp_path, "/run/systemd/network/10-netplan-eno1.network", "10-uplink.network")
    assert other.returncode != 0 and "with /run/systemd/network/10-netplan-eno1.network" in other.stdout
