"""Core Kubernetes objects checked with kubernetes-validate in strict mode."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas.
KUBE_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())


def validate_core(obj: dict[str, Any], versions: tuple[str, ...] = KUBE_VERSIONS) -> list[str]:
    """Problems with one core object, like ``kubernetes-validate --strict`` reports them."""
    problems = []
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path) or "<root>"
            problems.append(f"k8s {version}: {path}: {err.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"k8s {version}: no schema for {obj.get('apiVersion')} {obj.get('kind')}")
    return problems
