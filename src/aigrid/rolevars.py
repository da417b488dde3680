"""The variables each role reads, computed once from the plan.

The Ansible renderer writes them into group and host variables; the verify suite's
expectations are read from the very same values, so what is checked on a node is what the
roles converged it to. Every variable carries its role's prefix.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from aigrid.layout import group_name
from aigrid.plan import MIG_CONFIG_LABEL, MirrorsPlan, NodePlan, PackageSet, Plan, SitePlan, StackPlan
from aigrid.registries import stack_registries, workload_registries
from aigrid.render import cluster

# The one switch for checks that need the GPUs; `aigrid bringup --no-hardware-checks` turns
# it off for hosts without them, and every run then says so. The roles' own defaults read it
# (preflight_hardware_checks, gpu_verify_hardware_checks): compiled variables are data only,
# never templates.
HARDWARE_CHECKS = "aigrid_hardware_checks"


@functools.cache
def role_defaults(role: str) -> dict[str, Any]:
    """A role's own defaults (defaults/main.yml), for what the plan does not set but checks
    need: the kernel modules and sysctls kubernetes_node applies, say."""
    text = (
        resources.files("aigrid").joinpath("roles", role, "defaults", "main.yml").read_text(encoding="utf-8")
    )
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _mirrored_registries() -> list[str]:
    """The registries containerd sends to a site's registry mirror (the container runtime
    role's hosts.toml files), so that preflight checks the host a pull really goes to."""
    registries: list[str] = role_defaults("container_runtime")["container_runtime_mirrored_registries"]
    return registries


def _package_vars(role: str, packages: PackageSet) -> dict[str, Any]:
    return {f"{role}_packages": list(packages.names), f"{role}_package_version": packages.version}


def shared_vars(plan: Plan) -> dict[str, Any]:
    """group_vars/all: what every node of the grid gets."""
    stack = plan.stack
    return {
        "aigrid_blueprint": plan.name,
        HARDWARE_CHECKS: True,
        "preflight_os": stack.os,
        "preflight_driver_install": stack.driver.install,
        "container_runtime_version": stack.container_runtime.version,
        "container_runtime_config_version": stack.container_runtime.config_version,
        "container_runtime_sandbox_image": stack.kubernetes.sandbox_image,
        "container_runtime_repo_suites": [stack.system.docker_suite],
        **_package_vars("container_runtime", stack.container_runtime.packages),
        "kubernetes_node_distribution": stack.kubernetes.distribution,
        "kubernetes_node_version": stack.kubernetes.version,
        "kubernetes_node_minor": stack.kubernetes.minor,
        **_package_vars("kubernetes_node", stack.kubernetes.packages),
        "kubernetes_cluster_version": stack.kubernetes.version,
        "kubernetes_cluster_addons": cluster.addon_steps(plan),
        "network_slice_backend": stack.system.network_backend,
        **_node_sources(stack),
        "preflight_package_roles": NODE_PACKAGE_ROLES,
        "preflight_image_registries": stack_registries(stack, _mirrored_registries()),
        **mirror_login_vars(stack.mirrors),
    }


def _node_sources(stack: StackPlan) -> dict[str, Any]:
    """Where every node's packages and images come from: the mirrors, else upstream."""
    docker, kubernetes = stack.repositories["docker"], stack.repositories["kubernetes"]
    return {
        "container_runtime_repo_uris": docker.uris,
        "container_runtime_repo_key_urls": docker.key_urls,
        "container_runtime_registry_mirror": stack.mirrors.container_registry or "",
        "kubernetes_node_repo_uris": kubernetes.uris,
        "kubernetes_node_repo_key_urls": kubernetes.key_urls,
    }


def _gpu_sources(stack: StackPlan) -> dict[str, Any]:
    """Where a GPU node's NVIDIA packages come from: the mirrors, else NVIDIA's repositories."""
    cuda = stack.repositories["nvidia-cuda"]
    toolkit = stack.repositories["nvidia-container-toolkit"]
    data = {
        "nvidia_driver_repo_uris": cuda.uris,
        "nvidia_driver_repo_key_urls": cuda.key_urls,
        "cuda_runtime_repo_uris": cuda.uris,
        "cuda_runtime_repo_key_urls": cuda.key_urls,
        "nvidia_container_toolkit_repo_uris": toolkit.uris,
        "nvidia_container_toolkit_repo_key_urls": toolkit.key_urls,
    }
    if stack.tensorrt:
        data |= {"tensorrt_repo_uris": cuda.uris, "tensorrt_repo_key_urls": cuda.key_urls}
    return data


# The roles every node installs packages with; preflight checks the node reaches their
# repositories (each role's <role>_repo_uri and _repo_key_url, as the role reads them).
NODE_PACKAGE_ROLES = ["container_runtime", "kubernetes_node"]


def gpu_package_roles(stack: StackPlan) -> list[str]:
    """The roles a GPU node installs NVIDIA's packages with (besides NODE_PACKAGE_ROLES), in
    bring-up order."""
    driver = ["nvidia_driver"] if stack.driver.install == "host" else []
    tensorrt = ["tensorrt"] if stack.tensorrt else []
    return [*driver, "cuda_runtime", *tensorrt, "nvidia_container_toolkit"]


# Every variable mirror_login_vars may set, as the roles' defaults spell "no login".
_NO_LOGIN = {
    "apt_source_auth_mirror": "",
    "apt_source_auth_login": "",
    "apt_source_auth_secret_ref": "",
    "container_runtime_registry_login": "",
    "container_runtime_registry_secret_ref": "",
    "preflight_mirror_secret_ref": "",
}


def site_vars(plan: Plan, site: SitePlan) -> dict[str, Any] | None:
    """group_vars/site_<name>: a site whose carrier names its own mirrors (blueprint `carriers`)
    gets every source and login variable again, so none of the grid's in group_vars/all and
    gpu_nodes reaches it (a site group is deeper than those, and Ansible lets the deeper group
    win). Unset logins are spelled as the roles' "none", not left out, for the same reason."""
    if site.carrier_stack is None:
        return None
    stack = site.carrier_stack.stack
    where = f"carriers[{site.carrier}].stack.mirrors"
    preflight = {
        "preflight_image_registries": stack_registries(stack, _mirrored_registries()),
        "preflight_mirrors_field": where,
    }
    return (
        _node_sources(stack)
        | _gpu_sources(stack)
        | preflight
        | _NO_LOGIN
        | mirror_login_vars(stack.mirrors, f"{where}.credentials")
    )


def mirror_login_vars(mirrors: MirrorsPlan, where: str = "stack.mirrors.credentials") -> dict[str, Any]:
    """The mirrors' login for the roles that write it on the nodes (apt, containerd): the user
    name and the secret's *reference* only. The roles resolve it on the controller at bring-up
    (docs/security.md); no value is ever compiled. `where` is the blueprint path of the login,
    for preflight's message when its secret is missing."""
    reference = mirrors.secret_ref
    if reference is None or mirrors.username is None:
        return {}
    data: dict[str, Any] = {}
    if mirrors.apt:
        data |= {
            "apt_source_auth_mirror": mirrors.apt.split("://", 1)[1].rstrip("/"),
            "apt_source_auth_login": mirrors.username,
            "apt_source_auth_secret_ref": reference,
        }
    if mirrors.container_registry:
        data |= {
            "container_runtime_registry_login": mirrors.username,
            "container_runtime_registry_secret_ref": reference,
        }
    if data:
        field = "password" if mirrors.password_ref else "token"
        data |= {
            "preflight_mirror_secret_ref": reference,
            "preflight_mirror_secret_field": f"{where}.{field}",
        }
    return data


def gpu_vars(plan: Plan) -> dict[str, Any]:
    """group_vars/gpu_nodes: the NVIDIA stack, the same on every GPU node."""
    stack = plan.stack
    data: dict[str, Any] = {
        "nvidia_driver_install": stack.driver.install,
        "nvidia_driver_version": stack.driver.version,
        "nvidia_driver_branch": stack.driver.branch,
        "nvidia_driver_kernel_modules": stack.driver.kernel_modules,
        **_package_vars("nvidia_driver", stack.driver.packages),
        "nvidia_driver_replaced_packages": stack.driver.replaced_packages,
        "nvidia_driver_pinning_package": stack.driver.pinning_package,
        "nvidia_driver_headers_package": stack.driver.headers_package,
        "nvidia_driver_archive_components": stack.driver.archive_components,
        "cuda_runtime_version": stack.cuda.release,
        "cuda_runtime_package_suffix": stack.cuda.package_suffix,
        **_package_vars("cuda_runtime", stack.cuda.packages),
        "cuda_runtime_patches": stack.cuda.patches,
        "nvidia_container_toolkit_version": stack.container_toolkit.version,
        "nvidia_container_toolkit_driver_root": stack.container_toolkit.driver_root,
        "nvidia_container_toolkit_cdi": stack.container_toolkit.cdi,
        **_package_vars("nvidia_container_toolkit", stack.container_toolkit.packages),
        "gpu_verify_driver_install": stack.driver.install,
        "gpu_verify_driver_version": stack.driver.version,
        **_gpu_sources(stack),
        "preflight_gpu_package_roles": gpu_package_roles(stack),
    }
    if stack.tensorrt:
        data.update(
            {
                "tensorrt_version": stack.tensorrt.version,
                "tensorrt_cuda": stack.tensorrt.cuda,
                **_package_vars("tensorrt", stack.tensorrt.packages),
            }
        )
    return data


def node_labels(node: NodePlan) -> dict[str, str]:
    """The kubelet's node labels: the plan's, plus the MIG config the mig-manager applies."""
    labels = dict(node.labels)
    if node.mig_config:
        labels[MIG_CONFIG_LABEL] = node.mig_config
    return dict(sorted(labels.items()))


def host_vars(node: NodePlan, plan: Plan) -> dict[str, Any]:
    """host_vars/<node>: what differs per node."""
    path = f"sites[{node.site}].nodes[{node.hostname}]"
    site = plan.site(node.site)
    assert site is not None
    data: dict[str, Any] = {
        "preflight_node_name": node.hostname,
        "preflight_blueprint_path": path,
        "preflight_gpu_count": node.gpu_count,
        "preflight_gpu_model": node.gpu_model or "",
        "preflight_gpu_pci_ids": list(node.gpu_pci_device_ids),
        "preflight_architectures": list(node.cpu_architectures),
        "kubernetes_node_labels": node_labels(node),
        "kubernetes_node_taints": [cluster.taint_text(taint) for taint in cluster.node_taints(site, node)],
        "network_slice_slices": [s.model_dump() for s in node.slices],
    }
    first = site.cluster.first_control_plane
    if node.gpu_model:
        # kubectl drains from the site's first control plane, which holds the admin kubeconfig.
        data["nvidia_driver_drain_host"] = first
        data["nvidia_driver_node_name"] = node.hostname
    data["kubernetes_cluster_site"] = node.site
    data["kubernetes_cluster_first_control_plane"] = first
    if node.hostname != first:
        data["kubernetes_cluster_join_config"] = cluster.join_config(site, node)
    if node.slice_interface is not None:
        data["network_slice_parent_interface"] = node.slice_interface
    if node.slices:  # its site's nodes reconfigure their network one at a time (network_slice)
        data["network_slice_site_group"] = group_name("site", node.site)
    if node.fabric_services:
        services = [plan.stack.driver.fabric[name] for name in node.fabric_services]
        data["nvidia_driver_fabric"] = [service.model_dump() for service in services]
    if node.gpu_model:
        workload_images = workload_registries(plan, site, _mirrored_registries())
        if workload_images:
            data["preflight_workload_registries"] = workload_images
        data.update(
            {
                "gpu_verify_node_name": node.hostname,
                "gpu_verify_blueprint_path": path,
                "gpu_verify_gpu_count": node.gpu_count,
                "gpu_verify_product_names": list(node.gpu_product_names),
                "gpu_verify_mig": node.mig_config is not None,
                "gpu_verify_fabric": bool(node.fabric_services),
            }
        )
    return data


def node_packages(plan: Plan, node: NodePlan) -> list[tuple[str, PackageSet]]:
    """The package sets the roles install on `node`, in bring-up order, each with the blueprint
    field that pins its version."""
    stack = plan.stack
    sets = [
        ("stack.containerRuntime.version", stack.container_runtime.packages),
        ("stack.kubernetes.version", stack.kubernetes.packages),
    ]
    if node.gpu_model:
        if stack.driver.install == "host":
            sets.append(("stack.driver.version", stack.driver.packages))
        sets += [
            ("stack.cuda.version", stack.cuda.packages),
            ("stack.containerToolkit.version", stack.container_toolkit.packages),
        ]
        if stack.tensorrt:
            sets.append(("stack.tensorrt.version", stack.tensorrt.packages))
    return sets
