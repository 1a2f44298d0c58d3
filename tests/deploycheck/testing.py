"""What the deploy tests share: tool requirement and cached renders."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import pytest

from deploycheck import render
from deploycheck.tools import ToolMissing, find_compose, find_helm, find_kubectl


def require_tools() -> None:
    """Fail under CI (which installs the tools) when one is missing; skip elsewhere."""
    try:
        find_helm()
        find_kubectl()
        find_compose()
    except ToolMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"deployment validators are required under CI: {exc}")
        pytest.skip(str(exc))


@cache
def rendered(name: str) -> tuple[dict[str, Any], ...]:
    """A scenario rendered for a cluster serving Strimzi, KEDA and the Prometheus Operator."""
    scenario = next(s for s in render.scenarios() if s.name == name)
    return tuple(render.render(scenario))


def of_kind(objs: tuple[dict[str, Any], ...] | list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o.get("kind") == kind]


def named(objs: tuple[dict[str, Any], ...], kind: str, suffix: str) -> dict[str, Any]:
    """The one object of ``kind`` whose name ends with ``suffix``."""
    matches = [o for o in of_kind(objs, kind) if o["metadata"]["name"].endswith(suffix)]
    assert len(matches) == 1, f"expected one {kind} named *{suffix}, got {len(matches)}"
    return matches[0]
