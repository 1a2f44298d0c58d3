"""``framewire dashboard``: the web page and pipeline API on one port.

Reads ``FW_DASHBOARD_*`` (see ``DashboardSettings``) and ``FW_KAFKA_*``; ``--host`` and
``--port`` override the environment.
"""

from __future__ import annotations

import argparse
from typing import Any

from framewire.core.config import load_settings
from framewire.core.kafka import check_reachable
from framewire.core.logs import setup_logging
from framewire.dashboard.app import create_app
from framewire.dashboard.settings import DashboardSettings

__all__ = ["add_arguments", "create_app", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (env FW_DASHBOARD_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (env FW_DASHBOARD_PORT, 8080)")


def secrets_of(settings: DashboardSettings) -> list[str]:
    """Values the log filter must never print."""
    values = [settings.token, settings.kafka.sasl_password, settings.kafka.ssl_key_password]
    return [v.get_secret_value() for v in values if v is not None]


def run(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {k: getattr(args, k) for k in ("host", "port")}
    settings = load_settings(
        DashboardSettings, **{k: v for k, v in overrides.items() if v is not None}
    )
    assert isinstance(settings, DashboardSettings)
    setup_logging(getattr(args, "log_level", None), secrets=secrets_of(settings))
    check_reachable(settings.kafka)
    from framewire.dashboard.server import serve

    serve(settings)
    return 0


