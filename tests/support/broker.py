"""A private broker a test may kill and restart: the shared one never is."""

from __future__ import annotations

from pathlib import Path

import pytest

from framewire.broker.local import LocalBroker
from framewire.core.errors import FramewireError
from support.gateway import free_port


def start_private_broker(data: Path, purpose: str) -> LocalBroker:
    """Start a broker on free ports with its data in ``data``; fail the test if it cannot."""
    # A short broker session lets the restarted broker take its partitions back quickly.
    broker = LocalBroker(data, port=free_port(), controller_port=free_port(),
                         extra_config={"broker.session.timeout.ms": "2000",
                                       "broker.heartbeat.interval.ms": "500"})
    try:
        broker.start()
    except FramewireError as exc:
        pytest.fail(f"a private broker is needed {purpose}: {exc}")
    return broker
