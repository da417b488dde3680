"""Quantities written with units in blueprints (`50Mbps`, `10ms`), parsed once here."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from aigrid.load.nodes import RawFloat, RawInt

_BITRATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKMGT]?)(bps|bit/s)\s*$")
_BITRATE_FACTORS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)\s*$")
_DURATION_FACTORS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _bitrate(value: Any) -> int:
    if isinstance(value, str):
        match = _BITRATE.match(value)
        if match:
            return round(float(match.group(1)) * _BITRATE_FACTORS[match.group(2)])
    raise ValueError(f"expected a bitrate with a unit such as 50Mbps or 1Gbps, got {value!r}")


def _duration_ms(value: Any) -> float:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _DURATION_FACTORS[match.group(2)]
    raise ValueError(f"expected a duration with a unit such as 10ms or 1.5ms, got {value!r}")


def _version_text(value: Any) -> str:
    # YAML reads 13.0 as the float 13.0 and 1.30 as 1.3; the loader keeps what was written.
    if isinstance(value, RawInt | RawFloat):
        return value.raw
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(f"expected a version such as 13.0.2, got {value!r}")


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

VersionText = Annotated[
    str,
    BeforeValidator(_version_text),
    WithJsonSchema({"type": ["string", "number"], "examples": ["13.0.2", "580.126.20"]}),
]
"""A version as written; quoting is not required (`cuda: {version: 13.0}` works)."""
