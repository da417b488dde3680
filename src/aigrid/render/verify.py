"""The verification target: DIR/verify/ with the testinfra suite and, per node, what it must
find there (expectations/<site>.json), taken from the same role variables the roles converge to."""

from __future__ import annotations

from typing import Any

from aigrid import layout
from aigrid.plan import Plan, SitePlan
from aigrid.render import indented_json, templates
from aigrid.rolevars import host_vars, node_packages


def expectations(plan: Plan, site: SitePlan) -> dict[str, Any]:
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
