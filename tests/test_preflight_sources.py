"""Preflight stops a bring-up on a node that cannot reach a host it will fetch from, before
anything is installed (ansible-playbook for real, local connection, on the compiled variables
of lab-edge-site). The node is this machine inside a network and mount namespace of its own
(`unshare -n -m`): an IPv6 address and default route on a veth, and its own /etc/hosts bind
mounted, so that getent and `ip route get` answer as on an IPv6-only site whose resolver knows
some of the sources by IPv4 address only; its apt reads the test's sources (APT_CONFIG). Needs
root (namespaces, mounts)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import compile_for_local_play

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for a network and mount namespace",
)

PLAYBOOK = """\
- name: Preflight source checks
  hosts: lab-cp:lab-gpu01
  gather_facts: true
  tasks:
    - name: Run them
      ansible.builtin.include_role:
        name: preflight
        tasks_from: sources.yml
"""

# An IPv6-only node: one global address and a default route, no IPv4 address but loopback.
# The namespace's /etc/hosts is the test's; its resolv.conf still names a server it has no
# route to, so every other name fails to resolve at once.
NAMESPACE = """\
set -e
mount --bind "$1" /etc/hosts
export APT_CONFIG="$2"
shift
ip link set lo up
ip link add aig0 type veth peer name aig1
ip link set aig0 up
ip link set aig1 up
ip -6 addr add 2001:db8:aa::10/64 dev aig0 nodad
ip -6 route add default via 2001:db8:aa::1 dev aig0
shift
exec "$@"
"""

# What the compiled lab site fetches from, upstream (its package roles' repositories and keys,
# the add-on manifests, the stack's registries).
UPSTREAM_HOSTS = {
    "download.docker.com",
    "pkgs.k8s.io",
    "developer.download.nvidia.com",
    "nvidia.github.io",
    "registry.k8s.io",
    "quay.io",
    "ghcr.io",
    "nvcr.io",
}
MANIFEST_HOST = "raw.githubusercontent.com"
# The OS archive, as the node's own apt sources have it (Debian 12's installer writes these two).
OS_SOURCES = (
    "deb http://deb.debian.org/debian bookworm main\n"
    "deb http://security.debian.org/debian-security bookworm-security main\n"
)
OS_HOSTS = {"deb.debian.org", "security.debian.org"}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("preflight-sources") / "out"
    return compile_for_local_play("examples/lab-edge-site.yaml", out, PLAYBOOK, ["lab-cp", "lab-gpu01"])


def _check(
    ansible_dir: Path, tmp_path: Path, hosts: dict[str, str], sources: str = OS_SOURCES
) -> subprocess.CompletedProcess[str]:
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text(
        "127.0.0.1 localhost\n::1 localhost\n"
        + "".join(f"{address} {name}\n" for name, address in hosts.items())
    )
    (tmp_path / "sources.list").write_text(sources)
    (tmp_path / "sources.list.d").mkdir(exist_ok=True)
    apt_config = tmp_path / "apt.conf"
    apt_config.write_text(
        f'Dir::Etc::sourcelist "{tmp_path / "sources.list"}";\n'
        f'Dir::Etc::sourceparts "{tmp_path / "sources.list.d"}";\n'
    )
    script = tmp_path / "namespace.sh"
    script.write_text(NAMESPACE)
    playbook = ["ansible-playbook", "-i", "inventory/hosts.yml", "-i", "local.yml", "check.yml"]
    return subprocess.run(
        ["unshare", "-n", "-m", "sh", str(script), str(hosts_file), str(apt_config), *playbook],
        cwd=ansible_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _messages(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Each failed host's assert message, by host (from the default callback's JSON)."""
    found = {}
    for line in proc.stdout.splitlines():
        if line.startswith("fatal: ["):
            host = line[len("fatal: [") : line.index("]")]
            found[host] = json.loads(line[line.index("{") :])["msg"]
    return found


def test_sources_known_by_ipv4_only_stop_an_ipv6_only_node(compiled: Path, tmp_path: Path) -> None:
    hosts = dict.fromkeys(UPSTREAM_HOSTS | OS_HOSTS | {MANIFEST_HOST}, "2001:db8:bb::1")
    hosts["ghcr.io"] = "192.0.2.34"  # a registry without AAAA records
    hosts[MANIFEST_HOST] = "192.0.2.35"
    proc = _check(compiled, tmp_path, hosts)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    messages = _messages(proc)
    assert set(messages) == {"lab-cp", "lab-gpu01"}, proc.stdout
    worker = messages["lab-gpu01"]
    assert "cannot reach 1 of the hosts it will fetch from (its default routes: IPv6)" in worker
    assert "nothing was changed" in worker
    assert "An IPv6-only site needs each of them to answer over IPv6" in worker
    assert "ghcr.io resolves to 192.0.2.34, and this node has no route there (for multus" in worker
    assert "multus v4.3.0's images, whereabouts v0.9.4's images" in worker
    assert "stack.mirrors.containerRegistry" in worker
    assert not {name for name in UPSTREAM_HOSTS - {"ghcr.io"} if name in worker}
    # Only the first control plane fetches the add-on manifests.
    control_plane = messages["lab-cp"]
    assert "cannot reach 2 of the hosts" in control_plane
    assert f"{MANIFEST_HOST} resolves to 192.0.2.35" in control_plane
    assert "the add-on manifest multus-daemonset-thick.yml" in control_plane


def test_every_source_is_a_compiled_one(compiled: Path, tmp_path: Path) -> None:
    # No name resolves: each message lists every host the compiled variables name, and only those.
    proc = _check(compiled, tmp_path, {})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    messages = _messages(proc)
    nvidia = {"developer.download.nvidia.com", "nvidia.github.io"}
    expected = {
        "lab-gpu01": UPSTREAM_HOSTS | OS_HOSTS,
        "lab-cp": UPSTREAM_HOSTS - nvidia | OS_HOSTS | {MANIFEST_HOST},
    }
    for host, names in expected.items():
        unresolved = set(re.findall(r"(\S+) does not resolve on this node", messages[host]))
        assert unresolved == names, messages[host]
    # A GPU node's NVIDIA repositories: the driver's (installed on the host), CUDA's, the toolkit's.
    assert (
        "for nvidia_driver's packages; nvidia_driver's signing key; cuda_runtime's packages"
        in messages["lab-gpu01"]
    )
    assert "nvidia_container_toolkit's packages" in messages["lab-gpu01"]
    assert "nvidia_driver" not in messages["lab-cp"]


def test_an_ipv6_only_node_reaching_every_source_passes(compiled: Path, tmp_path: Path) -> None:
    hosts = dict.fromkeys(UPSTREAM_HOSTS | OS_HOSTS | {MANIFEST_HOST}, "2001:db8:bb::1")
    proc = _check(compiled, tmp_path, hosts)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The check ran on both (the hosts were resolved and the assert passed), not skipped.
    for task in (
        "Resolve each host and look up a route to it",
        "Check this node reaches every host it fetches from",
    ):
        block = proc.stdout.split(f"TASK [preflight : {task}]", 1)[1].split("\n\n", 1)[0]
        assert set(re.findall(r"^ok: \[(\S+)\]$", block, re.MULTILINE)) == {"lab-cp", "lab-gpu01"}, block


def test_the_os_archive_is_checked_as_the_nodes_apt_has_it(compiled: Path, tmp_path: Path) -> None:
    """The kernel headers, vlan and nftables come from the OS's own archive, which the blueprint
    does not name: an unreachable one failed the run at the first such package. Now preflight
    names it from the node's apt sources; a compiled repository the node already has among them
    (a node brought up before) keeps its own name, and a local file: source has no host."""
    hosts = dict.fromkeys(UPSTREAM_HOSTS | {MANIFEST_HOST}, "2001:db8:bb::1")
    hosts["deb.debian.org"] = "192.0.2.40"  # known by IPv4 only
    sources = OS_SOURCES + (
        "deb [signed-by=/usr/share/keyrings/cuda.gpg]"
        " https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/ /\n"
        "deb [trusted=yes] file:/srv/local-repo ./\n"
    )
    proc = _check(compiled, tmp_path, hosts, sources)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    worker = _messages(proc)["lab-gpu01"]
    assert "cannot reach 2 of the hosts it will fetch from" in worker
    unreached_ipv4 = (
        "deb.debian.org resolves to 192.0.2.40, and this node has no route there (for the OS archive"
        " http://deb.debian.org/debian: see the node's own apt sources"
    )
    unresolved = (
        "security.debian.org does not resolve on this node (for the OS archive"
        " http://security.debian.org/debian-security:"
    )
    assert unreached_ipv4 in worker and unresolved in worker
    assert "the OS archive https://developer.download.nvidia.com" not in worker


def test_a_carrier_sites_messages_name_its_carriers_mirrors(tmp_path_factory: pytest.TempPathFactory) -> None:
    # multi-carrier-grid: Northwind's sites fetch through Northwind's own mirrors
    # (carriers[northwind].stack.mirrors), Meridian's from the vendors, as the grid has it.
    hosts = ["nw-nwk-co-01-gpu01", "me-sgp-rdc-01-gpu01"]
    playbook = PLAYBOOK.replace("hosts: lab-cp:lab-gpu01", f"hosts: {':'.join(hosts)}")
    out = tmp_path_factory.mktemp("preflight-carriers") / "out"
    ansible_dir = compile_for_local_play("examples/multi-carrier-grid.yaml", out, playbook, hosts)
    proc = _check(ansible_dir, tmp_path_factory.mktemp("namespace"), {})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    messages = _messages(proc)
    northwind, meridian = messages["nw-nwk-co-01-gpu01"], messages["me-sgp-rdc-01-gpu01"]
    assert "mirror.northwind.example does not resolve" in northwind
    assert "see carriers[northwind].stack.mirrors.apt" in northwind
    assert "see carriers[northwind].stack.mirrors.containerRegistry" in northwind
    assert "see stack.mirrors" not in northwind
    assert "developer.download.nvidia.com does not resolve" in meridian
    assert "see stack.mirrors.apt" in meridian and "carriers[" not in meridian
