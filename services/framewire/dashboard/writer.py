"""Writes stream specs to the compacted streams topic (and creates the stream's topics).

Blocking; the API calls it through ``asyncio.to_thread``. One idempotent producer per
dashboard; writes are serialised so two quick edits of a stream land in order.
"""

from __future__ import annotations

import logging
import threading

from confluent_kafka import KafkaError, KafkaException

from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics, stream_topics
from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.errors import KafkaUnavailableError
from framewire.core.kafka import make_admin, make_producer
from framewire.v1.stream_pb2 import StreamSpec

log = logging.getLogger(__name__)


class SpecWriter:
    """Produces ``StreamSpec`` records keyed by stream id; None writes a tombstone."""

    def __init__(self, kafka: KafkaSettings, policy: TopicPolicy | None = None) -> None:
        self._kafka = kafka
        # Replication and retention from FW_KAFKA_* (KafkaSettings.topic_policy).
        self._policy = policy or kafka.topic_policy
        self._producer = make_producer(kafka)
        self._admin = make_admin(kafka)
        self._lock = threading.Lock()

    def ensure_fixed_topics(self) -> None:
        """Called once at start-up so the streams topic exists before the first write."""
        ensure_topics(self._admin, fixed_topics(self._kafka.topics, self._policy),
                      self._kafka.connect_timeout_s)

    def write(self, stream_id: str, spec: StreamSpec | None) -> None:
        """Create the stream's topics (on create/update) and publish its spec; wait for acks."""
        topics = self._kafka.topics
        with self._lock:
            if spec is not None:
                ensure_topics(self._admin, stream_topics(topics, stream_id, self._policy),
                              self._kafka.connect_timeout_s)
            outcome: list[KafkaError | None] = []
            value = encode(spec) if spec is not None else None
            try:
                self._producer.produce(
                    topics.streams, key=stream_id.encode(), value=value,
                    on_delivery=lambda err, _msg: outcome.append(err),
                )
            except (KafkaException, BufferError) as exc:
                raise KafkaUnavailableError(f"cannot queue spec: {exc}", stream_id=stream_id,
                                            topic=topics.streams) from None
            self._producer.flush(self._kafka.connect_timeout_s)
        if not outcome or outcome[0] is not None:
            reason = outcome[0] if outcome else "no acknowledgement in time"
            raise KafkaUnavailableError(f"spec not written: {reason}", stream_id=stream_id,
                                        topic=topics.streams)
        log.info("stream %s %s", stream_id, "updated" if spec is not None else "deleted")

    def close(self) -> None:
        self._producer.flush(5)
