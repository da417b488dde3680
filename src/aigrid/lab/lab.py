"""An emulated edge site: one host per blueprint node, each in its own network namespace with
an overlay root filesystem over the cached Debian base and sshd as its first process.

Hosts share a bridge in a hub namespace and get IPv6 ULA addresses there; nothing is added
to the machine's own network (no address, no route). Ansible reaches a host through a
ProxyCommand that runs socat inside the hub namespace. `down` removes every namespace,
mount and process the lab made, from its state file and by name, even after a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from aigrid.catalog import catalog
from aigrid.lab import kubernetes_standins, rootfs, standins
from aigrid.plan import SitePlan

PREFIX = "fd00:ed"
REPO_IN_HOST = "/srv/aigrid-standins/"
STATE = "lab.json"
INVENTORY = "inventory.yml"  # what `aigrid bringup --inventory` is given


class LabError(Exception):
    pass


@dataclass
class LabHost:
    hostname: str
    namespace: str
    address: str
    pid: int = 0
    # GPUs the blueprint gives the node: the emulated boot shows nouveau, then nvidia, on it.
    gpus: int = 0


@dataclass
class LabState:
    id: str
    site: str
    hub: str
    directory: str
    hosts: list[LabHost]

    def save(self) -> None:
        Path(self.directory, STATE).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LabState:
        data = json.loads((directory / STATE).read_text(encoding="utf-8"))
        data["hosts"] = [LabHost(**host) for host in data["hosts"]]
        return cls(**data)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError(f"{' '.join(command)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def lab_id(directory: Path) -> str:
    """Short and stable per lab directory: namespace and interface names stay under 15 chars."""
    return hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:5]


def control_path_dir(ident: str) -> Path:
    """Where Ansible keeps this lab's SSH master connections. Every lab's hosts have the same
    addresses (each behind its own hub), and Ansible names a master socket by host, port and
    user only: two labs sharing ~/.ansible/cp would run one lab's tasks on the other's hosts.
    Short, for the socket path's 108-byte limit."""
    return Path("/tmp") / f"aigrid-lab-cp-{ident}"


def namespaces() -> list[str]:
    proc = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _start_host(state: LabState, host: LabHost, base: Path) -> None:
    node_dir = Path(state.directory, "hosts", host.hostname)
    upper, work, merged = node_dir / "upper", node_dir / "work", node_dir / "merged"
    for path in (upper, work, merged):
        path.mkdir(parents=True, exist_ok=True)
    ssh = upper / "root/.ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    ssh.chmod(0o700)
    shutil.copy(Path(state.directory, "id_ed25519.pub"), ssh / "authorized_keys")
    (upper / "etc/ssh/sshd_config.d").mkdir(parents=True, exist_ok=True)
    (upper / "etc/ssh/sshd_config.d/aigrid-lab.conf").write_text(
        "# aigrid lab host: root logs in with the lab's key only.\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\nListenAddress [::]:22\n"
    )
    (upper / "etc/hostname").write_text(host.hostname + "\n")
    repo = upper / REPO_IN_HOST.strip("/")
    if not repo.exists():
        shutil.copytree(Path(state.directory, "standins"), repo)
    standins.install_tools(upper)
    boot = node_dir / "boot.sh"
    boot.write_text(standins.EMULATED_BOOT)
    boot.chmod(0o755)
    one_boot = (
        f"mount -t overlay overlay -o lowerdir={base},upperdir={upper},workdir={work} {merged} && "
        f"mount --rbind /dev {merged}/dev && mount -t proc proc {merged}/proc && "
        f"mount -t sysfs sysfs {merged}/sys && mount -t tmpfs tmpfs {merged}/run && "
        f"GPUS={1 if host.gpus else 0} {boot} {merged} && "
        f"mkdir -p {merged}/run/sshd && hostname {host.hostname} && "
        f"exec chroot {merged} /usr/sbin/sshd -D -e"
    )
    unshare = (
        "unshare --mount --uts --ipc --pid --fork --kill-child --propagation private "
        f"sh -c {shlex.quote(one_boot)}"
    )
    # A reboot inside the host ends its first process; the loop boots it again. Killing the
    # process group (kill_host) ends the loop and the host with it.
    script = f"while :; do {unshare}; sleep 0.2; done"
    log = (node_dir / "sshd.log").open("ab")
    # unshare is the host's first process; --kill-child takes its PID namespace down with it.
    process = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            host.namespace,
            "sh",
            "-c",
            script,
        ],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    host.pid = process.pid


def up(site: SitePlan, directory: Path) -> LabState:
    """Create the lab for `site` in `directory` (tearing down a previous lab there first)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / STATE).exists():
        down(directory)
    ident = lab_id(directory)
    state = LabState(
        ident,
        site.name,
        f"ag{ident}-hub",
        str(directory),
        [
            LabHost(node.hostname, f"ag{ident}-n{i}", f"{PREFIX}::{10 + i:x}", gpus=node.gpu_count)
            for i, node in enumerate(site.nodes)
        ],
    )
    state.save()
    base = rootfs.base_dir()
    if not (directory / "standins").exists():
        standins.build_repo(directory / "standins")
    key = directory / "id_ed25519"
    if not key.exists():
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"aigrid-lab-{ident}", "-f", str(key))
    _run("ip", "netns", "add", state.hub)
    _run("ip", "-n", state.hub, "link", "set", "lo", "up")
    _run("ip", "-n", state.hub, "link", "add", "br0", "type", "bridge")
    _run("ip", "-n", state.hub, "addr", "add", f"{PREFIX}::1/64", "dev", "br0", "nodad")
    _run("ip", "-n", state.hub, "link", "set", "br0", "up")
    for index, host in enumerate(state.hosts):
        hub_end, host_end = f"ag{ident}h{index}", f"ag{ident}c{index}"
        _run("ip", "netns", "add", host.namespace)
        _run("ip", "link", "add", hub_end, "type", "veth", "peer", "name", host_end)
        _run("ip", "link", "set", hub_end, "netns", state.hub)
        _run("ip", "link", "set", host_end, "netns", host.namespace)
        _run("ip", "-n", state.hub, "link", "set", hub_end, "master", "br0", "up")
        _run("ip", "-n", host.namespace, "link", "set", host_end, "name", "eth0")
        _run("ip", "-n", host.namespace, "addr", "add", f"{host.address}/64", "dev", "eth0", "nodad")
        _run("ip", "-n", host.namespace, "link", "set", "eth0", "up")
        _run("ip", "-n", host.namespace, "link", "set", "lo", "up")
        _start_host(state, host, base)
        state.save()
    wait_ready(state)
    write_inventory(state)
    return state


def start_host(directory: Path, hostname: str) -> LabHost:
    """Start one host again (after it was killed), on its existing file system."""
    state = LabState.load(directory.resolve())
    host = next((h for h in state.hosts if h.hostname == hostname), None)
    if host is None:
        raise LabError(f"no host {hostname} in the lab at {directory}")
    if host.pid:
        _kill(host.pid)
    _start_host(state, host, rootfs.base_dir())
    state.save()
    wait_ready(LabState(state.id, state.site, state.hub, state.directory, [host]))
    return host


def ssh_command(state: LabState, host: LabHost, *command: str) -> list[str]:
    """An ssh command line that reaches a lab host (through the hub namespace)."""
    return [
        "ssh",
        "-i",
        str(Path(state.directory, "id_ed25519")),
        "-o",
        "BatchMode=yes",
        "-o",
        f"ProxyCommand=ip netns exec {state.hub} socat STDIO TCP:[%h]:%p",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        f"root@{host.address}",
        *command,
    ]


def reachable(state: LabState, host: LabHost) -> bool:
    proc = subprocess.run(
        ["ip", "netns", "exec", state.hub, "socat", "-T", "2", "STDIO", f"TCP:[{host.address}]:22"],
        input="",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return proc.stdout.startswith("SSH-")


def wait_ready(state: LabState, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    pending = list(state.hosts)
    while pending and time.monotonic() < deadline:
        pending = [host for host in pending if not reachable(state, host)]
        if pending:
            time.sleep(0.2)
    if pending:
        raise LabError(
            f"lab hosts did not start sshd: {', '.join(h.hostname for h in pending)} "
            f"(see {state.directory}/hosts/HOST/sshd.log)"
        )


STANDIN_ROLES = (
    "nvidia_driver",
    "cuda_runtime",
    "tensorrt",
    "container_runtime",
    "nvidia_container_toolkit",
    "kubernetes_node",
)


def standin_overrides() -> dict[str, object]:
    """Host variables pointing every vendor repository at the stand-in repository on the host,
    and adapting a Debian host whose kernel is not its own (a lab host or a chroot)."""
    repos: dict[str, object] = {f"{role}_repo_uri": f"file:{REPO_IN_HOST}" for role in STANDIN_ROLES}
    # Kubernetes as pkgs.k8s.io publishes it: one repository per minor (standins.KUBERNETES_REPOS).
    repos["kubernetes_node_repo_uri"] = (
        f"file:{REPO_IN_HOST}{standins.KUBERNETES_REPOS}/v{{{{ kubernetes_node_minor }}}}/"
    )
    keys: dict[str, object] = {f"{role}_repo_key_url": "" for role in STANDIN_ROLES}
    return {
        **repos,
        **keys,
        "container_runtime_repo_suites": ["/"],
        "container_runtime_repo_components": [],
        "ansible_become": False,
        "ansible_python_interpreter": "/usr/bin/python3",
        # A Debian host stands in for the blueprint's OS; the kernel is the machine's.
        "preflight_os_check": False,
        "kubernetes_node_apply_kernel_settings": False,
        # The lab's kernel is the machine's: the headers come with the stand-ins.
        "nvidia_driver_headers_package": standins.headers_package(),
        # STAND-IN reboot: the lab boots the host again and gives each boot a new id.
        "nvidia_driver_reboot_command": "/usr/local/sbin/aigrid-lab-reboot",
        "nvidia_driver_boot_time_command": "cat /run/aigrid-lab/boot_id",
        "nvidia_driver_reboot_timeout": 300,
        # STAND-IN kernel view written by the emulated boot (see standins.EMULATED_BOOT).
        "nvidia_driver_modules_file": "/run/aigrid-lab/modules",
        "nvidia_driver_version_file": "/run/aigrid-lab/proc-driver/nvidia/version",
        "nvidia_container_toolkit_driver_version_file": "/run/aigrid-lab/proc-driver/nvidia/version",
        # STAND-IN upstream add-on manifests, from the kubectl stand-in package (no Internet here).
        "kubernetes_cluster_manifest_sources": kubernetes_standins.manifest_sources(_upstream_urls()),
        # The lab's stand-in kubelet and containerd pull no images, and the lab has no route out:
        # preflight says its registry checks were skipped (its package and manifest sources above
        # are local files, which need no check).
        "preflight_registry_checks": False,
    }


def _upstream_urls() -> list[str]:
    cat = catalog()
    manifests = [m for row in cat.cni for m in row.manifests] + [
        m for row in cat.addons for m in row.manifests
    ]
    return sorted({manifest.url for manifest in manifests})


def write_inventory(state: LabState) -> Path:
    """An inventory that points the compiled hosts at the lab and adapts them to it."""
    proxy = f'-o ProxyCommand="ip netns exec {state.hub} socat STDIO TCP:[%h]:%p"'
    common = {
        **standin_overrides(),
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(Path(state.directory, "id_ed25519")),
        "ansible_control_path_dir": str(control_path_dir(state.id)),
        "ansible_ssh_common_args": f"{proxy} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        # No 802.1Q here: slices are shaped on the hosts' one interface, eth0, by destination
        # network. The blueprint names eth0 (network.sliceInterface), and the compiled host
        # variables it lands in outrank this inventory's.
        "network_slice_shape_on": "parent",
        "network_slice_backend": "networkd",
    }
    hosts = {host.hostname: {"ansible_host": host.address, **common} for host in state.hosts}
    path = Path(state.directory, INVENTORY)
    path.write_text(
        "# Written by aigrid lab up: pass to aigrid bringup --inventory.\n"
        + yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=False)
    )
    return path


def _kill(pid: int) -> None:
    """Kill a process, and its whole group where it leads one (a host and its boot loop)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            return
        time.sleep(0.05)


def down(directory: Path) -> list[str]:
    """Remove everything the lab made; returns what was removed. Safe to run twice."""
    directory = directory.resolve()
    ident = lab_id(directory)
    removed: list[str] = []
    if (directory / STATE).exists():
        state = LabState.load(directory)
        for host in state.hosts:
            if host.pid:
                _kill(host.pid)
                removed.append(f"process {host.pid} ({host.hostname})")
    for namespace in namespaces():
        if namespace.startswith(f"ag{ident}-"):
            # Processes still inside (an sshd whose parent died) go first.
            pids = subprocess.run(
                ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
            ).stdout.split()
            for pid in pids:
                _kill(int(pid))
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True, check=False)
            removed.append(f"namespace {namespace}")
    if not namespaces() and os.path.ismount("/run/netns"):
        subprocess.run(["umount", "/run/netns"], capture_output=True, check=False)
    hosts_dir = directory / "hosts"
    if hosts_dir.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(hosts_dir)], check=False)
        removed.append(str(hosts_dir))
    sockets = control_path_dir(ident)
    if sockets.exists():
        shutil.rmtree(sockets, ignore_errors=True)
        removed.append(str(sockets))
    for name in (STATE, "inventory.yml"):
        (directory / name).unlink(missing_ok=True)
    return removed


def status(directory: Path) -> list[dict[str, object]]:
    state = LabState.load(directory.resolve())
    existing = set(namespaces())
    return [
        {
            "host": host.hostname,
            "namespace": host.namespace,
            "address": host.address,
            "pid": host.pid,
            "namespace_exists": host.namespace in existing,
            "sshd": host.namespace in existing and reachable(state, host),
        }
        for host in state.hosts
    ]
