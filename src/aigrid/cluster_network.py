"""The address ranges of a site's cluster: pods and services, as declared or defaulted.

Shared by the network rules and the plan, so the ranges checked are the ranges kubeadm gets.
kube-apiserver requires the service range's family to be the advertise address's
(cmd/kube-apiserver/app/options/validation.go), so the defaults follow the family of the
first control plane's address.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network

from aigrid.model.blueprint import Kubernetes, Node, Site

Subnet = IPv4Network | IPv6Network

# kubeadm's service default (cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go) and Calico's
# default pool; for IPv6, ULA ranges sized within the API server's service limit (/108).
DEFAULTS: dict[int, tuple[str, str]] = {
    4: ("192.168.0.0/16", "10.96.0.0/12"),
    6: ("fd00:10:244::/56", "fd00:10:96::/112"),
}
# kubeadm's limits (cmd/kubeadm/app/constants MaximumBitsForServiceSubnet,
# PodSubnetNodeMaskMaxDiff): a service range of at most 2^20 addresses; per-node pod blocks
# (kube-controller-manager's node-cidr-mask-size defaults) at most 16 bits narrower than the range.
MAX_SERVICE_HOST_BITS = 20
NODE_BLOCK = {4: 24, 6: 64}
MAX_NODE_BLOCK_BITS = 16


def first_control_plane(site: Site) -> Node | None:
    return next((node for node in site.nodes if node.role == "control-plane"), None)


def control_plane_family(site: Site) -> int:
    node = first_control_plane(site)
    return node.address.version if node is not None else 4


@cache
def _default(family: int, service: bool) -> Subnet:
    # Parsed once: every site of a grid without declared ranges asks for the same two.
    return ip_network(DEFAULTS[family][service])


def pod_subnet(kubernetes: Kubernetes, site: Site) -> Subnet:
    if kubernetes.pod_subnet is not None:
        return kubernetes.pod_subnet
    return _default(control_plane_family(site), False)


def service_subnet(kubernetes: Kubernetes, site: Site) -> Subnet:
    if kubernetes.service_subnet is not None:
        return kubernetes.service_subnet
    return _default(control_plane_family(site), True)
