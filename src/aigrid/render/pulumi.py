"""The Pulumi target: a self-contained Pulumi project per compile, one stack per site.

DIR/pulumi/ holds the program of templates/pulumi/ with aigrid.pulumi_site as edge_site.py
(stacks/ in the repository links to both), each site's resource file (sites/<site>.json: its
Kubernetes objects, so the program imports nothing of aigrid and installs from pinned
requirements alone), the resolved plan (plan.json, for reference) and Pulumi.<site>.yaml per
site with default providers disabled. The kubeconfig is set by the operator as a secret
(aigrid.stack_keys names every key).

A stack config is shared: aigrid owns its own keys, the user (and `pulumi config set`) the rest;
merge_stack_config updates the former and keeps the latter.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import yaml

from aigrid import layout
from aigrid.plan import Plan, SitePlan
from aigrid.render import indented_json, templates
from aigrid.render.k8s_objects import K8sObject, helm_login, site_objects
from aigrid.stack_keys import HELM_PASSWORD, KUBECONFIG, RESOURCES, RETIRED, SITE, qualified

DISABLE_DEFAULT_PROVIDERS = "pulumi:disable-default-providers"


class StackConfigError(Exception):
    """A stack config aigrid would merge into is not one it can read."""


def header(plan: Plan, site: SitePlan) -> str:
    where = f" (the blueprint's {site.kubeconfig_ref})" if site.kubeconfig_ref else ""
    return (
        f"# aigrid compile of blueprint {plan.name} sets the aigrid:site and aigrid:resources keys "
        "and default providers;\n"
        "# a recompile updates those and keeps everything else here (secrets, encryptionsalt, "
        "your keys).\n"
        f"# Set the cluster's kubeconfig{where} as a secret first, from its file:\n"
        f"#   pulumi config set --secret {qualified(KUBECONFIG)} -s {site.name} < KUBECONFIG_FILE\n"
        + helm_header(plan, site)
    )


def helm_header(plan: Plan, site: SitePlan) -> str:
    """Where the charts come from a mirror with a login: the key for its secret."""
    login = helm_login(plan, site)
    if login is None:
        return ""
    return (
        f"# and the Helm mirror's password or token (the blueprint's {login['secretRef']}), from its file:\n"
        f"#   pulumi config set --secret {qualified(HELM_PASSWORD)} -s {site.name} < SECRET_FILE\n"
    )


def owned_config(site: SitePlan) -> dict[str, Any]:
    """The stack config keys aigrid writes, with their values."""
    return {
        # Nothing may fall back to the ambient kubeconfig.
        DISABLE_DEFAULT_PROVIDERS: ["kubernetes"],
        qualified(SITE): site.name,
        qualified(RESOURCES): layout.relative_to(layout.site_resources(site.name), layout.PULUMI),
    }


def _dump(document: dict[str, Any]) -> str:
    # libyaml's emitter (fast); its width is a C int, and no line is to be folded.
    return yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False, width=2**31 - 1, allow_unicode=True)


def stack_config(plan: Plan, site: SitePlan) -> str:
    return header(plan, site) + _dump({"config": owned_config(site)})


def merge_stack_config(existing: str, plan: Plan, site: SitePlan, where: str) -> str:
    """`existing` (the stack config as the user and the Pulumi CLI left it) with aigrid's keys
    set anew and retired aigrid keys dropped; every other key (secure values, encryptionsalt,
    secretsprovider, the user's config) is kept with its value and in its place."""
    try:
        # libyaml's parser, the same safe constructor: a recompile merges every site's config.
        document = yaml.load(existing, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise StackConfigError(
            f"{where} is not valid YAML{line}: fix it or move it away; it may hold the stack's secrets, "
            "so aigrid does not overwrite it"
        ) from exc
    if document is None:
        document = {}
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(config, dict | None):
        raise StackConfigError(
            f"{where} is not a Pulumi stack config (a mapping with a `config` mapping): fix it or move "
            "it away; aigrid does not overwrite it"
        )
    retired = {qualified(key) for key in RETIRED}
    merged = {key: value for key, value in (config or {}).items() if key not in retired}
    merged.update(owned_config(site))
    return header(plan, site) + _dump({**document, "config": merged})


def site_resources(plan: Plan, site: SitePlan, objects: list[K8sObject] | None = None) -> dict[str, Any]:
    """What the program deploys at `site`: its Kubernetes objects in dependency order (those
    only a GitOps controller needs left out) and the blueprint's reference to its kubeconfig."""
    entries: list[dict[str, Any]] = []
    every = site_objects(plan, site.name) if objects is None else objects
    # Left out with the objects themselves: what the program deploys depends only on what it
    # deploys (pulumi_site refuses a dependency it does not know).
    gitops_only = {obj.key for obj in every if obj.gitops_only}
    for obj in every:
        if obj.gitops_only:
            continue
        depends = [key for key in obj.depends_on if key not in gitops_only]
        entry: dict[str, Any] = {"key": obj.key, "body": obj.body, "dependsOn": depends}
        if obj.helm is not None:
            entry["helm"] = obj.helm
        entries.append(entry)
    return {
        "site": site.name,
        "kubeconfig": site.kubeconfig_ref,
        # Where `aigrid bringup` fetches the formed cluster's admin kubeconfig, from the project.
        "fetchedKubeconfig": f"../{layout.site_kubeconfig(site.name)}",
        "resources": entries,
    }


def render(plan: Plan) -> dict[str, bytes]:
    files = render_grid(plan)
    for site in plan.sites:
        files |= render_site(plan, site)
    return files


def grid_plan(plan: Plan) -> str:
    """The resolved plan without its sites, which each have a file of their own (so a change at
    one site rewrites that site's files only), as JSON."""
    grid = json.loads(plan.model_dump_json(exclude={"sites"}))
    grid["sites"] = [site.name for site in plan.sites]
    return indented_json.dumps(grid) + "\n"


def render_grid(plan: Plan) -> dict[str, bytes]:
    program = resources.files("aigrid").joinpath("pulumi_site.py").read_text(encoding="utf-8")
    files = {
        layout.PULUMI_PROJECT: templates.render("pulumi/Pulumi.yaml").decode(),
        layout.PULUMI_PROGRAM: templates.render("pulumi/__main__.py").decode(),
        layout.PULUMI_REQUIREMENTS: templates.render("pulumi/requirements.txt").decode(),
        layout.PULUMI_SITE_MODULE: program,
        layout.PLAN: grid_plan(plan),
    }
    return {path: text.encode() for path, text in files.items()}


def render_site(plan: Plan, site: SitePlan, objects: list[K8sObject] | None = None) -> dict[str, bytes]:
    """A site's stack config (as a first compile writes it), resources and resolved plan."""
    resources = site_resources(plan, site, objects)
    files = {
        layout.stack_config(site.name): stack_config(plan, site),
        layout.site_resources(site.name): indented_json.dumps(resources) + "\n",
        layout.site_plan(site.name): site.model_dump_json(indent=2) + "\n",
    }
    return {path: text.encode() for path, text in files.items()}
