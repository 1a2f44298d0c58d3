"""Every framewire metric used by the Grafana dashboard and the Prometheus rules (k8s/) is one
the services really export.

The aggregator runs as a real process on the broker and is scraped over HTTP. Services this
test does not start yet are checked against the metrics their code declares (exposition of
their registry): add a starter to RUNNING when a test can run the service, and its check
becomes a scrape.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from support.aggregator import (
    AggregatorProcess,
    drop_bytes,
    prepare_streams,
    produce,
    result_bytes,
    wait_for,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "k8s" / "grafana-dashboard.json"
RULES = REPO / "k8s" / "prometheus-rules.yaml"
METRIC = re.compile(r"\b(framewire_[a-z0-9_]+)\b")
# Metric name prefix -> service exporting it (framewire_energy_* comes from core.energy,
# registered by every service that measures energy; the aggregator does).
PREFIXES = {
    "framewire_aggregator_": "aggregator",
    "framewire_energy_": "aggregator",
    "framewire_gateway_": "gateway",
    "framewire_inference_": "inference",
    "framewire_dashboard_": "dashboard",
    "framewire_tracker_": "tracker",
}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def expressions() -> list[str]:
    """PromQL of every dashboard panel target and every rule."""
    exprs: list[str] = []

    def walk(panels: list[dict]) -> None:
        for panel in panels:
            exprs.extend(t["expr"] for t in panel.get("targets", []) if t.get("expr"))
            walk(panel.get("panels", []))

    dashboard = json.loads(GRAFANA.read_text())
    walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        exprs.append(query["query"] if isinstance(query, dict) else "")
    rules = yaml.safe_load(RULES.read_text())
    exprs.extend(rule["expr"] for group in rules["groups"] for rule in group["rules"])
    return exprs


def referenced(service: str) -> set[str]:
    names = {m for expr in expressions() for m in METRIC.findall(expr)}
    return {n for n in names if PREFIXES.get(_prefix(n)) == service}


def _prefix(name: str) -> str:
    return next((p for p in PREFIXES if name.startswith(p)), "")


def exported(exposition: str) -> set[str]:
    """Series names an exposition can produce, including families declared without samples."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def declared(module: str, factory: Callable[[object], CollectorRegistry] | None = None) -> Callable[[], str]:
    """Exposition of the metrics a service's code declares (not yet a running process)."""

    def exposition() -> str:
        loaded = importlib.import_module(module)
        if factory is None:
            from prometheus_client import REGISTRY

            return generate_latest(REGISTRY).decode()
        return generate_latest(factory(loaded)).decode()

    return exposition


DECLARED = {
    "gateway": declared("framewire.gateway.counters"),
    "inference": declared("framewire.inference.metrics", lambda m: m.InferenceMetrics().registry),
    "dashboard": declared("framewire.dashboard.metrics"),
    "tracker": declared("framewire.tracker.service", lambda m: m.TrackerMetrics().registry),
}


def test_every_referenced_metric_belongs_to_a_known_service():
    # Given all expressions of the dashboard and the rules
    names = {m for expr in expressions() for m in METRIC.findall(expr)}
    # Then each framewire metric has the prefix of a service, and every service is covered
    assert names and all(_prefix(n) for n in names), sorted(n for n in names if not _prefix(n))
    assert {PREFIXES[_prefix(n)] for n in names} == {"aggregator", "gateway", "inference", "dashboard",
                                                           "tracker"}


def test_running_aggregator_exports_every_metric_it_is_referenced_by(kafka_settings, tmp_path):
    # Given a running aggregator that saw results, drops, a malformed record and an alert
    topics = kafka_settings.topics
    prepare_streams(kafka_settings, ["m1"])
    rules = tmp_path / "alerts.rules"
    rules.write_text("any-person: count(person) >= 1 for 0s\n")
    env = {"FW_AGGREGATOR_RULES_FILE": str(rules)}
    aggregator = AggregatorProcess(kafka_settings, tmp_path / "aggregator.log", env).start()
    try:
        now_ms = int(time.time() * 1000) - 6000
        values = [result_bytes("m1", i, now_ms + i * 100, 15, ["person"]) for i in range(50)]
        produce(kafka_settings, [(topics.results("m1"), "m1", v) for v in [*values, b"\x00garbage"]])
        produce(kafka_settings, [(topics.drops, "m1", drop_bytes("m1", now_ms, "REASON_STALE", 2))])

        def scraped_enough() -> bool:
            text = aggregator.metrics_text()
            return "framewire_aggregator_window_fps{" in text and "dead_letters_total{" in text

        wait_for(scraped_enough, 30, "aggregator metrics after traffic")
        # When /metrics is scraped, and the probes beside it are asked
        names = exported(aggregator.metrics_text())
        probes = {path: httpx.get(f"http://127.0.0.1:{aggregator.metrics_port}{path}", timeout=5)
                  for path in ("/healthz", "/readyz")}
    finally:
        aggregator.stop()
    # Then the running aggregator is live and ready on the same port as its metrics
    assert {p: r.status_code for p, r in probes.items()} == {"/healthz": 200, "/readyz": 200}
    assert probes["/readyz"].json()["status"] == "ready"
    # Then every aggregator and energy metric used by the dashboard and rules is there
    wanted = referenced("aggregator")
    assert wanted, "the dashboard should use aggregator metrics"
    assert wanted <= names, f"used but not exported: {sorted(wanted - names)}"


@pytest.mark.parametrize("service", sorted(DECLARED))
def test_other_services_declare_every_metric_they_are_referenced_by(service):
    # Given the metrics the service's code declares
    names = exported(DECLARED[service]())
    # Then every metric of that service used by the dashboard and rules is among them
    wanted = referenced(service)
    assert wanted, f"the dashboard should use {service} metrics"
    assert wanted <= names, f"used but not declared by {service}: {sorted(wanted - names)}"
