"""The keys of a site stack's Pulumi config, named once for the compile (aigrid.render.pulumi).

The stack program (aigrid.pulumi_site, copied into the compiled project) must not import aigrid,
so it spells the same keys itself; a test runs the compiled program with the compiled stack
config and checks that every key written here is read there.
"""

from __future__ import annotations

NAMESPACE = "aigrid"
SITE = "site"
# The site's resource file (its Kubernetes objects), relative to the Pulumi project.
RESOURCES = "resources"
# The cluster's kubeconfig itself, a Pulumi secret set by the operator: aigrid never writes it.
KUBECONFIG = "kubeconfig"
# The Helm mirror's password or token (stack.mirrors.credentials), a Pulumi secret set by the
# operator, like the kubeconfig; read only where the charts come from a mirror with a login.
HELM_PASSWORD = "helmPassword"
# Keys earlier compiles wrote and no program reads any more; a recompile removes them.
RETIRED = ("plan", "blueprint")


def qualified(key: str) -> str:
    """`kubeconfig` -> `aigrid:kubeconfig`, as `pulumi config set` and the stack file spell it."""
    return f"{NAMESPACE}:{key}"
