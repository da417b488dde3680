"""Workload pods that can really run: the model repository Triton is given is one it can read,
the GPU resource is one the device plugin advertises, the nodes selected are the ones that
can hold a replica, MIG layouts reach the right GPU model, and slice addresses handed to pods
are never a node's or a gateway's.

These check the objects against how the components read them (Triton's model repository
locations, the device plugin's resource names, the kubelet's node labels, mig-parted's
device filters, whereabouts' ranges); manifest schemas are test_manifests.py's job.
"""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_interface, ip_network
from pathlib import Path
from typing import Any

import pytest
import yaml

from aigrid.catalog import catalog
from aigrid.plan import FIRST_NODE_HOST, Plan, SitePlan, build_plan
from aigrid.render.k8s_objects import K8sObject, mig_parted_config, site_objects
from aigrid.rolevars import node_labels
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

SHIPPED = sorted([*BLUEPRINTS.glob("examples/*.yaml"), *BLUEPRINTS.glob("carriers/*/*.yaml")])

STACK = """\
apiVersion: aigrid.dev/v1alpha1
kind: Blueprint
metadata:
  name: workloads
stack:
  os: ubuntu-24.04
  driver: {version: 580.126.20, kernelModules: open}
  cuda: {version: 13.0.2}
  tensorrt: {version: 10.14.1}
  containerRuntime: {version: 2.3.1}
  containerToolkit: {version: 1.19.1}
  kubernetes: {version: 1.34.9}
  gpuOperator: {version: 26.3.2, migStrategy: STRATEGY}
slices:
  - name: embb
    snssai: {sst: 1, sd: "0000B2"}
    5qi: 7
    bitrate: {maximum: 100Mbps}
    vlan: 220
    ipv4: 198.51.100.0/26
    ipv6: 2001:db8:b2::/64
"""

# One site mixing H100 and H200 nodes, each model with all-balanced MIG and one H100 left whole.
MIXED_SITE = """\
sites:
  - name: rdc-01
    tier: regional
    region: lab
    rtt: 5ms
    slices: [embb]
    network: {sliceInterface: eno1}
    nodes:
      - hostname: rdc-01-cp
        role: control-plane
        address: 192.0.2.10
      - hostname: rdc-01-h100-mig
        address: 192.0.2.11
        gpus: {model: H100-SXM-80GB, count: 8, mig: {layout: all-balanced}}
      - hostname: rdc-01-h200-mig
        address: 192.0.2.12
        gpus: {model: H200-141GB, count: 8, mig: {layout: all-balanced}}
      - hostname: rdc-01-h100-whole
        address: 192.0.2.13
        gpus: {model: H100-SXM-80GB, count: 8}
      - hostname: rdc-01-h200-me
        address: 192.0.2.14
        gpus: {model: H200-141GB, count: 1, mig: {profiles: {1g.18gb+me: 1, 1g.18gb: 6}}}
"""

MIXED_WORKLOADS = """\
workloads:
  - name: detector
    runtime: triton
    model: {name: detector, repository: "s3://models/detector"}
    gpu: {count: 1}
    replicas: 2
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
    port: 8443
  - name: small
    runtime: triton
    model: {name: small, repository: "gs://lab-models/small"}
    gpu: {mig: 1g.10gb}
    replicas: 2
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
  - name: media
    runtime: custom
    image: registry.example.net/ai/media:1.0
    model: {name: media}
    gpu: {mig: 1g.18gb+me}
    replicas: 1
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
  - name: llm
    runtime: tensorrt-llm
    model: {name: llm, repository: "s3://models/llm"}
    gpu: {mig: 3g.71gb}
    replicas: 2
    latency: {slo: 400ms, inference: 120ms}
    slice: embb
  - name: local
    runtime: triton
    model: {name: local}
    gpu: {mig: 2g.20gb}
    replicas: 1
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
"""

# Model repositories in each store, with their credentials.
STORE_WORKLOADS = """\
  - name: s3cred
    runtime: triton
    model: {name: s3cred, repository: "s3://models/detector", credentials: "secret://lab/model-store"}
    gpu: {count: 1}
    replicas: 1
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
  - name: gcs
    runtime: triton
    model: {name: gcs, repository: "gs://lab-models/small", credentials: "secret://lab/gcs"}
    gpu: {mig: 1g.10gb}
    replicas: 1
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
  - name: azure
    runtime: tensorrt-llm
    model: {name: azure, repository: "as://labstore/models/llm", credentials: "secret://lab/azure"}
    gpu: {mig: 1g.10gb}
    replicas: 1
    latency: {slo: 400ms, inference: 120ms}
    slice: embb
  - name: volume
    runtime: custom
    image: registry.example.net/ai/volume:1.0
    model: {name: volume, repository: "pvc://models/media/v2"}
    gpu: {mig: 1g.10gb}
    replicas: 1
    latency: {slo: 150ms, inference: 20ms}
    slice: embb
"""

# Kubernetes' extended resource names (pkg/apis/core/validation, IsQualifiedName): a DNS
# subdomain prefix outside kubernetes.io, '/', and a name of at most 63 characters of
# alphanumerics, '-', '_' and '.', starting and ending alphanumeric.
_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_QUALIFIED_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
EXTENDED_RESOURCE = re.compile(rf"^(?P<prefix>{_DNS_SUBDOMAIN})/{_QUALIFIED_NAME}$")
# The form of mig-parted's device-filter: PCI device id, then vendor 10DE.
DEVICE_FILTER = re.compile(r"^0x[0-9A-F]{4}10DE$")


def compile_plan(tmp_path: Path, text: str) -> Plan:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "blueprint.yaml"
    path.write_text(text)
    result = validate_file(path, root=tmp_path)
    assert result.blueprint is not None and not result.errors, [
        f"{d.code} {d.message}" for d in result.diagnostics
    ]
    return build_plan(result.blueprint, catalog())


def mixed_plan(tmp_path: Path, strategy: str = "mixed") -> Plan:
    """The mixed site; under `single` each node gets one profile (GPU Operator docs: mixed
    profiles need the mixed strategy, AG109), every workload still finding its nodes."""
    text = STACK.replace("STRATEGY", strategy) + MIXED_SITE + MIXED_WORKLOADS
    if strategy == "single":
        for mixed, single in [
            (
                "H100-SXM-80GB, count: 8, mig: {layout: all-balanced}",
                "H100-SXM-80GB, count: 8, mig: {layout: all-1g.10gb}",
            ),
            (
                "H200-141GB, count: 8, mig: {layout: all-balanced}",
                "H200-141GB, count: 8, mig: {layout: all-3g.71gb}",
            ),
            ("{profiles: {1g.18gb+me: 1, 1g.18gb: 6}}", "{layout: all-1g.18gb}"),
            ("gpu: {mig: 1g.18gb+me}", "gpu: {mig: 1g.18gb}"),
            ("gpu: {mig: 2g.20gb}", "gpu: {mig: 1g.10gb}"),
        ]:
            assert mixed in text
            text = text.replace(mixed, single)
    return compile_plan(tmp_path, text)


def store_plan(tmp_path: Path) -> Plan:
    return compile_plan(
        tmp_path, STACK.replace("STRATEGY", "mixed") + MIXED_SITE + MIXED_WORKLOADS + STORE_WORKLOADS
    )


def shipped_plan(path: Path) -> Plan:
    result = validate_file(path)
    assert result.blueprint is not None
    return build_plan(result.blueprint, catalog())


def objects(plan: Plan, kind: str) -> list[tuple[SitePlan, K8sObject]]:
    return [(site, obj) for site in plan.sites for obj in site_objects(plan, site.name) if obj.kind == kind]


def deployment(plan: Plan, name: str) -> dict[str, Any]:
    found = [obj.body for _, obj in objects(plan, "Deployment") if obj.name == name]
    assert len(found) == 1
    return found[0]


def container(body: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = body["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container(body)["env"]}


def arg(body: dict[str, Any], flag: str) -> str:
    values = [a.split("=", 1)[1] for a in container(body).get("args", []) if a.startswith(f"{flag}=")]
    assert len(values) == 1, container(body).get("args")
    return values[0]


# --- 1. Triton reads the blueprint's repository ----------------------------------------------


def test_triton_reads_the_blueprints_object_store_with_credentials_from_the_secret(tmp_path: Path) -> None:
    body = deployment(store_plan(tmp_path), "s3cred")
    assert arg(body, "--model-repository") == "s3://models/detector"
    env = env_of(body)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[name] == {
            "name": name,
            "valueFrom": {"secretKeyRef": {"name": "lab-model-store", "key": name}},
        }
    assert env["AWS_SESSION_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert not any("value" in item and item["name"].startswith("AWS_") for item in env.values())
    # No model repository on a volume: nothing mounted at /models.
    mounts = container(body)["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == ["/dev/shm"]


def test_google_cloud_storage_credentials_are_a_mounted_key_file(tmp_path: Path) -> None:
    body = deployment(store_plan(tmp_path), "gcs")
    assert arg(body, "--model-repository") == "gs://lab-models/small"
    path = env_of(body)["GOOGLE_APPLICATION_CREDENTIALS"]["value"]
    mounts = {m["name"]: m for m in container(body)["volumeMounts"]}
    volumes = {v["name"]: v for v in body["spec"]["template"]["spec"]["volumes"]}
    mount = next(m for m in mounts.values() if path.startswith(m["mountPath"] + "/"))
    secret = volumes[mount["name"]]["secret"]
    assert secret["secretName"] == "lab-gcs"
    assert [item["path"] for item in secret["items"]] == [path.rsplit("/", 1)[1]]
    assert mount["readOnly"] is True


def test_azure_repositories_take_the_account_and_key_from_the_secret(tmp_path: Path) -> None:
    body = deployment(store_plan(tmp_path), "azure")
    assert arg(body, "--model-repository") == "as://labstore/models/llm"
    env = env_of(body)
    assert env["AZURE_STORAGE_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "lab-azure",
        "key": "AZURE_STORAGE_KEY",
    }


def test_a_volume_repository_is_mounted_where_the_runtime_reads_it(tmp_path: Path) -> None:
    plan = store_plan(tmp_path)
    local = deployment(plan, "local")
    repository = arg(local, "--model-repository")
    mount = next(m for m in container(local)["volumeMounts"] if m["mountPath"] == repository)
    volume = next(v for v in local["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    # No repository in the blueprint: the claim named after the workload, read-only.
    assert volume["persistentVolumeClaim"] == {"claimName": "local-models", "readOnly": True}
    volume_body = deployment(plan, "volume")
    mount = next(m for m in container(volume_body)["volumeMounts"] if m["mountPath"] == "/models")
    assert mount["subPath"] == "media/v2" and mount["readOnly"] is True
    volume = next(v for v in volume_body["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"])
    assert volume["persistentVolumeClaim"]["claimName"] == "models"
    assert env_of(volume_body)["AIGRID_MODEL_REPOSITORY"]["value"] == "/models"
    assert "args" not in container(volume_body)  # a custom image reads it itself


def test_triton_listens_where_the_probes_and_the_service_look(tmp_path: Path) -> None:
    plan = mixed_plan(tmp_path)
    body = deployment(plan, "detector")
    main = container(body)
    # Triton's metrics endpoint stays on its own port (catalog runtimes: metrics_port).
    assert main["ports"] == [
        {"name": "http", "containerPort": 8443},
        {"name": "metrics", "containerPort": 8002},
    ]
    assert arg(body, "--http-port") == "8443"
    assert main["startupProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    # The startup probe gives the server the catalog's time to load its models.
    startup = main["startupProbe"]
    assert (
        startup["periodSeconds"] * startup["failureThreshold"] >= catalog().runtimes["triton"].startup_seconds
    )
    service = next(o.body for _, o in objects(plan, "Service") if o.name == "detector")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8443, "targetPort": "http"},
        {"name": "metrics", "port": 8002, "targetPort": "metrics"},
    ]
    assert service["spec"]["selector"].items() <= body["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize(("name", "size"), [("detector", "1Gi"), ("llm", "2Gi")])
def test_triton_gets_a_memory_backed_dev_shm(tmp_path: Path, name: str, size: str) -> None:
    body = deployment(mixed_plan(tmp_path), name)
    pod = body["spec"]["template"]["spec"]
    mount = next(m for m in container(body)["volumeMounts"] if m["mountPath"] == "/dev/shm")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": size}
    # tmpfs pages count against the container's memory limit: the limit must hold them.
    limit = container(body)["resources"]["limits"]["memory"]
    assert int(limit.removesuffix("Gi")) > int(size.removesuffix("Gi"))


def test_workloads_run_as_the_images_unprivileged_user(tmp_path: Path) -> None:
    plan = mixed_plan(tmp_path)
    for name in ("detector", "llm", "media"):
        body = deployment(plan, name)
        context = container(body)["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] == 1000
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("blueprint", SHIPPED, ids=lambda p: str(p.relative_to(BLUEPRINTS)))
def test_every_model_repository_given_to_a_runtime_is_one_it_can_read(blueprint: Path) -> None:
    """Triton reads a local path or s3://, gs://, as:// (Triton model_repository.md): a local
    path must be a mounted volume, or the server exits and the pod crash-loops."""
    for _, obj in objects(shipped_plan(blueprint), "Deployment"):
        main = container(obj.body)
        repositories = [
            a.split("=", 1)[1] for a in main.get("args", []) if a.startswith("--model-repository=")
        ]
        for repository in repositories:
            if repository.startswith("/"):
                mounted = [m["mountPath"] for m in main.get("volumeMounts", [])]
                assert any(repository == p or repository.startswith(p + "/") for p in mounted), obj.key
            else:
                assert repository.partition("://")[0] in ("s3", "gs", "as"), obj.key


# --- 2. MIG resources and node selection --------------------------------------------------------


def test_mig_resources_are_named_as_the_device_plugin_advertises_them(tmp_path: Path) -> None:
    mixed = mixed_plan(tmp_path / "mixed")
    limits = container(deployment(mixed, "media"))["resources"]["limits"]
    assert limits["nvidia.com/mig-1g.18gb.me"] == "1"  # `+me` is advertised with a dot
    assert container(deployment(mixed, "small"))["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == "1"
    single = mixed_plan(tmp_path / "single", "single")
    # Under `single` every MIG device is an nvidia.com/gpu.
    limits = container(deployment(single, "small"))["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1" and not any(k.startswith("nvidia.com/mig-") for k in limits)


def test_a_long_hostname_still_gives_a_mig_config_label_kubernetes_takes(tmp_path: Path) -> None:
    """A node's own MIG layout is named after it and that name is its nvidia.com/mig.config
    label: `aigrid-` and a 63-character hostname made a 70-character value, which the kubelet
    and `kubectl label` refuse, so the node never got its layout."""
    long_host = "rdc-01-h200-me-" + "x" * 48
    assert len(long_host) == 63
    blueprint = STACK.replace("STRATEGY", "mixed") + MIXED_SITE + MIXED_WORKLOADS
    plan = compile_plan(tmp_path, blueprint.replace("rdc-01-h200-me", long_host))
    node = next(n for site in plan.sites for n in site.nodes if n.hostname == long_host)
    label = node_labels(node)["nvidia.com/mig.config"]
    assert len(label) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?", label)
    assert label in mig_parted_config(plan.sites[0])["mig-configs"]


def _resource_names(plan: Plan) -> set[str]:
    names = set()
    for _, obj in objects(plan, "Deployment"):
        resources = container(obj.body)["resources"]
        names |= {*resources["requests"], *resources["limits"]} - {"cpu", "memory"}
    for _, obj in objects(plan, "ResourceQuota"):
        names |= {name.removeprefix("requests.") for name in obj.body["spec"]["hard"]}
    return names


def test_every_gpu_resource_name_is_a_valid_extended_resource_name(tmp_path: Path) -> None:
    names = _resource_names(mixed_plan(tmp_path / "mixed")) | _resource_names(
        mixed_plan(tmp_path / "single", "single")
    )
    for blueprint in SHIPPED:
        names |= _resource_names(shipped_plan(blueprint))
    assert "nvidia.com/mig-1g.18gb.me" in names
    for name in names:
        match = EXTENDED_RESOURCE.fullmatch(name)
        assert match and not match.group("prefix").endswith("kubernetes.io"), name
        assert len(name.split("/")[1]) <= 63, name


def _gpu_request(body: dict[str, Any], resource: str) -> str:
    requests: dict[str, str] = container(body)["resources"]["requests"]
    return requests.get(resource, "0")


def _surge(body: dict[str, Any]) -> int:
    """The extra pods a RollingUpdate starts (Kubernetes: maxSurge, a percentage rounded up;
    25% when the Deployment sets no strategy)."""
    replicas = body["spec"]["replicas"]
    surge = body["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
    if isinstance(surge, str):
        return -(-replicas * int(surge.rstrip("%")) // 100)
    return int(surge)


def test_a_rollout_waits_as_long_as_a_server_may_take_to_start() -> None:
    """Kubernetes' default progress deadline (600 s) and pulumi-kubernetes' default wait (10
    minutes) were shorter than the startup probe lets TensorRT-LLM load (1800 s): every first
    rollout was reported failed while its pods were still loading."""
    checked = 0
    for path in SHIPPED:
        for _, obj in objects(shipped_plan(path), "Deployment"):
            probe = container(obj.body)["startupProbe"]
            startup = probe["failureThreshold"] * probe["periodSeconds"]
            deadline = obj.body["spec"]["progressDeadlineSeconds"]
            assert deadline > startup, obj.name
            wait = int(obj.body["metadata"]["annotations"]["pulumi.com/timeoutSeconds"])
            assert wait >= deadline * obj.body["spec"]["replicas"], obj.name
            checked += 1
    assert checked > 10


def test_a_rollout_fits_its_slice_gpu_quota(tmp_path: Path) -> None:
    """Every pod a rolling update starts on top of the replicas is admitted against the slice's
    GPU quota; with the default 25% surge the extra pod was refused and no change to a
    workload ever rolled out."""
    plans = [mixed_plan(tmp_path / "mixed"), *(shipped_plan(path) for path in SHIPPED)]
    checked = 0
    for plan in plans:
        for site in plan.sites:
            found = site_objects(plan, site.name)
            quotas = {o.namespace: o.body["spec"]["hard"] for o in found if o.kind == "ResourceQuota"}
            for obj in (o for o in found if o.kind == "Deployment"):
                requests = container(obj.body)["resources"]["requests"]
                for resource, amount in requests.items():
                    if not resource.startswith("nvidia.com/"):
                        continue
                    hard = quotas[obj.namespace][f"requests.{resource}"]
                    used = sum(
                        o.body["spec"]["replicas"] * int(_gpu_request(o.body, resource))
                        for o in found
                        if o.kind == "Deployment" and o.namespace == obj.namespace
                    )
                    assert used + _surge(obj.body) * int(amount) <= int(hard), (site.name, obj.name)
                    checked += 1
    assert checked > 10


def _matches(term: dict[str, Any], labels: dict[str, str]) -> bool:
    """A nodeSelectorTerm's matchExpressions against a node's labels (Kubernetes semantics)."""
    for expression in term["matchExpressions"]:
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
    return True


def selected_nodes(site: SitePlan, body: dict[str, Any]) -> set[str]:
    """The nodes the pod may be scheduled on, judged on the labels the kubelet gives them."""
    pod = body["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    chosen = set()
    for node in site.nodes:
        labels = node_labels(node)
        if all(labels.get(k) == v for k, v in pod["nodeSelector"].items()) and any(
            _matches(term, labels) for term in terms
        ):
            chosen.add(node.hostname)
    return chosen


def _holding(site: SitePlan, plan: Plan, workload_name: str) -> set[str]:
    workload = next(w for w in plan.workloads if w.name == workload_name)
    if workload.mig_profile is None:
        return {
            n.hostname
            for n in site.nodes
            if n.gpu_model and n.mig_config is None and n.gpu_count >= (workload.gpu_count or 1)
        }
    return {n.hostname for n in site.nodes if (n.mig_layout or {}).get(workload.mig_profile)}


@pytest.mark.parametrize("strategy", ["single", "mixed"])
def test_pods_select_exactly_the_nodes_that_can_hold_them(tmp_path: Path, strategy: str) -> None:
    plan = mixed_plan(tmp_path, strategy)
    expected = {
        "detector": {"rdc-01-h100-whole"},
        "small": {"rdc-01-h100-mig"},
        "llm": {"rdc-01-h200-mig"},
        "local": {"rdc-01-h100-mig"},
        "media": {"rdc-01-h200-me"},
    }
    for site, obj in objects(plan, "Deployment"):
        assert selected_nodes(site, obj.body) == expected[obj.name] == _holding(site, plan, obj.name), (
            obj.name
        )
        assert "nvidia.com/gpu.product" not in obj.body["spec"]["template"]["spec"]["nodeSelector"]


@pytest.mark.parametrize("blueprint", SHIPPED, ids=lambda p: str(p.relative_to(BLUEPRINTS)))
def test_shipped_workloads_select_the_nodes_that_can_hold_them(blueprint: Path) -> None:
    plan = shipped_plan(blueprint)
    for site, obj in objects(plan, "Deployment"):
        chosen = selected_nodes(site, obj.body)
        assert chosen and chosen == _holding(site, plan, obj.name), obj.key


# --- 3. mig-parted: per GPU model, by PCI device id ---------------------------------------------


def test_a_layout_shared_by_two_gpu_models_gets_one_entry_per_model(tmp_path: Path) -> None:
    site = mixed_plan(tmp_path).sites[0]
    config = mig_parted_config(site)
    balanced = config["mig-configs"]["all-balanced"]
    by_filter = {tuple(entry["device-filter"]): entry["mig-devices"] for entry in balanced}
    assert by_filter == {
        ("0x233010DE",): {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1},  # H100 SXM5 80GB
        ("0x233510DE",): {"1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1},  # H200 141GB
    }
    assert all(entry["devices"] == "all" and entry["mig-enabled"] is True for entry in balanced)
    assert config["mig-configs"]["all-disabled"] == [{"devices": "all", "mig-enabled": False}]


def test_every_device_filter_names_a_catalog_gpu_of_its_node(tmp_path: Path) -> None:
    plans = [mixed_plan(tmp_path), *(shipped_plan(p) for p in SHIPPED)]
    seen = 0
    for plan in plans:
        for site in plan.sites:
            configs = mig_parted_config(site)["mig-configs"]
            for node in site.nodes:
                if not node.mig_config:
                    continue
                entries = configs[node.mig_config]
                # mig-parted applies the entries whose filter matches the node's GPUs: exactly one.
                own = [
                    e for e in entries if any(f[2:6] in node.gpu_pci_device_ids for f in e["device-filter"])
                ]
                assert len(own) == 1 and own[0]["mig-devices"] == node.mig_layout, node.hostname
                assert all(DEVICE_FILTER.fullmatch(f) for e in entries for f in e["device-filter"])
                seen += 1
    assert seen > 3


# --- 4. whereabouts never hands out a gateway's or a node's address --------------------------


def _allocatable(entry: dict[str, Any], address: Any) -> bool:
    """Whether whereabouts may give `address` to a pod from this ipRanges entry: inside the
    range, from range_start on, not the network or (IPv4) broadcast address, not excluded."""
    network = ip_network(entry["range"])
    if address not in network or address == network.network_address:
        return False
    if network.version == 4 and address == network.broadcast_address:
        return False
    if "range_start" in entry and address < ip_address(entry["range_start"]):
        return False
    return not any(address in ip_network(cidr) for cidr in entry.get("exclude", []))


@pytest.mark.parametrize(
    "blueprint", [*SHIPPED, None], ids=lambda p: str(p.relative_to(BLUEPRINTS)) if p else "mixed-site"
)
def test_pods_never_get_a_gateway_or_node_address(tmp_path: Path, blueprint: Path | None) -> None:
    plan = shipped_plan(blueprint) if blueprint else mixed_plan(tmp_path)
    checked = 0
    for site, obj in objects(plan, "NetworkAttachmentDefinition"):
        config = yaml.safe_load(obj.body["spec"]["config"])
        for entry in config["ipam"]["ipRanges"]:
            network = ip_network(entry["range"])
            nodes = {
                ip_interface(address).ip
                for node in site.nodes
                for on_slice in node.slices
                if on_slice.name == config["name"]
                for address in (on_slice.ipv4, on_slice.ipv6)
                if address and ip_interface(address).ip in network
            }
            gateways = {network.network_address + host for host in range(1, FIRST_NODE_HOST)}
            assert nodes, obj.key
            for address in nodes | gateways:
                assert not _allocatable(entry, address), (obj.key, str(address))
            # And pods still get addresses: the first one past the nodes'.
            assert _allocatable(entry, max(nodes) + 1), obj.key
            checked += 1
    assert checked


def test_a_slices_routes_reach_its_pods_through_the_gateway(tmp_path: Path) -> None:
    """`slices[].routes`: the UE pool behind the UPF, via the UPF's N6 address on the slice.
    whereabouts returns the IPAM config's routes and macvlan installs them in the pod
    (whereabouts v0.9.4 cmd/whereabouts.go), beside the cluster network's default route."""
    text = (BLUEPRINTS / "examples" / "invalid" / "AG223-slice-route-gateway.yaml").read_text()
    text = text.replace(
        "via: 198.51.100.20  # <- AG223\n",
        "via: 198.51.100.1\n      - {to: '2001:db8:45::/48', via: '2001:db8:210::1'}\n",
    )
    ipv4 = "    ipv4: 198.51.100.0/26\n"
    text = text.replace(ipv4, ipv4 + "    ipv6: 2001:db8:210::/64\n")
    path = tmp_path / "routes.yaml"
    path.write_text(text)
    [(_, nad)] = objects(shipped_plan(path), "NetworkAttachmentDefinition")
    ipam = yaml.safe_load(nad.body["spec"]["config"])["ipam"]
    assert ipam["routes"] == [
        {"dst": "10.45.0.0/16", "gw": "198.51.100.1"},
        {"dst": "2001:db8:45::/48", "gw": "2001:db8:210::1"},
    ]
    for entry in ipam["ipRanges"]:  # a pod never gets the gateway's address
        gateway = ip_address("198.51.100.1" if ip_network(entry["range"]).version == 4 else "2001:db8:210::1")
        assert not _allocatable(entry, gateway)
    # A slice without routes keeps the config it had (no empty list).
    for blueprint in SHIPPED:
        plan = shipped_plan(blueprint)
        routed = {s.name for s in plan.slices if s.routes}
        for _, other in objects(plan, "NetworkAttachmentDefinition"):
            config = yaml.safe_load(other.body["spec"]["config"])
            assert ("routes" in config["ipam"]) == (config["name"] in routed), other.key
