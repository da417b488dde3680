"""The grammars every free-text value of a blueprint must pass.

Every value a blueprint gives ends up in a config file, a manifest or a command run as
root on a GPU server. Each text field is one of the types below, so nothing reaches a
renderer that could break out of its place: a newline in an apt mirror URL that adds
`Trusted: yes`, a quote in a node label, a `..` in a path, credentials in a URL. The
messages say what form is expected; the diagnostic adds the field's path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from ipaddress import IPv6Address, ip_address
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from aigrid.load.nodes import RawFloat, RawInt

SECRET_SCHEMES = ("secret://", "env://", "vault://")
"""Secret references: resolved at bring-up, never written into the blueprint."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
_HOSTNAME_ANY_CASE = re.compile(rf"^{_HOST_LABEL}(\.{_HOST_LABEL})*$")
_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_SECRET_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
_ENV_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@$+-]{1,256}$")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_MODEL_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_GPU_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,61}[A-Za-z0-9]$")
# A Linux interface name (dev_valid_name: at most IFNAMSIZ-1 = 15 bytes, no '/', ':' or
# whitespace, not '.' or '..'), narrowed to what udev and the installers name NICs, bonds and
# bridges (eno1, ens1f0, enp65s0f1, bond0, br-slices): it becomes a netplan key, a
# systemd-networkd file name and an argument of tc and ip.
_INTERFACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
# Debian policy 5.6.1 (Package) and 5.6.12 (Version: [epoch:]upstream[-revision]).
_DEB_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]{1,127}$")
_DEB_VERSION = re.compile(r"^([0-9]{1,9}:)?[0-9][A-Za-z0-9.+~]{0,63}(-[A-Za-z0-9.+~]{1,32})?$")
_MIG_PROFILE = re.compile(r"^[1-9][0-9]?g\.[1-9][0-9]{0,3}gb([+-][a-z]+(\.[a-z]+)*)?$")
# OCI distribution reference grammar (distribution/reference, regexp.go), without the
# IPv6 registry form.
_REGISTRY_HOST = rf"{_HOST_LABEL}(\.{_HOST_LABEL})*(:[0-9]{{1,5}})?"
_PATH_COMPONENT = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
_REGISTRY = re.compile(rf"^(?P<host>{_REGISTRY_HOST})(/{_PATH_COMPONENT})*$")
_IMAGE = re.compile(
    rf"^((?P<host>{_REGISTRY_HOST})/)?(?P<path>{_PATH_COMPONENT}(/{_PATH_COMPONENT})*)"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?$"
)
# Labels a kubelet may set on its own node (kubelet --node-labels): the kubernetes.io and
# k8s.io namespaces are the control plane's, except these.
_KUBELET_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
_KUBELET_KEYS = frozenset(
    {
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "beta.kubernetes.io/os",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "kubernetes.io/arch",
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "node.kubernetes.io/instance-type",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    }
)
_RESERVED_NAMESPACES = ("kubernetes.io", "k8s.io")
AIGRID_NAMESPACE = "aigrid.dev"
AIGRID_ENV_PREFIX = "AIGRID_"


def _control_characters(value: str, allowed: str = "") -> bool:
    return any((ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) and c not in allowed for c in value)


def _in_namespace(prefix: str, namespaces: Iterable[str]) -> bool:
    return any(prefix == ns or prefix.endswith("." + ns) for ns in namespaces)


def dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def hostname(value: str) -> str:
    # 63 in all: Linux HOST_NAME_MAX is 64, and the kubelet copies the name into the
    # kubernetes.io/hostname label, whose values are at most 63 characters.
    if len(value) > 63 or not _HOSTNAME.fullmatch(value):
        raise ValueError(
            "expected a lower-case RFC 1123 host name or FQDN (letters, digits, '-' and '.'; "
            "each label starting and ending with a letter or digit), at most 63 characters"
        )
    return value


def label_key(value: str) -> str:
    prefix, slash, name = value.rpartition("/")
    if slash and (len(prefix) > 253 or not _HOSTNAME.fullmatch(prefix)):
        raise ValueError(
            f"label key prefix {prefix!r} is not a DNS subdomain (lower-case, dot-separated, at most 253)"
        )
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            "expected a label key `[prefix/]name`: the name at most 63 characters of letters, digits, "
            "'-', '_' and '.', starting and ending with a letter or digit"
        )
    return value


def label_value(value: str) -> str:
    if value and not _LABEL_NAME.fullmatch(value):
        raise ValueError(
            "expected a label value: empty, or at most 63 letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return value


def node_label_key(value: str) -> str:
    """A label key a node may set on itself through the kubelet."""
    label_key(value)
    prefix = value.rpartition("/")[0]
    if _in_namespace(prefix, (AIGRID_NAMESPACE,)):
        raise ValueError(f"{AIGRID_NAMESPACE}/ labels are set by aigrid itself; use your own prefix")
    if (
        _in_namespace(prefix, _RESERVED_NAMESPACES)
        and value not in _KUBELET_KEYS
        and not _in_namespace(prefix, _KUBELET_NAMESPACES)
    ):
        raise ValueError(
            "a node may not label itself in the kubernetes.io or k8s.io namespaces (kubelet "
            "--node-labels); allowed there: node.kubernetes.io/*, kubelet.kubernetes.io/* and "
            "the well-known keys such as topology.kubernetes.io/zone"
        )
    return value


def _host(host: str) -> bool:
    try:
        ip_address(host)
        return True
    except ValueError:
        return len(host) <= 253 and bool(_HOSTNAME_ANY_CASE.fullmatch(host))


def url(*schemes: str) -> Callable[[str], str]:
    """A check for a URL with one of `schemes`, a host, no credentials, no whitespace or quotes."""
    expected = " or ".join(f"{s}://" for s in schemes)

    def check(value: str) -> str:
        if _control_characters(value) or any(c in " \"'`<>\\{}|^" or ord(c) > 0x7E for c in value):
            raise ValueError("a URL may not contain whitespace, quotes, control or non-ASCII characters")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ValueError("not a URL with a valid host and port") from None
        if parts.scheme not in schemes:
            raise ValueError(f"expected a URL starting with {expected}")
        if "@" in parts.netloc:
            raise ValueError(
                "the URL embeds credentials (user:password@); put them in stack.mirrors.credentials "
                "as secret references"
            )
        if not parts.hostname or not _host(parts.hostname) or port == 0:
            raise ValueError(f"expected {expected}<host>[:port]/path with a valid host name or address")
        if parts.fragment or value.endswith("#"):
            raise ValueError("a URL here may not have a #fragment")
        return value

    return check


MODEL_REPOSITORY_SCHEMES = ("s3", "gs", "as", "https", "pvc")
"""Where a model repository may live: object stores (S3, Google Cloud Storage, Azure
Storage), HTTPS for custom images, and pvc://<claim>/<path> for a PersistentVolumeClaim."""
_check_model_url = url(*MODEL_REPOSITORY_SCHEMES)


def model_repository(value: str) -> str:
    _check_model_url(value)
    parts = urlsplit(value)
    if ".." in parts.path.split("/") or parts.query:
        raise ValueError("a model repository path may not contain '..' segments or a ?query")
    if parts.scheme == "pvc" and (parts.port is not None or not _DNS_SUBDOMAIN.fullmatch(parts.netloc)):
        raise ValueError(
            "expected pvc://<claim>/<path>, the claim a lower-case Kubernetes name "
            "(letters, digits, '-', '.')"
        )
    return value


def registry(value: str) -> str:
    match = _REGISTRY.fullmatch(value)
    if len(value) > 255 or not match or not _valid_port(match.group("host")):
        raise ValueError(
            "expected a registry as host[:port][/path] (no scheme, no credentials), "
            "e.g. registry.example.net:5000/mirror"
        )
    return value


def api_endpoint(value: str) -> str:
    """host[:port] of a cluster's API: a DNS name, an IPv4 address or a [bracketed] IPv6 one."""
    host, port = value, ""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest and not rest.startswith(":"):
            host = ""
        port = rest[1:]
        try:
            IPv6Address(host)
        except ValueError:
            host = ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    valid_port = not port or (port.isdigit() and 0 < int(port) <= 65535)
    if not host or not valid_port or not (_HOSTNAME.fullmatch(host) or value.startswith("[")):
        raise ValueError(
            "expected the API endpoint as host[:port]: a DNS name or address reachable by every "
            "node, IPv6 in brackets, e.g. k8s-api.site.example.net:6443 or [2001:db8::10]:6443"
        )
    return value


def image(value: str) -> str:
    match = _IMAGE.fullmatch(value)
    if len(value) > 512 or not match or not _valid_port(match.group("host") or ""):
        raise ValueError(
            "expected an OCI image reference [registry[:port]/]path[:tag][@digest] with a lower-case "
            "path, e.g. registry.example.net/ai/detector:2.4.1"
        )
    return value


def _valid_port(host: str) -> bool:
    _, colon, port = host.partition(":")
    return not colon or 0 < int(port) <= 65535


def env_name(value: str) -> str:
    if len(value) > 256 or not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "expected an environment variable name: a letter or '_', then letters, digits, '_', '.' "
            "or '-' (no '=' or spaces)"
        )
    if value.upper().startswith(AIGRID_ENV_PREFIX):
        raise ValueError(f"{AIGRID_ENV_PREFIX}* variables are set by aigrid itself; rename it")
    return value


def env_value(value: str) -> str:
    if len(value) > 32768 or _control_characters(value, allowed="\t\n"):
        raise ValueError("an environment value may not contain control characters other than tab and newline")
    return _reference(value)


def secret_text(value: str) -> str:
    """A secret reference (rule plaintext-secret insists on one) or, for that rule to
    report, a literal."""
    if len(value) > 4096 or _control_characters(value):
        raise ValueError("may not contain control characters (newlines included)")
    return _reference(value)


def _reference(value: str) -> str:
    """A value in a secret scheme must name a well-formed target."""
    for scheme in SECRET_SCHEMES:
        if value.startswith(scheme):
            target = value.removeprefix(scheme)
            grammar = _ENV_REFERENCE if scheme == "env://" else _SECRET_PATH
            if not grammar.fullmatch(target) or ".." in target.split("/"):
                form = "a variable name" if scheme == "env://" else "a path of letters, digits, '_', '.', '-'"
                raise ValueError(f"{scheme} must be followed by {form}")
    return value


def text(value: str) -> str:
    if len(value) > 1024 or _control_characters(value):
        raise ValueError("expected one line of text (no control characters), at most 1024 characters")
    return value


def username(value: str) -> str:
    if not _USERNAME.fullmatch(value):
        raise ValueError("expected a user name of letters, digits and . _ @ $ + - (no spaces or ':')")
    return value


def model_name(value: str) -> str:
    if len(value) > 256 or not _MODEL_NAME.fullmatch(value):
        raise ValueError(
            "expected a model name of letters, digits, '.', '_' and '-', optionally in '/'-separated "
            "parts each starting with a letter or digit"
        )
    return value


def model_version(value: str) -> str:
    if not _MODEL_VERSION.fullmatch(value):
        raise ValueError("expected a model version such as 3 or 2024.1 (letters, digits, '.', '_', '-')")
    return value


def gpu_model(value: str) -> str:
    # Also the value of the node label aigrid.dev/gpu-model.
    if not _GPU_MODEL.fullmatch(value):
        raise ValueError("expected a catalog GPU model such as H100-SXM-80GB (see `aigrid catalog`)")
    return value


def interface_name(value: str) -> str:
    if not _INTERFACE.fullmatch(value):
        raise ValueError(
            "expected a Linux network interface name such as eno1, ens1f0 or bond0: 1-15 letters, "
            "digits, '_', '.' and '-', starting with a letter or digit"
        )
    return value


def deb_package(value: str) -> str:
    if not _DEB_PACKAGE.fullmatch(value):
        raise ValueError(
            "expected a Debian package name such as libcublas-13-0: lower-case letters, digits, "
            "'+', '-' and '.', starting with a letter or digit"
        )
    return value


def deb_version(value: str) -> str:
    if not _DEB_VERSION.fullmatch(value):
        raise ValueError(
            "expected a Debian package version such as 13.1.1.3 or 13.1.1.3-1 ([epoch:]upstream[-revision])"
        )
    return value


def _as_written(value: Any) -> Any:
    # 13.1 as written, not the float YAML reads.
    return value.raw if isinstance(value, RawInt | RawFloat) else value


def mig_profile(value: str) -> str:
    if not _MIG_PROFILE.fullmatch(value):
        raise ValueError("expected a MIG profile such as 1g.10gb or 1g.10gb+me")
    return value


def mig_layout(value: str) -> str:
    # Becomes the node label nvidia.com/mig.config, read by the MIG manager.
    if not _LABEL_NAME.fullmatch(value):
        raise ValueError(
            "expected a MIG layout name such as all-balanced or all-1g.10gb, usable as a node label "
            "value (letters, digits, '-', '_', '.', at most 63)"
        )
    return value


def _raw_int(value: Any) -> Any:
    return value.raw if isinstance(value, RawInt) else value


def _url_schema(*schemes: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "format": "uri", "pattern": f"^({'|'.join(schemes)})://"})


Name = Annotated[
    str,
    AfterValidator(dns_label),
    WithJsonSchema({"type": "string", "pattern": _DNS_LABEL.pattern, "maxLength": 63}),
]
"""A DNS-1123 label: names of sites, slices, workloads, regions and carriers."""
Hostname = Annotated[
    str,
    AfterValidator(hostname),
    WithJsonSchema({"type": "string", "pattern": _HOSTNAME.pattern, "maxLength": 63}),
]
LabelKey = Annotated[str, AfterValidator(label_key), WithJsonSchema({"type": "string", "maxLength": 317})]
LabelValue = Annotated[
    str,
    AfterValidator(label_value),
    WithJsonSchema({"type": "string", "pattern": f"^({_LABEL_NAME.pattern[1:-1]})?$", "maxLength": 63}),
]
NodeLabelKey = Annotated[
    str, AfterValidator(node_label_key), WithJsonSchema({"type": "string", "maxLength": 317})
]
AptUrl = Annotated[str, AfterValidator(url("https", "http")), _url_schema("https", "http")]
"""apt, Helm and pip mirrors: HTTPS, or HTTP (warned by AG402)."""
ModelRepositoryUrl = Annotated[str, AfterValidator(model_repository), _url_schema(*MODEL_REPOSITORY_SCHEMES)]
Registry = Annotated[
    str,
    AfterValidator(registry),
    WithJsonSchema({"type": "string", "examples": ["registry.example.net:5000/mirror"]}),
]
ApiEndpoint = Annotated[
    str,
    AfterValidator(api_endpoint),
    WithJsonSchema({"type": "string", "examples": ["k8s-api.nyc.example.net:6443", "[2001:db8::10]:6443"]}),
]
ImageRef = Annotated[
    str,
    AfterValidator(image),
    WithJsonSchema({"type": "string", "examples": ["registry.example.net/ai/detector:2.4.1"]}),
]
EnvName = Annotated[
    str, AfterValidator(env_name), WithJsonSchema({"type": "string", "pattern": _ENV_NAME.pattern})
]
EnvValue = Annotated[str, AfterValidator(env_value), WithJsonSchema({"type": "string", "maxLength": 32768})]
SecretText = Annotated[
    str,
    AfterValidator(secret_text),
    WithJsonSchema({"type": "string", "examples": ["secret://team/api-token", "env://API_TOKEN"]}),
]
Text = Annotated[str, AfterValidator(text), WithJsonSchema({"type": "string", "maxLength": 1024})]
Username = Annotated[
    str, AfterValidator(username), WithJsonSchema({"type": "string", "pattern": _USERNAME.pattern})
]
ModelName = Annotated[
    str, AfterValidator(model_name), WithJsonSchema({"type": "string", "pattern": _MODEL_NAME.pattern})
]
ModelVersion = Annotated[
    str,
    BeforeValidator(_raw_int),
    AfterValidator(model_version),
    WithJsonSchema({"type": "string", "pattern": _MODEL_VERSION.pattern}),
]
GpuModelName = Annotated[
    str, AfterValidator(gpu_model), WithJsonSchema({"type": "string", "pattern": _GPU_MODEL.pattern})
]
DebPackage = Annotated[
    str,
    AfterValidator(deb_package),
    WithJsonSchema({"type": "string", "pattern": _DEB_PACKAGE.pattern, "examples": ["libcublas-13-0"]}),
]
DebVersion = Annotated[
    str,
    BeforeValidator(_as_written),
    AfterValidator(deb_version),
    WithJsonSchema({"type": ["string", "number"], "pattern": _DEB_VERSION.pattern, "examples": ["13.1.1.3"]}),
]
InterfaceName = Annotated[
    str,
    AfterValidator(interface_name),
    WithJsonSchema({"type": "string", "pattern": _INTERFACE.pattern, "examples": ["bond0", "eno1"]}),
]
"""A network interface of a node: the parent of its slice VLANs."""
MigProfile = Annotated[
    str, AfterValidator(mig_profile), WithJsonSchema({"type": "string", "pattern": _MIG_PROFILE.pattern})
]
MigLayoutName = Annotated[
    str, AfterValidator(mig_layout), WithJsonSchema({"type": "string", "pattern": _LABEL_NAME.pattern})
]
