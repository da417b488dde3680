"""Gather a node's facts: NVML first, then nvidia-smi, plus the driver banner, nvcc and the OS.

A `Source` answers each question with raw text; `LiveSource` asks the running node,
`CaptureSource` reads a directory of captures (the layout of tests/fixtures/gpu-node-h100),
so the same code path is tested on real captures in CI and run for real on GPU nodes.
"""

from __future__ import annotations

import json
import platform
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any, Protocol

from aigrid.catalog import catalog
from aigrid.day2.node_state import SMI_CSV_FIELDS as CSV_FIELDS
from aigrid.facts import parse
from aigrid.facts.model import GpuFacts, NodeFacts
from aigrid.facts.smoke import nvcc_path


class NoDriver(RuntimeError):
    """No NVIDIA driver answered: neither NVML nor nvidia-smi."""


class Source(Protocol):
    name: str

    def nvml(self) -> str | None: ...
    def smi_xml(self) -> str | None: ...
    def smi_csv(self) -> str | None: ...
    def mig_lgip(self) -> str | None: ...
    def proc_version(self) -> str | None: ...
    def nvcc(self) -> str | None: ...
    def os_release(self) -> str | None: ...
    def kernel(self) -> str | None: ...
    def hostname(self) -> str | None: ...


def _run(*command: str, timeout: float = 60) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


class LiveSource:
    """The node this runs on."""

    name = "live"

    def nvml(self) -> str | None:
        try:
            import pynvml  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError:
            return None
        try:
            return json.dumps(_nvml_snapshot(pynvml))
        finally:
            pynvml.nvmlShutdown()

    def smi_xml(self) -> str | None:
        return _run("nvidia-smi", "-q", "-x")

    def smi_csv(self) -> str | None:
        return _run("nvidia-smi", f"--query-gpu={CSV_FIELDS}", "--format=csv")

    def mig_lgip(self) -> str | None:
        return _run("nvidia-smi", "mig", "-lgip")

    def proc_version(self) -> str | None:
        return _read(Path("/proc/driver/nvidia/version"))

    def nvcc(self) -> str | None:
        found = nvcc_path()
        return _run(found, "--version") if found else None

    def os_release(self) -> str | None:
        return _read(Path("/etc/os-release"))

    def kernel(self) -> str | None:
        return platform.release()

    def hostname(self) -> str | None:
        return socket.gethostname()


def _nvml_snapshot(nvml: Any) -> dict[str, Any]:
    """NVML's answers in the shape of the nvml.json capture."""

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        pci = nvml.nvmlDeviceGetPciInfo(handle)
        try:
            mig = list(nvml.nvmlDeviceGetMigMode(handle))
        except nvml.NVMLError:
            mig = [None, None]
        try:
            persistence = int(nvml.nvmlDeviceGetPersistenceMode(handle))
        except nvml.NVMLError:  # NOT_SUPPORTED on some boards
            persistence = None
        gpus.append(
            {
                "name": text(nvml.nvmlDeviceGetName(handle)),
                "uuid": text(nvml.nvmlDeviceGetUUID(handle)),
                "memory_total": int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
                "cc": list(nvml.nvmlDeviceGetCudaComputeCapability(handle)),
                "pci": text(pci.busId),
                "pci_device_id": f"{pci.pciDeviceId:08X}",
                "mig_mode": mig,
                "persistence_mode": persistence,
            }
        )
    return {
        "driver": text(nvml.nvmlSystemGetDriverVersion()),
        "cuda_driver_version": int(nvml.nvmlSystemGetCudaDriverVersion()),
        "gpus": gpus,
    }


class CaptureSource:
    """A directory of captured outputs (see tests/fixtures/gpu-node-h100/README.md)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.name = f"capture:{directory}"
        self._misc = parse.sections(_read(directory / "misc.txt") or "")
        self._host = parse.sections(_read(directory / "host.txt") or "")

    def nvml(self) -> str | None:
        return _read(self.directory / "nvml.json")

    def smi_xml(self) -> str | None:
        return _read(self.directory / "nvidia-smi-q.xml")

    def smi_csv(self) -> str | None:
        return _read(self.directory / "nvidia-smi-query.csv")

    def mig_lgip(self) -> str | None:
        return self._misc.get("mig -lgip")

    def proc_version(self) -> str | None:
        return self._misc.get("modinfo") or _read(self.directory / "proc-driver-nvidia-version.txt")

    def nvcc(self) -> str | None:
        return self._misc.get("nvcc")

    def os_release(self) -> str | None:
        return self._host.get("os-release")

    def kernel(self) -> str | None:
        return self._uname(2)

    def hostname(self) -> str | None:
        return self._uname(1)

    def _uname(self, field: int) -> str | None:
        fields = (self._host.get("uname") or "").split()
        value = fields[field] if len(fields) > field else "-"
        return None if value == "-" else value


class Recorded:
    """Asks SOURCE each question once and keeps the answer, so the facts shown and the capture
    saved beside them (`aigrid facts --save`) come from one reading of the node."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self.name = source.name
        self._answers: dict[str, str | None] = {}

    def _ask(self, question: str) -> str | None:
        if question not in self._answers:
            self._answers[question] = getattr(self._source, question)()
        return self._answers[question]

    def nvml(self) -> str | None:
        return self._ask("nvml")

    def smi_xml(self) -> str | None:
        return self._ask("smi_xml")

    def smi_csv(self) -> str | None:
        return self._ask("smi_csv")

    def mig_lgip(self) -> str | None:
        return self._ask("mig_lgip")

    def proc_version(self) -> str | None:
        return self._ask("proc_version")

    def nvcc(self) -> str | None:
        return self._ask("nvcc")

    def os_release(self) -> str | None:
        return self._ask("os_release")

    def kernel(self) -> str | None:
        return self._ask("kernel")

    def hostname(self) -> str | None:
        return self._ask("hostname")


class CaptureExists(RuntimeError):
    """The capture directory already holds files: a capture never overwrites another."""


def save_capture(source: Source, directory: Path) -> list[str]:
    """Write what SOURCE answers in the layout `CaptureSource` reads, so a node captured
    on site can be verified elsewhere (`--from`). Returns the files written."""
    if directory.exists() and any(directory.iterdir()):
        raise CaptureExists(f"{directory} is not empty; a capture goes into a new or empty directory")
    directory.mkdir(parents=True, exist_ok=True)

    def section(name: str, text: str | None) -> str:
        return f"## {name}\n{text}" if text else ""

    uname = f"Linux {source.hostname() or '-'} {source.kernel() or '-'}"  # `uname -a`'s first fields
    files = {
        "nvml.json": source.nvml(),
        "nvidia-smi-q.xml": source.smi_xml(),
        "nvidia-smi-query.csv": source.smi_csv(),
        "proc-driver-nvidia-version.txt": source.proc_version(),
        "misc.txt": section("mig -lgip", source.mig_lgip()) + section("nvcc", source.nvcc()),
        "host.txt": section("uname", uname + "\n") + section("os-release", source.os_release()),
    }
    written = []
    for name, text in files.items():
        if text:
            (directory / name).write_text(text, encoding="utf-8")
            written.append(name)
    return written


def gather(source: Source, use_nvml: bool = True) -> NodeFacts:
    """Facts from the best available answer; raises NoDriver when no driver answers."""
    nvml_text = source.nvml() if use_nvml else None
    xml_text = None if nvml_text else source.smi_xml()
    csv_rows = parse.parse_smi_csv(source.smi_csv() or "")
    if nvml_text:
        base, origin = parse.parse_nvml_json(nvml_text), "nvml"
    elif xml_text:
        base, origin = parse.parse_smi_xml(xml_text), "nvidia-smi -q -x"
    elif csv_rows:
        first = csv_rows[0]
        base = {
            "driver_version": first.get("driver_version"),
            "cuda_driver_version": None,
            "gpus": parse.gpus_from_csv(csv_rows),
        }
        origin = "nvidia-smi --query-gpu"
    else:
        raise NoDriver("no NVIDIA driver answered (NVML and nvidia-smi are unavailable)")
    by_index = {int(row["index"]): row for row in csv_rows if (row.get("index") or "").isdigit()}
    lgip = parse.parse_mig_lgip(source.mig_lgip() or "")
    flavour, banner_version = parse.parse_proc_version(source.proc_version() or "")
    os_id, os_version = parse.parse_os_release(source.os_release() or "")
    gpus = []
    for gpu in base["gpus"]:
        row = by_index.get(gpu["index"], {})
        gpu.setdefault("compute_capability", None)
        gpu["compute_capability"] = gpu["compute_capability"] or row.get("compute_cap")
        # Captures made before NVML was asked for it have no persistence mode; the CSV has it.
        if gpu.get("persistence_mode") is None:
            gpu["persistence_mode"] = parse.mode_flag(row.get("persistence_mode"))
        model = (catalog().gpu_by_pci(gpu["pci_device_id"]) if gpu.get("pci_device_id") else None) or (
            catalog().gpu_by_product(gpu["name"])
        )
        gpu["catalog_model"] = model.model if model else None
        gpu["mig_profiles"] = lgip.get(gpu["index"], {})
        gpus.append(GpuFacts.model_validate(gpu))
    return NodeFacts(
        hostname=source.hostname(),
        os_id=os_id,
        os_version=os_version,
        kernel=source.kernel(),
        driver_version=base["driver_version"] or banner_version,
        cuda_driver_version=base["cuda_driver_version"],
        kernel_modules=flavour,
        cuda_toolkit=parse.parse_nvcc(source.nvcc() or ""),
        source=f"{origin} ({source.name})",
        gpus=gpus,
    )
