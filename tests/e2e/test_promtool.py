"""The alerting and recording rules and compose's Prometheus configuration, checked by
promtool from Debian's prometheus package (in the Prometheus image built here)."""

from __future__ import annotations

import re

import pytest

from deploycheck.paths import COMPOSE_DIR, K8S_DIR
from e2e.dockerkit import docker

pytestmark = pytest.mark.e2e


def promtool(image: str, *args: str, mounts: dict[str, str]) -> str:
    volumes = [a for source, target in mounts.items() for a in ("-v", f"{source}:{target}:ro")]
    proc = docker("run", "--rm", *volumes, "--entrypoint", "promtool", image, *args, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_promtool_accepts_the_rules(images: dict[str, str]) -> None:
    # Given k8s/prometheus-rules.yaml; when promtool checks it, then it succeeds with rules in it
    out = promtool(images["PROMETHEUS_IMAGE"], "check", "rules", "/rules/framewire.yaml",
                   mounts={str(K8S_DIR / "prometheus-rules.yaml"): "/rules/framewire.yaml"})
    found = re.search(r"SUCCESS: (\d+) rules found", out)
    assert found and int(found.group(1)) > 0, out


def test_promtool_accepts_the_compose_configuration_with_its_rules(images: dict[str, str]) -> None:
    # Given compose's prometheus.yml with the rules mounted where compose mounts them
    mounts = {str(COMPOSE_DIR / "prometheus" / "prometheus.yml"): "/etc/prometheus/prometheus.yml",
              str(K8S_DIR / "prometheus-rules.yaml"): "/etc/prometheus/rules/framewire.yaml"}
    # When promtool checks the configuration, then it and the rule file it names are valid
    out = promtool(images["PROMETHEUS_IMAGE"], "check", "config", "/etc/prometheus/prometheus.yml",
                   mounts=mounts)
    assert "SUCCESS" in out and "framewire.yaml" in out, out
