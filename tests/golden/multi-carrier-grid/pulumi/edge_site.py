"""The Pulumi side of a site: one EdgeSite component of typed pulumi-kubernetes resources,
built from the site's resource file that `aigrid compile` writes (DIR/pulumi/sites/<site>.json:
the same objects as the manifests, from aigrid.render.k8s_objects).

The compile copies this module into DIR/pulumi as edge_site.py, so it imports nothing of
aigrid: the compiled project installs from its pinned requirements.txt alone. The config keys
below are the ones aigrid.stack_keys names for the compile (a test runs the compiled program
with the compiled stack config and checks every key is read).

Every resource uses the site's explicit Kubernetes provider, so nothing silently deploys
to the ambient kubeconfig; stack configs also disable default providers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

NAMESPACE = "aigrid"
SITE = "site"
RESOURCES = "resources"
KUBECONFIG = "kubeconfig"
HELM_PASSWORD = "helmPassword"

# (apiVersion, kind) -> typed resource class; anything else is a CustomResource.
TYPED: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
}


RECOMPILE = "recompile the blueprint with aigrid compile"


class SiteError(Exception):
    pass


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resource_name(site: str, key: str) -> str:
    return f"{site}-{key.replace('/', '-').lower()}"


class EdgeSite(pulumi.ComponentResource):
    """The cluster layer of one edge site: GPU Operator, slices, workloads.

    `resources` are the entries of the site's resource file, in dependency order: each has a
    `key`, the object's `body`, its `dependsOn` keys and, for a Helm release, `helm`."""

    def __init__(
        self,
        name: str,
        site: str,
        resources: list[Mapping[str, Any]],
        kubeconfig: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        helm_password: pulumi.Input[str] | None = None,
    ) -> None:
        super().__init__("aigrid:index:EdgeSite", name, None, opts)
        self.provider = k8s.Provider(
            f"{site}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        self.resources: dict[str, pulumi.Resource] = {}
        for entry in resources:
            # Each dependency is declared before it (the file is in dependency order): one that
            # is not would be an ordering edge lost without a word.
            unknown = [k for k in entry.get("dependsOn", []) if k not in self.resources]
            if unknown:
                raise SiteError(
                    f"{entry['key']} depends on {', '.join(unknown)}, which the site's resources do not "
                    "declare before it: recompile the blueprint"
                )
            depends = [self.resources[k] for k in entry.get("dependsOn", [])]
            options = pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=depends)
            self.resources[entry["key"]] = self._resource(site, entry, options, helm_password)
        self.register_outputs({"resources": len(self.resources)})

    @staticmethod
    def _resource(
        site: str,
        entry: Mapping[str, Any],
        options: pulumi.ResourceOptions,
        helm_password: pulumi.Input[str] | None = None,
    ) -> pulumi.Resource:
        name = resource_name(site, entry["key"])
        body: dict[str, Any] = entry["body"]
        helm = entry.get("helm")
        if helm is not None:
            login = helm.get("login")
            if login is not None and helm_password is None:
                raise SiteError(f"{name}: the Helm mirror's password is missing")
            # pulumi-kubernetes helm.v3.Release repositoryOpts: the repository's username
            # and password (a secret, kept encrypted in the state).
            repository = (
                k8s.helm.v3.RepositoryOptsArgs(
                    repo=helm["repository"], username=login["username"], password=helm_password
                )
                if login is not None
                else k8s.helm.v3.RepositoryOptsArgs(repo=helm["repository"])
            )
            return k8s.helm.v3.Release(
                name,
                chart=helm["chart"],
                version=helm["version"],
                namespace=helm["namespace"],
                repository_opts=repository,
                values=helm["values"],
                name=body["metadata"]["name"],
                opts=options,
            )
        fields = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
        typed = TYPED.get((body["apiVersion"], body["kind"]))
        if typed is None:
            return k8s.apiextensions.CustomResource(
                name, api_version=body["apiVersion"], kind=body["kind"], opts=options, **fields
            )
        return typed(name, opts=options, **{_snake(k): v for k, v in fields.items()})


def load_site(path: str) -> dict[str, Any]:
    """The site's resource file, relative to the Pulumi project."""
    try:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SiteError(f"cannot read {path} ({exc.strerror}): {RECOMPILE}") from exc
    except ValueError as exc:
        raise SiteError(f"{path} is not JSON ({exc}): {RECOMPILE}") from exc
    return data


def site_kubeconfig(
    config: pulumi.Config, site: str, reference: str | None, fetched: str | None = None
) -> pulumi.Output[str]:
    """The site's kubeconfig: the stack's aigrid:kubeconfig secret; else, where the
    blueprint's reference is env://VAR, that variable of the environment `pulumi up` runs in;
    else the file `aigrid bringup` fetched when it formed the cluster. A secret:// or vault://
    reference is resolved by the operator into the stack's secret."""
    value = config.get_secret(KUBECONFIG)
    if value is not None:
        return value
    set_it = f"run pulumi config set --secret {NAMESPACE}:{KUBECONFIG} -s {site} < KUBECONFIG_FILE"
    unset = ""
    if reference and reference.startswith("env://"):
        variable = reference.removeprefix("env://")
        content = os.environ.get(variable)
        if content:
            return pulumi.Output.secret(content)
        unset = f": {variable} is not set; set it, or {set_it}"
    if fetched and Path(fetched).is_file():
        return pulumi.Output.secret(Path(fetched).read_text(encoding="utf-8"))
    named = f" ({reference})" if reference else ""
    bringup = f", or form the cluster with aigrid bringup, which fetches it to {fetched}" if fetched else ""
    if unset:
        raise SiteError(f"site {site}'s kubeconfig{named}{unset}{bringup}")
    raise SiteError(f"site {site}'s kubeconfig{named} is not in the stack: {set_it}{bringup}")


def helm_password(
    config: pulumi.Config, site: str, resources: list[Mapping[str, Any]]
) -> pulumi.Output[str] | None:
    """The Helm mirror's password, where a release's chart comes from a mirror with a login:
    the stack's aigrid:helmPassword secret; else, where the blueprint's reference is env://VAR,
    that variable of the environment `pulumi up` runs in. A secret:// or vault:// reference is
    resolved by the operator into the stack's secret. None: no chart needs a login."""
    logins = [entry["helm"]["login"] for entry in resources if (entry.get("helm") or {}).get("login")]
    if not logins:
        return None
    value = config.get_secret(HELM_PASSWORD)
    if value is not None:
        return value
    reference = logins[0]["secretRef"]
    set_it = f"run pulumi config set --secret {NAMESPACE}:{HELM_PASSWORD} -s {site} < SECRET_FILE"
    if reference.startswith("env://"):
        variable = reference.removeprefix("env://")
        content = os.environ.get(variable)
        if content:
            return pulumi.Output.secret(content)
        raise SiteError(
            f"site {site}'s Helm mirror password ({reference}): {variable} is not set; set it, or {set_it}"
        )
    raise SiteError(f"site {site}'s Helm mirror password ({reference}) is not in the stack: {set_it}")


def main() -> None:
    """The program: the stack's site, its resource file, its kubeconfig and the Helm mirror's
    password, as one EdgeSite. Every secret is resolved before any resource is declared."""
    config = pulumi.Config(NAMESPACE)
    site = config.require(SITE)
    data = load_site(config.require(RESOURCES))
    kubeconfig = site_kubeconfig(config, site, data.get("kubeconfig"), data.get("fetchedKubeconfig"))
    password = helm_password(config, site, data["resources"])
    EdgeSite(site, site, data["resources"], kubeconfig=kubeconfig, helm_password=password)
