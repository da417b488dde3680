"""The verification target: DIR/verify/ with the testinfra suite and, per node, what it must
find there (expectations.json), taken from the same variables the roles converge to."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from aigrid import layout
from aigrid.catalog import Catalog
from aigrid.plan import NodePlan, Plan
from aigrid.render.ansible import _all_vars, _gpu_vars, _host_vars


def _packages(node: NodePlan, shared: dict[str, Any], gpu: dict[str, Any]) -> dict[str, str]:
    """Package -> version pattern, as the roles pin them."""
    packages = {"containerd.io": f"{shared['container_runtime_version']}-*"}
    packages |= dict.fromkeys(("kubelet", "kubeadm", "kubectl"), f"{shared['kubernetes_node_version']}-*")
    if node.gpu_model:
        toolkit = gpu["nvidia_container_toolkit_version"]
        packages |= dict.fromkeys(
            (
                "nvidia-container-toolkit",
                "nvidia-container-toolkit-base",
                "libnvidia-container-tools",
                "libnvidia-container1",
            ),
            f"{toolkit}-*",
        )
        packages[f"cuda-libraries-{gpu['cuda_runtime_package_suffix']}"] = f"{gpu['cuda_runtime_version']}-*"
        if gpu["nvidia_driver_install"] == "host":
            flavour = "-open" if gpu["nvidia_driver_kernel_modules"] == "open" else ""
            packages[f"nvidia-driver-{gpu['nvidia_driver_branch']}{flavour}"] = (
                f"{gpu['nvidia_driver_version']}-*"
            )
        if "tensorrt_version" in gpu:
            major = gpu["tensorrt_version"].split(".")[0]
            for name in (f"libnvinfer{major}", f"libnvinfer-plugin{major}"):
                packages[name] = f"{gpu['tensorrt_version']}.*+cuda{gpu['tensorrt_cuda']}"
    return dict(sorted(packages.items()))


def expectations(plan: Plan, catalog: Catalog) -> dict[str, Any]:
    shared, gpu = _all_vars(plan, catalog), _gpu_vars(plan, catalog)
    nodes = []
    for node in plan.nodes:
        host = _host_vars(node, catalog)
        model = catalog.gpus.get(node.gpu_model) if node.gpu_model else None
        nodes.append(
            {
                "hostname": node.hostname,
                "site": node.site,
                "packages": _packages(node, shared, gpu),
                "containerd_config_version": shared["container_runtime_config_version"],
                "labels": host["kubernetes_node_labels"],
                "slices": host["network_slice_slices"],
                "gpus": {
                    "count": node.gpu_count,
                    "model": node.gpu_model,
                    "product_names": list(model.product_names) if model else [],
                }
                if node.gpu_model
                else None,
                "driver_version": gpu["nvidia_driver_version"],
            }
        )
    return {"blueprint": plan.name, "nodes": nodes}


def render(plan: Plan, catalog: Catalog) -> dict[str, bytes]:
    package = resources.files("aigrid.verify")
    return {
        layout.EXPECTATIONS: (json.dumps(expectations(plan, catalog), indent=2) + "\n").encode(),
        layout.VERIFY_SUITE: package.joinpath("suite.py").read_bytes(),
        layout.VERIFY_CONFTEST: package.joinpath("conftest_template.py").read_bytes(),
        # Its own pytest root, so a project's pytest settings around DIR do not apply.
        layout.VERIFY_PYTEST_INI: b"[pytest]\n",
    }
