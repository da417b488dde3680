"""The cluster layer of one site as Kubernetes objects: the single builder behind both the
GitOps manifests and the Pulumi stack, so the two can never disagree.

Per site: a system namespace and one namespace per slice; the GPU Operator (a Flux
HelmRelease in manifests, a helm Release in Pulumi, same chart version and values) with a
mig-parted config built from the nodes' MIG layouts (per GPU model, by PCI id); per slice a Multus
NetworkAttachmentDefinition on the slice's VLAN, a ResourceQuota on GPUs and MIG devices, a
PriorityClass ordered by the 5QI priority and a NetworkPolicy; per workload placed on the
site a Deployment, a Service and a PodDisruptionBudget. Monitoring (Prometheus Operator custom
resources, whose CRDs the cluster must have): the DCGM exporter's counters and ServiceMonitor
through the operator's values, a ServiceMonitor for the inference servers' metrics, the site's
PrometheusRule and the grid's Grafana dashboard (aigrid.monitoring).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
    ip_network,
)
from typing import Any

import yaml

from aigrid.monitoring import dcgm
from aigrid.monitoring.alerts import rule_groups
from aigrid.monitoring.dashboard import dashboard
from aigrid.plan import FIRST_NODE_HOST, Plan, SitePlan, SlicePlan, WorkloadPlan, per_plan
from aigrid.render.disruption_budget import MAX_UNAVAILABLE, pod_disruption_budget
from aigrid.render.workload_pod import GPU_TAINT_KEY, gpu_resource, pod_spec

SYSTEM_NAMESPACE = "aigrid-system"
# NVIDIA's PCI vendor id (PCI ID Repository, vendor 10de).
NVIDIA_PCI_VENDOR = "10DE"
OPERATOR_NAMESPACE = "gpu-operator"
MIG_CONFIG_NAME = "aigrid-mig-parted-config"
# The Secret (in the operator's namespace) with the Helm mirror's `username` and `password`,
# which Flux's HelmRepository reads (`spec.secretRef`); the operator creates it, never aigrid.
HELM_MIRROR_SECRET = "aigrid-helm-mirror"
DCGM_METRICS_NAME = "aigrid-dcgm-metrics"
# Scrape interval of aigrid's ServiceMonitors: DCGM samples every 30 s by default
# (dcgm-exporter -c 30000), Triton's per-request metrics change on every request.
SCRAPE_INTERVAL = "15s"
# Services whose pods serve Prometheus metrics carry this label; the ServiceMonitor selects it.
METRICS_LABEL = "aigrid.dev/metrics"
# The Grafana sidecar loads ConfigMaps with this label as dashboards (grafana/helm-charts
# charts/grafana values.yaml, sidecar.dashboards.label, as kube-prometheus-stack sets it).
DASHBOARD_LABEL = "grafana_dashboard"
# PriorityClass values: 5QI priority 1 is the most important; Kubernetes wants higher values
# for more important pods (and reserves values above one billion for the system).
PRIORITY_BASE = 1_000_000
PRIORITY_STEP = 1_000


@dataclass(frozen=True)
class K8sObject:
    """One Kubernetes object; `body` is the full manifest.

    `helm` marks the GPU Operator release (Pulumi installs the chart itself); `gitops_only`
    marks objects only a GitOps controller needs (Flux's HelmRepository).
    """

    body: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    helm: dict[str, Any] | None = field(default=None, compare=False)
    gitops_only: bool = False

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def api_version(self) -> str:
        return str(self.body["apiVersion"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        namespace = self.body["metadata"].get("namespace")
        return str(namespace) if namespace else None

    @property
    def key(self) -> str:
        return key(self.kind, self.name, self.namespace)


def key(kind: str, name: str, namespace: str | None = None) -> str:
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def slice_namespace(slice_name: str) -> str:
    return f"slice-{slice_name}"


def _meta(name: str, namespace: str | None, site: SitePlan, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {"app.kubernetes.io/managed-by": "aigrid", "aigrid.dev/site": site.name, **labels}
    return meta


def mig_parted_config(site: SitePlan) -> dict[str, Any]:
    """mig-parted configs: one per MIG layout the site's nodes use, plus all-disabled for
    the others. A layout named the same on different GPU models (all-balanced on H100 and
    H200) means different profiles on each: one entry per model, filtered to its PCI ids."""
    configs: dict[str, dict[tuple[str, ...], Any]] = {}
    for node in site.nodes:
        if node.mig_config and node.mig_layout:
            # Every MIG GPU of the catalog has a PCI id (tests/test_catalog.py).
            filters = tuple(mig_device_filter(pci) for pci in node.gpu_pci_device_ids)
            configs.setdefault(node.mig_config, {})[filters] = {
                "device-filter": list(filters),
                "devices": "all",
                "mig-enabled": True,
                "mig-devices": dict(sorted(node.mig_layout.items())),
            }
    resolved: dict[str, Any] = {name: [by[f] for f in sorted(by)] for name, by in configs.items()}
    resolved["all-disabled"] = [{"devices": "all", "mig-enabled": False}]
    return {"version": "v1", "mig-configs": dict(sorted(resolved.items()))}


_MIG_TEXTS: dict[str, str] = {}


def _mig_parted_text(config: dict[str, Any]) -> str:
    """`config` as YAML. Sites with the same GPU nodes share one config, and PyYAML's Python
    emitter writes it at a cost per node that adds up over a grid: once per distinct config
    (its repr, of plain strings, numbers, lists and dicts, tells them apart)."""
    key = repr(config)
    if (text := _MIG_TEXTS.get(key)) is None:
        if len(_MIG_TEXTS) >= 256:
            _MIG_TEXTS.clear()
        text = _MIG_TEXTS[key] = yaml.safe_dump(config, sort_keys=False)
    return text


def mig_device_filter(pci_device_id: str) -> str:
    """2330 -> 0x233010DE: the PCI device id then NVIDIA's vendor id, the form of mig-parted's
    device-filter (NVIDIA/mig-parted deployments/systemd/config-default.yaml, e.g.
    device-filter: ["0x20B010DE", "0x20B110DE"])."""
    return f"0x{pci_device_id.upper()}{NVIDIA_PCI_VENDOR}"


def _site_relabelings(site: SitePlan) -> list[dict[str, Any]]:
    """Target relabelings that put the site's carrier, site and tier on every scraped series,
    so one dashboard can tell the sites apart."""
    return [
        {"targetLabel": name, "replacement": value, "action": "replace"}
        for name, value in (("carrier", site.carrier), ("site", site.name), ("tier", site.tier))
    ]


def _dcgm_exporter(plan: Plan, site: SitePlan) -> dict[str, Any]:
    """The exporter with aigrid's counters (the ConfigMap DCGM_METRICS_NAME) and the chart's
    ServiceMonitor (GPU Operator values dcgmExporter.config, .env, .serviceMonitor). The
    ServiceMonitor needs the Prometheus Operator's CRDs on the cluster first, or the operator
    stays NotReady (docs/observability.md)."""
    return {
        "enabled": True,
        "config": {"name": DCGM_METRICS_NAME},
        "env": [{"name": "DCGM_EXPORTER_COLLECTORS", "value": dcgm.COLLECTORS_PATH}],
        "serviceMonitor": {
            "enabled": plan.observability.prometheus_operator,
            "interval": SCRAPE_INTERVAL,
            "honorLabels": False,
            "additionalLabels": dict(plan.observability.selector_labels),
            # The Kubernetes node the exporter pod runs on, as `node`: the alerts and the
            # dashboard select on it. The exporter's own host label changed case (Hostname to
            # hostname, NVIDIA/dcgm-exporter PR 655, 2026), which this does not depend on.
            "relabelings": [
                *_site_relabelings(site),
                {
                    "sourceLabels": ["__meta_kubernetes_pod_node_name"],
                    "targetLabel": "node",
                    "action": "replace",
                },
            ],
        },
    }


def operator_values(plan: Plan, site: SitePlan) -> dict[str, Any]:
    """GPU Operator Helm values from the blueprint: what the operator owns and how."""
    stack = plan.stack_at(site)
    driver_by_operator = stack.driver.install == "operator"
    uses_mig = any(node.mig_config for node in site.nodes)
    values: dict[str, Any] = {
        "driver": {"enabled": driver_by_operator},
        # The toolkit is installed on the host by the nvidia_container_toolkit role.
        "toolkit": {"enabled": False},
        "devicePlugin": {"enabled": True},
        "dcgmExporter": _dcgm_exporter(plan, site),
        "cdi": {"enabled": stack.container_toolkit.cdi},
        "mig": {"strategy": stack.gpu_operator.mig_strategy if uses_mig else "none"},
        "migManager": {"enabled": uses_mig},
        "daemonsets": {"tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]},
    }
    if driver_by_operator:
        values["driver"].update(
            {"version": stack.driver.version, "kernelModuleType": stack.driver.kernel_modules}
        )
    if uses_mig:
        values["migManager"]["config"] = {"name": MIG_CONFIG_NAME, "default": "all-disabled"}
    if stack.mirrors.container_registry:
        # The chart's own repository layout under the mirror (GPU Operator docs, "Install NVIDIA
        # GPU Operator in Air-Gapped Environments": each image's repository set to the local
        # registry; the paths as in the chart's values.yaml, catalog gpu_operator.yaml).
        for path, repository in stack.gpu_operator.image_repositories.items():
            component = values
            for part in path.split("."):
                component = component.setdefault(part, {})
            component["repository"] = repository
    return values


def _priority(slice_: SlicePlan) -> int:
    return PRIORITY_BASE - slice_.priority * PRIORITY_STEP


def replicas_at(workload: WorkloadPlan, site: str) -> int:
    """The replicas the placement solver put on `site`."""
    return workload.placement.get(site, 0)


# What a pod may spend pulling its image from the site's mirror (inference images are tens
# of GB) before its server starts.
IMAGE_PULL_SECONDS = 600
# pulumi-kubernetes' await timeout for one resource (provider/pkg/metadata/annotations.go).
PULUMI_TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"


def _workload_objects(
    plan: Plan, site: SitePlan, workload: WorkloadPlan, operator_key: str
) -> list[K8sObject]:
    namespace = slice_namespace(workload.slice)
    labels = {"app.kubernetes.io/name": workload.name, "aigrid.dev/slice": workload.slice}
    selector = {"app.kubernetes.io/name": workload.name}
    replicas = replicas_at(workload, site.name)
    # A pod may take its image pull and then its server's whole startup allowance (the startup
    # probe's) before it is available: Kubernetes' default progress deadline (600 s) marked a
    # TensorRT-LLM rollout (1800 s to load) failed, and pulumi-kubernetes gave up on it after
    # its default 10 minutes. The rollout replaces one pod at a time (strategy below).
    per_pod = workload.startup_seconds + IMAGE_PULL_SECONDS
    metadata = _meta(workload.name, namespace, site, **labels)
    metadata["annotations"] = {PULUMI_TIMEOUT_ANNOTATION: str(per_pod * max(replicas, 1))}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": per_pod,
            "selector": {"matchLabels": selector},
            # One pod replaced at a time, none added first: the default RollingUpdate (25% surge,
            # rounded up) starts an extra pod that the slice's GPU quota (sized to the replicas)
            # refuses at admission, and the site's GPUs are placed to the replicas too, so the
            # rollout would never progress (Kubernetes docs, Deployments, "Max Surge"). One pod
            # down at a time is what the workload's PodDisruptionBudget allows a drain too.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": MAX_UNAVAILABLE},
            },
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"k8s.v1.cni.cncf.io/networks": f"{namespace}/{workload.slice}"},
                },
                "spec": pod_spec(plan, site, workload),
            },
        },
    }
    ports = [{"name": "http", "port": workload.port, "targetPort": "http"}]
    service_labels = dict(labels)
    if workload.metrics_port is not None:
        ports.append({"name": "metrics", "port": workload.metrics_port, "targetPort": "metrics"})
        service_labels[METRICS_LABEL] = workload.runtime
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(workload.name, namespace, site, **service_labels),
        "spec": {"selector": {"app.kubernetes.io/name": workload.name}, "ports": ports},
    }
    needs = (
        key("Namespace", namespace),
        key("PriorityClass", f"slice-{workload.slice}"),
        key("NetworkAttachmentDefinition", workload.slice, namespace),
        operator_key,
    )
    budget = pod_disruption_budget(_meta(workload.name, namespace, site, **labels), selector)
    owned = (key("Deployment", workload.name, namespace),)
    return [K8sObject(deployment, needs), K8sObject(service, owned), K8sObject(budget, owned)]


@functools.lru_cache(maxsize=256)
def _network(text: str) -> IPv4Network | IPv6Network:
    """A slice's network: the same on every site of the grid."""
    return ip_network(text)


def _ip_ranges(site: SitePlan, slice_: SlicePlan) -> list[dict[str, Any]]:
    """whereabouts ranges for the slice at this site: pods get addresses from host
    FIRST_NODE_HOST on (the hosts below are left to gateways, as for the nodes), never one a
    node holds on the slice. whereabouts' RangeConfiguration (range, range_start, exclude):
    k8snetworkplumbingwg/whereabouts README, "IPv4 and IPv6 ranges" and "exclude"."""
    ranges = []
    for network in (slice_.ipv4, slice_.ipv6):
        if network is None:
            continue
        net = _network(network)
        held = (
            address
            for node in site.nodes
            for on_node in node.slices
            if on_node.name == slice_.name
            for address in (on_node.ipv4, on_node.ipv6)
            if address
        )
        taken = sorted({host for host in map(_host, held) if host in net})
        entry: dict[str, Any] = {"range": network, "range_start": _range_start(network)}
        if taken:
            entry["exclude"] = [f"{address}/{address.max_prefixlen}" for address in taken]
        ranges.append(entry)
    return ranges


@functools.lru_cache(maxsize=4096)
def _host(address: str) -> IPv4Address | IPv6Address:
    """A node's address on a slice (an interface, "host/prefix"): the same few on every site
    (a node's host number is its place in the site), so each is parsed once, and as its
    family (ip_interface tries IPv4 first, which on an IPv6 slice costs as much as the parse)."""
    return (IPv6Interface if ":" in address else IPv4Interface)(address).ip


@functools.lru_cache(maxsize=256)
def _range_start(network: str) -> str:
    return str(_network(network).network_address + FIRST_NODE_HOST)


def _slice_objects(
    plan: Plan, site: SitePlan, slice_: SlicePlan, workloads: list[WorkloadPlan]
) -> list[K8sObject]:
    namespace = slice_namespace(slice_.name)
    ns_key = key("Namespace", namespace)
    prometheus = plan.observability.prometheus_namespace
    ipam: dict[str, Any] = {"type": "whereabouts", "ipRanges": _ip_ranges(site, slice_)}
    if slice_.routes:
        # whereabouts returns the IPAM config's routes (CNI Route: dst, gw) in its result and
        # macvlan installs them in the pod (k8snetworkplumbingwg/whereabouts v0.9.4
        # cmd/whereabouts.go cmdAdd, pkg/types IPAMConfig.Routes).
        ipam["routes"] = [{"dst": to, "gw": via} for to, via in slice_.routes]
    nad_config = {
        "cniVersion": "1.0.0",
        "name": slice_.name,
        "type": "macvlan",
        "master": slice_.interface,
        "mode": "bridge",
        "ipam": ipam,
    }
    quota: dict[str, str] = {}
    for workload in workloads:
        if workload.slice != slice_.name:
            continue
        resource, amount = gpu_resource(plan, workload)
        count = replicas_at(workload, site.name) * amount
        request = f"requests.{resource}"
        quota[request] = str(int(quota.get(request, "0")) + count)
    objects = [
        K8sObject(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": _meta(namespace, None, site, **{"aigrid.dev/slice": slice_.name}),
            }
        ),
        K8sObject(
            {
                "apiVersion": "k8s.cni.cncf.io/v1",
                "kind": "NetworkAttachmentDefinition",
                "metadata": _meta(slice_.name, namespace, site, **{"aigrid.dev/slice": slice_.name}),
                "spec": {"config": json.dumps(nad_config, sort_keys=True)},
            },
            (ns_key,),
        ),
        K8sObject(
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": _meta(f"slice-{slice_.name}", None, site, **{"aigrid.dev/slice": slice_.name}),
                "value": _priority(slice_),
                "globalDefault": False,
                "preemptionPolicy": "PreemptLowerPriority" if slice_.resource_type != "Non-GBR" else "Never",
                "description": f"Slice {slice_.name}: 5QI {slice_.five_qi} ({slice_.resource_type}, priority "
                f"{slice_.priority}, {slice_.packet_delay_budget_ms} ms delay budget)",
            }
        ),
        K8sObject(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": _meta("gpu", namespace, site, **{"aigrid.dev/slice": slice_.name}),
                "spec": {"hard": dict(sorted(quota.items())) or {"requests.nvidia.com/gpu": "0"}},
            },
            (ns_key,),
        ),
        K8sObject(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta("slice-isolation", namespace, site, **{"aigrid.dev/slice": slice_.name}),
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {"podSelector": {}},
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": SYSTEM_NAMESPACE}
                                    }
                                },
                            ]
                        },
                        # The site's Prometheus scrapes the inference servers' metrics port only.
                        {
                            "from": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {"kubernetes.io/metadata.name": prometheus}
                                    }
                                }
                            ],
                            "ports": [{"port": "metrics", "protocol": "TCP"}],
                        },
                    ],
                },
            },
            (ns_key,),
        ),
    ]
    return objects


def helm_login(plan: Plan, site: SitePlan) -> dict[str, str] | None:
    """The Helm mirror's login (user name, secret reference), when the site's charts come from
    a mirror that needs one."""
    mirrors = plan.stack_at(site).mirrors
    if not mirrors.helm or mirrors.username is None or mirrors.secret_ref is None:
        return None
    return {"username": mirrors.username, "secretRef": mirrors.secret_ref}


def site_objects(plan: Plan, site_name: str) -> list[K8sObject]:
    """Every object of one site, dependencies before dependents."""
    site = plan.site(site_name)
    assert site is not None, site_name
    operator = plan.stack_at(site).gpu_operator
    slices = {s.name: s for s in plan.slices}
    workloads = [w for w in plan.workloads if replicas_at(w, site.name) > 0]
    values = operator_values(plan, site)
    objects = [
        K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(SYSTEM_NAMESPACE, None, site)}),
        K8sObject(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": _meta(
                    OPERATOR_NAMESPACE, None, site, **{"pod-security.kubernetes.io/enforce": "privileged"}
                ),
            }
        ),
    ]
    operator_deps = [
        key("Namespace", OPERATOR_NAMESPACE),
        key("ConfigMap", DCGM_METRICS_NAME, OPERATOR_NAMESPACE),
    ]
    objects.append(
        K8sObject(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(DCGM_METRICS_NAME, OPERATOR_NAMESPACE, site),
                "data": {dcgm.CONFIG_KEY: dcgm.counters_csv()},
            },
            (key("Namespace", OPERATOR_NAMESPACE),),
        )
    )
    if values["migManager"]["enabled"]:
        objects.append(
            K8sObject(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": _meta(MIG_CONFIG_NAME, OPERATOR_NAMESPACE, site),
                    "data": {"config.yaml": _mig_parted_text(mig_parted_config(site))},
                },
                (key("Namespace", OPERATOR_NAMESPACE),),
            )
        )
        operator_deps.append(key("ConfigMap", MIG_CONFIG_NAME, OPERATOR_NAMESPACE))
    login = helm_login(plan, site)
    repository: dict[str, Any] = {"url": operator.helm_repository, "interval": "1h"}
    if login is not None:
        # Flux HelmRepository `.spec.secretRef`: a Secret with `username` and `password` keys.
        repository["secretRef"] = {"name": HELM_MIRROR_SECRET}
    objects.append(
        K8sObject(
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmRepository",
                "metadata": _meta("nvidia", OPERATOR_NAMESPACE, site),
                "spec": repository,
            },
            (key("Namespace", OPERATOR_NAMESPACE),),
            gitops_only=True,
        )
    )
    release = K8sObject(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": _meta("gpu-operator", OPERATOR_NAMESPACE, site),
            "spec": {
                "interval": "10m",
                "chart": {
                    "spec": {
                        "chart": operator.chart,
                        "version": operator.chart_version,
                        "sourceRef": {"kind": "HelmRepository", "name": "nvidia"},
                    }
                },
                "install": {"crds": "CreateReplace"},
                "upgrade": {"crds": "CreateReplace"},
                "values": values,
            },
        },
        (*operator_deps, key("HelmRepository", "nvidia", OPERATOR_NAMESPACE)),
        helm={
            "chart": operator.chart,
            "version": operator.chart_version,
            "repository": operator.helm_repository,
            "namespace": OPERATOR_NAMESPACE,
            "values": values,
            "depends_on": tuple(operator_deps),
            # The login's user name and the *reference* to its secret: the Pulumi program
            # takes the value from the stack's secret (aigrid.stack_keys.HELM_PASSWORD).
            **({"login": login} if login is not None else {}),
        },
    )
    objects.append(release)
    for name in site.slices:
        objects.extend(_slice_objects(plan, site, slices[name], workloads))
    for workload in workloads:
        objects.extend(_workload_objects(plan, site, workload, release.key))
    objects.extend(_monitoring_objects(plan, site, workloads))
    return objects


@per_plan
def dashboard_file(plan: Plan) -> tuple[str, str]:
    """The grid's dashboard as a file name and its JSON: the same in every site's ConfigMap, and
    made from every workload, not only a site's (so compile's grid digest covers it)."""
    board = dashboard(plan)
    return f"{board['uid']}.json", json.dumps(board, indent=1, sort_keys=True) + "\n"


def _monitoring_objects(plan: Plan, site: SitePlan, workloads: list[WorkloadPlan]) -> list[K8sObject]:
    """The inference servers' ServiceMonitor, the site's PrometheusRule and the grid's
    dashboard, all in the system namespace; the ServiceMonitor reaches into the slices'. The
    first two are the Prometheus Operator's resources: left out where the blueprint says the
    sites do not run it (observability.prometheusOperator false)."""
    system = key("Namespace", SYSTEM_NAMESPACE)
    selected = dict(plan.observability.selector_labels)
    scraped = sorted((w for w in workloads if w.metrics_port is not None), key=lambda w: w.name)
    objects = []
    operator = plan.observability.prometheus_operator
    if scraped and operator:
        namespaces = sorted({slice_namespace(w.slice) for w in scraped})
        objects.append(
            K8sObject(
                {
                    "apiVersion": "monitoring.coreos.com/v1",
                    "kind": "ServiceMonitor",
                    "metadata": _meta("aigrid-inference", SYSTEM_NAMESPACE, site, **selected),
                    "spec": {
                        "namespaceSelector": {"matchNames": namespaces},
                        "selector": {"matchExpressions": [{"key": METRICS_LABEL, "operator": "Exists"}]},
                        "endpoints": [
                            {
                                "port": "metrics",
                                "path": "/metrics",
                                "interval": SCRAPE_INTERVAL,
                                "relabelings": [
                                    *_site_relabelings(site),
                                    {
                                        "sourceLabels": [
                                            "__meta_kubernetes_service_label_app_kubernetes_io_name"
                                        ],
                                        "targetLabel": "workload",
                                        "action": "replace",
                                    },
                                    {
                                        "sourceLabels": ["__meta_kubernetes_service_label_aigrid_dev_slice"],
                                        "targetLabel": "slice",
                                        "action": "replace",
                                    },
                                ],
                            }
                        ],
                    },
                },
                (system, *(key("Service", w.name, slice_namespace(w.slice)) for w in scraped)),
            )
        )
    if operator:
        rules = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": _meta("aigrid", SYSTEM_NAMESPACE, site, **selected),
            "spec": {"groups": rule_groups(site, workloads, slice_namespace)},
        }
        objects.append(K8sObject(rules, (system,)))
    objects.append(
        K8sObject(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta("aigrid-dashboard", SYSTEM_NAMESPACE, site, **{DASHBOARD_LABEL: "1"}),
                "data": dict([dashboard_file(plan)]),
            },
            (system,),
        )
    )
    return objects
