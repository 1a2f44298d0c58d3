"""Shared fixtures: a real Kafka broker and per-test isolated topic prefixes.

``kafka_bootstrap`` uses the broker at ``FW_KAFKA_BOOTSTRAP`` when set, otherwise starts a
local one (``framewire.broker``) for the session. A test that needs a broker fails under
``CI=true`` when none can be had, and skips elsewhere with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from framewire.core.config import KafkaSettings

REPO = Path(__file__).resolve().parents[1]


def _broker_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"a Kafka broker is required under CI: {reason}")
    pytest.skip(f"no Kafka broker: {reason}")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from framewire.core.errors import FramewireError
    from framewire.core.kafka import check_reachable

    bootstrap = os.environ.get("FW_KAFKA_BOOTSTRAP")
    broker = None
    if not bootstrap:
        from framewire.broker.local import LocalBroker

        broker = LocalBroker(tmp_path_factory.mktemp("broker"), port=19092, controller_port=19093)
        try:
            broker.start()
        except FramewireError as exc:
            _broker_unavailable(str(exc))
        bootstrap = broker.bootstrap
    try:
        check_reachable(KafkaSettings(bootstrap=bootstrap), timeout_s=15)
    except FramewireError as exc:
        _broker_unavailable(str(exc))
    yield bootstrap
    if broker is not None:
        broker.stop()


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Settings for the test broker with a topic prefix no other test uses."""
    return KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")
