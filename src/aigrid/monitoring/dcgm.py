"""The DCGM fields the exporter collects for aigrid, as its counters CSV.

dcgm-exporter reads a CSV of `field, Prometheus type, help` rows (NVIDIA/dcgm-exporter
etc/default-counters.csv). Its default file leaves the ECC and clock-violation fields commented
out, and the alerts need them, so aigrid ships its own list, mounted through the GPU Operator's
dcgmExporter.config (a ConfigMap) and DCGM_EXPORTER_COLLECTORS (GPU Operator docs, "Custom
metrics config"). Every metric an alert or the dashboard reads is in this list
(tests/test_monitoring.py checks it).
"""

from __future__ import annotations

# Where the GPU Operator mounts dcgmExporter.config's ConfigMap in the exporter's container.
COLLECTORS_PATH = "/etc/dcgm-exporter/dcgm-metrics.csv"
CONFIG_KEY = "dcgm-metrics.csv"

# (field, type, help). Field names and types: dcgm-exporter etc/default-counters.csv; the
# help texts are aigrid's own. The exporter reads the file with Go's encoding/csv and refuses
# to start on a row of other than 3 fields (internal/pkg/counters/counter_config.go,
# ExtractCounters), so a help text holds no comma (and no quote). The violation counters are in
# nanoseconds since DCGM 4 (dcgm_fields.h: "Power Violation time in ns"; 3.x said usec), which
# the GPU Operator releases in the catalog ship.
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (degrees C)"),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (W)"),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilisation (percent)"),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Frame buffer memory free (MiB)"),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Frame buffer memory used (MiB)"),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "The last XID error the driver reported"),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Single-bit ECC errors since the driver loaded"),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Double-bit ECC errors since the driver loaded"),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Rows remapped for uncorrectable errors"),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Rows remapped for correctable errors"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "1 when a row could not be remapped"),
    ("DCGM_FI_DEV_POWER_VIOLATION", "counter", "Time clocks were held down by the power limit (ns)"),
    ("DCGM_FI_DEV_THERMAL_VIOLATION", "counter", "Time clocks were held down by temperature (ns)"),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "PCIe retries"),
)


def counters_csv() -> str:
    lines = ["# Written by aigrid: the DCGM fields its alerts and dashboard read."]
    lines.extend(f"{field}, {kind}, {text}." for field, kind, text in COUNTERS)
    return "\n".join(lines) + "\n"


def metric_names() -> set[str]:
    return {field for field, _, _ in COUNTERS}
