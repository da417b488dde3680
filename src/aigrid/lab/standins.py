"""STAND-IN vendor packages and a local apt repository, for tests only.

The packages carry the real names and versions of NVIDIA's, Docker's and Kubernetes'
packages (so repository setup, version pinning and holds are exercised for real against
apt), but they install nothing except a marker file saying they are stand-ins. Several
versions of each are published, including newer ones, so a missing pin shows up as the
wrong version installed. Never use them outside tests.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
from pathlib import Path

from aigrid.lab import kubernetes_standins

TENSORRT_BUILDS = [
    "10.14.1.48-1+cuda13.0",
    "10.14.1.48-1+cuda12.9",
    "10.15.1.29-1+cuda13.1",
    "10.15.1.29-1+cuda12.9",
]
# name -> versions published; the first is what the lab blueprint pins.
STANDINS: dict[str, list[str]] = {
    "containerd.io": ["2.3.1-1", "2.3.0-1", "2.4.0-1"],
    "nvidia-container-toolkit": ["1.19.1-1", "1.20.0-1"],
    "nvidia-container-toolkit-base": ["1.19.1-1", "1.20.0-1"],
    "libnvidia-container-tools": ["1.19.1-1", "1.20.0-1"],
    "libnvidia-container1": ["1.19.1-1", "1.20.0-1"],
    # pkgs.k8s.io keeps one repository per minor (core:/stable:/v1.34/deb/): these are published
    # the same way (KUBERNETES_REPOS), each minor with a newer patch than the one pinned.
    "kubelet": ["1.34.9-1.1", "1.34.10-1.1", "1.35.0-1.1", "1.35.1-1.1"],
    "kubeadm": ["1.34.9-1.1", "1.34.10-1.1", "1.35.0-1.1", "1.35.1-1.1"],
    "kubectl": ["1.34.9-1.1", "1.34.10-1.1", "1.35.0-1.1", "1.35.1-1.1"],
    # NVIDIA's current scheme (Driver Installation Guide, "Version locking", "Recent updates"): a
    # pinning package per driver version (and one per branch, which aigrid does not use), then
    # nvidia-open (open modules) or cuda-drivers (proprietary). Those meta packages depend on
    # the packages that carry the driver with a lower bound only (>=), as the real ones do; the
    # stand-ins of those are the DKMS module packages below (DRIVER_MODULES), and newer versions
    # of them are published, so a driver locked only by its meta package loads a newer module.
    "nvidia-driver-pinning-580.126.20": ["580.126.20-1"],
    "nvidia-driver-pinning-580.159.04": ["580.159.04-1"],
    "nvidia-driver-pinning-590.48.01": ["590.48.01-1"],
    "nvidia-open": ["580.126.20-0ubuntu1", "580.159.04-0ubuntu1", "590.48.01-0ubuntu1"],
    "cuda-drivers": ["580.126.20-0ubuntu1", "580.159.04-0ubuntu1", "590.48.01-0ubuntu1"],
    # Branch 580 names carry the branch; from 590 they drop it ("Recent updates", Ubuntu 590).
    "nvidia-dkms-580-open": ["580.126.20-0ubuntu1", "580.159.04-0ubuntu1"],
    "nvidia-dkms-580": ["580.126.20-0ubuntu1", "580.159.04-0ubuntu1"],
    "nvidia-dkms-open": ["590.48.01-0ubuntu1"],
    "nvidia-dkms": ["590.48.01-0ubuntu1"],
    # The branch's compute utilities, which ship nvidia-persistenced, its unit and its user
    # (canonical/nvidia-graphics-drivers, 580-noble, nvidia-compute-utils-580).
    "nvidia-compute-utils-580": ["580.126.20-0ubuntu1", "580.159.04-0ubuntu1"],
    "cuda-libraries-13-0": ["13.0.2-1", "13.0.1-1"],
    # One of the libraries cuda-libraries-X-Y depends on with a lower bound only (CUDA_COMPONENTS),
    # at its version in 13.0 Update 1 (CUDA 13.0 Update 1 release notes, Table 1) and Update 2
    # (NVIDIA's conda channel, anaconda.org/nvidia/cuda-cudart: labels cuda-13.0.1, cuda-13.0.2).
    "cuda-cudart-13-0": ["13.0.96-1", "13.0.88-1"],
    # Another, cuBLAS, at 13.0 Update 2's build, the standalone patch release that followed it
    # (NVIDIA publishes cuBLAS patch releases between toolkit updates since March 2026, CUDA 13.2
    # release notes; 13.1.1.3 is PyPI cuda-toolkit 13.0.3's) and Update 1's (NVIDIA's CUDA
    # container images, dist/13.0.2 and dist/13.0.1 runtime Dockerfiles: NV_LIBCUBLAS_VERSION).
    "libcublas-13-0": ["13.1.0.3-1", "13.1.1.3-1", "13.0.2.14-1"],
    # The next minor, which a blueprint moves to (its packages carry the minor in their names):
    # 13.1 GA and its cudart (the same channel: label cuda-13.1.0).
    "cuda-libraries-13-1": ["13.1.0-1"],
    "cuda-cudart-13-1": ["13.1.80-1"],
    # One build per CUDA major, for a minor of NVIDIA's choosing (10.15.1 for 13.1, which also
    # serves a CUDA 13.0 stack): NVIDIA/TensorRT README at v10.14 and v10.15.
    "libnvinfer10": TENSORRT_BUILDS,
    "libnvinfer-plugin10": TENSORRT_BUILDS,
}
PINNED = {name: versions[0] for name, versions in STANDINS.items()}
KUBERNETES = ("kubelet", "kubeadm", "kubectl")
# Where each Kubernetes minor's repository lies, under the stand-in repository: a node that
# keeps the old minor's repository cannot find the new minor's packages, as on pkgs.k8s.io.
KUBERNETES_REPOS = "kubernetes"
# The package that carries each flavour's kernel module, by the meta package that depends on
# it, before branch 590 and from it. What the lab's emulated boot loads is what these installed.
DRIVER_MODULES = {
    "nvidia-open": ("nvidia-dkms-{branch}-open", "nvidia-dkms-open"),
    "cuda-drivers": ("nvidia-dkms-{branch}", "nvidia-dkms"),
}


# Canonical's packaging of branch 580 (canonical/nvidia-graphics-drivers, 580-noble,
# debian/templates/control.in): each flavour's DKMS package provides, conflicts with and
# replaces nvidia-dkms-kernel, so one flavour's module is installed at a time, and a switch of
# flavour must take the other meta package (held) out in the same apt transaction. (Branch
# 590's module packages are not modelled: their relations are not sourced here.)
DKMS_KERNEL = "nvidia-dkms-kernel"


def _relations(name: str) -> str:
    """A stand-in's Conflicts, Replaces and Provides, where the procedure depends on them."""
    if re.fullmatch(r"nvidia-dkms-\d+(-open)?", name) and int(name.split("-")[2]) < 590:
        return f"Conflicts: {DKMS_KERNEL}\nReplaces: {DKMS_KERNEL}\nProvides: {DKMS_KERNEL}\n"
    return ""


# What a CUDA meta package's release depends on, by its version: the release's build of each
# library, bounded from below only, so that a newer build in the repository would be what apt
# installs for the meta package alone (the role pins each at the bound's version).
CUDA_COMPONENTS = {
    ("cuda-libraries-13-0", "13.0.2-1"): "cuda-cudart-13-0 (>= 13.0.96), libcublas-13-0 (>= 13.1.0.3)",
    ("cuda-libraries-13-0", "13.0.1-1"): "cuda-cudart-13-0 (>= 13.0.88), libcublas-13-0 (>= 13.0.2.14)",
    ("cuda-libraries-13-1", "13.1.0-1"): "cuda-cudart-13-1 (>= 13.1.80)",
}
# Published for a change of CUDA minor, not installed by the lab's blueprint.
NEXT_CUDA_MINOR = ("cuda-libraries-13-1", "cuda-cudart-13-1")


def _depends(name: str, version: str) -> str | None:
    """A stand-in's Depends, where the procedure depends on it: a driver meta package needs its
    module package, and before branch 590 its compute utilities, at its own version or any
    later one, as NVIDIA's meta packages do; a CUDA meta package its release's libraries
    (CUDA_COMPONENTS). (Branch 590's compute utilities are not published here: their package
    name is not sourced.)"""
    if (name, version) in CUDA_COMPONENTS:
        return CUDA_COMPONENTS[(name, version)]
    if name not in DRIVER_MODULES:
        return None
    upstream = version.split("-", 1)[0]
    branch = upstream.split(".", 1)[0]
    before_590, from_590 = DRIVER_MODULES[name]
    if int(branch) >= 590:
        return f"{from_590} (>= {upstream})"
    module, utils = before_590.format(branch=branch), f"nvidia-compute-utils-{branch}"
    return f"{module} (>= {upstream}), {utils} (>= {upstream})"


# Ubuntu's unit for the persistence daemon, as nvidia-compute-utils-580 ships it: persistence
# mode off, static (no [Install]), stopped when nothing needs it.
PERSISTENCED_UNIT = """\
# STAND-IN of nvidia-compute-utils' unit (Ubuntu packaging).
[Unit]
Description=NVIDIA Persistence Daemon
Wants=syslog.target
StopWhenUnneeded=true

[Service]
Type=forking
ExecStart=/usr/bin/nvidia-persistenced --user nvidia-persistenced --no-persistence-mode --verbose
ExecStopPost=/bin/rm -rf /var/run/nvidia-persistenced
"""


def _postinst(name: str) -> str | None:
    """A stand-in's maintainer script, where the procedure depends on what it does: the compute
    utilities create the daemon's system user, as the real package's postinst does."""
    if not name.startswith("nvidia-compute-utils-"):
        return None
    return (
        "#!/bin/sh\n# STAND-IN postinst\nset -e\n"
        "getent passwd nvidia-persistenced >/dev/null || useradd --system --no-create-home "
        "--home-dir /var/run/nvidia-persistenced --shell /usr/sbin/nologin nvidia-persistenced\n"
    )


def _pinning_preferences(name: str) -> str:
    """What NVIDIA's pinning package for a driver version installs: every driver package locked
    to that version, priority 1000."""
    version = name.removeprefix("nvidia-driver-pinning-")
    return (
        f"# STAND-IN of {name}: locks the NVIDIA driver packages to version {version}.\n"
        "Package: nvidia-open cuda-drivers nvidia-dkms* nvidia-compute-utils*\n"
        f"Pin: version {version}-*\nPin-Priority: 1000\n"
    )


def _files(name: str, version: str) -> dict[str, str]:
    """Files a stand-in installs besides its marker, where the procedure depends on them."""
    if name == "kubeadm":
        return {"usr/bin/kubeadm": kubernetes_standins.kubeadm(version)}
    if name == "kubectl":  # with the stand-ins of the upstream add-on manifests it applies
        upstream = kubernetes_standins.UPSTREAM
        files = {f"{kubernetes_standins.UPSTREAM_DIR}/{file}": text for file, text in upstream.items()}
        return {"usr/bin/kubectl": kubernetes_standins.KUBECTL, **files}
    if name.startswith("nvidia-driver-pinning-"):
        return {"etc/apt/preferences.d/nvidia-driver-pin": _pinning_preferences(name)}
    if name == "nvidia-container-toolkit-base":  # the real package ships nvidia-ctk
        return {"usr/bin/nvidia-ctk": NVIDIA_CTK}
    if name.startswith("nvidia-compute-utils-"):
        return {"usr/lib/systemd/system/nvidia-persistenced.service": PERSISTENCED_UNIT}
    return {}


# STAND-IN of nvidia-ctk (NVIDIA Container Toolkit CLI), for the subcommands the
# nvidia_container_toolkit role runs, behaving as the real one does where the procedure
# depends on it (NVIDIA/nvidia-container-toolkit, pkg/config/engine/containerd and cmd/nvidia-ctk):
# - `runtime configure --runtime=containerd --config=C --drop-in-config=D`: writes the `nvidia`
#   runtime into D in C's config version (2: io.containerd.grpc.v1.cri, 3: cri.v1.runtime), its
#   options copied from C's runc runtime with BinaryName set; --set-as-default and
#   --cdi.enabled as the real flags; and rewrites C with `<dir of D>/*.toml` imported;
# - `cdi generate --output=F`: fails while no NVIDIA driver is loaded (the real one cannot
#   open NVML), else writes a spec with one device per GPU and `all`;
# - `cdi list`: the devices of the specs in /etc/cdi and /var/run/cdi;
# - `config [--set K=V --in-place]`: /etc/nvidia-container-runtime/config.toml.
NVIDIA_CTK = r'''#!/usr/bin/python3
"""STAND-IN for nvidia-ctk (aigrid lab and tests): not NVIDIA's tool."""
import glob, os, re, sys, tomllib

args = sys.argv[1:]
def opt(name, default=None):
    for a in args:
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return default if default is not None else ("true" if f"--{name}" in args else None)

def die(message):
    sys.stderr.write(f"nvidia-ctk (STAND-IN): {message}\n")
    sys.exit(1)

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(i) for i in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

def toml_dump(data, path=()):
    plain = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
    lines = []
    if path and plain:
        lines.append("[" + ".".join(f"'{p}'" if "." in p else p for p in path) + "]")
    lines += [f"{k} = {toml_value(v)}" for k, v in plain]
    for k, v in tables:
        lines += toml_dump(v, (*path, k))
    return lines

def runtime_configure():
    if opt("runtime") != "containerd":
        die("only --runtime=containerd is stood in")
    config_path, dropin_path = opt("config"), opt("drop-in-config")
    with open(config_path, "rb") as f:
        top = tomllib.load(f)
    version = top.get("version", 2)
    cri = "io.containerd.cri.v1.runtime" if version >= 3 else "io.containerd.grpc.v1.cri"
    runc = top.get("plugins", {}).get(cri, {}).get("containerd", {}).get("runtimes", {}).get("runc", {})
    nvidia = {"runtime_type": runc.get("runtime_type", "io.containerd.runc.v2"),
              "options": {**runc.get("options", {}), "BinaryName": "/usr/bin/nvidia-container-runtime"}}
    table = {"containerd": {"runtimes": {"nvidia": nvidia}}}
    if opt("set-as-default") == "true":
        table["containerd"] = {"default_runtime_name": "nvidia", **table["containerd"]}
    if opt("cdi.enabled") == "true":
        table = {"enable_cdi": True, **table}
    dropin = {"version": version, "plugins": {cri: table}}
    with open(dropin_path, "w") as f:
        f.write("\n".join(toml_dump(dropin)) + "\n")
    wanted = os.path.dirname(dropin_path) + "/*.toml"
    text = open(config_path).read()
    if wanted not in top.get("imports", []):
        imports = [*top.get("imports", []), wanted]
        text = re.sub(r"(?m)^imports = .*\n", "", text)
        text = f"imports = {toml_value(imports)}\n" + text
    with open(config_path, "w") as f:
        f.write(text)
    print(f"Wrote updated config to {dropin_path}")

def driver_version():
    for path in ("/proc/driver/nvidia/version", "/run/aigrid-lab/proc-driver/nvidia/version"):
        if os.path.exists(path):
            return open(path).read()
    return None

def cdi_generate():
    if driver_version() is None:
        die("failed to initialize NVML: ERROR_LIBRARY_NOT_FOUND (no NVIDIA driver loaded)")
    output = opt("output", "/var/run/cdi/nvidia.yaml")
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w") as f:
        f.write("# STAND-IN CDI spec (aigrid lab)\ncdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n"
                "- name: \"0\"\n  containerEdits:\n    deviceNodes:\n    - path: /dev/nvidia0\n"
                "- name: all\n  containerEdits:\n    deviceNodes:\n    - path: /dev/nvidia0\n"
                "containerEdits:\n  deviceNodes:\n  - path: /dev/nvidiactl\n")
    print(f"Generated CDI spec with file path {output}")

def cdi_list():
    for spec in sorted(glob.glob("/etc/cdi/*.yaml") + glob.glob("/var/run/cdi/*.yaml")):
        text = open(spec).read()
        kind = re.search(r"(?m)^kind: (\S+)", text).group(1)
        for name in re.findall(r'(?m)^- name: "?([^"\n]+)"?', text):
            print(f"{kind}={name}")

# Under AIGRID_STANDIN_ROOT where a test sets it (outside the lab).
CONFIG = os.environ.get("AIGRID_STANDIN_ROOT", "") + "/etc/nvidia-container-runtime/config.toml"

def config():
    text = open(CONFIG).read() if os.path.exists(CONFIG) else "[nvidia-container-cli]\n"
    setting = opt("set")
    if setting is None:
        sys.stdout.write(text)
        return
    key, value = setting.split("=", 1)
    section, name = key.split(".", 1)
    line = f'{name} = "{value}"'
    body = re.sub(rf'(?m)^#?\s*{re.escape(name)} = .*$', "", text)
    body = body.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
    if "--in-place" in args:
        os.makedirs(os.path.dirname(CONFIG), exist_ok=True)
        open(CONFIG, "w").write(body)
    else:
        sys.stdout.write(body)

words = [a for a in args if not a.startswith("-")]
if args[:1] == ["--version"]:
    print("NVIDIA Container Toolkit CLI version 1.19.1 (STAND-IN, aigrid lab)")
elif words[:2] == ["runtime", "configure"]:
    runtime_configure()
elif words[:2] == ["cdi", "generate"]:
    cdi_generate()
elif words[:2] == ["cdi", "list"]:
    cdi_list()
elif words[:1] == ["config"]:
    config()
else:
    die(f"subcommand not stood in: {' '.join(args)}")
'''


def headers_package() -> str:
    """The headers package for the kernel lab hosts run (the machine's own)."""
    return f"linux-headers-{os.uname().release}"


MARKER_DIR = "usr/share/aigrid-standins"


# Packages NVIDIA publishes as Multi-Arch: same (a library installable for several
# architectures at once): dpkg then names them with their architecture
# (`dpkg --get-selections` prints libnvidia-container1:amd64), which a check comparing names
# must survive (NVIDIA/libnvidia-container, debian/control: libnvidia-container1).
MULTI_ARCH_SAME = {"libnvidia-container1"}


def build_deb(workdir: Path, name: str, version: str) -> Path:
    root = workdir / f"{name}_{version}"
    (root / "DEBIAN").mkdir(parents=True)
    marker = root / MARKER_DIR / name
    marker.parent.mkdir(parents=True)
    marker.write_text(f"STAND-IN for tests: {name} {version}\n")
    for relative, content in _files(name, version).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
        if content.startswith("#!"):
            (root / relative).chmod(0o755)
    postinst = _postinst(name)
    if postinst:
        (root / "DEBIAN" / "postinst").write_text(postinst)
        (root / "DEBIAN" / "postinst").chmod(0o755)
    depends = _depends(name, version)
    arch = "all"
    if name in MULTI_ARCH_SAME:  # this machine's architecture, which the lab's hosts share
        printed = subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True, text=True)
        arch = printed.stdout.strip()
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
        + ("Multi-Arch: same\n" if name in MULTI_ARCH_SAME else "")
        + (f"Depends: {depends}\n" if depends else "")
        + _relations(name)
        + "Maintainer: aigrid tests <tests@aigrid.invalid>\n"
        f"Description: STAND-IN of {name} for aigrid tests\n"
        " Carries the real name and version; installs a marker.\n"
    )
    deb = workdir / f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


def build_repo(repo: Path) -> Path:
    """A flat apt repository (Packages, Packages.gz, Release) with every stand-in version but
    Kubernetes', which are in one flat repository per minor: KUBERNETES_REPOS/v1.34/, ..."""
    published = {name: versions for name, versions in STANDINS.items() if name not in KUBERNETES}
    _flat_repo(repo, {**published, headers_package(): ["1"]})
    minors = sorted({".".join(version.split(".")[:2]) for name in KUBERNETES for version in STANDINS[name]})
    for minor in minors:
        by_minor = {name: [v for v in STANDINS[name] if v.startswith(minor + ".")] for name in KUBERNETES}
        _flat_repo(repo / KUBERNETES_REPOS / f"v{minor}", by_minor)
    return repo


def _flat_repo(repo: Path, published: dict[str, list[str]]) -> None:
    repo.mkdir(parents=True, exist_ok=True)
    stanzas = []
    for name, versions in sorted(published.items()):
        for version in versions:
            deb = build_deb(repo, name, version)
            data = deb.read_bytes()
            control = subprocess.run(
                ["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True
            ).stdout
            stanzas.append(
                control.rstrip("\n") + f"\nFilename: ./{deb.name}\nSize: {len(data)}\n"
                f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
            )
            subprocess.run(["rm", "-rf", str(repo / f"{name}_{version}")], check=True)
    packages = "\n".join(stanzas).encode()
    (repo / "Packages").write_bytes(packages)
    (repo / "Packages.gz").write_bytes(gzip.compress(packages, mtime=0))
    lines = ["Origin: aigrid-standins", "Label: aigrid stand-in packages for tests", "Suite: ./", "SHA256:"]
    for index in ("Packages", "Packages.gz"):
        content = (repo / index).read_bytes()
        lines.append(f" {hashlib.sha256(content).hexdigest()} {len(content)} {index}")
    (repo / "Release").write_text("\n".join(lines) + "\n")


# STAND-IN commands a lab host or a converge root gets, where the real ones need a kernel,
# a boot loader or an init system the lab does not have. Each says what it stands in for.
TOOLS = {
    # initramfs-tools: the lab's emulated boot reads this stamp to decide whether a
    # blacklisted module is still loaded early (nouveau is, until the initramfs is rebuilt).
    "usr/sbin/update-initramfs": (
        "#!/bin/sh\n"
        "# STAND-IN for update-initramfs (aigrid lab): records that the initramfs was rebuilt.\n"
        "mkdir -p /boot && date +%s.%N > /boot/aigrid-lab-initramfs\n"
    ),
    # reboot: ends the host's first process; the lab starts the host again (a new boot).
    "usr/local/sbin/aigrid-lab-reboot": (
        "#!/bin/sh\n"
        "# STAND-IN for reboot (aigrid lab): the host's init (sshd) ends and the lab boots it again.\n"
        # In its own session: Ansible runs it on a pty, whose hangup would end it otherwise. HUP
        # is ignored first: `setsid -f` returns before its child has left the pty's process
        # group, and a hangup in between ended the child, so the host sometimes never rebooted.
        "trap '' HUP\n"
        "setsid -f sh -c 'sleep 1; kill -TERM 1' </dev/null >/dev/null 2>&1\n"
    ),
}


def install_tools(root: Path) -> None:
    for relative, content in TOOLS.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(0o755)


# STAND-IN of what the kernel shows a GPU node at boot, run by the lab before each host's
# sshd starts (argument: the host's root; GPUS=1 for a node with GPUs). What a real server
# does, and so what the procedure depends on:
# - nouveau binds the GPUs at boot until it is blacklisted AND the initramfs is rebuilt
#   after that (it loads from the initramfs);
# - the nvidia module loads only at a boot with nouveau gone and a driver module package
#   installed (DRIVER_MODULES, whatever the meta package's version); /proc/driver/nvidia/version
#   then names the module's version and flavour;
# - each boot has a new boot id.
# The lab's hosts read them from /run/aigrid-lab (the roles' nvidia_driver_modules_file and
# nvidia_driver_version_file): the machine's kernel may lack /proc/modules altogether.
EMULATED_BOOT = r"""#!/bin/sh
# STAND-IN (aigrid lab): the kernel's view of a GPU node at boot. Not a real boot.
set -eu
R=$1
state=$R/run/aigrid-lab
mkdir -p "$state/proc-driver"
cat /proc/sys/kernel/random/uuid > "$state/boot_id"
cp /proc/modules "$state/modules" 2>/dev/null || : > "$state/modules"
if [ "${GPUS:-0}" = 1 ]; then
    blacklist=$(grep -ls '^blacklist nouveau' "$R"/etc/modprobe.d/*.conf 2>/dev/null | head -n 1 || true)
    stamp=$R/boot/aigrid-lab-initramfs
    if [ -z "$blacklist" ] || [ ! -e "$stamp" ] || [ "$blacklist" -nt "$stamp" ]; then
        echo "nouveau 2932736 0 - Live 0x0000000000000000" >> "$state/modules"
    else
        for marker in "$R"/usr/share/aigrid-standins/nvidia-dkms*; do
            [ -e "$marker" ] || continue
            version=$(sed -n 's/^STAND-IN for tests: [^ ]* \([0-9.]*\)-.*/\1/p' "$marker")
            # The two flavours' banners as real drivers word them (tests/fixtures, tests/test_facts.py).
            module="x86_64 Kernel Module"
            case "$marker" in *-open) module="Open Kernel Module for x86_64" ;; esac
            echo "nvidia 104857600 0 - Live 0x0000000000000000 (POE)" >> "$state/modules"
            mkdir -p "$state/proc-driver/nvidia"
            printf 'NVRM version: NVIDIA UNIX %s  %s  Release Build  (STAND-IN aigrid lab)\n' \
                "$module" "$version" > "$state/proc-driver/nvidia/version"
            break
        done
    fi
fi
"""
