"""The blueprint language as typed models (apiVersion aigrid.dev/v1alpha1, kind Blueprint).

Fields are snake_case in Python and camelCase in YAML. Structural mistakes (unknown keys,
wrong types, missing fields, units) fail here; facts that need the catalog or the whole
grid (a VLAN reused on a site, an unknown 5QI, a driver too old) are left to the rules,
which give them their own codes. Range hints for editors still appear in the JSON Schema.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from aigrid.load.nodes import RawInt
from aigrid.model.grammar import (
    ApiEndpoint,
    AptUrl,
    DebPackage,
    DebVersion,
    EnvName,
    EnvValue,
    GpuModelName,
    Hostname,
    ImageRef,
    InterfaceName,
    LabelKey,
    LabelValue,
    MigLayoutName,
    MigProfile,
    ModelName,
    ModelRepositoryUrl,
    ModelVersion,
    Name,
    NodeLabelKey,
    Registry,
    SecretText,
    Text,
    Username,
)
from aigrid.model.units import (
    Bitrate,
    CniVersion,
    ContainerdVersion,
    CudaVersion,
    DriverVersion,
    GpuOperatorVersion,
    KubernetesVersion,
    Milliseconds,
    TensorRTVersion,
    ToolkitVersion,
)

API_VERSION = "aigrid.dev/v1alpha1"
_HEX_SD = re.compile(r"^(0[xX])?[0-9A-Fa-f]{1,6}$")


def _sd_text(value: Any) -> str:
    """Normalise a hex SD to 6 upper-case digits; keep anything else as written.

    Invalid or ambiguous forms (a bare YAML number such as 161, which may be decimal or
    hex) stay as text so the network rule reports them with its own code.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected the SD as 6 hex digits such as '0000A1', got {value!r}")
    text = value.raw if isinstance(value, RawInt) else str(value)
    if _HEX_SD.match(text) and (len(text) == 6 or text[:2] in ("0x", "0X")):
        return text[2:].upper().rjust(6, "0") if text[:2] in ("0x", "0X") else text.upper()
    return text


SliceDifferentiator = Annotated[
    str,
    BeforeValidator(_sd_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^([0-9A-Fa-f]{6}|0[xX][0-9A-Fa-f]{1,6})$",
            "examples": ["0000A1"],
            "description": "6 hex digits, quoted: '0000A1'; a quoted '0x2B' is read as 00002B. "
            "Unquoted, YAML reads 0x2B or 000001 as a number (AG020)",
        }
    ),
]


class Spec(BaseModel):
    """Base of every blueprint model: unknown keys are errors, YAML keys are camelCase."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=True,
    )


class Metadata(Spec):
    name: Name
    carrier: Name | None = None
    description: Text = ""
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)


class Driver(Spec):
    version: DriverVersion
    install: Literal["host", "operator", "preinstalled"] = "host"
    kernel_modules: Literal["open", "proprietary"] = "open"


class Cuda(Spec):
    version: CudaVersion
    patches: dict[DebPackage, DebVersion] = Field(
        default_factory=dict,
        description="Libraries of the release at a later build than the release's own, as NVIDIA "
        "publishes cuBLAS patch releases between toolkit updates: package of the pinned CUDA minor "
        "to its build (libcublas-13-0: 13.1.1.3, with or without the Debian revision). Installed, "
        "pinned and held in place of the build the release names, which it must satisfy. Without a "
        "revision, its first (lowest) revision",
        # Only package names as keys (pydantic writes their pattern as patternProperties).
        json_schema_extra={"additionalProperties": False},
    )


class TensorRT(Spec):
    version: TensorRTVersion


class ContainerRuntime(Spec):
    name: Literal["containerd"] = "containerd"
    version: ContainerdVersion


class ContainerToolkit(Spec):
    version: ToolkitVersion
    cdi: bool = True


class Cni(Spec):
    """The cluster's primary pod network, installed right after `kubeadm init`."""

    plugin: Literal["calico"] = "calico"
    version: CniVersion | None = Field(
        default=None,
        description="A release in aigrid's catalog; unset, the newest one tested on the Kubernetes minor",
    )


class Kubernetes(Spec):
    distribution: Literal["kubeadm", "k3s", "rke2"] = "kubeadm"
    version: KubernetesVersion
    cni: Cni = Field(default_factory=Cni)
    pod_subnet: IPv4Network | IPv6Network | None = Field(
        default=None,
        description="Pod addresses of every site's cluster (each site is its own cluster); unset: "
        "192.168.0.0/16, or fd00:10:244::/56 where the control plane's address is IPv6",
    )
    service_subnet: IPv4Network | IPv6Network | None = Field(
        default=None,
        description="Service addresses; unset: 10.96.0.0/12, or fd00:10:96::/112 where the control "
        "plane's address is IPv6. Its family must be the control plane's",
    )


class GpuOperator(Spec):
    version: GpuOperatorVersion
    mig_strategy: Literal["none", "single", "mixed"] = "single"


class Credentials(Spec):
    """One login for every mirror: apt, the container registry and Helm all take a user name
    with a password (a token is sent as the password, as registries and repository managers
    take one; where both are set, the password)."""

    username: Username | None = Field(default=None, description="The login at the mirrors")
    password: SecretText | None = Field(
        default=None, description="A secret reference: secret://..., env://... or vault://..."
    )
    token: SecretText | None = Field(
        default=None, description="A secret reference: secret://..., env://... or vault://..."
    )

    @model_validator(mode="after")
    def _one_login(self) -> Credentials:
        # Both may meet where layers merge two carriers' logins; AG021 reports that merge, and
        # the password is the one used.
        if self.password is None and self.token is None:
            raise ValueError("give a `password` or a `token` with the `username`")
        if self.username is None:
            # apt_auth.conf(5), containerd's registry auth and Helm repositories all need a login.
            raise ValueError("`username` is needed with a password or token: apt, containerd and Helm log in")
        return self


class Mirrors(Spec):
    """Package sources for air-gapped sites; unset means the vendors' public repositories."""

    apt: AptUrl | None = None
    container_registry: Registry | None = Field(default=None, description="host[:port][/path], no scheme")
    helm: AptUrl | None = None
    pip: AptUrl | None = None
    credentials: Credentials | None = None


class Stack(Spec):
    os: Literal["ubuntu-22.04", "ubuntu-24.04", "debian-12"]
    driver: Driver
    cuda: Cuda
    tensorrt: TensorRT | None = None
    container_runtime: ContainerRuntime
    container_toolkit: ContainerToolkit
    kubernetes: Kubernetes
    gpu_operator: GpuOperator
    mirrors: Mirrors | None = None


class CarrierStack(Spec):
    """The part of the stack a carrier may set for its own sites: where packages, charts and
    images come from, and the login there. Versions stay grid-wide: a grid runs one stack."""

    mirrors: Mirrors | None = Field(
        default=None,
        description="Replaces stack.mirrors whole at the carrier's sites (so no other login mixes "
        "in); a field left out there uses the vendor's public repository",
    )


class Carrier(Spec):
    """Stack choices that stay with one carrier's sites when grids are layered together."""

    name: Name = Field(
        description="The carrier of the sites it applies to: their `carrier`, else metadata.carrier"
    )
    stack: CarrierStack = Field(default_factory=CarrierStack)


class Snssai(Spec):
    sst: int = Field(json_schema_extra={"minimum": 0, "maximum": 255})
    sd: SliceDifferentiator | None = None


class SliceBitrate(Spec):
    guaranteed: Bitrate | None = None
    maximum: Bitrate


class SliceRoute(Spec):
    """A destination the slice's pods reach through a next hop on the slice's VLAN: typically
    the UE address pool behind the UPF, whose N6 address on the slice is the next hop."""

    to: IPv4Network | IPv6Network = Field(json_schema_extra={"examples": ["10.45.0.0/16"]})
    via: IPv4Address | IPv6Address = Field(json_schema_extra={"examples": ["198.51.100.1"]})


class Slice(Spec):
    name: Name
    description: Text = ""
    snssai: Snssai
    five_qi: int = Field(alias="5qi", json_schema_extra={"examples": [9, 82]})
    dscp: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 63})
    bitrate: SliceBitrate
    vlan: int = Field(json_schema_extra={"minimum": 1, "maximum": 4094})
    ipv4: IPv4Network | None = None
    ipv6: IPv6Network | None = None
    routes: list[SliceRoute] = Field(
        default_factory=list,
        description="Networks the slice's pods reach through a gateway on the slice's VLAN (the UE "
        "pool behind the UPF); the rest of their traffic keeps the cluster network's default route",
    )


class Location(Spec):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class MigLayout(Spec):
    """Either a mig-parted style name (`all-balanced`, `all-1g.10gb`) or explicit counts."""

    layout: MigLayoutName | None = None
    profiles: dict[MigProfile, Annotated[int, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> MigLayout:
        if (self.layout is None) == (self.profiles is None):
            raise ValueError(
                "give exactly one of `layout` (e.g. all-balanced) or `profiles` (counts per profile)"
            )
        if self.profiles is not None and not any(self.profiles.values()):
            raise ValueError("`profiles` asks for no MIG instance at all: give at least one a count above 0")
        return self


class Gpus(Spec):
    model: GpuModelName
    count: int = Field(ge=1, le=16)
    mig: MigLayout | None = None


def _ip_address(value: Any) -> IPv4Address | IPv6Address:
    # One parse instead of pydantic's try-IPv4-then-IPv6 union: a tenth of the cost on
    # large grids, and one clear message. Only IPv6 text has a colon and IPv4 text never
    # does, so the family is known before parsing (ip_address() would try IPv4 first, and
    # the failed attempt costs as much as the parse on an IPv6 grid).
    text = str(value)
    try:
        return IPv6Address(text) if ":" in text else IPv4Address(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address") from None


IpAddress = Annotated[
    IPv4Address | IPv6Address,
    PlainValidator(_ip_address),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
]


class Network(Spec):
    """How a site's or a node's host networking carries the slices."""

    slice_interface: InterfaceName | None = Field(
        default=None,
        description="The interface the slice VLANs ride on (a NIC such as eno1 or a bond such as bond0); "
        "a node's own overrides its site's",
    )


class Node(Spec):
    hostname: Hostname
    role: Literal["control-plane", "worker"] = "worker"
    address: IpAddress
    gpus: Gpus | None = None
    labels: dict[NodeLabelKey, LabelValue] = Field(default_factory=dict)
    network: Network | None = Field(default=None, description="Overrides the site's for this node")


Tier = Literal["far-edge", "edge", "regional", "core"]


class Site(Spec):
    name: Name
    carrier: Name | None = None
    tier: Tier
    region: Name
    location: Location | None = None
    rtt: Milliseconds = Field(description="Round-trip time from the radio area the site serves")
    slices: list[Name] = Field(default_factory=list)
    network: Network | None = Field(default=None, description="Defaults for the site's nodes")
    kubeconfig: SecretText | None = Field(
        default=None, description="A secret reference to the cluster's kubeconfig"
    )
    control_plane_endpoint: ApiEndpoint | None = Field(
        default=None,
        description="A stable host[:port] for the API (a load balancer or virtual IP); needed for more "
        "than one control-plane node, and only settable when the cluster is first formed",
    )
    nodes: list[Node] = Field(default_factory=list)


def slice_interface(site: Site, node: Node) -> str | None:
    """The interface a node's slice VLANs ride on: the node's own, else its site's."""
    for network in (node.network, site.network):
        if network is not None and network.slice_interface is not None:
            return network.slice_interface
    return None


class ModelRef(Spec):
    name: ModelName
    version: ModelVersion = "1"
    repository: ModelRepositoryUrl | None = Field(
        default=None,
        description="s3://, gs://, as:// (Azure), https:// (custom images only) or pvc://CLAIM/PATH; "
        "unset, Triton runtimes read the claim WORKLOAD-models",
    )
    credentials: SecretText | None = Field(
        default=None,
        description="A secret reference naming the Secret with the object store's credentials "
        "(its keys: the variables the store takes, e.g. AWS_ACCESS_KEY_ID)",
    )


class GpuRequest(Spec):
    count: int | None = Field(default=None, ge=1, le=16)
    mig: MigProfile | None = Field(default=None, description="A MIG profile such as 1g.10gb")

    @model_validator(mode="after")
    def _one_form(self) -> GpuRequest:
        if (self.count is None) == (self.mig is None):
            raise ValueError("give exactly one of `count` (whole GPUs) or `mig` (a MIG profile)")
        return self


class Latency(Spec):
    slo: Milliseconds = Field(description="End-to-end latency target")
    inference: Milliseconds = Field(description="Measured inference time on the requested GPU")
    objective: float = Field(
        default=99.0,
        description="Percent of requests that must be served within the SLO; the burn-rate alerts "
        "spend the rest as the error budget (AG601: above 93.06 and below 100)",
        json_schema_extra={"examples": [99.0, 99.9]},
    )
    network: Milliseconds = Field(
        default=0.0,
        description="Budget for the transport beyond the site's measured RTT (queuing, jitter); "
        "counted against the SLO with the RTT and the inference time",
    )


class Placement(Spec):
    sites: list[Name] = Field(default_factory=list)
    tiers: list[Tier] = Field(default_factory=list)
    regions: list[Name] = Field(default_factory=list)
    min_sites: int | None = Field(
        default=None, ge=1, le=64, description="Spread the replicas over at least this many sites"
    )


class DemandSource(Spec):
    """Requests arriving from one region's or one site's radio area."""

    region: Name | None = None
    site: Name | None = None
    rate: float = Field(gt=0, le=1e9, description="Requests per second")

    @model_validator(mode="after")
    def _one_origin(self) -> DemandSource:
        if (self.region is None) == (self.site is None):
            raise ValueError("give exactly one of `region` or `site` for where the requests come from")
        return self


class Demand(Spec):
    """Where a workload's requests come from; the placement sizes its replicas from it."""

    per_replica: float = Field(
        gt=0, le=1e9, description="Requests per second one replica serves within the SLO"
    )
    sources: list[DemandSource] = Field(min_length=1)


class Workload(Spec):
    name: Name
    runtime: Literal["triton", "tensorrt-llm", "custom"]
    image: ImageRef | None = None
    model: ModelRef
    gpu: GpuRequest
    replicas: int = Field(default=1, ge=1, description="Replicas; with `demand`, the least number")
    demand: Demand | None = None
    latency: Latency
    slice: Name
    placement: Placement = Field(default_factory=Placement)
    port: int | None = Field(default=None, ge=1, le=65535, description="Default: the runtime's port")
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _image_for_custom(self) -> Workload:
        if self.runtime == "custom" and not self.image:
            raise ValueError("runtime `custom` needs an `image`")
        return self


class Observability(Spec):
    """Where each site's Prometheus runs and which labels make it pick up aigrid's objects."""

    prometheus_namespace: Name = Field(
        default="monitoring",
        description="The namespace of the site's Prometheus, let through the slices' NetworkPolicy "
        "to scrape the inference servers",
    )
    selector_labels: dict[LabelKey, LabelValue] = Field(
        # kube-prometheus-stack's Prometheus selects only objects labelled release: <its
        # release name> (serviceMonitorSelectorNilUsesHelmValues, ruleSelectorNilUsesHelmValues:
        # true by default); an empty map left aigrid's objects created and ignored.
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="Labels put on aigrid's ServiceMonitors and PrometheusRule so the "
        "Prometheus's serviceMonitorSelector and ruleSelector match them (kube-prometheus-stack: "
        "release: <its release name>; the default is that of a release named "
        "kube-prometheus-stack). {} for a Prometheus that selects every object",
    )
    prometheus_operator: bool = Field(
        default=True,
        description="The sites' clusters run the Prometheus Operator (kube-prometheus-stack), whose "
        "CRDs aigrid's ServiceMonitors and PrometheusRule need; false leaves them out (and the DCGM "
        "exporter's ServiceMonitor), so a site without it deploys",
    )


class Cloud(Spec):
    """The central cloud region the grid is compared with in the report."""

    name: Name
    rtt: Milliseconds = Field(description="Round-trip time from the radio areas to the region")


class Blueprint(Spec):
    api_version: Literal["aigrid.dev/v1alpha1"]
    kind: Literal["Blueprint"]
    metadata: Metadata
    extends: list[str] = Field(default_factory=list, description="Blueprint files this one layers on")
    locks: list[str] = Field(default_factory=list, description="Paths that layers above may not change")
    stack: Stack
    carriers: list[Carrier] = Field(
        default_factory=list, description="Per-carrier stack choices, merged by name across layers"
    )
    slices: list[Slice] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    workloads: list[Workload] = Field(default_factory=list)
    observability: Observability = Field(default_factory=Observability)
    resilience: Literal["none", "n-1"] = Field(
        default="none",
        description="n-1: every workload keeps its SLO and its replicas with any one site down",
    )
    cloud: Cloud | None = None


def site_carrier(bp: Blueprint, site: Site) -> str:
    """The carrier a site belongs to: its own `carrier`, else the blueprint's, else its name."""
    return site.carrier or bp.metadata.carrier or bp.metadata.name


def site_mirrors(bp: Blueprint, site: Site) -> tuple[Mirrors | None, Carrier | None]:
    """The mirrors a site's nodes use, and the carrier entry they come from (None: the grid's)."""
    carrier = next((c for c in bp.carriers if c.name == site_carrier(bp, site)), None)
    if carrier is None or carrier.stack.mirrors is None:
        return bp.stack.mirrors, None
    return carrier.stack.mirrors, carrier


def json_schema() -> dict[str, Any]:
    schema = Blueprint.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://aigrid.dev/schemas/v1alpha1/blueprint.json"
    return schema
