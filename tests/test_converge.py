"""Real converge: the compiled roles run against a Debian root filesystem (chroot connection),
installing STAND-IN vendor packages from a local apt repository (see standins.py).

The control process runs in its own mount and network namespaces (unshare), so the proc
mount it needs disappears with it and nothing it does can reach the host's network.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml

from aigrid.lab import lab, rootfs, standins
from conftest import BLUEPRINTS, ROOT, run_aigrid

pytestmark = pytest.mark.skipif(
    rootfs.why_not_available() is not None, reason=str(rootfs.why_not_available())
)

LAB = BLUEPRINTS / "examples" / "lab-edge-site.yaml"
NODE = "lab-gpu01"
REPO_IN_HOST = lab.REPO_IN_HOST
REPO_URI = f"file:{REPO_IN_HOST}"


def override(root: Path, **more: object) -> dict[str, object]:
    """Point the node at the chroot and every repository at the stand-in repository."""
    host = {
        **more,
        **lab.standin_overrides(),
        "ansible_host": str(root),
        "ansible_connection": "community.general.chroot",
        # The network namespace is the test machine's: write the slice files, apply nothing.
        "network_slice_apply": False,
        # A chroot cannot reboot: the run must report the reboot as pending (the lab reboots).
        "nvidia_driver_allow_reboot": False,
        # One node on its own, with no control plane to join (the lab forms whole clusters).
        "kubernetes_cluster_join": False,
    }
    return {"all": {"hosts": {NODE: host}}}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lab") / "out"
    proc = run_aigrid("compile", str(LAB), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return standins.build_repo(tmp_path_factory.mktemp("repo") / "standins")


def make_node(base: Path, repo: Path) -> Path:
    root = rootfs.unpack(base / "root")
    shutil.copytree(repo, root / REPO_IN_HOST.strip("/"))
    standins.install_tools(root)
    with (root / "etc/fstab").open("a") as fstab:
        fstab.write("/swapfile none swap sw 0 0\n")
    # What an earlier aigrid left: the sysctl file under the name that sorted before Ubuntu's
    # 99-sysctl.conf. The run must remove it.
    (root / "etc/sysctl.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/sysctl.d/90-aigrid-kubernetes.conf").write_text("net.ipv4.ip_forward = 1\n")
    # And a hardening baseline's file (CIS images turn forwarding off), as Ubuntu's 99-sysctl.conf.
    (root / "etc/sysctl.d/99-cis-hardening.conf").write_text("net.ipv4.ip_forward = 0\n")
    return root


def bringup(
    out: Path, root: Path, *extra: str, variables: dict[str, object] | None = None
) -> subprocess.CompletedProcess[str]:
    inventory = root.parent / "override.yml"
    inventory.write_text(yaml.safe_dump(override(root, **(variables or {}))))
    command = [
        sys.executable,
        "-m",
        "aigrid",
        "bringup",
        str(out),
        "--inventory",
        str(inventory),
        "--limit",
        NODE,
        "--json",
        *extra,
    ]
    script = f"mount -t proc proc {shlex.quote(str(root / 'proc'))} && exec {shlex.join(command)}"
    return subprocess.run(
        ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def converged(compiled: Path, repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = make_node(tmp_path_factory.mktemp("node"), repo)
    first = bringup(compiled, root, "--no-hardware-checks")
    second = bringup(compiled, root, "--no-hardware-checks")
    dry_run = bringup(compiled, root, "--no-hardware-checks", "--check")
    return {"root": root, "first": first, "second": second, "check": dry_run}


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.stdout, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def succeeded(converged: dict[str, object], run: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary of one bring-up run, which must have exited 0, and the node's counts."""
    proc = converged[run]
    assert isinstance(proc, subprocess.CompletedProcess)
    result = summary(proc)
    assert proc.returncode == 0, json.dumps(result, indent=1)
    hosts = result["hosts"]
    assert isinstance(hosts, dict)
    return result, hosts[NODE]


def test_first_run_converges(converged: dict[str, object]) -> None:
    result, node = succeeded(converged, "first")
    assert node["failed"] == 0 and node["changed"] > 0
    assert result["hardware_checks"] is False


def test_second_run_changes_nothing(converged: dict[str, object]) -> None:
    result, node = succeeded(converged, "second")
    assert node["changed"] == 0, json.dumps(result, indent=1)


def test_check_mode_on_a_converged_node_reports_nothing_to_do(converged: dict[str, object]) -> None:
    result, node = succeeded(converged, "check")
    assert node["changed"] == 0 and result["check"] is True


def _state(root: Path) -> dict[str, str]:
    """What a dry run must leave as it was: every path under /etc with its content's digest (a
    link: its target), and dpkg's status."""
    state = {}
    for path in sorted((root / "etc").rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            state[name] = f"-> {path.readlink()}"
        elif path.is_file():
            state[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[name] = "directory" if path.is_dir() else "other"
    state["var/lib/dpkg/status"] = (root / "var/lib/dpkg/status").read_text()
    return state


def test_check_mode_on_a_fresh_node_changes_nothing_and_says_what_it_would_do(
    compiled: Path, repo: Path, tmp_path: Path
) -> None:
    """`aigrid bringup --check` before the first bring-up: the vendors' repositories are not on
    the node yet, so apt cannot simulate installing from them; the run says so for each set of
    pinned packages, reports the rest as changes and leaves the node as it was."""
    root = make_node(tmp_path, repo)
    before = _state(root)
    proc = bringup(compiled, root, "--no-hardware-checks", "--check")
    result = summary(proc)
    assert proc.returncode == 0, json.dumps(result, indent=1)
    assert result["hosts"][NODE]["changed"] > 0  # type: ignore[index]
    notices = " ".join(result["notices"][NODE])  # type: ignore[index]
    pending = ("containerd.io 2.3.1-*", "kubelet, kubeadm, kubectl 1.34.9-*", "nvidia-open 580.126.20-*")
    for packages in pending:
        assert f"dry run: {packages} would be installed, not simulated" in notices, notices
    assert _state(root) == before


@pytest.fixture(scope="module")
def host(converged: dict[str, object]) -> testinfra.host.Host:
    return testinfra.get_host(str(converged["root"]), connection="chroot")


# What the lab blueprint installs and holds: open kernel modules of driver 580.126.20. The
# version's pinning package and the module package the meta package pulls in are installed but
# not held (NVIDIA's procedure: the pinning package locks them), other versions' pinning
# packages, the proprietary meta package and the other module packages not at all (checked below).
DRIVER_MODULE_PACKAGES = {"nvidia-dkms-580-open", "nvidia-dkms-580", "nvidia-dkms-open", "nvidia-dkms"}
INSTALLED = sorted(
    {name for name in standins.PINNED if not name.startswith("nvidia-driver-pinning-")}
    - {"cuda-drivers", "nvidia-compute-utils-580"}
    - DRIVER_MODULE_PACKAGES
    - set(standins.NEXT_CUDA_MINOR)
)


@pytest.mark.parametrize("package", INSTALLED)
def test_pinned_version_installed_and_held(host: testinfra.host.Host, package: str) -> None:
    if package == "libnvinfer10" or package == "libnvinfer-plugin10":
        expected = "10.14.1.48-1+cuda13.0"  # the build for the pinned CUDA, not the newer or the cuda12.9 one
    else:
        expected = standins.PINNED[package]
    installed = host.package(package)
    assert installed.is_installed
    assert installed.version == expected
    want = host.check_output("dpkg-query --show --showformat='${db:Status-Want}' %s", package)
    assert want == "hold"
    # As dpkg names it: a Multi-Arch: same library with its architecture, as the real one is.
    selection = host.check_output("dpkg --get-selections %s", package).split()[0]
    assert (selection == package) is (package not in standins.MULTI_ARCH_SAME), selection
    assert "STAND-IN" in host.file(f"/{standins.MARKER_DIR}/{package}").content_string


def test_repositories_and_pins(host: testinfra.host.Host) -> None:
    sources = host.file("/etc/apt/sources.list.d/aigrid-kubernetes.sources").content_string
    assert f"URIs: {REPO_URI}" in sources and "Trusted: yes" in sources
    pin = host.file("/etc/apt/preferences.d/aigrid-containerd").content_string
    assert "Package: containerd.io" in pin and "Pin: version 2.3.1-*" in pin and "Pin-Priority: 1001" in pin
    # The CUDA libraries at the pinned release's builds, each pinned beside the meta package
    # (which bounds them from below only): the version the meta package's dependency names.
    pin = host.file("/etc/apt/preferences.d/aigrid-cuda-runtime").content_string
    release = standins.PINNED["cuda-libraries-13-0"]
    assert "Package: cuda-libraries-13-0\nPin: version 13.0.2-*\n" in pin, pin
    assert standins.CUDA_COMPONENTS[("cuda-libraries-13-0", release)] == (
        "cuda-cudart-13-0 (>= 13.0.96), libcublas-13-0 (>= 13.1.0.3)"
    )
    assert "Package: cuda-cudart-13-0\nPin: version 13.0.96-1\nPin-Priority: 1001\n" in pin, pin
    # Update 2's own cuBLAS, though the repository holds the patch release published after it.
    assert "Package: libcublas-13-0\nPin: version 13.1.0.3-1\nPin-Priority: 1001\n" in pin, pin


def test_containerd_config_parses_with_nvidia_runtime(host: testinfra.host.Host) -> None:
    config = tomllib.loads(host.file("/etc/containerd/config.toml").content_string)
    assert config["version"] == 3
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["enable_cdi"] is True
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True
    assert config["imports"] == ["/etc/containerd/conf.d/*.toml"]
    # kubeadm 1.34's pause image (the lab runs Kubernetes 1.34), where containerd 2.x reads it.
    pinned = config["plugins"]["io.containerd.cri.v1.images"]["pinned_images"]
    assert pinned["sandbox"] == "registry.k8s.io/pause:3.10.1"
    dropin = tomllib.loads(host.file("/etc/containerd/conf.d/99-nvidia.toml").content_string)
    nvidia = dropin["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["nvidia"]
    assert nvidia["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"


def test_kubernetes_prerequisites(host: testinfra.host.Host) -> None:
    assert host.file("/etc/modules-load.d/aigrid-kubernetes.conf").content_string.split("\n")[1:3] == [
        "overlay",
        "br_netfilter",
    ]
    sysctls = host.file("/etc/sysctl.d/99-zz-aigrid-kubernetes.conf").content_string
    assert not host.file("/etc/sysctl.d/90-aigrid-kubernetes.conf").exists  # the earlier name, removed
    # Applied in the order of the names (sysctl.d(5)): after every 99-* file of the distribution
    # and of hardening baselines, which could otherwise turn forwarding off again.
    names = sorted(
        name for name in host.check_output("ls -A /etc/sysctl.d").split() if name.endswith(".conf")
    )
    assert names == ["99-cis-hardening.conf", "99-zz-aigrid-kubernetes.conf"], names
    assert "net.ipv4.ip_forward = 1" in sysctls and "net.bridge.bridge-nf-call-iptables = 1" in sysctls
    # NVIDIA Cloud Native Stack's setting: strict reverse-path filtering drops slice traffic.
    assert "net.ipv4.conf.all.rp_filter = 0" in sysctls and "net.ipv4.conf.default.rp_filter = 0" in sysctls
    assert "# /swapfile none swap sw 0 0  # disabled by aigrid" in host.file("/etc/fstab").content_string
    kubelet = host.file("/etc/default/kubelet").content_string
    assert (
        "aigrid.dev/gpu-model=L4" in kubelet
        and "--register-with-taints=nvidia.com/gpu=present:NoSchedule" in kubelet
    )


def test_slice_configuration(host: testinfra.host.Host) -> None:
    netplan = yaml.safe_load(host.file("/etc/netplan/60-aigrid-slices.yaml").content_string)
    vlans = netplan["network"]["vlans"]
    assert vlans["vlan210"]["id"] == 210 and vlans["vlan210"]["link"] == "eth0"  # the blueprint's
    assert netplan["network"]["ethernets"] == {"eth0": {}}  # netplan defines what the VLANs link to
    assert vlans["vlan210"]["addresses"] == ["2001:db8:ed:210::b/64"]
    shape = host.file("/etc/aigrid/slices/shape.sh").content_string
    assert "dev=eth0\n" in shape  # one htb root on the interface the VLANs share
    assert "classid 1:101 htb rate 10000000bit ceil 20000000bit" in shape  # lab-urllc: 10/20 Mbps


# Run the node's rendered files for real, in a throwaway network namespace whose eth0, vlan210
# and vlan220 are veths standing in for the NIC and its VLANs (this kernel has no 802.1Q).
APPLY_SLICES = """
ip link add eth0 type veth peer name wire0
ip link add vlan210 type veth peer name wire210
ip link add vlan220 type veth peer name wire220
for dev in eth0 vlan210 vlan220; do ip link set "$dev" up; done
/etc/aigrid/slices/shape.sh
nft -f /etc/aigrid/slices/mark.nft
tc class show dev eth0
nft -n list table netdev aigrid_slices
"""


def test_slices_shaped_together_and_marked_at_each_vlans_egress(converged: dict[str, object]) -> None:
    """Defect 5 of issue 12: pods send from their own network namespace through a macvlan on the
    slice's VLAN, so a postrouting hook in the node's namespace never saw their packets, and one
    htb root per VLAN let slices sharing the NIC take each other's guarantee. Now: the slices'
    classes share one root on eth0, and each VLAN's egress (which macvlan traffic passes) sets
    the slice's DSCP and class."""
    root = converged["root"]
    proc = subprocess.run(
        ["unshare", "--net", "chroot", str(root), "sh", "-ec", APPLY_SLICES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    classes = [line for line in proc.stdout.splitlines() if line.startswith("class htb")]
    assert any("1:101 parent 1:1" in c and "rate 10Mbit ceil 20Mbit" in c for c in classes), classes
    assert any("1:102 parent 1:1" in c for c in classes), classes
    chains = proc.stdout.split("chain ")[1:]
    urllc = next(c for c in chains if 'egress device "vlan210"' in c)
    embb = next(c for c in chains if 'egress device "vlan220"' in c)
    assert "meta priority set 1:101" in urllc and "ip6 dscp set 0x2e" in urllc  # 5QI 82 -> EF
    assert "meta priority set 1:102" in embb and "ip6 dscp set 0x22" in embb  # 5QI 7 -> AF41


def test_preflight_fails_without_the_declared_gpus(compiled: Path, repo: Path, tmp_path: Path) -> None:
    root = make_node(tmp_path, repo)
    proc = bringup(compiled, root)  # hardware checks on: the test machine has no NVIDIA GPU
    result = summary(proc)
    assert proc.returncode == 1
    messages = " ".join(result["messages"][NODE])  # type: ignore[index]
    assert "preflight on lab-gpu01: found 0 NVIDIA GPU(s)" in messages
    assert "blueprint field sites[lab-edge-01].nodes[lab-gpu01].gpus declares 2 x L4" in messages


def test_driver_follows_nvidia_version_locking(host: testinfra.host.Host) -> None:
    """Driver Installation Guide ("Version locking", "Recent updates"): the pinning package of the
    driver's version first, then nvidia-open. nvidia-open asks for its module package at its own
    version or later, and the repository has a later 580 release: only the version's lock keeps
    the module at the pinned version (with the branch's, 580.159.04 would be what loads)."""
    pinning = [name for name in standins.STANDINS if name.startswith("nvidia-driver-pinning-")]
    installed = {name for name in pinning if host.package(name).is_installed}
    assert installed == {"nvidia-driver-pinning-580.126.20"}
    assert "Pin: version 580.126.20-*" in host.file("/etc/apt/preferences.d/nvidia-driver-pin").content_string
    assert not host.package("cuda-drivers").is_installed  # the proprietary flavour
    module = host.package("nvidia-dkms-580-open")
    assert module.is_installed and module.version == "580.126.20-0ubuntu1"
    assert "580.159.04-0ubuntu1" in standins.STANDINS["nvidia-dkms-580-open"]  # the later release was there
    others = DRIVER_MODULE_PACKAGES - {"nvidia-dkms-580-open"}
    assert not any(host.package(name).is_installed for name in others)
    assert host.package("nvidia-compute-utils-580").version == "580.126.20-0ubuntu1"  # locked too
    assert host.package(standins.headers_package()).is_installed  # headers for the running kernel


def test_the_persistence_daemon_runs_with_persistence_mode_on(host: testinfra.host.Host) -> None:
    """NVIDIA "Driver Persistence": persistence mode on for compute. Ubuntu's packaged unit
    (the stand-in ships its text) runs the daemon with --no-persistence-mode; the role's drop-in
    replaces its command (an empty ExecStart= first, as systemd requires) and makes it a boot
    service, as the daemon's user that the package created."""
    packaged = host.file("/usr/lib/systemd/system/nvidia-persistenced.service").content_string
    assert "--no-persistence-mode" in packaged and "[Install]" not in packaged
    dropin = host.file("/etc/systemd/system/nvidia-persistenced.service.d/aigrid-persistence-mode.conf")
    starts = [line for line in dropin.content_string.splitlines() if line.startswith("ExecStart=")]
    assert starts[0] == "ExecStart=" and len(starts) == 2
    assert starts[1].split() == [
        "ExecStart=/usr/bin/nvidia-persistenced",
        "--user",
        "nvidia-persistenced",
        "--persistence-mode",
        "--verbose",
    ]
    assert "WantedBy=multi-user.target" in dropin.content_string
    assert host.user("nvidia-persistenced").exists


def test_nouveau_blacklisted_and_initramfs_rebuilt(host: testinfra.host.Host) -> None:
    blacklist = host.file("/etc/modprobe.d/blacklist-nouveau.conf")
    assert "blacklist nouveau" in blacklist.content_string
    stamp = host.file("/boot/aigrid-lab-initramfs")  # written by the stand-in update-initramfs
    assert stamp.exists and stamp.mtime >= blacklist.mtime


def test_a_cuda_library_patch_release_replaces_the_releases_build(
    compiled: Path, converged: dict[str, object], host: testinfra.host.Host
) -> None:
    """stack.cuda.patches: the cuBLAS patch release NVIDIA published after CUDA 13.0 Update 2
    (13.1.1.3) in place of Update 2's own (13.1.0.3): installed, pinned and held beside the rest
    of the release, which stays at its builds. (The next test's run, without the patch, takes
    the node back to the release's build.)"""
    root = converged["root"]
    assert isinstance(root, Path)
    patched = {"cuda_runtime_patches": {"libcublas-13-0": "13.1.1.3"}}
    proc = bringup(compiled, root, "--no-hardware-checks", variables=patched)
    assert proc.returncode == 0, json.dumps(summary(proc), indent=1)
    assert host.package("libcublas-13-0").version == "13.1.1.3-1"
    assert host.package("cuda-cudart-13-0").version == "13.0.96-1"
    assert {"libcublas-13-0", "cuda-cudart-13-0"} <= set(host.check_output("apt-mark showhold").split())
    pin = host.file("/etc/apt/preferences.d/aigrid-cuda-runtime").content_string
    assert "Package: libcublas-13-0\nPin: version 13.1.1.3-1\nPin-Priority: 1001\n" in pin, pin
    # A build older than the release's bound cannot replace it: the run stops before it
    # changes anything, naming the package and the bound.
    before = _state(root)
    older = bringup(
        compiled,
        root,
        "--no-hardware-checks",
        variables={"cuda_runtime_patches": {"libcublas-13-0": "13.0.2.14"}},
    )
    assert older.returncode != 0
    assert (
        "cuda-libraries-13-0 13.0.2-1 depends on it with >= 13.1.0.3, which that build does not satisfy"
        in older.stdout
    )
    assert _state(root) == before
    # Without the patch, the release's build is a lower one (as a rollback is): a dry run
    # simulates the move under the pin file it would write, says so and changes nothing.
    dry_run = bringup(compiled, root, "--no-hardware-checks", "--check")
    assert dry_run.returncode == 0, json.dumps(summary(dry_run), indent=1)
    assert summary(dry_run)["hosts"][NODE]["changed"] > 0  # type: ignore[index]
    assert _state(root) == before


def test_a_switch_of_kernel_module_flavour_replaces_the_packages_and_asks_for_a_reboot(
    converged: dict[str, object], compiled: Path, host: testinfra.host.Host
) -> None:
    """Driver Installation Guide, "Switching between Driver Module Flavors": the blueprint's
    kernelModules goes from open to proprietary on the converged node. One apt transaction puts
    cuda-drivers in and takes the held nvidia-open out (--autoremove --purge: its module package
    leaves with it); the loaded module is still the open one, so the run asks for the reboot
    (pending here: a chroot cannot reboot; the lab reboots). Runs last: it changes the node."""
    proprietary = {
        "nvidia_driver_kernel_modules": "proprietary",
        "nvidia_driver_packages": ["cuda-drivers"],
        "nvidia_driver_replaced_packages": ["nvidia-open"],
    }
    # The flavours' module packages conflict (both provide nvidia-dkms-kernel, as Canonical's
    # packaging has them), and the installed flavour's meta package is held: installing the other
    # meta package alone is refused, which is why the role switches in one transaction.
    alone = host.run("apt-get install --simulate --yes cuda-drivers")
    assert alone.rc != 0 and "held" in (alone.stdout + alone.stderr).lower(), alone.stdout + alone.stderr
    root = converged["root"]
    assert isinstance(root, Path)
    (root / "run/aigrid-lab/proc-driver/nvidia").mkdir(parents=True, exist_ok=True)
    (root / "run/aigrid-lab/proc-driver/nvidia/version").write_text(
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.126.20  Release Build  (STAND-IN)\n"
    )
    # A dry run first: apt simulates the one transaction (it would fail where the switch would)
    # and nothing changes; the pinned install after it is not simulated over the held package.
    dry_run = bringup(compiled, root, "--no-hardware-checks", "--check", variables=proprietary)
    dry_result = summary(dry_run)
    assert dry_run.returncode == 0, json.dumps(dry_result, indent=1)
    assert dry_result["hosts"][NODE]["changed"] > 0  # type: ignore[index]
    assert host.package("nvidia-open").is_installed and not host.package("cuda-drivers").is_installed
    proc = bringup(compiled, root, "--no-hardware-checks", variables=proprietary)
    result = summary(proc)
    assert proc.returncode == 0, json.dumps(result, indent=1)
    assert host.package("cuda-drivers").version == "580.126.20-0ubuntu1"
    assert "cuda-drivers" in host.check_output("apt-mark showhold").split()
    assert not host.package("nvidia-open").is_installed
    assert not host.package("nvidia-dkms-580-open").is_installed  # autoremoved with its meta package
    assert host.package("nvidia-dkms-580").version == "580.126.20-0ubuntu1"
    notices = result["notices"][NODE]  # type: ignore[index]
    assert any(notice.startswith("REBOOT PENDING to load the NVIDIA driver 580.126.20") for notice in notices)


def _needs(root: Path, name: str, depends: str) -> str:
    """A package of this test only, installed on the node, that depends on DEPENDS: what an
    operator may have installed beside aigrid's packages (cuda-toolkit-13-0 needs
    cuda-libraries-13-0)."""
    build = root / "tmp" / name
    (build / "DEBIAN").mkdir(parents=True)
    (build / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1\nArchitecture: all\nDepends: {depends}\n"
        "Maintainer: aigrid tests <tests@aigrid.invalid>\nDescription: test package (converge test only)\n"
    )
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(build), str(build) + ".deb"], check=True)
    return f"/tmp/{name}.deb"


def test_a_change_of_cuda_minor_replaces_the_previous_minors_packages(
    compiled: Path, converged: dict[str, object], host: testinfra.host.Host
) -> None:
    """stack.cuda moves to the next minor, whose packages carry it in their names
    (cuda-libraries-13-1): they go in at the release's builds. The previous minor's meta
    package stays, held, while another package needs it (said so; the pin file keeps it to
    remove), and goes with the libraries pinned beside it on the run after that package went;
    the run after that changes nothing. A dry run first changes nothing. Runs after the
    flavour switch (its variables kept)."""
    root = converged["root"]
    assert isinstance(root, Path)
    variables = {
        "nvidia_driver_kernel_modules": "proprietary",
        "nvidia_driver_packages": ["cuda-drivers"],
        "nvidia_driver_replaced_packages": ["nvidia-open"],
        "cuda_runtime_packages": ["cuda-libraries-13-1"],
        "cuda_runtime_package_version": "13.1.0-*",
    }
    dependant = "aigrid-test-needs-cuda-13-0"
    host.run_expect([0], "dpkg -i %s", _needs(root, dependant, "cuda-libraries-13-0"))
    before = _state(root)
    dry_run = bringup(compiled, root, "--no-hardware-checks", "--check", variables=variables)
    assert dry_run.returncode == 0, json.dumps(summary(dry_run), indent=1)
    assert _state(root) == before
    kept = bringup(compiled, root, "--no-hardware-checks", variables=variables)
    result = summary(kept)
    assert kept.returncode == 0, json.dumps(result, indent=1)
    held = host.check_output("apt-mark showhold").split()
    for package, version in (("cuda-libraries-13-1", "13.1.0-1"), ("cuda-cudart-13-1", "13.1.80-1")):
        assert host.package(package).version == version and package in held, (package, held)
    assert host.package("cuda-libraries-13-0").is_installed and "cuda-libraries-13-0" in held
    notices = " ".join(result["notices"][NODE])  # type: ignore[index]
    assert f"kept cuda-libraries-13-0 (and held): removing them would also remove {dependant}" in notices
    pin = host.file("/etc/apt/preferences.d/aigrid-cuda-runtime").content_string
    assert pin.splitlines()[1] == "# Replaced, to remove: cuda-libraries-13-0", pin
    host.run_expect([0], "dpkg --purge %s", dependant)
    removed = bringup(compiled, root, "--no-hardware-checks", variables=variables)
    assert removed.returncode == 0, json.dumps(summary(removed), indent=1)
    for package in ("cuda-libraries-13-0", "cuda-cudart-13-0", "libcublas-13-0"):
        assert not host.package(package).is_installed, package
    pin = host.file("/etc/apt/preferences.d/aigrid-cuda-runtime").content_string
    assert "13-0" not in pin and "Package: cuda-cudart-13-1\nPin: version 13.1.80-1\n" in pin, pin
    again = bringup(compiled, root, "--no-hardware-checks", variables=variables)
    assert summary(again)["hosts"][NODE]["changed"] == 0, json.dumps(summary(again), indent=1)  # type: ignore[index]
