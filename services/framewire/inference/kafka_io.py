"""The worker's Kafka clients: a pattern-subscribed consumer, a transactional producer, admin.

Built once per worker by ``KafkaIO.open`` (which fails fast with a clear error when the
broker is unreachable) and closed by ``close``, which leaves the consumer group.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from framewire.core.admin import ensure_topics, fixed_topics, results_topic
from framewire.core.errors import KafkaUnavailableError, MembershipLostError
from framewire.core.kafka import (
    check_reachable,
    make_admin,
    make_consumer,
    make_producer,
    raise_if_incurable,
)
from framewire.inference.freeze import FreezeWatch
from framewire.inference.scheduler import TP
from framewire.inference.settings import GroupProtocol, InferenceSettings
from framewire.inference.txn import TxnPublisher

log = logging.getLogger(__name__)

RebalanceCallback = Callable[[Consumer, list[TopicPartition]], None]
# How long a stopping worker waits for its revocation before closing anyway.
_LEAVE_TIMEOUT_S = 5.0


class KafkaIO:
    def __init__(
        self, settings: InferenceSettings, consumer: Consumer, producer: Producer,
        admin: AdminClient,
    ) -> None:
        self._s = settings
        self.consumer = consumer
        self._admin = admin
        self._paused: set[TP] = set()
        self._ensured: set[str] = set()
        self._freeze = FreezeWatch().start()
        self.publisher = TxnPublisher(
            producer, consumer.consumer_group_metadata, settings.kafka.topics,
            worker_id=settings.worker_id, dlq_max_value_bytes=settings.dlq_max_value_bytes,
            timeout_s=max(10.0, settings.kafka.connect_timeout_s),
            producer_factory=lambda: _transactional_producer(settings),
            transaction_timeout_s=settings.transaction_timeout_ms / 1000,
            freeze=self._freeze,
        )

    @property
    def producer(self) -> Producer:
        """The transactional producer in use (the publisher may have replaced it)."""
        return self.publisher.producer

    @classmethod
    def open(cls, settings: InferenceSettings) -> KafkaIO:
        """Check the broker, create the shared topics it writes if missing, register the
        transactional id (fencing a zombie with the same worker id)."""
        k = settings.kafka
        check_reachable(k)
        admin = make_admin(k)
        written = {k.topics.drops, k.topics.dlq}
        _create_missing(admin, [t for t in fixed_topics(k.topics, k.topic_policy) if t.name in written])
        if settings.group_protocol is GroupProtocol.CONSUMER:
            set_group_session(admin, settings.group, settings.session_timeout_ms)
        consumer = make_consumer(k, settings.group, **group_config(settings))
        io = cls(settings, consumer, _transactional_producer(settings), admin)
        io.publisher.init()
        return io

    def _leave(self) -> None:
        try:
            leave_group(self.consumer)
        except KafkaException as exc:  # e.g. fenced: the group has moved on already
            log.info("leaving group %s: %s", self._s.group, exc)

    def subscribe(
        self, on_assign: RebalanceCallback, on_revoke: RebalanceCallback,
        on_lost: RebalanceCallback,
    ) -> None:
        pattern = self._s.kafka.topics.frames_pattern
        self.consumer.subscribe([pattern], on_assign=on_assign, on_revoke=on_revoke,
                                on_lost=on_lost)
        log.info("group %s subscribed to %s as %s", self._s.group, pattern,
                 self._s.transactional_id)

    def fetch(self, timeout_s: float, max_messages: int) -> list[Message]:
        """Block up to ``timeout_s`` for the first message, then take what is queued.

        An error no retry can cure (e.g. a session timeout the broker refuses) raises
        KafkaUnavailableError: the worker stops with the reason instead of warning forever.
        A fatal one (the group fenced this member) raises MembershipLostError: the consumer
        is unusable, but a new process joins again.
        """
        first = self.consumer.poll(timeout_s)
        if first is None:
            return []
        messages = [first, *self.consumer.consume(max_messages - 1, 0)]
        for m in messages:
            error = m.error()
            if error is not None and error.fatal():
                raise MembershipLostError(
                    f"consumer group {self._s.group} fenced this worker ({error.name()}): "
                    f"{error.str()}"
                )
            raise_if_incurable(error, f"consumer group {self._s.group}")
        return messages

    def pause(self, tp: TP) -> None:
        if tp not in self._paused:
            self.consumer.pause([TopicPartition(*tp)])
            self._paused.add(tp)

    def resume(self, tp: TP) -> None:
        if tp in self._paused:
            self.consumer.resume([TopicPartition(*tp)])
            self._paused.discard(tp)

    def paused(self) -> list[TP]:
        return list(self._paused)

    def forget(self, tp: TP) -> None:
        """The partition left this worker (revoked or lost). Its pause is lifted as well:
        librdkafka keeps a partition paused across a rebalance, so one paused when it was
        lost would never be fetched again once the group gave it back."""
        if tp in self._paused:
            self._paused.discard(tp)
            try:
                self.consumer.resume([TopicPartition(*tp)])
            except KafkaException as exc:
                log.debug("resume of %s[%s] on leaving: %s", tp[0], tp[1], exc)

    def seek(self, tp: TP, offset: int) -> bool:
        """Move the fetch position; False when the partition is no longer ours (a revoke
        or a fence that the next poll reports), so there is nothing to move."""
        try:
            self.consumer.seek(TopicPartition(tp[0], tp[1], offset))
        except KafkaException as exc:
            if exc.args[0].code() not in (KafkaError._STATE, KafkaError._UNKNOWN_PARTITION):
                raise
            log.info("not seeking %s[%s] to %s: %s", tp[0], tp[1], offset, exc.args[0].str())
            return False
        return True

    def high_watermark(self, tp: TP) -> int:
        """The partition's end offset from the last fetch (no broker round trip); -1 unknown."""
        try:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
        except KafkaException:
            return -1
        return int(high) if high is not None and high >= 0 else -1

    def offset_for_time(self, tp: TP, timestamp_ms: int) -> int | None:
        """First offset with a timestamp at or after ``timestamp_ms``, -1 when no message is
        that recent, None when the broker did not answer."""
        query = [TopicPartition(tp[0], tp[1], timestamp_ms)]
        try:
            found = self.consumer.offsets_for_times(query, timeout=self._s.kafka.connect_timeout_s)
        except KafkaException as exc:
            log.warning("offset lookup by time failed for %s[%s]: %s", tp[0], tp[1], exc)
            return None
        return int(found[0].offset)

    def ensure_results_topics(self, frames_topics: set[str]) -> None:
        """Create the results topic of each newly assigned stream, once per topic."""
        topics = self._s.kafka.topics
        streams = {topics.stream_of(t) for t in frames_topics - self._ensured}
        specs = [results_topic(topics, s, self._s.kafka.topic_policy) for s in streams if s]
        if specs:
            _create_missing(self._admin, specs)
        self._ensured |= frames_topics

    def close(self) -> None:
        """Leave the group (revoke callbacks run first) and flush the producer.

        A static member's ``close`` alone keeps its partitions until the session times out
        (KIP-345); unsubscribing first sends the LeaveGroup that hands them over at once.
        """
        try:
            if self._s.leave_group_on_stop:
                self._leave()
            self.consumer.close()
        finally:
            try:
                self.publisher.producer.flush(5.0)
            except KafkaException as exc:  # a fatal producer must not hide why we stopped
                log.warning("producer not flushed at close: %s", exc)
            self.publisher.close()
            self._freeze.stop()


def leave_group(consumer: Consumer, timeout_s: float = _LEAVE_TIMEOUT_S) -> None:
    """Unsubscribe and serve the revocation; called before ``close`` on a graceful stop.

    librdkafka sends a static member's LeaveGroup only once the unassign is done and the
    consumer is not yet closing, so the revocation is polled for here.
    """
    consumer.unsubscribe()
    deadline = time.monotonic() + timeout_s
    while consumer.assignment() and time.monotonic() < deadline:
        # Uncommitted messages are dropped: the next owner re-reads them.
        m = consumer.poll(0.02)
        error = m.error() if m is not None else None
        if error is not None and error.fatal():
            return  # fenced: nothing to hand over
    consumer.poll(0.02)


def group_config(settings: InferenceSettings) -> dict[str, Any]:
    """The worker's consumer options for its group protocol and membership."""
    conf: dict[str, Any] = {
        "auto.offset.reset": "earliest",  # a new stream's first frames count too
        "client.id": f"fw-inference-{settings.worker_id}",
        "topic.metadata.refresh.interval.ms": settings.metadata_refresh_ms,
        "group.protocol": settings.group_protocol.value,
    }
    if settings.static_membership:
        conf["group.instance.id"] = settings.worker_id
    if settings.group_protocol is GroupProtocol.CONSUMER:
        # The broker assigns and times sessions out; librdkafka refuses these options.
        conf["partition.assignment.strategy"] = None
    else:
        conf["session.timeout.ms"] = settings.session_timeout_ms
        # A member learns of a rebalance from its next heartbeat's answer: at 1 s a SIGTERMed
        # worker's partitions waited about a second for the survivor, at 300 ms a third.
        conf["heartbeat.interval.ms"] = max(250, settings.session_timeout_ms // 20)
    return conf


def set_group_session(admin: AdminClient, group: str, session_timeout_ms: int) -> None:
    """Give a consumer-protocol group our session timeout (a group config, KIP-848).

    Called before joining; the broker bounds it by ``group.consumer.min.session.timeout.ms``
    (45 s by default), and a refusal stops the worker with that reason.
    """
    values = {
        "consumer.session.timeout.ms": session_timeout_ms,
        "consumer.heartbeat.interval.ms": max(250, session_timeout_ms // 6),
    }
    entries = [ConfigEntry(k, str(v), incremental_operation=AlterConfigOpType.SET)
               for k, v in values.items()]
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=entries)
    try:
        for future in admin.incremental_alter_configs([resource]).values():
            future.result()
    except KafkaException as exc:
        raise KafkaUnavailableError(
            f"consumer group {group}: the broker refused session timeout {session_timeout_ms} ms "
            f"under the consumer protocol: {exc.args[0].str()} (lower the broker's "
            "group.consumer.min.session.timeout.ms and group.consumer.min.heartbeat.interval.ms, "
            "or raise FW_INFERENCE_SESSION_TIMEOUT_MS)"
        ) from None


def _transactional_producer(settings: InferenceSettings) -> Producer:
    """The worker's producer; called again to replace one a broker outage left unusable."""
    return make_producer(
        settings.kafka, transactional_id=settings.transactional_id, **{
            "linger.ms": 1,
            # Back off briefly when a new transaction races the previous one's markers.
            "retry.backoff.ms": 10,
            "transaction.timeout.ms": settings.transaction_timeout_ms,
            # librdkafka refuses a message timeout longer than the transaction's.
            "message.timeout.ms": min(30_000, settings.transaction_timeout_ms),
            "client.id": f"fw-inference-{settings.worker_id}",
        },
    )


def _create_missing(admin: AdminClient, specs: list[Any]) -> None:
    # Only create: configs of existing topics belong to whoever created them.
    existing = set(admin.list_topics(timeout=10).topics)
    missing = [s for s in specs if s.name not in existing]
    if missing:
        ensure_topics(admin, missing)
