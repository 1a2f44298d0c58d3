"""Shared fixtures: a real Kafka broker and per-test isolated topic prefixes.

``kafka_bootstrap`` uses the broker at ``FW_KAFKA_BOOTSTRAP`` when set, otherwise starts a
local one (``framewire.broker``) for the session. A test that needs a broker fails under
``CI=true`` when none can be had, and skips elsewhere with the reason.
"""

from __future__ import annotations

import os
import uuid
import warnings
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
    else:
        _delete_test_topics(bootstrap)


# Topic prefixes handed out by ``kafka_settings`` in this session.
_PREFIXES: list[str] = []


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """Settings for the test broker with a topic prefix no other test uses."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    _PREFIXES.append(prefix)
    return KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=prefix)


def _delete_test_topics(bootstrap: str) -> None:
    """Delete this session's test topics from a broker that outlives it: a developer's
    broker that kept every run's topics (thousands of partitions) took minutes to start."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    if not _PREFIXES:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    prefixes = tuple(_PREFIXES)
    try:
        names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefixes)]
        for i in range(0, len(names), 200):
            for future in admin.delete_topics(names[i:i + 200], operation_timeout=30).values():
                future.result()
    except KafkaException as exc:  # the tests' outcome stands; the topics stay
        warnings.warn(f"test topics left on {bootstrap}: {exc}", stacklevel=1)


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str) -> Iterator[object]:
    """A second broker with a SASL_SSL listener (SCRAM-SHA-512, TLS from a CA made here).

    Yields ``framewire.broker.secure.SecureEndpoint``; the user is ``framewire-svc``.
    """
    import secrets
    import socket

    from framewire.broker.secure import secure_broker
    from framewire.core.errors import FramewireError

    ports = []
    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    password = "scram-" + secrets.token_hex(12)
    broker, endpoint = secure_broker(
        tmp_path_factory.mktemp("secure-broker"), ports[0], ports[1], ports[2], "framewire-svc", password
    )
    try:
        broker.start()
    except FramewireError as exc:
        _broker_unavailable(f"secure broker: {exc}")
    yield endpoint
    broker.stop()


@pytest.fixture
def secure_env(secure_kafka: object) -> dict[str, str]:
    """FW_KAFKA_* variables that connect a service to the SASL_SSL listener."""
    ep = secure_kafka
    return {
        "FW_KAFKA_BOOTSTRAP": ep.bootstrap,  # type: ignore[attr-defined]
        "FW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "FW_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "FW_KAFKA_SASL_USERNAME": ep.username,  # type: ignore[attr-defined]
        "FW_KAFKA_SASL_PASSWORD": ep.password,  # type: ignore[attr-defined]
        "FW_KAFKA_SSL_CA_LOCATION": str(ep.ca_location),  # type: ignore[attr-defined]
        "FW_KAFKA_TOPIC_PREFIX": f"s{uuid.uuid4().hex[:8]}.",
    }
