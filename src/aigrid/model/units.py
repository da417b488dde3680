"""Quantities written with units in blueprints (`50Mbps`, `10ms`), parsed once here."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from aigrid.load.nodes import RawFloat, RawInt

_BITRATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKMGT]?)(bps|bit/s)\s*$")
_BITRATE_FACTORS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)\s*$")
_DURATION_FACTORS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Bounds past which a value is a typo, not a plan: no edge round trip or latency target
# is ten seconds, and no slice outruns a 10 Tbit/s link.
MAX_DURATION_MS = 10_000.0
MAX_BITRATE_BPS = 10 * 10**12
_VERSION = re.compile(r"^v?[0-9]{1,9}(\.[0-9]{1,9}){1,3}$")


def _bitrate(value: Any) -> int:
    if isinstance(value, str):
        match = _BITRATE.fullmatch(value)
        if match:
            bps = float(match.group(1)) * _BITRATE_FACTORS[match.group(2)]
            if not bps <= MAX_BITRATE_BPS:
                raise ValueError(f"bitrate {value.strip()} is beyond {format_bitrate(MAX_BITRATE_BPS)}")
            return round(bps)
    raise ValueError(f"expected a bitrate with a unit such as 50Mbps or 1Gbps, got {value!r}")


def _duration_ms(value: Any) -> float:
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match:
            ms = float(match.group(1)) * _DURATION_FACTORS[match.group(2)]
            if not (math.isfinite(ms) and ms <= MAX_DURATION_MS):
                raise ValueError(f"duration {value.strip()} is beyond {format_ms(MAX_DURATION_MS)}")
            return ms
    raise ValueError(f"expected a duration with a unit such as 10ms or 1.5ms, got {value!r}")


def _version_text(value: Any) -> str:
    # YAML reads 13.0 as the float 13.0 and 1.30 as 1.3; the loader keeps what was written.
    if isinstance(value, RawInt | RawFloat):
        return value.raw
    if isinstance(value, str):
        return value.strip()
    raise ValueError(f"expected a version such as 13.0.2, got {value!r}")


def _dotted(example: str, v_prefix: bool = False) -> Callable[[str], str]:
    """A check for a dotted numeric version (2-4 numbers); a leading `v` is dropped where
    the upstream project writes one (kubernetes v1.34.9, GPU Operator v26.3.2)."""

    def check(text: str) -> str:
        if _VERSION.fullmatch(text) and (v_prefix or not text.startswith("v")):
            return text.removeprefix("v")
        form = "a dotted numeric version" + (" (a leading v is allowed)" if v_prefix else "")
        raise ValueError(f"expected {form} such as {example}: a pin, not a channel such as latest or stable")

    return check


def format_bitrate(bps: int) -> str:
    for unit, factor in (("Gbps", 10**9), ("Mbps", 10**6), ("kbps", 10**3)):
        if bps >= factor and bps % factor == 0:
            return f"{bps // factor}{unit}"
    return f"{bps}bps"


def format_ms(ms: float) -> str:
    return f"{ms:g}ms"


Bitrate = Annotated[
    int,
    BeforeValidator(_bitrate),
    PlainSerializer(format_bitrate, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _BITRATE.pattern, "examples": ["50Mbps", "1Gbps"]}),
]
"""A bitrate in bits per second, written with a unit."""

Milliseconds = Annotated[
    float,
    BeforeValidator(_duration_ms),
    PlainSerializer(format_ms, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern, "examples": ["10ms", "1.5ms"]}),
]
"""A duration in milliseconds, written with a unit."""


def _version_schema(example: str, v_prefix: bool = False) -> WithJsonSchema:
    pattern = _VERSION.pattern if v_prefix else _VERSION.pattern.replace("^v?", "^")
    return WithJsonSchema({"type": ["string", "number"], "pattern": pattern, "examples": [example]})


# Versions as written (quoting is not required: `cuda: {version: 13.0}` works), dotted
# numbers only, each with the field's own example.
_AS_WRITTEN = BeforeValidator(_version_text)
DriverVersion = Annotated[
    str, _AS_WRITTEN, AfterValidator(_dotted("580.126.20")), _version_schema("580.126.20")
]
CudaVersion = Annotated[str, _AS_WRITTEN, AfterValidator(_dotted("13.0.2")), _version_schema("13.0.2")]
TensorRTVersion = Annotated[str, _AS_WRITTEN, AfterValidator(_dotted("10.14.1")), _version_schema("10.14.1")]
ContainerdVersion = Annotated[str, _AS_WRITTEN, AfterValidator(_dotted("2.3.1")), _version_schema("2.3.1")]
ToolkitVersion = Annotated[str, _AS_WRITTEN, AfterValidator(_dotted("1.19.1")), _version_schema("1.19.1")]
KubernetesVersion = Annotated[
    str,
    _AS_WRITTEN,
    AfterValidator(_dotted("1.34.9", v_prefix=True)),
    _version_schema("1.34.9", v_prefix=True),
]
CniVersion = Annotated[str, _AS_WRITTEN, AfterValidator(_dotted("3.32.1")), _version_schema("3.32.1")]
GpuOperatorVersion = Annotated[
    str,
    _AS_WRITTEN,
    AfterValidator(_dotted("26.3.2", v_prefix=True)),
    _version_schema("26.3.2", v_prefix=True),
]
