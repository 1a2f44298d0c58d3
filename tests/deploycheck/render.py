"""Rendering the chart: ``helm lint`` and ``helm template`` for each CI scenario."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploycheck.crd import served_api_versions
from deploycheck.paths import CHART, K8S_DIR, crd_dir
from deploycheck.tools import find_helm, find_kubectl

RELEASE = "fw"
NAMESPACE = "framewire"
# Kinds the chart can render that no CRD in the shared folder defines.
MONITORING_API_VERSIONS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
)


class RenderError(RuntimeError):
    """helm refused the chart or the values; the message is helm's."""


@dataclass(frozen=True)
class Scenario:
    """One values file under ``charts/framewire/ci/`` (``dev-values.yaml`` -> ``dev``)."""

    name: str
    values_file: Path


def scenarios() -> list[Scenario]:
    files = sorted((CHART / "ci").glob("*-values.yaml"))
    return [Scenario(f.name.removesuffix("-values.yaml"), f) for f in files]


def cluster_api_versions() -> list[str]:
    """What a cluster with Strimzi, KEDA and the Prometheus Operator installed serves."""
    return [*served_api_versions(crd_dir()), *MONITORING_API_VERSIONS]


def _run(args: list[str]) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        # helm lint reports on stdout, helm template on stderr.
        output = "\n".join(t.strip() for t in (proc.stdout, proc.stderr) if t.strip())
        raise RenderError(f"{Path(args[0]).name} {args[1]} failed:\n{output}")
    return proc.stdout


def _value_args(values_files: list[Path], sets: dict[str, str] | None) -> list[str]:
    args: list[str] = []
    for f in values_files:
        args += ["--values", str(f)]
    for key, value in (sets or {}).items():
        args += ["--set", f"{key}={value}"]
    return args


def helm_lint(values_files: list[Path], sets: dict[str, str] | None = None) -> str:
    """``helm lint --strict``; raises RenderError with helm's output on any error or warning."""
    args = [str(find_helm()), "lint", str(CHART), "--strict", "--quiet"]
    return _run(args + _value_args(values_files, sets))


def helm_template(
    values_files: list[Path],
    sets: dict[str, str] | None = None,
    api_versions: list[str] | None = None,
    show_notes: bool = False,
) -> str:
    """Rendered manifests as one YAML stream (with NOTES.txt when ``show_notes``)."""
    # NOTES.txt is rendered only on install; a client-side dry run prints it, offline.
    verb = ["install", "--dry-run=client"] if show_notes else ["template"]
    args = [str(find_helm()), *verb, RELEASE, str(CHART), "--namespace", NAMESPACE]
    for api in api_versions if api_versions is not None else cluster_api_versions():
        args += ["--api-versions", api]
    return _run(args + _value_args(values_files, sets))


def parse_manifests(stream: str) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a rendered stream."""
    return [doc for doc in yaml.safe_load_all(stream) if doc]


def render(scenario: Scenario, **kwargs: Any) -> list[dict[str, Any]]:
    return parse_manifests(helm_template([scenario.values_file], **kwargs))


def kustomize_k8s() -> list[dict[str, Any]]:
    """``kubectl kustomize k8s/``: the manifests k8s/ offers without Helm."""
    return parse_manifests(_run([str(find_kubectl()), "kustomize", str(K8S_DIR)]))
