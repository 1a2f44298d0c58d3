"""``framewire aggregator``: windowed per-stream stats and alerts (faust-streaming)."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.resources import files
from pathlib import Path

from framewire.aggregator.rules import Rule, load_rules
from framewire.aggregator.settings import AggregatorSettings
from framewire.core.config import load_settings

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rules", type=Path, help="alert rule file (FW_AGGREGATOR_RULES_FILE)")
    parser.add_argument("--web-port", type=int, help="faust web view port; 0 disables it")
    parser.add_argument("--metrics-port", type=int, help="Prometheus /metrics port; 0 disables it")
    parser.add_argument(
        "--check-rules", action="store_true", help="validate the rule file and settings, then exit"
    )


def run(args: argparse.Namespace) -> int:
    overrides = {
        "rules_file": args.rules,
        "web_port": args.web_port,
        "metrics_port": args.metrics_port,
    }
    settings = load_settings(AggregatorSettings, **{k: v for k, v in overrides.items() if v is not None})
    assert isinstance(settings, AggregatorSettings)
    settings.layout()  # window sizes that do not fit together stop us here
    rules = _load_rules(settings)
    if args.check_rules:
        sys.stdout.write(f"{len(rules)} rules OK: {', '.join(r.name for r in rules)}\n")
        return 0
    return _serve(settings, rules)


def _load_rules(settings: AggregatorSettings) -> tuple[Rule, ...]:
    path = settings.rules_file or Path(str(files("framewire.aggregator") / "default_rules.txt"))
    rules = load_rules(path)
    log.info("loaded %d alert rules from %s", len(rules), path)
    return rules


def _serve(settings: AggregatorSettings, rules: tuple[Rule, ...]) -> int:
    import faust

    from framewire.aggregator.app import build_app
    from framewire.aggregator.topology import prepare_topics, result_topics
    from framewire.aggregator.views import readiness, register_views
    from framewire.core.energy import register_energy_metrics
    from framewire.core.kafka import check_reachable
    from framewire.core.probes import serve_probes

    # faust's own INFO lines (recovery, assignment, "Worker ready") are how an operator sees
    # a worker that is starting but not yet serving; aiokafka stays at WARNING.
    for name in ("faust", "mode"):
        logging.getLogger(name).setLevel(logging.getLogger().level)
    check_reachable(settings.kafka)
    prepare_topics(settings)
    runtime = build_app(settings, rules, result_topics(settings))
    register_views(runtime)
    register_energy_metrics("aggregator")
    serve_probes(settings.metrics_port, ready=lambda: readiness(runtime))
    worker = faust.Worker(
        runtime.app,
        loglevel=logging.getLevelName(logging.getLogger().level),
        redirect_stdouts=False,
        override_logging=False,
        quiet=True,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
