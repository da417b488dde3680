"""AG4xx: secrets stay references, package sources are trustworthy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from aigrid.load.paths import Loc
from aigrid.model.secrets import SECRET_SCHEMES
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.IGNORECASE)


def is_reference(value: str) -> bool:
    return value.startswith(SECRET_SCHEMES)


def _secret_fields(ctx: Context) -> Iterator[tuple[Loc, str, str]]:
    """(loc, what, value) for every value that must be a secret reference."""
    stack = ctx.blueprint.stack
    credentials = stack.mirrors.credentials if stack.mirrors else None
    if credentials is not None:
        for field in ("password", "token"):
            value = getattr(credentials, field)
            if value is not None:
                yield ("stack", "mirrors", "credentials", field), f"mirror {field}", value
    for index, site in enumerate(ctx.blueprint.sites):
        if site.kubeconfig is not None:
            yield ("sites", index, "kubeconfig"), f"kubeconfig of site {site.name}", site.kubeconfig
    for index, workload in enumerate(ctx.blueprint.workloads):
        for key, value in workload.env.items():
            if _SECRET_NAME.search(key):
                yield ("workloads", index, "env", key), f"env {key} of workload {workload.name}", value


def _urls(ctx: Context) -> Iterator[tuple[Loc, str]]:
    mirrors = ctx.blueprint.stack.mirrors
    if mirrors is not None:
        for field, key in (("apt", "apt"), ("helm", "helm"), ("pip", "pip")):
            value = getattr(mirrors, field)
            if value:
                yield ("stack", "mirrors", key), value
    for index, workload in enumerate(ctx.blueprint.workloads):
        if workload.model.repository:
            yield ("workloads", index, "model", "repository"), workload.model.repository


@rule(
    Code.PLAINTEXT_SECRET,
    "A password, token or key is written in plain text",
    bad="credentials:\n  password: hunter2",
    good="credentials:\n  password: secret://mirrors/apt-password",
)
def plaintext_secrets(ctx: Context) -> Iterable[Finding]:
    """Blueprints live in Git and compiled output is shared; secrets must be references
    (`secret://<path>` for the deployment's secret store, `env://<VAR>`, `vault://<path>`)
    resolved at bring-up time, never literal values. Passwords embedded in URLs count too."""
    for loc, what, value in _secret_fields(ctx):
        if not is_reference(value):
            yield Finding(
                loc,
                f"{what} is a literal value, not a secret reference",
                "use secret://<path>, env://<VAR> or vault://<path>",
            )
    for loc, url in _urls(ctx):
        if urlsplit(url).password:
            yield Finding(
                loc, "URL embeds a password", "remove it from the URL; put it in credentials as a reference"
            )


@rule(
    Code.INSECURE_MIRROR,
    "A package mirror is reached over plain HTTP",
    bad="mirrors:\n  apt: http://mirror.example.net/ubuntu",
    good="mirrors:\n  apt: https://mirror.example.net/ubuntu",
)
def insecure_mirrors(ctx: Context) -> Iterable[Finding]:
    """apt verifies signatures, but Helm charts and pip packages over HTTP can be swapped in
    transit, and credentials sent over HTTP are exposed. Use HTTPS."""
    for loc, url in _urls(ctx):
        if url.startswith("http://") and loc[0] == "stack":
            yield Finding(loc, f"mirror {url} uses plain HTTP", "serve the mirror over HTTPS")
