"""The network_slice role's files, rendered by Ansible itself from the role's templates, and
its refusal to run without the interface the slice VLANs ride on (ansible-playbook, local
connection; nothing is written outside the test's directory)."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from conftest import ROOT, run_local_playbook

ROLE = ROOT / "roles" / "network_slice"
TEMPLATES = ("netplan.yaml.j2", "parent.network.j2", "parent-vlans.conf.j2")
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


def test_a_parent_that_ifupdown_configures_is_refused_before_anything_changes(tmp_path: Path) -> None:
    """Debian's installer configures the uplink with ifupdown; systemd-networkd, taking it to
    carry the VLANs, would drop ifupdown's default route (protocol boot) and DHCP address."""
    network = tmp_path / "network"
    (network / "interfaces.d").mkdir(parents=True)
    (network / "interfaces").write_text("auto lo\niface lo inet loopback\nsource interfaces.d/*\n")
    (network / "interfaces.d" / "uplink").write_text("allow-hotplug eno1\niface eno1 inet dhcp\n")
    play = "- name: Slices\n  hosts: all\n  gather_facts: false\n  roles: [network_slice]\n"
    config = [str(network / "interfaces"), str(network / "interfaces.d")]
    proc = playbook(
        tmp_path, play, network_slice_parent_interface="eno1", network_slice_ifupdown_config=config
    )
    assert proc.returncode != 0
    assert f"eno1 is configured by ifupdown ({network / 'interfaces.d' / 'uplink'})" in proc.stdout
    assert "Install the tools" not in proc.stdout  # refused before anything on the node changed


def test_the_ifupdown_check_reads_the_whole_interface_name(tmp_path: Path) -> None:
    """eno1's check does not match eno10's stanza (the checks alone run: they change nothing)."""
    network = tmp_path / "interfaces"
    network.write_text("iface eno10 inet dhcp\n")
    proc = playbook(
        tmp_path, CHECKS, network_slice_parent_interface="eno1", network_slice_ifupdown_config=[str(network)]
    )
    assert proc.returncode == 0, proc.stdout
    network.write_text("iface eno1 inet static\n  address 192.0.2.10/24\n")
    refused = playbook(
        tmp_path, CHECKS, network_slice_parent_interface="eno1", network_slice_ifupdown_config=[str(network)]
    )
    assert refused.returncode != 0 and "eno1 is configured by ifupdown" in refused.stdout


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
        "network_slice_ifupdown_config": [str(tmp_path / "none")],
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
