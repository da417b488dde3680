"""Parsers for what NVIDIA's tools print. Each takes text and returns plain values.

They are tested on real captures (tests/fixtures/gpu-node-h100) and on variants of them,
so every quirk they handle (units, `N/A`, the `+me` MIG profiles, the open-module banner)
is one a real node shows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

_NA = {"", "N/A", "[N/A]", "Not Supported", "[Not Supported]", "Unknown Error"}


def _value(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return None if text in _NA else text


def _mib(text: str | None) -> int | None:
    value = _value(text)
    match = re.match(r"^(\d+)\s*MiB$", value or "")
    return int(match.group(1)) if match else None


def _mode(text: str | None) -> str | None:
    value = (_value(text) or "").lower()
    return value if value in ("enabled", "disabled") else None


def mode_flag(text: str | None) -> bool | None:
    """A mode nvidia-smi reports ("Enabled", "Disabled") as a flag; None when it gave neither."""
    mode = _mode(text)
    return None if mode is None else mode == "enabled"


def pci_device(raw: str | None) -> str | None:
    """`233010DE` (nvidia-smi, NVML), `0x2330` or `2330` -> `2330`."""
    value = (_value(raw) or "").upper().removeprefix("0X")
    if len(value) == 8 and value.endswith("10DE"):
        value = value[:4]
    return value if re.fullmatch(r"[0-9A-F]{4}", value) else None


def parse_smi_xml(text: str) -> dict[str, Any]:
    """`nvidia-smi -q -x`: driver, CUDA version and per-GPU identity, memory, modes."""
    root = ET.fromstring(text)
    gpus = []
    for index, gpu in enumerate(root.findall("gpu")):
        gpus.append(
            {
                "index": index,
                "name": _value(gpu.findtext("product_name")) or "unknown",
                "uuid": _value(gpu.findtext("uuid")),
                "pci_bus_id": _value(gpu.findtext("pci/pci_bus_id")) or gpu.get("id"),
                "pci_device_id": pci_device(gpu.findtext("pci/pci_device_id")),
                "memory_mib": _mib(gpu.findtext("fb_memory_usage/total")),
                "mig_mode": _mode(gpu.findtext("mig_mode/current_mig")),
                "mig_pending": _mode(gpu.findtext("mig_mode/pending_mig")),
                "persistence_mode": mode_flag(gpu.findtext("persistence_mode")),
            }
        )
    return {
        "driver_version": _value(root.findtext("driver_version")),
        "cuda_driver_version": _value(root.findtext("cuda_version")),
        "gpus": gpus,
    }


def parse_smi_csv(text: str) -> list[dict[str, Any]]:
    """`nvidia-smi --query-gpu=... --format=csv`: one dict per GPU, keyed by query field."""
    rows = list(csv.reader(io.StringIO(text.strip()), skipinitialspace=True))
    if not rows:
        return []
    header = [re.sub(r"\s*\[.*\]$", "", name.strip()) for name in rows[0]]
    gpus = []
    for row in rows[1:]:
        if len(row) != len(header):
            continue
        gpus.append({name: _value(cell) for name, cell in zip(header, row, strict=True)})
    return gpus


def gpus_from_csv(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CSV rows in the shape parse_smi_xml gives, for when XML is not available."""
    gpus = []
    for position, row in enumerate(rows):
        index = row.get("index")
        gpus.append(
            {
                "index": int(index) if index and index.isdigit() else position,
                "name": row.get("name") or "unknown",
                "uuid": row.get("uuid"),
                "pci_bus_id": row.get("pci.bus_id"),
                "memory_mib": _mib(row.get("memory.total")),
                "compute_capability": row.get("compute_cap"),
                "mig_mode": _mode(row.get("mig.mode.current")),
                "persistence_mode": mode_flag(row.get("persistence_mode")),
            }
        )
    return gpus


def parse_nvml_json(text: str) -> dict[str, Any]:
    """The JSON aigrid's NVML gatherer writes (same fields as tests/fixtures/*/nvml.json)."""
    data = json.loads(text)
    cuda = data.get("cuda_driver_version")
    gpus = []
    for index, gpu in enumerate(data.get("gpus", [])):
        mig = gpu.get("mig_mode") or [None, None]
        cc = gpu.get("cc")
        gpus.append(
            {
                "index": index,
                "name": gpu.get("name") or "unknown",
                "uuid": gpu.get("uuid"),
                "pci_bus_id": gpu.get("pci"),
                "pci_device_id": pci_device(gpu.get("pci_device_id")),
                "memory_mib": gpu["memory_total"] // 2**20
                if isinstance(gpu.get("memory_total"), int)
                else None,
                "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
                "mig_mode": {1: "enabled", 0: "disabled"}.get(mig[0]),
                "mig_pending": {1: "enabled", 0: "disabled"}.get(mig[1]),
                # nvmlDeviceGetPersistenceMode: NVML_FEATURE_ENABLED (1) or DISABLED (0).
                "persistence_mode": {1: True, 0: False}.get(gpu.get("persistence_mode")),
            }
        )
    return {
        "driver_version": data.get("driver"),
        "cuda_driver_version": f"{cuda // 1000}.{cuda % 1000 // 10}" if isinstance(cuda, int) else None,
        "gpus": gpus,
    }


_LGIP_ROW = re.compile(r"^\|\s*(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)/(\d+)\s")


def parse_mig_lgip(text: str) -> dict[int, dict[str, int]]:
    """`nvidia-smi mig -lgip`: per GPU index, each offered profile and its total instances."""
    profiles: dict[int, dict[str, int]] = {}
    for line in text.splitlines():
        match = _LGIP_ROW.match(line.strip())
        if match:
            gpu, name, _profile_id, _free, total = match.groups()
            profiles.setdefault(int(gpu), {})[name] = int(total)
    return profiles


def parse_proc_version(text: str) -> tuple[str | None, str | None]:
    """/proc/driver/nvidia/version: (module flavour, driver version)."""
    # "NVIDIA UNIX Open Kernel Module for x86_64  580.159.04" (open) or
    # "NVIDIA UNIX x86_64 Kernel Module  550.144.03" (proprietary).
    match = re.search(
        r"NVRM version:\s+NVIDIA UNIX (Open )?(?:\S+ )??Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)", text
    )
    if match is None:
        return None, None
    return ("open" if match.group(1) else "proprietary"), match.group(2)


def parse_nvcc(text: str) -> str | None:
    """`nvcc --version`: the toolkit release, e.g. 13.0.88 from `V13.0.88`."""
    match = re.search(r"release \d+\.\d+, V(\d+\.\d+\.\d+)", text)
    return match.group(1) if match else None


def parse_os_release(text: str) -> tuple[str | None, str | None]:
    values = dict(re.findall(r'^([A-Z_]+)="?([^"\n]*)"?$', text, re.MULTILINE))
    return values.get("ID"), values.get("VERSION_ID")


def sections(text: str) -> dict[str, str]:
    """Split a capture file made of `## name` headed sections."""
    parts: dict[str, str] = {}
    name = None
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            name = line[3:].strip()
            parts[name] = ""
        elif name is not None:
            parts[name] += line
    return parts
