"""``framewire gateway``: run one gateway process until SIGINT or SIGTERM.

Settings come from ``FW_GATEWAY_*`` / ``FW_KAFKA_*`` (see ``settings``); the options below
override them. ``--stream ID=URI`` also writes that stream's spec to the registry first,
which is how the demo seeds sample streams.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from framewire.core.config import load_settings
from framewire.core.energy import register_energy_metrics
from framewire.core.errors import ConfigError
from framewire.core.kafka import make_producer
from framewire.core.probes import serve_probes
from framewire.core.signals import stop_on_signals
from framewire.core.topics import validate_stream_id
from framewire.gateway.registry import put_spec
from framewire.gateway.service import GatewayHealth, serve
from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.v1.stream_pb2 import StreamSpec

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", help="instance id shown in stream status (FW_GATEWAY_ID)")
    parser.add_argument("--assignment", choices=[m.value for m in AssignmentMode],
                        help="group: share streams with other gateways; all: serve every stream")
    parser.add_argument("--metrics-port", type=int, help="Prometheus port, 0 = off")
    parser.add_argument("--stream", action="append", default=[], metavar="ID=URI",
                        help="register a stream before starting (repeatable)")
    parser.add_argument("--fps", type=float, default=15.0, help="target fps for --stream")
    parser.add_argument("--width", type=int, default=0, help="output width for --stream")
    parser.add_argument("--height", type=int, default=0, help="output height for --stream")


def stream_specs(items: list[str], fps: float, width: int, height: int) -> list[StreamSpec]:
    """Specs for ``--stream ID=URI`` options; ConfigError for a malformed one."""
    specs = []
    for item in items:
        stream_id, sep, uri = item.partition("=")
        if not sep or not uri:
            raise ConfigError(f"--stream {item!r} must look like ID=URI")
        specs.append(StreamSpec(
            stream_id=validate_stream_id(stream_id.strip()), source_uri=uri.strip(),
            target_fps=fps, width=width, height=height, enabled=True, loop=True,
        ))
    return specs


def register(settings: GatewaySettings, specs: list[StreamSpec]) -> None:
    """Write specs to the registry (the topic is created by the gateway if missing)."""
    from framewire.core.admin import ensure_topics, fixed_topics
    from framewire.core.kafka import make_admin

    topics = settings.kafka.topics
    ensure_topics(make_admin(settings.kafka), fixed_topics(topics, settings.kafka.topic_policy))
    producer = make_producer(settings.kafka)
    for spec in specs:
        put_spec(producer, topics, spec)
    if producer.flush(settings.kafka.connect_timeout_s):
        raise ConfigError("could not write the --stream specs to the registry in time")


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {
        "id": args.id, "assignment": args.assignment, "metrics_port": args.metrics_port,
    }
    settings = load_settings(GatewaySettings, **{k: v for k, v in overrides.items() if v is not None})
    assert isinstance(settings, GatewaySettings)
    specs = stream_specs(args.stream, args.fps, args.width, args.height)
    if specs:
        register(settings, specs)
    health = GatewayHealth()
    serve_probes(settings.metrics_port, settings.metrics_addr, live=health.live, ready=health.ready)
    register_energy_metrics("gateway")
    stop = stop_on_signals()
    serve(settings, stop, health)
    return 0
