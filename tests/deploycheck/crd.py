"""Strict validation of custom resources against upstream CRD schemas, with jsonschema.

A CRD's ``openAPIV3Schema`` lets unknown fields through (the API server prunes them
silently). Here every object schema without ``x-kubernetes-preserve-unknown-fields`` gets
``additionalProperties: false``, so a misspelt or misplaced field is an error, as it would be
with ``kubectl apply --validate=strict``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# libyaml's loader when present: the Strimzi Kafka CRD alone is 340 kB.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PRESERVE = "x-kubernetes-preserve-unknown-fields"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# What the API server accepts in metadata of a resource we write (a strict subset of ObjectMeta).
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI v3 CRD schema in which unknown fields are errors."""
    out = copy.deepcopy(schema)
    _tighten(out)
    return out


def _tighten(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _tighten(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("nullable") and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and not node.get(PRESERVE) and "additionalProperties" not in node:
        # An object with neither properties nor preserve-unknown keeps nothing at all.
        node["additionalProperties"] = False
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            for sub in value.values():
                _tighten(sub)
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            _tighten(value)


@dataclass(frozen=True)
class CrdCatalog:
    """Strict schemas by (apiVersion, kind) for every served version of every CRD in a folder."""

    schemas: dict[tuple[str, str], dict[str, Any]]

    @classmethod
    def load(cls, folder: Path) -> CrdCatalog:
        schemas: dict[tuple[str, str], dict[str, Any]] = {}
        for crd in _crds(folder):
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served", True):
                    schema = strict(version["schema"]["openAPIV3Schema"])
                    schema.setdefault("properties", {})["metadata"] = OBJECT_META
                    schema.setdefault("required", [])
                    schema["required"] = sorted({*schema["required"], "metadata"})
                    schemas[(f"{group}/{version['name']}", kind)] = schema
        return cls(schemas)

    def with_schemas(self, extra: dict[tuple[str, str], dict[str, Any]]) -> CrdCatalog:
        """This catalog plus hand-written strict schemas (kinds with no CRD at hand)."""
        return CrdCatalog({**self.schemas, **extra})

    @property
    def groups(self) -> set[str]:
        return {api.split("/")[0] for api, _ in self.schemas}

    def handles(self, obj: dict[str, Any]) -> bool:
        """Whether ``obj`` belongs to a group these CRDs define (so core checks do not apply)."""
        return str(obj.get("apiVersion", "")).split("/")[0] in self.groups

    def validate(self, obj: dict[str, Any]) -> list[str]:
        """Problems with ``obj``, each as "path: message"; empty when it is valid."""
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        schema = self.schemas.get(key)
        if schema is None:
            served = sorted(f"{a} {k}" for a, k in self.schemas if k == key[1])
            return [f"{key[0]} {key[1]} is not served by the CRDs (served: {served or 'none'})"]
        validator = jsonschema.Draft7Validator(schema)
        return [
            f"{'.'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
            for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        ]


def _crds(folder: Path) -> list[dict[str, Any]]:
    if not folder.is_dir():
        raise FileNotFoundError(
            f"CRD folder {folder} not found (expected ../shared/k8s-crds beside the repository, "
            "or set FW_K8S_CRDS)"
        )
    docs: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.yaml")):
        with path.open() as fh:
            loaded = yaml.load_all(fh, Loader=_LOADER)
            docs += [d for d in loaded if d and d.get("kind") == "CustomResourceDefinition"]
    return docs


def served_api_versions(folder: Path) -> list[str]:
    """``group/version`` and ``group/version/Kind`` for helm's ``--api-versions``."""
    out: list[str] = []
    for crd in _crds(folder):
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                out += [f"{group}/{version['name']}", f"{group}/{version['name']}/{kind}"]
    return sorted(set(out))
