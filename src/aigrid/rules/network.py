"""Network rules (AG2xx): 5G slices and their transport: S-NSSAI, 5QI, VLANs, addresses, bitrates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import NamedTuple

from aigrid import cluster_network
from aigrid.diagnostics import Severity
from aigrid.model.blueprint import Slice, slice_interface
from aigrid.model.units import format_bitrate
from aigrid.plan import FIRST_NODE_HOST
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule
from aigrid.rules.schema import duplicates

E, W = Severity.ERROR, Severity.WARNING
_SD = re.compile(r"^[0-9A-F]{6}$")
_NO_SD = "FFFFFF"


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
    bad="5qi: 11",
    good="5qi: 9",
)
def five_qi_known(ctx: Context) -> Iterable[Finding]:
    """Only standardized 5QIs (3GPP TS 23.501 Table 5.7.4-1, Release 17/18) have defined resource type,
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


@rule(
    Code.DUPLICATE_SNSSAI,
    "Two slices have the same S-NSSAI",
    bad="slices:\n  - {name: a, snssai: {sst: 1, sd: '0000b2'}}\n  - {name: b, snssai: {sst: 1, sd: 0xB2}}",
    good="slices:\n  - {name: a, snssai: {sst: 1, sd: '0000B2'}}\n  - {name: b, snssai: {sst: 1, sd: 0xB3}}",
)
def duplicate_snssai(ctx: Context) -> Iterable[Finding]:
    """The S-NSSAI (SST plus optional SD) is how the 5G core tells slices apart (3GPP TS
    23.501 clause 5.15.2): two slices with one S-NSSAI are one slice to the network, with
    two VLANs, address ranges and QoS settings that never match the traffic. SDs are
    compared as normalised hex (`0xb2` is `0000B2`); two slices without an SD and the same
    SST collide too."""
    slices = ctx.blueprint.slices
    # An SD that is not 6 hex digits is its own finding (invalid-sd); it never matches here.
    keys = [
        (s.snssai.sst, s.snssai.sd if s.snssai.sd is None or _SD.match(s.snssai.sd) else f"?{i}")
        for i, s in enumerate(slices)
    ]
    for index, (sst, sd), first in duplicates(keys):
        what = f"SST {sst}, SD {sd}" if sd is not None else f"SST {sst} without SD"
        yield Finding(
            ("slices", index, "snssai"),
            f"slice {slices[index].name} has the S-NSSAI of slice {slices[first].name} ({what})",
            "give each slice its own SST/SD pair",
        )


@rule(
    Code.RESERVED_SD,
    "The SD FFFFFF is reserved: it means no SD",
    bad="snssai: {sst: 1, sd: 'FFFFFF'}",
    good="snssai: {sst: 1}   # or any other 6-digit hex SD",
)
def reserved_sd(ctx: Context) -> Iterable[Finding]:
    """3GPP TS 23.003 (the S-NSSAI format) reserves the SD value FFFFFF for "no SD value
    associated with the SST"; a slice written with it matches slices without SD in some network
    functions and not in others. Leave `sd` out instead."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        if slice_.snssai.sd == _NO_SD:
            yield Finding(
                ("slices", index, "snssai", "sd"),
                f"slice {slice_.name} uses the reserved SD {_NO_SD} (no SD)",
                "leave `sd` out for a slice without differentiator, or pick another value",
            )


@rule(
    Code.ZERO_MAXIMUM_BITRATE,
    "A slice's maximum bitrate is zero",
    bad="bitrate: {maximum: 0Mbps}",
    good="bitrate: {maximum: 100Mbps}",
)
def zero_maximum(ctx: Context) -> Iterable[Finding]:
    """The maximum bitrate becomes the slice's shaping ceiling on every node: zero drops all
    of its traffic. Usually a unit slip (`0.1Gbps` written as `0Gbps`)."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        if slice_.bitrate.maximum == 0:
            yield Finding(
                ("slices", index, "bitrate", "maximum"),
                f"slice {slice_.name} has a maximum bitrate of 0: it could carry no traffic",
                "set the slice's real ceiling, e.g. 100Mbps",
            )


@rule(
    Code.SLICE_NETWORK_TOO_SMALL,
    "A slice's address range has no address for some nodes of a site",
    bad="ipv4: 198.51.100.0/28   # nodes get .10 onward: room for 5\n# a site with 6 nodes carries it",
    good="ipv4: 198.51.100.0/27",
)
def slice_network_too_small(ctx: Context) -> Iterable[Finding]:
    """Each node of a site that carries a slice gets an address on the slice's VLAN: host
    10 of the range for the site's first node, 11 for the second and so on (the first
    hosts are left to gateways), up to the last address before the broadcast. A range too
    small leaves the later nodes without an address on the slice."""
    slices = {s.name: s for s in ctx.blueprint.slices}
    for i, site in enumerate(ctx.blueprint.sites):
        for j, name in enumerate(site.slices):
            slice_ = slices.get(name)
            if slice_ is None:
                continue
            for family in ("ipv4", "ipv6"):
                net: IPv4Network | IPv6Network | None = getattr(slice_, family)
                room = max(0, net.num_addresses - 1 - FIRST_NODE_HOST) if net is not None else 0
                if net is not None and len(site.nodes) > room:
                    yield Finding(
                        ("sites", i, "slices", j),
                        f"site {site.name} has {len(site.nodes)} nodes but slice {name}'s {family} {net} "
                        f"gives node addresses from host {FIRST_NODE_HOST} on: room for {room}",
                        f"widen slice {name}'s {family} range",
                    )


@rule(
    Code.SLICE_NETWORK_CONTAINS_NODE,
    "A slice's address range contains a node's management address",
    bad="slices: [{name: a, ipv4: 192.0.2.0/24}]\nnodes: [{hostname: gpu01, address: 192.0.2.11}]",
    good="slices: [{name: a, ipv4: 198.51.100.0/24}]\nnodes: [{hostname: gpu01, address: 192.0.2.11}]",
)
def slice_network_contains_node(ctx: Context) -> Iterable[Finding]:
    """Management addresses (how Ansible and the cluster reach a node) and slice ranges are
    routed differently; a node whose management address lies inside a slice's range would
    answer on, or route its management traffic into, the slice VLAN."""
    ranges = [
        (net.version, int(net.network_address), int(net.broadcast_address), s.name, net)
        for s in ctx.blueprint.slices
        for net in (s.ipv4, s.ipv6)
        if net is not None and net.prefixlen > 0
    ]
    if not ranges:
        return
    for i, site in enumerate(ctx.blueprint.sites):
        for j, node in enumerate(site.nodes):
            value = int(node.address)
            for version, low, high, name, net in ranges:
                if version == node.address.version and low <= value <= high:
                    yield Finding(
                        ("sites", i, "nodes", j, "address"),
                        f"node {node.hostname}'s management address {node.address} is inside slice {name}'s "
                        f"range {net}",
                        "keep management addresses out of the slice ranges",
                    )
                    break


@rule(
    Code.UNUSABLE_NODE_ADDRESS,
    "A node's management address is loopback, unspecified, multicast or link-local",
    bad="address: 127.0.0.1",
    good="address: 192.0.2.11",
)
def unusable_node_address(ctx: Context) -> Iterable[Finding]:
    """Bring-up connects to each node at its management address. A loopback or unspecified
    address (127.0.0.0/8, 0.0.0.0, ::1, ::) would configure the machine running aigrid
    instead, a multicast address reaches no single host, and a link-local one
    (169.254.0.0/16, fe80::/10) is ambiguous without an interface."""
    for i, site in enumerate(ctx.blueprint.sites):
        for j, node in enumerate(site.nodes):
            address = node.address
            mapped = address.ipv4_mapped if isinstance(address, IPv6Address) else None
            for candidate in (address, mapped):
                kind = _unusable(candidate) if candidate is not None else None
                if kind is not None:
                    yield Finding(
                        ("sites", i, "nodes", j, "address"),
                        f"node {node.hostname}'s address {address} is {kind}",
                        "use the address the node is reached at on the management network",
                    )
                    break


def _unusable(address: IPv4Address | IPv6Address) -> str | None:
    for kind, flag in (
        ("a loopback address", address.is_loopback),
        ("the unspecified address", address.is_unspecified),
        ("a multicast address", address.is_multicast),
        ("a link-local address", address.is_link_local),
    ):
        if flag:
            return kind
    return None


@rule(
    Code.DEFAULT_ROUTE_SLICE_NETWORK,
    "A slice's address range is the whole address space (a default route)",
    bad="ipv4: 0.0.0.0/0",
    good="ipv4: 198.51.100.0/26",
)
def default_route_slice(ctx: Context) -> Iterable[Finding]:
    """A slice range is installed as a route on the slice's VLAN interface; 0.0.0.0/0 or
    ::/0 would send all of a node's traffic, management included, into the slice."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        for family in ("ipv4", "ipv6"):
            net = getattr(slice_, family)
            if net is not None and net.prefixlen == 0:
                yield Finding(
                    ("slices", index, family),
                    f"slice {slice_.name}'s {family} range {net} is the whole address space",
                    "give the slice its own range",
                )


@rule(
    Code.SLICE_INTERFACE_MISSING,
    "A node of a site that carries slices has no interface for their VLANs",
    bad="sites:\n  - name: edge-01\n    slices: [embb]\n    nodes: [{hostname: gpu01, address: 192.0.2.11}]",
    good="sites:\n  - name: edge-01\n    slices: [embb]\n"
    "    network: {sliceInterface: eno1}   # or on each node\n"
    "    nodes: [{hostname: gpu01, address: 192.0.2.11}]",
)
def slice_interface_missing(ctx: Context) -> Iterable[Finding]:
    """Each slice is a VLAN on one of the node's interfaces, and servers name theirs after
    the hardware (eno1, ens1f0, enp65s0f1) or bond them (bond0): there is no name that would
    be right everywhere. `network.sliceInterface` on the site names it for all of its nodes;
    on a node it overrides the site's."""
    for i, site in enumerate(ctx.blueprint.sites):
        if not site.slices:
            continue
        missing = [(j, node) for j, node in enumerate(site.nodes) if slice_interface(site, node) is None]
        if missing and len(missing) == len(site.nodes):
            yield Finding(
                ("sites", i, "slices"),
                f"site {site.name} carries slices but names no interface for their VLANs",
                "set network.sliceInterface on the site (e.g. bond0 or eno1), or on each node",
            )
            continue
        for j, node in missing:
            yield Finding(
                ("sites", i, "nodes", j),
                f"node {node.hostname} of site {site.name} has no interface for the slice VLANs, and the "
                "site names none",
                "set network.sliceInterface on the node, or on the site for all of its nodes",
            )


@rule(
    Code.SLICE_ROUTE_GATEWAY,
    "A slice route's next hop is not one of the slice's gateway addresses",
    bad="ipv4: 198.51.100.0/24\nroutes: [{to: 10.45.0.0/16, via: 198.51.100.20}]",
    good="ipv4: 198.51.100.0/24\nroutes: [{to: 10.45.0.0/16, via: 198.51.100.1}]   # the UPF's N6 address",
)
def slice_route_gateway(ctx: Context) -> Iterable[Finding]:
    """A pod attached to the slice reaches a route's destination through its next hop on the
    slice's VLAN, so the next hop must be an address of the slice's own range, of the route's
    family, among the hosts left to gateways (1 to 9): from host 10 on, the addresses are the
    nodes' and the pods' (whereabouts hands them out), and one of them as a gateway would
    send the slice's traffic to a node or a pod."""
    for index, slice_ in enumerate(ctx.blueprint.slices):
        for r, route in enumerate(slice_.routes):
            problem = _gateway_problem(slice_, route.to.version, route.via)
            if problem:
                network = _slice_range(slice_, route.to.version)
                hosts = (
                    f"{network.network_address + 1} to {network.network_address + FIRST_NODE_HOST - 1}"
                    if network is not None
                    else f"hosts 1-{FIRST_NODE_HOST - 1} of its range"
                )
                yield Finding(
                    ("slices", index, "routes", r, "via"),
                    f"slice {slice_.name}'s route to {route.to} goes via {route.via}, {problem}",
                    f"give the gateway's address on the slice: {hosts}",
                )


def _slice_range(slice_: Slice, family: int) -> IPv4Network | IPv6Network | None:
    return slice_.ipv4 if family == 4 else slice_.ipv6


def _gateway_problem(slice_: Slice, family: int, via: IPv4Address | IPv6Address) -> str | None:
    if isinstance(via, IPv6Address) and via.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address, which the CNI plugin takes for IPv4"
    if via.version != family:
        return f"an IPv{via.version} address for an IPv{family} destination"
    network = _slice_range(slice_, family)
    if network is None:
        return f"but the slice has no IPv{family} range"
    host = int(via) - int(network.network_address)
    if not 0 <= host < network.num_addresses:
        return f"outside the slice's range {network}"
    if host == 0:
        return f"the network address of {network}"
    if host >= FIRST_NODE_HOST:
        return f"an address of {network} that nodes and pods get (host {FIRST_NODE_HOST} on)"
    return None


# Ranges a pod's route must leave alone: its own host (loopback), link-local services on the
# node (node-local DNS at 169.254.20.10, cloud metadata) and multicast.
_SPECIAL: dict[int, tuple[IPv4Network | IPv6Network, ...]] = {
    4: tuple(map(IPv4Network, ("127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4"))),
    6: tuple(map(IPv6Network, ("::1/128", "fe80::/10", "ff00::/8"))),
}


@rule(
    Code.SLICE_ROUTE_DESTINATION,
    "A slice route's destination is a default route, repeats, or covers addresses the pods reach otherwise",
    bad="routes: [{to: 0.0.0.0/0, via: 198.51.100.1}]",
    good="routes: [{to: 10.45.0.0/16, via: 198.51.100.1}]",
)
def slice_route_destination(ctx: Context) -> Iterable[Finding]:
    """A slice's routes are installed in every pod attached to it, beside the cluster
    network's. A default route would take the pod's traffic off the cluster network (to
    the API, to DNS, to other pods); a destination overlapping the slice's own range, the
    cluster's pod or service range, a node's management address, or loopback, link-local or
    multicast addresses would send that traffic to the gateway instead; the same destination
    twice leaves the pod's route to chance; an IPv4-mapped IPv6 destination is read as IPv4
    by the CNI plugin, which then refuses the route with its IPv6 gateway and the pod never
    starts (vishvananda/netlink route family check)."""
    routed = {s.name for s in ctx.blueprint.slices if s.routes}
    if not routed:
        return
    kubernetes = ctx.blueprint.stack.kubernetes
    reached: dict[str, _Reached] = {name: _Reached(set(), {}) for name in routed}
    for site in ctx.blueprint.sites:
        carried = [reached[name] for name in site.slices if name in routed]
        if not carried:
            continue
        pods = cluster_network.pod_subnet(kubernetes, site)
        services = cluster_network.service_subnet(kubernetes, site)
        for other in carried:
            other.cluster.update((pods, services))
            other.nodes.update((node.address, node.hostname) for node in site.nodes)
    for index, slice_ in enumerate(ctx.blueprint.slices):
        seen: set[IPv4Network | IPv6Network] = set()
        for r, route in enumerate(slice_.routes):
            problem = _destination_problem(slice_, route.to, seen, reached[slice_.name])
            seen.add(route.to)
            if problem:
                yield Finding(
                    ("slices", index, "routes", r, "to"),
                    f"slice {slice_.name}'s route to {route.to} {problem}",
                    "route only the networks beyond the slice's gateway (the UE pool behind the UPF)",
                )


class _Reached(NamedTuple):
    """What the pods of a slice reach without its routes, over the sites that carry it."""

    cluster: set[cluster_network.Subnet]
    nodes: dict[IPv4Address | IPv6Address, str]


def _destination_problem(
    slice_: Slice, to: IPv4Network | IPv6Network, seen: set[IPv4Network | IPv6Network], reached: _Reached
) -> str | None:
    if to.prefixlen == 0:
        return "is a default route: the pods' other traffic would leave the cluster network"
    if isinstance(to, IPv6Network) and to.network_address.ipv4_mapped is not None:
        return "is IPv4-mapped IPv6, which the CNI plugin takes for IPv4 and refuses beside an IPv6 gateway"
    if to in seen:
        return "is given twice"
    own = _slice_range(slice_, to.version)
    if own is not None and own.overlaps(to):
        return f"overlaps the slice's own range {own}"
    for network in sorted(reached.cluster, key=str):
        if network.version == to.version and network.overlaps(to):
            return f"overlaps the cluster's pod or service range {network}"
    for special in _SPECIAL[to.version]:
        if special.overlaps(to):
            return f"overlaps {special} (loopback, link-local or multicast), which no gateway serves"
    # The first by text, for the same message on every run; no sort of a grid's nodes per route.
    node = min((n for n in reached.nodes if n.version == to.version and n in to), key=str, default=None)
    if node is not None:
        return f"contains the management address {node} of node {reached.nodes[node]}"
    return None
