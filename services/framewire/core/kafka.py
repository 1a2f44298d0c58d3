"""Kafka client factory: producer, consumer and admin configs from settings.

Defaults suit video frames: acks=all with idempotence, a short linger, large message and
fetch sizes matching the topics' ``max.message.bytes``, and no compression (JPEG payloads
do not compress).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from framewire.core.config import KafkaSettings
from framewire.core.errors import KafkaUnavailableError

log = logging.getLogger(__name__)


def _error_logger(where: str) -> Callable[[Any], None]:
    def on_error(err: Any) -> None:
        log.warning("kafka %s error: %s", where, err)

    return on_error


def common_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection and security options shared by every client."""
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap,
        "security.protocol": settings.security_protocol.value,
        "socket.connection.setup.timeout.ms": int(settings.connect_timeout_s * 1000),
        # Back off reconnects to a lost broker (fewer log lines, less CPU); still well
        # within the 15 s recovery we promise after an outage.
        "reconnect.backoff.ms": 250,
        "reconnect.backoff.max.ms": 4000,
    }
    if settings.sasl_mechanism:
        conf["sasl.mechanism"] = settings.sasl_mechanism
        conf["sasl.username"] = settings.sasl_username
        if settings.sasl_password is not None:
            conf["sasl.password"] = settings.sasl_password.get_secret_value()
    optional = {
        "ssl.ca.location": settings.ssl_ca_location,
        "ssl.certificate.location": settings.ssl_certificate_location,
        "ssl.key.location": settings.ssl_key_location,
    }
    conf.update({k: v for k, v in optional.items() if v})
    if settings.ssl_key_password is not None:
        conf["ssl.key.password"] = settings.ssl_key_password.get_secret_value()
    return conf


def producer_config(
    settings: KafkaSettings,
    *,
    transactional_id: str | None = None,
    buffer_mib: int = 64,
    **extra: Any,
) -> dict[str, Any]:
    """Producer options; ``buffer_mib`` bounds what librdkafka queues when the broker is slow."""
    conf = common_config(settings)
    conf.update(
        {
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "batch.size": 1024 * 1024,
            "compression.type": "none",
            "message.max.bytes": settings.max_message_bytes + 64 * 1024,
            "queue.buffering.max.kbytes": buffer_mib * 1024,
            "queue.buffering.max.messages": 100_000,
            "message.timeout.ms": 30_000,
            "error_cb": _error_logger("producer"),
        }
    )
    if transactional_id:
        conf["transactional.id"] = transactional_id
        conf["transaction.timeout.ms"] = 60_000
    conf.update(extra)
    return conf


def consumer_config(settings: KafkaSettings, group_id: str, **extra: Any) -> dict[str, Any]:
    """Consumer options: manual commits, read_committed, fetch sizes fit for frames.

    An ``extra`` option given as None removes that default (the consumer group protocol,
    for one, refuses ``partition.assignment.strategy``).
    """
    conf = common_config(settings)
    conf.update(
        {
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
            "isolation.level": "read_committed",
            "fetch.max.bytes": max(4 * settings.max_message_bytes, 32 * 1024 * 1024),
            "max.partition.fetch.bytes": settings.max_message_bytes + 64 * 1024,
            "queued.max.messages.kbytes": 64 * 1024,
            "partition.assignment.strategy": "cooperative-sticky",
            "topic.metadata.refresh.interval.ms": 5000,
            "error_cb": _error_logger("consumer"),
        }
    )
    conf.update(extra)
    return {k: v for k, v in conf.items() if v is not None}


# Consumer errors no retry can cure: a setting or the broker's rules must change first.
_INCURABLE = {
    KafkaError.INVALID_SESSION_TIMEOUT: "the session timeout is outside the broker's "
    "group.min.session.timeout.ms .. group.max.session.timeout.ms (6 s .. 30 min by default)",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "this user may not use the consumer group",
    # The event carrying a fatal consumer error has this code (and fatal() unset); for a
    # static member it means another process joined with the same group.instance.id.
    KafkaError._FATAL: "the consumer is unusable; a static member is fenced when another "
    "process joins with the same instance id",
}


def raise_if_incurable(error: KafkaError | None, where: str) -> None:
    """Raise KafkaUnavailableError for a consumer error that retrying cannot cure.

    Called by consumer loops on every error event: a wrong setting then stops the service
    with a message saying what to change, instead of a warning every second forever.
    """
    if error is None:
        return
    hint = _INCURABLE.get(error.code())
    if hint is None and not error.fatal():
        return
    raise KafkaUnavailableError(f"{where}: {error.str()}" + (f" ({hint})" if hint else ""))


def make_producer(settings: KafkaSettings, **kwargs: Any) -> Producer:
    return Producer(producer_config(settings, **kwargs))


def make_consumer(settings: KafkaSettings, group_id: str, **extra: Any) -> Consumer:
    return Consumer(consumer_config(settings, group_id, **extra))


def make_admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient(common_config(settings))


def check_reachable(settings: KafkaSettings, timeout_s: float | None = None) -> None:
    """Raise KafkaUnavailableError naming the bootstrap address if no broker answers in time.

    Called by every service at start-up so a wrong address or wrong credentials fail in
    seconds, not hang. librdkafka's own diagnosis (authentication, TLS) is part of the message.
    """
    timeout = settings.connect_timeout_s if timeout_s is None else timeout_s
    seen: list[str] = []
    conf = common_config(settings)
    conf["error_cb"] = lambda err: seen.append(str(err.str() if hasattr(err, "str") else err))
    admin = AdminClient(conf)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        admin.poll(0)
        cause = "; ".join(dict.fromkeys(seen)) or (exc.args[0].str() if exc.args else str(exc))
        raise KafkaUnavailableError(
            f"no Kafka broker answered at {settings.bootstrap} within {timeout:.0f}s "
            f"({settings.security_protocol.value}): {cause}"
        ) from None
    if not metadata.brokers:
        raise KafkaUnavailableError(f"Kafka at {settings.bootstrap} reported no brokers")
