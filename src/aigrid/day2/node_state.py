"""Read what aigrid configured on this node and print it as one JSON object (aigrid drift).

Runs ON THE NODE, through Ansible's script module, with the node's own python3 and its standard
library only (aigrid is not installed there). It changes nothing. Argument: the interface the
node's slices are shaped on (empty where the node carries no slices).

The GPU answers use the names of `aigrid.facts.gather.Source`, so the controller reads them
with the same parser as `aigrid facts`.
"""

from __future__ import annotations

import json
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path

DPKG_FORMAT = "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"
# The --query-gpu fields `aigrid facts` reads too (aigrid.facts.gather imports them from here:
# this file must stay whole on its own, as it is copied to the node alone).
SMI_CSV_FIELDS = (
    "index,uuid,name,pci.bus_id,driver_version,memory.total,mig.mode.current,compute_cap,persistence_mode"
)


def run(*command: str) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def as_json(text: str | None) -> object:
    """The command's JSON; [] when it succeeded and printed nothing; None when it failed."""
    if text is None:
        return None
    try:
        return json.loads(text) if text.strip() else []
    except ValueError:
        return None


def packages(listing: str) -> tuple[dict[str, str], list[str]]:
    """The installed packages with their versions, and the held ones, from dpkg-query's
    `${Package}\\t${Version}\\t${db:Status-Abbrev}` lines. The abbreviation's first letter is the
    selection (h: hold), its second the state (i: installed); a held package reads `hi`."""
    installed, held = {}, []
    for line in listing.splitlines():
        name, version, status = [*line.split("\t"), "", ""][:3]
        if status[1:2] == "i":
            installed[name] = version
            if status[:1] == "h":
                held.append(name)
    return installed, sorted(held)


def main() -> None:
    parent = sys.argv[1] if len(sys.argv) > 1 else ""
    installed, held = packages(run("dpkg-query", "-W", "-f", DPKG_FORMAT) or "")
    state = {
        "hostname": socket.gethostname(),
        "kernel": platform.release(),
        "os_release": read("/etc/os-release"),
        "packages": installed,
        "holds": held,
        "containerd_config": read("/etc/containerd/config.toml"),
        "kubelet_defaults": read("/etc/default/kubelet"),
        "addresses": as_json(run("ip", "-j", "address", "show")),
        # Text: iproute2 6.1 prints htb classes as text even with -j; nft's JSON drops a
        # netdev chain's device.
        "tc_classes": run("tc", "class", "show", "dev", parent) if parent else None,
        "nft_slices": run("nft", "-n", "list", "table", "netdev", "aigrid_slices"),
        "smi_xml": run("nvidia-smi", "-q", "-x"),
        "smi_csv": run("nvidia-smi", "--query-gpu=" + SMI_CSV_FIELDS, "--format=csv"),
        "mig_lgip": run("nvidia-smi", "mig", "-lgip"),
        "proc_version": read("/proc/driver/nvidia/version"),
    }
    json.dump(state, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
