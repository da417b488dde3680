"""The JSON Schema of a blueprint layer: a file that `extends` others or that others extend.

Derived from the resolved blueprint's schema (aigrid.model.blueprint.json_schema) so the two
never drift: every field is optional at every depth (a layer may leave out what another layer
sets), unknown keys stay errors, and `$patch` is allowed where the merge in
aigrid.load.layers accepts it:

- in any mapping, `$patch: replace` or `$patch: delete` (a named-list item with
  `$patch: delete` removes that item);
- as the first item of a list, `{$patch: replace}` (the list replaces the base's whole);
- in place of a value that is not a mapping, `{$patch: delete}` removes the key.

Items of the lists merged by name keep their key (`name`, or `hostname` for nodes) required:
without it the merge cannot match the item and replaces the whole list instead. `extends`
and `locks` take no directive (extends entries must be paths; locks accumulate), and the
top level takes only `$patch: replace` (it cannot be deleted).
"""

from __future__ import annotations

import copy
from typing import Any

from aigrid.load.yamlsrc import DIRECTIVE_KEY
from aigrid.model.blueprint import json_schema

LAYER_SCHEMA_ID = "https://aigrid.dev/schemas/v1alpha1/blueprint-layer.json"
# Items of lists merged by name, and the key the merge matches them by (load/paths.NAME_KEYS).
NAMED_ITEMS = {"Carrier": "name", "Slice": "name", "Site": "name", "Node": "hostname", "Workload": "name"}
# Top-level fields the merge takes no directive for.
PLAIN = frozenset({"apiVersion", "kind", "extends", "locks"})

_DIRECTIVE = {
    "enum": ["replace", "delete"],
    "description": "Merge directive: replace the base's value instead of merging, or delete it",
}
_DELETE = {
    "type": "object",
    "properties": {DIRECTIVE_KEY: {"const": "delete"}},
    "required": [DIRECTIVE_KEY],
    "additionalProperties": False,
    "description": "Remove this key set by a layer below",
}
_REPLACE_FIRST = {
    "type": "object",
    "properties": {DIRECTIVE_KEY: {"const": "replace"}},
    "required": [DIRECTIVE_KEY],
    "additionalProperties": False,
    "description": "As the first item: the list replaces the base's list instead of merging",
}


def layer_json_schema() -> dict[str, Any]:
    schema = copy.deepcopy(json_schema())
    schema["$id"] = LAYER_SCHEMA_ID
    schema["title"] = "Blueprint layer"
    schema["description"] = (
        "A blueprint file as written, before layering: every field optional, `$patch` allowed. "
        "The resolved blueprint must satisfy blueprint.schema.json."
    )
    defs: dict[str, Any] = schema["$defs"]
    for name, model in defs.items():
        _layer_model(model, keep=NAMED_ITEMS.get(name))
        model["properties"][DIRECTIVE_KEY] = _DIRECTIVE
    _layer_model(schema, keep=None, plain=PLAIN)
    schema["properties"][DIRECTIVE_KEY] = {**_DIRECTIVE, "enum": ["replace"]}
    defs["PatchDelete"] = _DELETE
    defs["PatchReplace"] = _REPLACE_FIRST
    return schema


def _layer_model(model: dict[str, Any], keep: str | None, plain: frozenset[str] = frozenset()) -> None:
    if keep is None:
        model.pop("required", None)
    else:
        model["required"] = [keep]
    for field, prop in model["properties"].items():
        if field in plain:
            continue
        _allow_directives(prop)
        if not _takes_directive(prop):
            # if/then/else rather than anyOf, so an editor reports a wrong value against the
            # field's own schema, not against the directive.
            model["properties"][field] = {
                "if": {"type": "object", "required": [DIRECTIVE_KEY]},
                "then": {"$ref": "#/$defs/PatchDelete"},
                "else": prop,
            }


def _alternatives(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return list(prop.get("anyOf", [prop]))


def _takes_directive(prop: dict[str, Any]) -> bool:
    """A mapping (a model or a free-form map) takes `$patch` itself, delete included."""
    return any("$ref" in alt or alt.get("type") == "object" for alt in _alternatives(prop))


def _allow_directives(prop: dict[str, Any]) -> None:
    for alternative in _alternatives(prop):
        if alternative.get("type") == "array":
            alternative["prefixItems"] = [
                {
                    "if": {"type": "object", "required": [DIRECTIVE_KEY], "maxProperties": 1},
                    "then": {"$ref": "#/$defs/PatchReplace"},
                    "else": alternative["items"],
                }
            ]
        elif alternative.get("type") == "object":
            # A free-form mapping (labels, env, MIG profiles) also merges key by key.
            alternative.setdefault("properties", {})[DIRECTIVE_KEY] = _DIRECTIVE
            names = alternative.get("propertyNames")
            if names is not None:
                alternative["propertyNames"] = {"anyOf": [names, {"const": DIRECTIVE_KEY}]}
