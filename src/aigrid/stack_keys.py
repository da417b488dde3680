"""The keys of a site stack's Pulumi config, named once: the compile writes them
(aigrid.render.pulumi) and the stack program reads them (aigrid.pulumi_site), so a key one
side writes is a key the other reads.
"""

from __future__ import annotations

NAMESPACE = "aigrid"
SITE = "site"
# A compiled plan.json, relative to the Pulumi project, or a blueprint to validate instead.
PLAN = "plan"
BLUEPRINT = "blueprint"
# The cluster's kubeconfig itself, a Pulumi secret set by the operator: aigrid never writes it.
KUBECONFIG = "kubeconfig"


def qualified(key: str) -> str:
    """`kubeconfig` -> `aigrid:kubeconfig`, as `pulumi config set` and the stack file spell it."""
    return f"{NAMESPACE}:{key}"
