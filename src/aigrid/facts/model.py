"""Typed facts about one node, as gathered (never as the blueprint wishes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GpuFacts(_Facts):
    index: int
    name: str
    uuid: str | None = None
    pci_bus_id: str | None = None
    pci_device_id: str | None = Field(default=None, description="PCI device id as 4 hex digits, e.g. 2330")
    memory_mib: int | None = None
    compute_capability: str | None = None
    mig_mode: Literal["enabled", "disabled"] | None = None
    mig_pending: Literal["enabled", "disabled"] | None = None
    persistence_mode: bool | None = None
    catalog_model: str | None = Field(default=None, description="The aigrid catalog model this GPU maps to")
    mig_profiles: dict[str, int] = Field(
        default_factory=dict,
        description="GPU instance profiles offered (nvidia-smi mig -lgip): name -> total",
    )


class NodeFacts(_Facts):
    hostname: str | None = None
    os_id: str | None = None
    os_version: str | None = None
    kernel: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = Field(
        default=None, description="Highest CUDA the driver supports, e.g. 13.0"
    )
    kernel_modules: Literal["open", "proprietary"] | None = None
    cuda_toolkit: str | None = Field(default=None, description="nvcc release, when the toolkit is installed")
    source: str = Field(description="Where the GPU facts came from: nvml, nvidia-smi, or a capture directory")
    gpus: list[GpuFacts] = Field(default_factory=list)
