"""Core Kubernetes objects checked against kubernetes-validate's strict schemas.

The same schemas and validator as ``kubernetes-validate --strict``, loaded once per process
(the definitions file is 1.8 MB) and reporting every error of an object, not only the first.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas.
KUBE_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())


@cache
def _schema_dir(version: str) -> Any:
    return resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}-local-strict"


@cache
def _registry(version: str) -> Registry:
    definitions = json.loads((_schema_dir(version) / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@cache
def _validator(version: str, api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as kubernetes-validate names its files
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _schema_dir(version) / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ _registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_core(obj: dict[str, Any], versions: tuple[str, ...] = KUBE_VERSIONS) -> list[str]:
    """Problems with one core object, each as "k8s VERSION: path: message"."""
    problems = []
    for version in versions:
        validator = _validator(version, str(obj.get("apiVersion")), str(obj.get("kind")))
        if validator is None:
            problems.append(f"k8s {version}: no schema for {obj.get('apiVersion')} {obj.get('kind')}")
            continue
        for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in err.absolute_path) or "<root>"
            problems.append(f"k8s {version}: {path}: {err.message}")
    return problems
