"""AG2xx: 5G slices and their transport: S-NSSAI, 5QI, VLANs, addresses, bitrates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network

from aigrid.diagnostics import Severity
from aigrid.model.units import format_bitrate
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule
from aigrid.rules.schema import duplicates

E, W = Severity.ERROR, Severity.WARNING
_SD = re.compile(r"^[0-9A-F]{6}$")


@rule(
    Code.CIDR_OVERLAP,
    "Two slices use overlapping address ranges",
    bad="slices:\n  - {name: a, ipv4: 198.51.100.0/24}\n  - {name: b, ipv4: 198.51.100.128/25}",
    good="slices:\n  - {name: a, ipv4: 198.51.100.0/25}\n  - {name: b, ipv4: 198.51.100.128/25}",
)
def cidr_overlap(ctx: Context) -> Iterable[Finding]:
    """Slice networks are routed separately end to end; overlapping ranges make traffic of
    one slice reachable, or unreachable, through another."""
    for family in ("ipv4", "ipv6"):
        nets: list[tuple[IPv4Network | IPv6Network, int]] = []
        for index, slice_ in enumerate(ctx.blueprint.slices):
            net = getattr(slice_, family)
            if net is not None:
                nets.append((net, index))
        nets.sort(key=lambda item: (item[0].network_address, item[0].prefixlen))
        # Sorted by start address, a range overlaps a later one only if it contains it, and
        # a containing range is always the widest seen so far: one pass suffices.
        widest: tuple[IPv4Network | IPv6Network, int] | None = None
        for net, index in nets:
            if widest is not None and int(net.broadcast_address) <= int(widest[0].broadcast_address):
                other = ctx.blueprint.slices[widest[1]]
                yield Finding(
                    ("slices", index, family),
                    f"{family} {net} of slice {ctx.blueprint.slices[index].name} overlaps {widest[0]} of "
                    f"slice {other.name}",
                    "give each slice its own range",
                )
            else:
                widest = (net, index)


@rule(
    Code.VLAN_OUT_OF_RANGE,
    "A VLAN id is outside 1-4094",
    bad="vlan: 4095",
    good="vlan: 410",
)
def vlan_range(ctx: Context) -> Iterable[Finding]:
    """IEEE 802.1Q ids 0 and 4095 are reserved; usable ids are 1-4094."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        if not 1 <= slice_.vlan <= 4094:
            yield Finding(
                ("slices", index, "vlan"),
                f"VLAN {slice_.vlan} of slice {slice_.name} is outside 1-4094",
                "pick a VLAN id from 1 to 4094",
            )


@rule(
    Code.VLAN_REUSED_IN_SITE,
    "Two slices carried by one site share a VLAN",
    bad="slices:\n  - {name: a, vlan: 210}\n  - {name: b, vlan: 210}\nsites:\n  - {name: s, slices: [a, b]}",
    good="slices:\n  - {name: a, vlan: 210}\n  - {name: b, vlan: 220}",
)
def vlan_reuse(ctx: Context) -> Iterable[Finding]:
    """On a site's nodes each slice is its own VLAN sub-interface; two slices on one VLAN
    would share a broadcast domain and lose their isolation and shaping."""
    slices = {s.name: s for s in ctx.blueprint.slices}
    for i, site in enumerate(ctx.blueprint.sites):
        carried = [(j, slices[name]) for j, name in enumerate(site.slices) if name in slices]
        for index, vlan, first in duplicates([str(s.vlan) for _, s in carried]):
            j, slice_ = carried[index]
            yield Finding(
                ("sites", i, "slices", j),
                f"site {site.name}: slices {carried[first][1].name} and {slice_.name} both use VLAN {vlan}",
                "give each slice on a site its own VLAN",
            )


@rule(
    Code.INVALID_SST,
    "The slice/service type (SST) is not a standardized or operator value",
    bad="snssai: {sst: 9}",
    good="snssai: {sst: 2}   # URLLC",
)
def sst_valid(ctx: Context) -> Iterable[Finding]:
    """SST is 8 bits. 3GPP TS 23.501 standardizes 1 eMBB, 2 URLLC, 3 MIoT, 4 V2X, 5 HMTC and
    6 HDLLC within 0-127; 128-255 are operator-specific. Anything else is a typo."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        sst = slice_.snssai.sst
        if sst not in ctx.catalog.sst and sst not in ctx.catalog.sst_operator_range:
            known = ", ".join(f"{s.sst} {s.name}" for s in ctx.catalog.sst.values())
            yield Finding(
                ("slices", index, "snssai", "sst"),
                f"SST {sst} of slice {slice_.name} is neither standardized nor operator-specific (128-255)",
                f"standardized: {known}",
            )


@rule(
    Code.INVALID_SD,
    "The slice differentiator (SD) is not 6 hex digits",
    bad="snssai: {sst: 1, sd: 161}   # decimal or hex?",
    good="snssai: {sst: 1, sd: '0000A1'}",
)
def sd_valid(ctx: Context) -> Iterable[Finding]:
    """The SD is 24 bits, written as 6 hex digits. A bare number is refused: the classic
    field failure is one side entering the SD in decimal and the other in hex, so the
    slices silently never match. Quoted `0x`-prefixed hex ('0x2B') is accepted and normalised."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        sd = slice_.snssai.sd
        if sd is not None and not _SD.match(sd):
            yield Finding(
                ("slices", index, "snssai", "sd"),
                f"SD {sd!r} of slice {slice_.name} is not 6 hex digits",
                "write it as a quoted 6-digit hex string such as '0000A1' (or '0xA1')",
            )


@rule(
    Code.UNKNOWN_5QI,
    "The 5QI is not a standardized value",
    bad="5qi: 10",
    good="5qi: 9",
)
def five_qi_known(ctx: Context) -> Iterable[Finding]:
    """Only standardized 5QIs (3GPP TS 23.501 Table 5.7.4-1) have defined resource type,
    priority and packet delay budget, which aigrid uses for shaping, DSCP and latency."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        if slice_.five_qi not in ctx.catalog.five_qi:
            yield Finding(
                ("slices", index, "5qi"),
                f"5QI {slice_.five_qi} of slice {slice_.name} is not standardized",
                f"standardized 5QIs: {', '.join(str(q) for q in sorted(ctx.catalog.five_qi))}",
            )


@rule(
    Code.GUARANTEED_ABOVE_MAXIMUM,
    "A slice's guaranteed bitrate exceeds its maximum",
    bad="bitrate: {guaranteed: 200Mbps, maximum: 100Mbps}",
    good="bitrate: {guaranteed: 50Mbps, maximum: 100Mbps}",
)
def bitrate_order(ctx: Context) -> Iterable[Finding]:
    """The guaranteed bitrate (GFBR) can never exceed the maximum (MFBR); shaping would
    be configured with a ceiling under its own floor."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        rate = slice_.bitrate
        if rate.guaranteed is not None and rate.guaranteed > rate.maximum:
            yield Finding(
                ("slices", index, "bitrate", "guaranteed"),
                f"slice {slice_.name}: guaranteed {format_bitrate(rate.guaranteed)} is above maximum "
                f"{format_bitrate(rate.maximum)}",
                "lower the guaranteed bitrate or raise the maximum",
            )


@rule(
    Code.GBR_WITHOUT_GUARANTEED_BITRATE,
    "A GBR 5QI slice declares no guaranteed bitrate",
    bad="5qi: 82\nbitrate: {maximum: 100Mbps}",
    good="5qi: 82\nbitrate: {guaranteed: 50Mbps, maximum: 100Mbps}",
)
def gbr_needs_guarantee(ctx: Context) -> Iterable[Finding]:
    """GBR and delay-critical GBR 5QIs promise a bitrate; without `guaranteed` the node
    shaping has no floor to reserve and the slice behaves as best effort."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        qi = ctx.catalog.five_qi.get(slice_.five_qi)
        if qi is not None and qi.guaranteed and slice_.bitrate.guaranteed is None:
            yield Finding(
                ("slices", index, "bitrate"),
                f"slice {slice_.name} uses {qi.type} 5QI {qi.qi} but has no guaranteed bitrate",
                "set bitrate.guaranteed",
            )


@rule(
    Code.DUPLICATE_ADDRESS,
    "Two nodes share a management address",
    bad="nodes:\n  - {hostname: a, address: 192.0.2.10}\n  - {hostname: b, address: 192.0.2.10}",
    good="nodes:\n  - {hostname: a, address: 192.0.2.10}\n  - {hostname: b, address: 192.0.2.11}",
)
def duplicate_addresses(ctx: Context) -> Iterable[Finding]:
    """Management addresses are how Ansible reaches each node; a duplicate sends one node's
    configuration to another."""
    nodes = [(i, j, node) for i, site in enumerate(ctx.blueprint.sites) for j, node in enumerate(site.nodes)]
    for index, address, first in duplicates([node.address for _, _, node in nodes]):
        i, j, node = nodes[index]
        yield Finding(
            ("sites", i, "nodes", j, "address"),
            f"node {node.hostname} reuses address {address} of node {nodes[first][2].hostname}",
            "give each node its own management address",
        )


@rule(
    Code.DSCP_OUT_OF_RANGE,
    "A DSCP value is outside 0-63",
    bad="dscp: 64",
    good="dscp: 46   # EF",
)
def dscp_range(ctx: Context) -> Iterable[Finding]:
    """DSCP is a 6-bit field. Leave `dscp` out to derive it from the 5QI."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        if slice_.dscp is not None and not 0 <= slice_.dscp <= 63:
            yield Finding(
                ("slices", index, "dscp"),
                f"DSCP {slice_.dscp} of slice {slice_.name} is outside 0-63",
                "use 0-63, or omit it to derive it from the 5QI",
            )
