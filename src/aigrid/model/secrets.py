"""How a blueprint refers to a secret without containing it."""

from __future__ import annotations

# secret://<path> for the deployment's secret store, env://<VAR> on the controller,
# vault://<path> for HashiCorp Vault.
SECRET_SCHEMES = ("secret://", "env://", "vault://")


def is_secret_ref(value: str) -> bool:
    return value.startswith(SECRET_SCHEMES)
