"""The verification target: DIR/verify/ with the testinfra suite and, per node, what it must
find there (expectations/<site>.json), taken from the same role variables the roles converge to."""

from __future__ import annotations

from typing import Any

from aigrid import layout
from aigrid.plan import NodePlan, Plan, SitePlan
from aigrid.render import indented_json, templates
from aigrid.rolevars import host_vars, node_packages, role_defaults


def services(plan: Plan, node: NodePlan) -> dict[str, str]:
    """The systemd units bring-up leaves on `node`, each "active" (enabled and running) or
    "enabled" (starts at the next boot: a oneshot already applied by hand, or a unit that its
    role enables but need not start)."""
    units = {"containerd": "active", "kubelet": "active"}
    if node.slices:  # oneshot: the role's handlers apply the same files at bring-up
        units["aigrid-slices"] = "enabled"
    if node.gpu_model and plan.stack.driver.install == "host":
        units["nvidia-persistenced"] = "active"
        for name in node.fabric_services:
            units |= dict.fromkeys(plan.stack.driver.fabric[name].units, "active")
    if node.gpu_model and plan.stack.container_toolkit.cdi:
        # Enabled, not started: the path unit watches for driver changes from the next boot.
        units |= {"nvidia-cdi-refresh.path": "enabled", "nvidia-cdi-refresh.service": "enabled"}
    return dict(sorted(units.items()))


def expectations(plan: Plan, site: SitePlan) -> dict[str, Any]:
    kernel = role_defaults("kubernetes_node")
    nodes = []
    for node in site.nodes:
        host = host_vars(node, plan)
        pinned = node_packages(plan, node)
        packages = {name: pkgs.version for _, pkgs in pinned for name in pkgs.names}
        nodes.append(
            {
                "hostname": node.hostname,
                "site": node.site,
                "packages": dict(sorted(packages.items())),
                # The blueprint field that pins each package (what aigrid drift reports).
                "package_fields": dict(sorted((name, fld) for fld, pkgs in pinned for name in pkgs.names)),
                # The cuda_runtime role pins the libraries of its meta package's release one by
                # one (pinned_packages_components), which the blueprint does not name.
                "release_components": plan.stack.cuda.packages.names[:1] if node.gpu_model else [],
                # stack.cuda.patches: those of them at another build than the release's.
                "release_patches": dict(plan.stack.cuda.patches) if node.gpu_model else {},
                "containerd_config_version": plan.stack.container_runtime.config_version,
                "labels": host["kubernetes_node_labels"],
                "slices": host["network_slice_slices"],
                "slice_interface": host.get("network_slice_parent_interface"),
                "gpus": {
                    "count": node.gpu_count,
                    "model": node.gpu_model,
                    "product_names": list(node.gpu_product_names),
                }
                if node.gpu_model
                else None,
                "driver_version": plan.stack.driver.version,
                # The nvidia_driver role turns persistence mode on where it installs the driver
                # (its nvidia-persistenced drop-in); another installer's choice is its own.
                "persistence_mode": plan.stack.driver.install == "host",
                # nvidia-smi comes with a driver on the host (aigrid's or one preinstalled);
                # with install: operator the GPU Operator's driver container holds it.
                "driver_on_host": plan.stack.driver.install != "operator",
                "services": services(plan, node),
                # What kubernetes_node loads and sets (its defaults), in effect where the
                # inventory lets it touch the kernel (kubernetes_node_apply_kernel_settings).
                "kernel_modules": kernel["kubernetes_node_modules"],
                "sysctls": {
                    key: str(value) for key, value in sorted(kernel["kubernetes_node_sysctls"].items())
                },
                "sysctl_file": kernel["kubernetes_node_sysctl_file"],
            }
        )
    return {"blueprint": plan.name, "site": site.name, "nodes": nodes}


def render(plan: Plan) -> dict[str, bytes]:
    files = render_grid(plan)
    for site in plan.sites:
        files |= render_site(plan, site)
    return files


def render_site(plan: Plan, site: SitePlan) -> dict[str, bytes]:
    text = indented_json.dumps(expectations(plan, site)) + "\n"
    return {layout.expectations(site.name): text.encode()}


def render_grid(plan: Plan) -> dict[str, bytes]:
    return {
        layout.VERIFY_SUITE: templates.render("verify/test_nodes.py"),
        layout.VERIFY_CONFTEST: templates.render("verify/conftest.py"),
        # Its own pytest root, so a project's pytest settings around DIR do not apply.
        layout.VERIFY_PYTEST_INI: templates.render("verify/pytest.ini"),
    }
