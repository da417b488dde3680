"""Cluster formation rules: what `kubeadm init`, the API server and the CNI would refuse.

Their codes sit in the compatibility (AG1xx) and network (AG2xx) groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import ip_network

from pydantic.alias_generators import to_camel

from aigrid import cluster_network
from aigrid.catalog import major_minor
from aigrid.model.blueprint import Site, Slice
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule

_KUBERNETES = ("stack", "kubernetes")


def _range_loc(ctx: Context, field: str, site_index: int) -> tuple[str | int, ...]:
    """Where a site's pod or service range comes from: the stack's field when declared, else
    the first control plane's address (the default follows its family)."""
    if getattr(ctx.blueprint.stack.kubernetes, field) is not None:
        return (*_KUBERNETES, to_camel(field))
    site = ctx.blueprint.sites[site_index]
    first = cluster_network.first_control_plane(site)
    if first is None:
        return ("sites", site_index)
    return ("sites", site_index, "nodes", site.nodes.index(first), "address")


@rule(
    Code.CNI_RELEASE_UNAVAILABLE,
    "The CNI release is not in aigrid's catalog, or not tested on the Kubernetes version",
    bad="kubernetes:\n  version: 1.34.9\n  cni: {plugin: calico, version: 3.12.0}",
    good="kubernetes:\n  version: 1.34.9\n  cni: {plugin: calico, version: 3.32.1}",
)
def cni_release(ctx: Context) -> Iterable[Finding]:
    """The pod network is installed from upstream's manifest at a pinned release, and each
    Calico release names the Kubernetes minors it is tested on (its system requirements).
    `aigrid catalog --json` lists the releases aigrid can install."""
    kubernetes = ctx.blueprint.stack.kubernetes
    minor = ".".join(str(n) for n in major_minor(kubernetes.version) or ())
    cni = kubernetes.cni
    known = [row for row in ctx.catalog.cni if row.plugin == cni.plugin]
    names = ", ".join(f"{row.version} (Kubernetes {row.kubernetes[0]}-{row.kubernetes[1]})" for row in known)
    row = ctx.catalog.cni_release(cni.plugin, cni.version, minor)
    if row is None and cni.version is None:
        yield Finding(
            (*_KUBERNETES, "version"),
            f"no {cni.plugin} release in aigrid's catalog is tested on Kubernetes {minor}",
            f"pin a Kubernetes version one of them supports: {names}",
        )
    elif row is None:
        yield Finding(
            (*_KUBERNETES, "cni", "version"),
            f"{cni.plugin} {cni.version} is not in aigrid's catalog",
            f"choose one of {names}",
        )
    else:
        low, high = (major_minor(v) or (0, 0) for v in row.kubernetes)
        if not low <= (major_minor(kubernetes.version) or (0, 0)) <= high:
            yield Finding(
                (*_KUBERNETES, "cni", "version"),
                f"{cni.plugin} {row.version} is tested on Kubernetes "
                f"{row.kubernetes[0]}-{row.kubernetes[1]}, not {minor}",
                f"choose one of {names}, or leave the version out for the newest that fits",
            )


@rule(
    Code.CLUSTER_RANGE_OVERLAP,
    "The pod or service range overlaps a node address, a slice network or the other range",
    bad="kubernetes: {podSubnet: 10.20.0.0/16}\nsites:\n  - nodes: [{hostname: cp, address: 10.20.0.5}]",
    good="kubernetes: {podSubnet: 192.168.0.0/16}\nsites:\n  - nodes: [{hostname: cp, address: 10.20.0.5}]",
)
def cluster_range_overlap(ctx: Context) -> Iterable[Finding]:
    """Pod and service addresses are routed inside the cluster: a node or a slice network
    inside them becomes unreachable from pods (Kubernetes docs, "Creating a cluster with
    kubeadm": the pod network must not overlap any host network)."""
    kubernetes = ctx.blueprint.stack.kubernetes
    slices = {s.name: s for s in ctx.blueprint.slices}
    # Every site of a grid checks the same few ranges against the same slices: each pair once.
    slice_clashes: dict[tuple[cluster_network.Subnet, str], str | None] = {}
    for i, site in enumerate(ctx.blueprint.sites):
        ranges = {
            "podSubnet": cluster_network.pod_subnet(kubernetes, site),
            "serviceSubnet": cluster_network.service_subnet(kubernetes, site),
        }
        pod, service = ranges.values()
        if pod.version == service.version and pod.overlaps(service):
            yield Finding(
                _range_loc(ctx, "service_subnet", i),
                f"site {site.name}: service range {service} overlaps pod range {pod}",
                "give pods and services ranges of their own",
            )
        for field, network in ranges.items():
            clash = _node_clash(site, network) or _slices_clash(site, network, slices, slice_clashes)
            if clash:
                yield Finding(
                    _range_loc(ctx, "pod_subnet" if field == "podSubnet" else "service_subnet", i),
                    f"site {site.name}: {field} {network} overlaps {clash}",
                    f"set stack.kubernetes.{field} to a range no node or slice uses",
                )


def _node_clash(site: Site, network: cluster_network.Subnet) -> str | None:
    for node in site.nodes:
        if node.address in network:
            return f"the address {node.address} of node {node.hostname}"
    return None


def _slices_clash(
    site: Site,
    network: cluster_network.Subnet,
    slices: Mapping[str, Slice],
    known: dict[tuple[cluster_network.Subnet, str], str | None],
) -> str | None:
    for name in site.slices:
        if (network, name) not in known:
            known[network, name] = _slice_clash(network, name, slices.get(name))
        if known[network, name]:
            return known[network, name]
    return None


def _slice_clash(network: cluster_network.Subnet, name: str, slice_: Slice | None) -> str | None:
    for family in ("ipv4", "ipv6"):
        other = getattr(slice_, family, None)
        # A /0 slice range is AG217's: it overlaps everything.
        if other is None or other.prefixlen == 0:
            continue
        if other.version == network.version and other.overlaps(network):
            return f"the {family} network {other} of slice {name}"
    return None


@rule(
    Code.CLUSTER_RANGE_FAMILY,
    "The pod or service range is not of the control plane address's IP family",
    bad="kubernetes: {serviceSubnet: 10.96.0.0/12}\n"
    "sites:\n  - nodes: [{hostname: cp, address: 2001:db8::10}]",
    good="kubernetes: {serviceSubnet: fd00:10:96::/112}\n"
    "sites:\n  - nodes: [{hostname: cp, address: 2001:db8::10}]",
)
def cluster_range_family(ctx: Context) -> Iterable[Finding]:
    """kube-apiserver refuses to start when its service range's family is not the family
    of the address it advertises, and a single-stack cluster's pods share that family
    (kubernetes cmd/kube-apiserver/app/options/validation.go)."""
    kubernetes = ctx.blueprint.stack.kubernetes
    for i, site in enumerate(ctx.blueprint.sites):
        first = cluster_network.first_control_plane(site)
        if first is None:
            continue
        family = first.address.version
        for field, network in (
            ("pod_subnet", cluster_network.pod_subnet(kubernetes, site)),
            ("service_subnet", cluster_network.service_subnet(kubernetes, site)),
        ):
            if network.version != family:
                default = cluster_network.DEFAULTS[family][field == "service_subnet"]
                yield Finding(
                    _range_loc(ctx, field, i),
                    f"site {site.name}: {network} is IPv{network.version}, but control plane "
                    f"{first.hostname} advertises the IPv{family} address {first.address}",
                    f"give an IPv{family} range (the default is {default})",
                )


@rule(
    Code.CLUSTER_RANGE_SIZE,
    "The pod or service range has a size kubeadm refuses",
    bad="kubernetes: {serviceSubnet: fd00:10:96::/64}",
    good="kubernetes: {serviceSubnet: fd00:10:96::/112}",
)
def cluster_range_size(ctx: Context) -> Iterable[Finding]:
    """kubeadm checks both ranges before it forms the cluster (kubernetes
    cmd/kubeadm/app/apis/kubeadm/validation/validation.go): the service range has at most 20
    host bits (/12 or smaller for IPv4, /108 or smaller for IPv6; the allocator uses at most a
    /112 of an IPv6 range) and at least 10 addresses; the pod range is cut into one block per
    node (/24 for IPv4, /64 for IPv6 by default), so it must be no smaller than one block and
    at most 16 bits wider."""
    kubernetes = ctx.blueprint.stack.kubernetes
    service = kubernetes.service_subnet
    if service is not None:
        host_bits = service.max_prefixlen - service.prefixlen
        if host_bits > cluster_network.MAX_SERVICE_HOST_BITS or service.num_addresses < 10:
            smallest = 112 if service.version == 6 else 16
            yield Finding(
                (*_KUBERNETES, "serviceSubnet"),
                f"service range {service} has {service.num_addresses} addresses; kubeadm takes from 10 up "
                f"to 2^{cluster_network.MAX_SERVICE_HOST_BITS}",
                f"use e.g. {ip_network((service.network_address, smallest), strict=False)}",
            )
    pod = kubernetes.pod_subnet
    if pod is not None:
        block = cluster_network.NODE_BLOCK[pod.version]
        if not block - cluster_network.MAX_NODE_BLOCK_BITS <= pod.prefixlen <= block:
            yield Finding(
                (*_KUBERNETES, "podSubnet"),
                f"pod range {pod} cannot be cut into per-node /{block} blocks: kubeadm takes a /"
                f"{block - cluster_network.MAX_NODE_BLOCK_BITS} to a /{block}",
                f"use a prefix between /{block - cluster_network.MAX_NODE_BLOCK_BITS} and /{block}",
            )


@rule(
    Code.NO_CONTROL_PLANE_ENDPOINT,
    "A site with several control-plane nodes has no stable API endpoint",
    bad="sites:\n  - nodes:\n      - {hostname: cp1, role: control-plane}\n"
    "      - {hostname: cp2, role: control-plane}",
    good="sites:\n  - controlPlaneEndpoint: k8s-api.edge-01.example.net:6443\n    nodes:\n"
    "      - {hostname: cp1, role: control-plane}\n      - {hostname: cp2, role: control-plane}",
)
def control_plane_endpoint(ctx: Context) -> Iterable[Finding]:
    """kubeadm joins a further control-plane node only to a cluster formed with a
    `controlPlaneEndpoint` (a load balancer or virtual IP in front of every API server), and
    that endpoint cannot be added after `kubeadm init` (Kubernetes docs, "Creating Highly
    Available Clusters with kubeadm")."""
    for i, site in enumerate(ctx.blueprint.sites):
        planes = [node for node in site.nodes if node.role == "control-plane"]
        if len(planes) > 1 and site.control_plane_endpoint is None:
            yield Finding(
                ("sites", i),
                f"site {site.name} has {len(planes)} control-plane nodes but no controlPlaneEndpoint",
                "set controlPlaneEndpoint to a load balancer or virtual IP (host[:port]) that reaches every "
                "control plane's API server",
            )
