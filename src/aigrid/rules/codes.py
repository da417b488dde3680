"""Every diagnostic code aigrid emits, spelled once: the code, its name and its severity.

Loader errors, model errors, validation rules and node mismatches all name their code
through `Code`; the rule modules attach each code's title, explanation and examples.
Codes never change meaning once released. Groups: AG0xx loading and schema, AG1xx
compatibility, AG2xx network, AG3xx capacity and latency, AG4xx security, AG5xx a node's
observed state against its blueprint, AG6xx observability (the monitoring aigrid generates).
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


E = Severity.ERROR
W = Severity.WARNING


class Code(StrEnum):
    """A diagnostic code; `Code.YAML_SYNTAX == "AG001"`."""

    severity: Severity

    def __new__(cls, code: str, severity: Severity) -> Code:
        member = str.__new__(cls, code)
        member._value_ = code
        member.severity = severity
        return member

    @property
    def rule_name(self) -> str:
        """The rule's stable name in kebab case, e.g. yaml-syntax."""
        return self.name.lower().replace("_", "-")

    YAML_SYNTAX = ("AG001", E)
    DUPLICATE_KEY = ("AG002", E)
    ALIAS_EXPANSION = ("AG003", E)
    UNREADABLE_FILE = ("AG004", E)
    UNSUPPORTED_YAML = ("AG005", E)
    EXTENDS_MISSING = ("AG006", E)
    EXTENDS_CYCLE = ("AG007", E)
    LOCKED_FIELD = ("AG008", E)
    MERGE_DIRECTIVE = ("AG009", E)
    NOT_A_BLUEPRINT = ("AG010", E)
    INVALID_VALUE = ("AG011", E)
    UNKNOWN_FIELD = ("AG012", E)
    MISSING_FIELD = ("AG013", E)
    DUPLICATE_NAME = ("AG014", E)
    UNKNOWN_REFERENCE = ("AG015", E)
    UNKNOWN_GPU_MODEL = ("AG016", E)
    INVALID_SUPPRESSION = ("AG017", E)
    UNUSED_SUPPRESSION = ("AG018", W)
    EXTENDS_OUTSIDE_ROOT = ("AG019", E)
    AMBIGUOUS_SCALAR = ("AG020", E)
    CONFLICTING_PARENTS = ("AG021", W)
    CARRIER_WITHOUT_SITES = ("AG022", E)
    DRIVER_BELOW_CUDA_MINIMUM = ("AG101", E)
    CUDA_MAJOR_ABOVE_DRIVER_BRANCH = ("AG102", E)
    CUDA_MAJOR_BELOW_DRIVER_BRANCH = ("AG103", W)
    TENSORRT_CUDA_MISMATCH = ("AG104", E)
    GPU_ARCHITECTURE_DROPPED = ("AG105", E)
    MIG_UNKNOWN_PROFILE = ("AG106", E)
    MIG_LAYOUT_DOES_NOT_FIT = ("AG107", E)
    MIG_ON_NON_MIG_GPU = ("AG108", E)
    MIG_MIXED_NEEDS_MIXED_STRATEGY = ("AG109", E)
    KUBERNETES_OUTSIDE_OPERATOR_RANGE = ("AG110", E)
    OPEN_KERNEL_MODULES_REQUIRED = ("AG111", E)
    DRIVER_BELOW_GPU_MINIMUM = ("AG112", E)
    VERSION_NOT_IN_CATALOG = ("AG113", W)
    TOO_MANY_GPUS_PER_NODE = ("AG114", E)
    KUBERNETES_DISTRIBUTION_NOT_INSTALLED = ("AG115", E)
    CONTAINERD_NOT_INSTALLABLE = ("AG116", E)
    GPU_OPERATOR_DRIVER_UNSUPPORTED_OS = ("AG117", E)
    NO_ARM_REPOSITORY = ("AG118", E)
    MODEL_REPOSITORY_UNREADABLE = ("AG119", E)
    CNI_RELEASE_UNAVAILABLE = ("AG120", E)
    CONTAINER_TOOLKIT_TOO_OLD = ("AG121", E)
    REGISTRY_LOGIN_UNSUPPORTED = ("AG122", E)
    CUDA_PATCH_OTHER_MINOR = ("AG123", E)
    PROPRIETARY_MODULES_REMOVED = ("AG124", E)
    CIDR_OVERLAP = ("AG201", E)
    VLAN_OUT_OF_RANGE = ("AG202", E)
    VLAN_REUSED_IN_SITE = ("AG203", E)
    INVALID_SST = ("AG204", E)
    INVALID_SD = ("AG205", E)
    UNKNOWN_5QI = ("AG206", E)
    GUARANTEED_ABOVE_MAXIMUM = ("AG207", E)
    GBR_WITHOUT_GUARANTEED_BITRATE = ("AG208", W)
    DUPLICATE_ADDRESS = ("AG209", E)
    DSCP_OUT_OF_RANGE = ("AG210", E)
    DUPLICATE_SNSSAI = ("AG211", E)
    RESERVED_SD = ("AG212", E)
    ZERO_MAXIMUM_BITRATE = ("AG213", E)
    SLICE_NETWORK_TOO_SMALL = ("AG214", E)
    SLICE_NETWORK_CONTAINS_NODE = ("AG215", E)
    UNUSABLE_NODE_ADDRESS = ("AG216", E)
    DEFAULT_ROUTE_SLICE_NETWORK = ("AG217", E)
    SLICE_INTERFACE_MISSING = ("AG218", E)
    CLUSTER_RANGE_OVERLAP = ("AG219", E)
    CLUSTER_RANGE_FAMILY = ("AG220", E)
    CLUSTER_RANGE_SIZE = ("AG221", E)
    NO_CONTROL_PLANE_ENDPOINT = ("AG222", E)
    SLICE_ROUTE_GATEWAY = ("AG223", E)
    SLICE_ROUTE_DESTINATION = ("AG224", E)
    LATENCY_SLO_UNREACHABLE = ("AG301", E)
    PDB_EXCEEDS_SLO = ("AG302", W)
    GPU_CAPACITY_EXCEEDED = ("AG303", E)
    MIG_CAPACITY_EXCEEDED = ("AG304", E)
    NO_ELIGIBLE_SITE = ("AG305", E)
    SITE_GPUS_OVERSUBSCRIBED = ("AG306", E)
    NO_CONTROL_PLANE = ("AG307", E)
    EVEN_CONTROL_PLANE_COUNT = ("AG308", W)
    SLO_CAPACITY_EXCEEDED = ("AG309", E)
    SPREAD_UNREACHABLE = ("AG310", E)
    DEMAND_UNSERVABLE = ("AG311", E)
    SITE_LOSS_UNSURVIVABLE = ("AG312", E)
    PLACEMENT_NOT_PROVEN = ("AG313", W)
    PLAINTEXT_SECRET = ("AG401", E)
    INSECURE_MIRROR = ("AG402", W)
    CREDENTIALS_OVER_HTTP = ("AG403", E)
    NODE_GPU_MODEL = ("AG501", E)
    NODE_GPU_COUNT = ("AG502", E)
    NODE_GPU_MEMORY = ("AG503", E)
    NODE_DRIVER_BELOW_PIN = ("AG504", E)
    NODE_DRIVER_BELOW_CUDA_MINIMUM = ("AG505", E)
    NODE_KERNEL_MODULES = ("AG506", E)
    NODE_MIG_MODE = ("AG507", E)
    NODE_MIG_PROFILES = ("AG508", E)
    NODE_DRIVER_ABOVE_PIN = ("AG509", W)
    NODE_UNDECLARED_GPUS = ("AG510", E)
    NODE_PACKAGE_VERSION = ("AG511", E)
    NODE_PACKAGE_NOT_HELD = ("AG512", W)
    NODE_CONTAINERD_CONFIG = ("AG513", E)
    NODE_LABELS = ("AG514", E)
    NODE_SLICE_ADDRESS = ("AG515", E)
    NODE_SLICE_SHAPING = ("AG516", E)
    NODE_SLICE_MARKING = ("AG517", E)
    SLO_OBJECTIVE_OUT_OF_RANGE = ("AG601", E)


GROUPS = {
    "AG0": "schema",
    "AG1": "compatibility",
    "AG2": "network",
    "AG3": "capacity-latency",
    "AG4": "security",
    "AG5": "node",
    "AG6": "observability",
}


def code(text: str) -> Code | None:
    """The Code for a user-supplied string such as ag402, or None."""
    return _BY_VALUE.get(text.upper())


_BY_VALUE = {member.value: member for member in Code}
