"""Validate kubeadm configuration documents offline against schema/kubeadm/v1beta4/.

Picks the JSON Schema by each document's apiVersion and kind: kubeadm's InitConfiguration,
ClusterConfiguration and JoinConfiguration (kubeadm.k8s.io/v1beta4, closed: a misspelt or v1beta3-only
field fails) and the kubelet's KubeletConfiguration (kubelet.config.k8s.io/v1beta1, partial: the usual
fields are typed, any other is allowed). schema/kubeadm/SOURCE.md says where each schema comes from.

This lives under tests/ rather than in the aigrid package because jsonschema is a development
dependency of aigrid, not a runtime one (pyproject.toml, [project.optional-dependencies] dev).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema" / "kubeadm" / "v1beta4"
KUBEADM_API_VERSION = "kubeadm.k8s.io/v1beta4"
KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1"
SCHEMAS = {
    (KUBEADM_API_VERSION, "InitConfiguration"): "initconfiguration.json",
    (KUBEADM_API_VERSION, "ClusterConfiguration"): "clusterconfiguration.json",
    (KUBEADM_API_VERSION, "JoinConfiguration"): "joinconfiguration.json",
    (KUBELET_API_VERSION, "KubeletConfiguration"): "kubeletconfiguration.json",
}


@cache
def validator(api_version: str, kind: str) -> Any:
    """The (checked) validator of one schema; a KeyError for a kind that has none."""
    schema = json.loads((SCHEMA_DIR / SCHEMAS[api_version, kind]).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_kubeadm_documents(docs: list[dict[str, Any]]) -> list[str]:
    """Error messages for the documents of one kubeadm config file (empty when all are valid).

    Each message names the document's index and kind and the JSON path of the offending value. A
    document whose apiVersion and kind have no schema here (kubeadm.k8s.io/v1beta3, a misspelt kind,
    KubeProxyConfiguration) is an error too.
    """
    errors: list[str] = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            errors.append(f"document {index}: not a mapping but {type(doc).__name__}")
            continue
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key not in SCHEMAS:
            known = ", ".join(f"{a} {k}" for a, k in SCHEMAS)
            errors.append(
                f"document {index}: no schema for apiVersion {key[0]!r} kind {key[1]!r} (known: {known})"
            )
            continue
        found = validator(*key).iter_errors(doc)
        for error in sorted(found, key=lambda e: [str(p) for p in e.absolute_path]):
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            errors.append(f"document {index} ({key[1]}) at {where}: {error.message}")
    return errors
