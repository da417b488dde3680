"""The Pulumi side of a site: one EdgeSite component of typed pulumi-kubernetes resources,
built from the same objects as the manifests (aigrid.render.k8s_objects).

Every resource uses the site's explicit Kubernetes provider, so nothing silently deploys
to the ambient kubeconfig; stack configs also disable default providers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from aigrid.catalog import catalog
from aigrid.plan import Plan, build_plan
from aigrid.render.k8s_objects import K8sObject, site_objects
from aigrid.stack_keys import KUBECONFIG, qualified
from aigrid.validate import validate_file

# (apiVersion, kind) -> typed resource class; anything else is a CustomResource.
TYPED: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resource_name(site: str, obj: K8sObject) -> str:
    return f"{site}-{obj.key.replace('/', '-').lower()}"


class EdgeSite(pulumi.ComponentResource):
    """The cluster layer of one edge site: GPU Operator, slices, workloads."""

    def __init__(
        self,
        name: str,
        plan: Plan,
        site: str,
        kubeconfig: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("aigrid:index:EdgeSite", name, None, opts)
        self.provider = k8s.Provider(
            f"{site}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        self.resources: dict[str, pulumi.Resource] = {}
        for obj in site_objects(plan, site):
            if obj.gitops_only:
                continue
            depends = [self.resources[k] for k in obj.depends_on if k in self.resources]
            options = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=depends)
            self.resources[obj.key] = self._resource(site, obj, options)
        self.register_outputs({"resources": len(self.resources)})

    @staticmethod
    def _resource(site: str, obj: K8sObject, options: pulumi.ResourceOptions) -> pulumi.Resource:
        name = resource_name(site, obj)
        if obj.helm is not None:
            helm = obj.helm
            return k8s.helm.v3.Release(
                name,
                chart=helm["chart"],
                version=helm["version"],
                namespace=helm["namespace"],
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=helm["repository"]),
                values=helm["values"],
                name=obj.name,
                opts=options,
            )
        fields = {k: v for k, v in obj.body.items() if k not in ("apiVersion", "kind")}
        typed = TYPED.get((obj.api_version, obj.kind))
        if typed is None:
            return k8s.apiextensions.CustomResource(
                name, api_version=obj.api_version, kind=obj.kind, opts=options, **fields
            )
        return typed(name, opts=options, **{_snake(k): v for k, v in fields.items()})


class PlanError(Exception):
    pass


def load_plan(blueprint: str | None, plan_file: str | None) -> Plan:
    """The plan from a compiled plan.json, or by validating a blueprint."""
    if plan_file:
        return Plan.model_validate_json(Path(plan_file).read_text(encoding="utf-8"))
    if not blueprint:
        raise PlanError("set aigrid:plan (a compiled plan.json) or aigrid:blueprint (a blueprint file)")
    result = validate_file(Path(blueprint))
    if result.blueprint is None or result.errors:
        first = result.errors[0] if result.errors else None
        where = f" ({first.file}:{first.line}: {first.code} {first.message})" if first else ""
        raise PlanError(f"blueprint {blueprint} is invalid{where}; run aigrid validate")
    return build_plan(result.blueprint, catalog())


def site_kubeconfig(config: pulumi.Config, plan: Plan, site: str) -> pulumi.Output[str]:
    """The site's kubeconfig: the stack's aigrid:kubeconfig secret; else, where the
    blueprint's reference is env://VAR, that variable of the environment `pulumi up` runs in.
    A secret://, vault:// or missing reference is resolved by the operator into the secret."""
    value = config.get_secret(KUBECONFIG)
    if value is not None:
        return value
    site_plan = plan.site(site)
    reference = site_plan.kubeconfig_ref if site_plan else None
    set_it = f'run pulumi config set --secret {qualified(KUBECONFIG)} -s {site} "$(cat kubeconfig)"'
    if reference and reference.startswith("env://"):
        variable = reference.removeprefix("env://")
        content = os.environ.get(variable)
        if content:
            return pulumi.Output.secret(content)
        raise PlanError(f"site {site}'s kubeconfig ({reference}): {variable} is not set; set it, or {set_it}")
    named = f" ({reference})" if reference else ""
    raise PlanError(f"site {site}'s kubeconfig{named} is not in the stack: {set_it}")


def inputs_for(obj: K8sObject) -> dict[str, Any]:
    """What EdgeSite passes to the resource for `obj` (for comparing with the manifests)."""
    if obj.helm is not None:
        return dict(obj.helm["values"])
    return {k: v for k, v in obj.body.items() if k not in ("apiVersion", "kind")}
