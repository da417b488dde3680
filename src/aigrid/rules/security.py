"""Security rules (AG4xx): secrets stay references, package sources are trustworthy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from packaging.version import Version

from aigrid.catalog import version
from aigrid.load.paths import Loc
from aigrid.model.blueprint import Mirrors
from aigrid.model.grammar import SECRET_SCHEMES
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.IGNORECASE)
# scheme://user:password@ anywhere in a value (a database URL, a proxy setting).
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")


def is_reference(value: str) -> bool:
    return value.startswith(SECRET_SCHEMES)


def _mirror_sets(ctx: Context) -> Iterator[tuple[Loc, str, Mirrors]]:
    """(loc, its blueprint path, mirrors) for the grid's mirrors and every carrier's own: each
    is one set of sources with one login, used on its own at the sites it serves."""
    bp = ctx.blueprint
    if bp.stack.mirrors is not None:
        yield ("stack", "mirrors"), "stack.mirrors", bp.stack.mirrors
    for index, carrier in enumerate(bp.carriers):
        if carrier.stack.mirrors is not None:
            where = f"carriers[{carrier.name}].stack.mirrors"
            yield ("carriers", index, "stack", "mirrors"), where, carrier.stack.mirrors


def _secret_fields(ctx: Context) -> Iterator[tuple[Loc, str, str]]:
    """(loc, what, value) for every value that must be a secret reference."""
    for loc, _, mirrors in _mirror_sets(ctx):
        for field in ("password", "token"):
            value = getattr(mirrors.credentials, field) if mirrors.credentials else None
            if value is not None:
                yield (*loc, "credentials", field), f"mirror {field}", value
    for index, site in enumerate(ctx.blueprint.sites):
        if site.kubeconfig is not None:
            yield ("sites", index, "kubeconfig"), f"kubeconfig of site {site.name}", site.kubeconfig
    for index, workload in enumerate(ctx.blueprint.workloads):
        if workload.model.credentials is not None:
            where = ("workloads", index, "model", "credentials")
            yield where, f"model credentials of workload {workload.name}", workload.model.credentials
        for key, value in workload.env.items():
            if _SECRET_NAME.search(key):
                yield ("workloads", index, "env", key), f"env {key} of workload {workload.name}", value


def _has_credentials(mirrors: Mirrors) -> bool:
    credentials = mirrors.credentials
    return credentials is not None and bool(credentials.password or credentials.token)


def _mirror_urls(ctx: Context, with_credentials: bool) -> Iterator[tuple[Loc, str, str]]:
    """(loc, url, the set's path) of every apt, Helm and pip mirror in a set with (or
    without) a login."""
    for loc, where, mirrors in _mirror_sets(ctx):
        if _has_credentials(mirrors) != with_credentials:
            continue
        for field in ("apt", "helm", "pip"):
            value = getattr(mirrors, field)
            if value:
                yield (*loc, field), value, where


@rule(
    Code.PLAINTEXT_SECRET,
    "A password, token or key is written in plain text",
    bad="credentials:\n  password: hunter2",
    good="credentials:\n  password: secret://mirrors/apt-password",
    # High: anyone who can read the repository or a compiled output holds the credential.
    security_severity=7.5,
    cwe=798,  # Use of Hard-coded Credentials
)
def plaintext_secrets(ctx: Context) -> Iterable[Finding]:
    """Blueprints live in Git and compiled output is shared; secrets must be references
    (`secret://<path>` for the deployment's secret store, `env://<VAR>`, `vault://<path>`)
    resolved at bring-up time, never literal values. A workload environment value holding
    a URL with `user:password@` counts too (mirror and model repository URLs may not carry
    credentials at all: that is refused as an invalid value)."""
    for loc, what, value in _secret_fields(ctx):
        if not is_reference(value):
            yield Finding(
                loc,
                f"{what} is a literal value, not a secret reference",
                "use secret://<path>, env://<VAR> or vault://<path>",
            )
    for index, workload in enumerate(ctx.blueprint.workloads):
        for key, value in workload.env.items():
            if not _SECRET_NAME.search(key) and _URL_PASSWORD.search(value):
                yield Finding(
                    ("workloads", index, "env", key),
                    f"env {key} of workload {workload.name} embeds a password in a URL",
                    "pass the password in its own variable set to secret://<path>, env://<VAR> or "
                    "vault://<path>",
                )


@rule(
    Code.INSECURE_MIRROR,
    "A package mirror is reached over plain HTTP",
    bad="mirrors:\n  apt: http://mirror.example.net/ubuntu",
    good="mirrors:\n  apt: https://mirror.example.net/ubuntu",
    # Medium: needs a position on the network path, but then swaps charts or packages.
    security_severity=5.9,
    cwe=494,  # Download of Code Without Integrity Check
)
def insecure_mirrors(ctx: Context) -> Iterable[Finding]:
    """apt verifies signatures, but Helm charts and pip packages over HTTP can be swapped in
    transit. Use HTTPS. (With credentials set, credentials-over-http reports it as an error instead.)"""
    for loc, url, _ in _mirror_urls(ctx, with_credentials=False):
        if url.startswith("http://"):
            yield Finding(loc, f"mirror {url} uses plain HTTP", "serve the mirror over HTTPS")


@rule(
    Code.CREDENTIALS_OVER_HTTP,
    "Mirror credentials would be sent over plain HTTP",
    bad="mirrors:\n  apt: http://mirror.example.net/ubuntu\n  credentials: {username: aigrid, password: "
    "secret://mirrors/apt}",
    good="mirrors:\n  apt: https://mirror.example.net/ubuntu\n  credentials: {username: aigrid, password: "
    "secret://mirrors/apt}",
    # High: every node sends the mirror credential in clear text on each package fetch.
    security_severity=7.5,
    cwe=523,  # Unprotected Transport of Credentials
)
def credentials_over_http(ctx: Context) -> Iterable[Finding]:
    """`stack.mirrors.credentials` (or a carrier's own, in `carriers`) are presented to the
    mirrors beside them; over plain HTTP anyone on the path reads them, secret references or
    not. A mirror that needs credentials must be served over HTTPS (an anonymous HTTP mirror is
    only the insecure-mirror warning)."""
    for loc, url, where in _mirror_urls(ctx, with_credentials=True):
        if url.startswith("http://"):
            yield Finding(
                loc,
                f"mirror {url} uses plain HTTP but {where}.credentials are set",
                "serve the mirror over HTTPS, or drop the credentials if it needs none",
            )


# The containerd releases that take a registry login beside their own configuration
# (container_runtime's registry_auth.yml): before 2.0 each imported file replaced a plugin's
# whole table (containerd 1.7 services/server/config/config.go, mergeConfig: "Replace entire
# sections"), so the login's drop-in wiped the CRI configuration, or the nvidia runtime's
# drop-in, imported after it, wiped the login; 2.4 removes registry.configs auth (containerd
# RELEASES.md, "Deprecated config properties").
REGISTRY_LOGIN_CONTAINERD = (Version("2.0"), Version("2.4"))


@rule(
    Code.REGISTRY_LOGIN_UNSUPPORTED,
    "The pinned containerd cannot take the container registry mirror's login",
    bad="stack:\n  containerRuntime: {version: 1.7.28}\n  mirrors:\n"
    "    containerRegistry: registry.example.net\n"
    "    credentials: {username: aigrid, password: secret://mirrors/registry}",
    good="stack:\n  containerRuntime: {version: 2.3.1}\n  mirrors:\n"
    "    containerRegistry: registry.example.net\n"
    "    credentials: {username: aigrid, password: secret://mirrors/registry}",
)
def registry_login_containerd(ctx: Context) -> Iterable[Finding]:
    """A registry mirror with a login needs a containerd from 2.0 up to 2.3: the node's login
    goes into a root-only drop-in of containerd's configuration, which containerd 1.x would
    let replace the whole CRI configuration (or lose to the nvidia runtime's drop-in), and
    which 2.4 no longer reads. Without it, every image pull at the site fails on the mirror."""
    text = ctx.blueprint.stack.container_runtime.version
    pinned = version(text)
    low, high = REGISTRY_LOGIN_CONTAINERD
    if pinned is None or low <= pinned < high:
        return
    for loc, where, mirrors in _mirror_sets(ctx):
        if mirrors.container_registry and _has_credentials(mirrors):
            yield Finding(
                (*loc, "credentials"),
                f"containerd {text} cannot take {where}.credentials for the registry mirror "
                f"{mirrors.container_registry}",
                f"pin containerd {low} or later, before {high} (stack.containerRuntime.version)",
            )
