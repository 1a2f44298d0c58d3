"""Copies of k8s/ files packaged in the chart: made by ``sync``, checked for drift.

Helm can only read files inside the chart, so the dashboard and the rules written under
``k8s/`` (the one source) are copied into ``charts/framewire/files/``.
"""

from __future__ import annotations

import shutil

from deploycheck.paths import CHART, K8S_DIR

PACKAGED = ("grafana-dashboard.json", "prometheus-rules.yaml")


def drift() -> list[str]:
    """Problems: a source missing, or a chart copy missing or different from its source."""
    problems = []
    for name in PACKAGED:
        source, copy = K8S_DIR / name, CHART / "files" / name
        if not source.is_file():
            problems.append(f"k8s/{name} does not exist (the chart and compose package it)")
        elif not copy.is_file() or copy.read_bytes() != source.read_bytes():
            problems.append(
                f"charts/framewire/files/{name} differs from k8s/{name}: "
                "run `bash scripts/validate_deploy.sh sync`"
            )
    return problems


def sync() -> list[str]:
    """Copy every existing source into the chart; return the names copied."""
    (CHART / "files").mkdir(exist_ok=True)
    copied = []
    for name in PACKAGED:
        if (K8S_DIR / name).is_file():
            shutil.copyfile(K8S_DIR / name, CHART / "files" / name)
            copied.append(name)
    return copied
