"""Policies as code for the Pulumi stacks (pulumi_policy): what every GPU workload and every
Kubernetes resource must satisfy. The policy pack in stacks/policy/ uses these objects; the
tests run them against every mocked resource.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

KUBERNETES_PREFIX = "kubernetes:"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _pod_spec(props: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = props.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def _gpu_containers(props: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for container in _pod_spec(props).get("containers", []):
        resources = container.get("resources", {})
        wanted = {**resources.get("requests", {}), **resources.get("limits", {})}
        if any(name.startswith("nvidia.com/") for name in wanted):
            yield container


def _is_gpu_workload(args: ResourceValidationArgs) -> bool:
    return args.resource_type == DEPLOYMENT and any(True for _ in _gpu_containers(args.props))


def _gpu_limits(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != DEPLOYMENT:
        return
    for container in _gpu_containers(args.props):
        resources = container.get("resources", {})
        limits, requests = resources.get("limits", {}), resources.get("requests", {})
        missing = [n for n in ("cpu", "memory") if n not in limits]
        missing += [n for n in requests if n.startswith("nvidia.com/") and limits.get(n) != requests[n]]
        if missing:
            report_violation(
                f"container {container.get('name')} has no limit (or a limit unlike its request) for "
                f"{', '.join(missing)}",
                None,
            )


def _non_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not _is_gpu_workload(args):
        return
    pod = _pod_spec(args.props)
    pod_non_root = pod.get("securityContext", {}).get("runAsNonRoot") is True
    for container in pod.get("containers", []):
        context = container.get("securityContext", {})
        if context.get("runAsNonRoot", pod_non_root) is not True or context.get(
            "allowPrivilegeEscalation", True
        ):
            report_violation(
                f"container {container.get('name')} may run as root or escalate privileges", None
            )


def _priority_class(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if _is_gpu_workload(args) and not _pod_spec(args.props).get("priorityClassName"):
        report_violation("GPU workload without a PriorityClass (its slice's 5QI priority)", None)


def _slice_namespace(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not _is_gpu_workload(args):
        return
    namespace = args.props.get("metadata", {}).get("namespace", "")
    if not str(namespace).startswith("slice-"):
        report_violation(f"GPU workload in namespace {namespace or 'default'!r}, not a slice namespace", None)


def _explicit_provider(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if not args.resource_type.startswith(KUBERNETES_PREFIX) or args.resource_type.startswith(
        "pulumi:providers:"
    ):
        return
    provider = args.provider
    if provider is None or provider.name.startswith("default"):
        report_violation(
            "uses the default Kubernetes provider (the ambient kubeconfig); give it the site's", None
        )


POLICIES = [
    ResourceValidationPolicy(
        name="gpu-workload-limits",
        description="GPU workloads set CPU, memory and GPU limits",
        validate=_gpu_limits,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="gpu-workload-non-root",
        description="GPU workloads run as non-root",
        validate=_non_root,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="gpu-workload-priority-class",
        description="GPU workloads carry their slice's PriorityClass",
        validate=_priority_class,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="gpu-workload-slice-namespace",
        description="GPU workloads live in a slice namespace",
        validate=_slice_namespace,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="explicit-kubernetes-provider",
        description="No Kubernetes resource uses a default provider",
        validate=_explicit_provider,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
