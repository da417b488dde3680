"""The pod of a workload at one site: its container, the GPU it requests, the nodes it may run
on, its model repository, probes and security context. k8s_objects wraps it in a Deployment.
"""

from __future__ import annotations

import math
import re
from typing import Any

from aigrid.model.grammar import SECRET_SCHEMES
from aigrid.plan import (
    GPU_MODEL_LABEL,
    MIG_CONFIG_LABEL,
    MODEL_MOUNT_PATH,
    SITE_LABEL,
    Plan,
    SitePlan,
    WorkloadPlan,
    can_hold,
)
from aigrid.render.cluster import GPU_TAINT

# The GPU workers' taint (render/cluster.py gives it to them), which GPU pods tolerate.
GPU_TAINT_KEY = GPU_TAINT["key"]
# What the NVIDIA device plugin advertises (k8s-device-plugin README, "MIG support"): whole
# GPUs, and under the `single` strategy MIG devices too, as nvidia.com/gpu; under `mixed`
# each MIG profile as nvidia.com/mig-<profile>, a `+` in the profile name (media extensions,
# 1g.10gb+me) written as `.` (nvidia.com/mig-1g.10gb.me), `+` not being allowed in a
# resource name (shared/reference/nvidia-compat.md J).
WHOLE_GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE = "nvidia.com/mig-{profile}"
# Host CPU and memory per replica: enough for a server feeding one GPU or MIG device, not
# sized per model (an aigrid default; the blueprint has no field for it yet).
CPU_REQUEST, CPU_LIMIT = "2", "8"
MEMORY_REQUEST, MEMORY_LIMIT = "8Gi", "32Gi"
PROBE_PERIOD_SECONDS = 10
READINESS_PERIOD_SECONDS = 5
SHM_VOLUME = "dshm"
MODEL_VOLUME = "model-repository"
CREDENTIALS_VOLUME = "model-credentials"
CREDENTIALS_MOUNT_PATH = "/var/run/secrets/aigrid/model-store"


def gpu_resource(plan: Plan, workload: WorkloadPlan) -> tuple[str, int]:
    """The extended resource and amount one replica requests."""
    if workload.mig_profile is None:
        return WHOLE_GPU_RESOURCE, workload.gpu_count or 1
    if plan.stack.gpu_operator.mig_strategy == "mixed":
        return MIG_RESOURCE.format(profile=workload.mig_profile.replace("+", ".")), 1
    return WHOLE_GPU_RESOURCE, 1


def node_affinity(site: SitePlan, workload: WorkloadPlan) -> dict[str, Any]:
    """The nodes of `site` that can hold a replica, by the labels aigrid gives them.

    A MIG workload goes to nodes whose MIG configuration offers its profile (per
    configuration, the GPU models that have it); a whole-GPU workload to nodes of a GPU model
    with enough GPUs that are not partitioned into MIG devices. GFD's nvidia.com/gpu.product
    is not used: the `single` strategy rewrites it to <product>-MIG-<profile>.
    """
    mig_configs = sorted({node.mig_config for node in site.nodes if node.mig_config})
    models: dict[str | None, set[str]] = {}
    for node in site.nodes:
        if node.gpu_model is not None and can_hold(node, workload):
            models.setdefault(node.mig_config if workload.mig_profile else None, set()).add(node.gpu_model)
    assert models, f"placement put {workload.name} on {site.name}, where no node can hold it"
    terms = []
    for config in sorted(models, key=lambda c: c or ""):
        expressions: list[dict[str, Any]] = [
            {"key": GPU_MODEL_LABEL, "operator": "In", "values": sorted(models[config])}
        ]
        if config is not None:
            expressions.append({"key": MIG_CONFIG_LABEL, "operator": "In", "values": [config]})
        elif mig_configs:
            expressions.append({"key": MIG_CONFIG_LABEL, "operator": "NotIn", "values": mig_configs})
        terms.append({"matchExpressions": expressions})
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def _object_name(parts: list[str]) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:253].strip("-")
    return name or "aigrid"


def _reference_parts(reference: str) -> list[str] | None:
    for scheme in SECRET_SCHEMES:
        if reference.startswith(scheme):
            return reference.removeprefix(scheme).strip("/").split("/")
    return None


def secret_key_ref(reference: str) -> dict[str, str] | None:
    """secret://northwind/huggingface/token -> Secret northwind-huggingface, key token.

    The Secret lives in the workload's namespace, put there by the carrier's secret store
    (for example External Secrets); the reference never carries the value itself.
    """
    parts = _reference_parts(reference)
    if parts is None:
        return None
    *path, key = parts
    return {"name": _object_name(path), "key": key}


def secret_name(reference: str) -> str:
    """secret://northwind/model-store -> the Secret northwind-model-store (the whole Secret)."""
    parts = _reference_parts(reference)
    assert parts is not None, "model.credentials is a secret reference (AG401)"
    return _object_name(parts)


def _env_var(name: str, value: str) -> dict[str, Any]:
    ref = secret_key_ref(value)
    if ref is None:
        return {"name": name, "value": value}
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


Items = list[dict[str, Any]]


def _model_store(workload: WorkloadPlan) -> tuple[Items, Items, Items]:
    """(env, volumes, volume mounts) that reach the model repository."""
    source = workload.model_source
    if source is None:
        return [], [], []
    env: Items = [{"name": "AIGRID_MODEL_REPOSITORY", "value": source.location}]
    volumes: Items = []
    mounts: Items = []
    if source.claim is not None:
        volumes.append(
            {"name": MODEL_VOLUME, "persistentVolumeClaim": {"claimName": source.claim, "readOnly": True}}
        )
        mount: dict[str, Any] = {"name": MODEL_VOLUME, "mountPath": MODEL_MOUNT_PATH, "readOnly": True}
        if source.sub_path:
            mount["subPath"] = source.sub_path
        mounts.append(mount)
    if source.credentials is None:
        return env, volumes, mounts
    secret = secret_name(source.credentials)
    for name, optional in source.env.items():
        # The blueprint's own env wins: a carrier may point one variable elsewhere.
        if name in workload.env:
            continue
        ref: dict[str, Any] = {"name": secret, "key": name}
        if optional:
            ref["optional"] = True
        env.append({"name": name, "valueFrom": {"secretKeyRef": ref}})
    if source.credentials_file_env and source.credentials_file_key:
        key = source.credentials_file_key
        items = [{"key": key, "path": key}]
        volumes.append({"name": CREDENTIALS_VOLUME, "secret": {"secretName": secret, "items": items}})
        mounts.append({"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_MOUNT_PATH, "readOnly": True})
        if source.credentials_file_env not in workload.env:
            env.append({"name": source.credentials_file_env, "value": f"{CREDENTIALS_MOUNT_PATH}/{key}"})
    return env, volumes, mounts


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "failureThreshold": failures}


def pod_spec(plan: Plan, site: SitePlan, workload: WorkloadPlan) -> dict[str, Any]:
    resource, amount = gpu_resource(plan, workload)
    store_env, volumes, mounts = _model_store(workload)
    if workload.shm_size:
        shm = {"medium": "Memory", "sizeLimit": workload.shm_size}
        volumes.insert(0, {"name": SHM_VOLUME, "emptyDir": shm})
        mounts.insert(0, {"name": SHM_VOLUME, "mountPath": "/dev/shm"})
    user = workload.run_as_user
    container: dict[str, Any] = {
        "name": workload.name,
        "image": plan.image_at(site, workload),
        "ports": [
            {"name": "http", "containerPort": workload.port},
            *([{"name": "metrics", "containerPort": workload.metrics_port}] if workload.metrics_port else []),
        ],
        # The blueprint's own variables first; aigrid's come last (no blueprint variable may
        # start with AIGRID_, so they cannot be overridden).
        "env": [
            *(_env_var(name, value) for name, value in sorted(workload.env.items())),
            *store_env,
            {"name": "AIGRID_MODEL", "value": workload.model.name},
            {"name": "AIGRID_MODEL_VERSION", "value": workload.model.version},
        ],
        "resources": {
            "requests": {"cpu": CPU_REQUEST, "memory": MEMORY_REQUEST, resource: str(amount)},
            "limits": {"cpu": CPU_LIMIT, "memory": MEMORY_LIMIT, resource: str(amount)},
        },
        # Liveness waits for the startup probe, so a server still loading its models is not
        # restarted; readiness takes it out of the Service whenever it cannot serve.
        "startupProbe": _probe(
            workload.live_path,
            PROBE_PERIOD_SECONDS,
            math.ceil(workload.startup_seconds / PROBE_PERIOD_SECONDS),
        ),
        "livenessProbe": _probe(workload.live_path, PROBE_PERIOD_SECONDS, 3),
        "readinessProbe": _probe(workload.ready_path, READINESS_PERIOD_SECONDS, 3),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": user,
            "runAsGroup": user,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if workload.args:
        container["args"] = list(workload.args)
    if mounts:
        container["volumeMounts"] = mounts
    spec: dict[str, Any] = {
        "priorityClassName": f"slice-{workload.slice}",
        "nodeSelector": {SITE_LABEL: site.name},
        "affinity": node_affinity(site, workload),
        "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": {"runAsNonRoot": True, "fsGroup": user},
        "containers": [container],
    }
    if volumes:
        spec["volumes"] = volumes
    return spec
