"""Validating a rendered chart: every object, core or custom, strictly."""

from __future__ import annotations

from functools import cache
from typing import Any

from deploycheck import monitoring
from deploycheck.core import validate_core
from deploycheck.crd import CrdCatalog
from deploycheck.paths import crd_dir


@cache
def catalog() -> CrdCatalog:
    """Strimzi and KEDA CRDs from the shared folder, plus the Prometheus Operator subset."""
    return CrdCatalog.load(crd_dir()).with_schemas(monitoring.SCHEMAS)


def describe(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def validate_object(obj: dict[str, Any]) -> list[str]:
    """Problems with one rendered object, each prefixed with its kind and name."""
    checker = catalog()
    problems = checker.validate(obj) if checker.handles(obj) else validate_core(obj)
    return [f"{describe(obj)}: {p}" for p in problems]


def validate_manifests(objs: list[dict[str, Any]]) -> list[str]:
    """Problems with a rendered release, including duplicate (kind, name) pairs."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for obj in objs:
        key = (str(obj.get("kind")), str(obj.get("metadata", {}).get("name")))
        if key in seen:
            problems.append(f"{describe(obj)}: rendered twice")
        seen.add(key)
        problems += validate_object(obj)
    return problems
