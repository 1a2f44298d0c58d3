"""Following the compacted stream registry (``fw.streams``): the desired state.

Every gateway reads the whole registry from the beginning and then follows it; a record
keyed by stream id sets that stream's spec, a tombstone deletes it. ``put_spec`` and
``delete_spec`` write it (the dashboard does the same), for the CLI, the demo and tests.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from framewire.core.codec import decode, encode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.kafka import make_consumer
from framewire.core.topics import Topics
from framewire.v1.stream_pb2 import StreamSpec

log = logging.getLogger(__name__)

# Options of the gateway's control consumers (registry, slots group): their topics carry a
# few small records an hour, so the broker may hold an empty fetch longer (a record still
# ends it at once) and their fixed topics' metadata needs no refresh every few seconds.
CONTROL_CONSUMER = {"fetch.wait.max.ms": 2000, "topic.metadata.refresh.interval.ms": 60_000}


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    """One registry change: a spec, a deletion (spec None) or an unreadable record."""

    key: str
    spec: StreamSpec | None
    error: str = ""


def topic_partitions(client: Consumer, topic: str, timeout_s: float) -> list[int]:
    """The partitions of ``topic`` once the broker reports them all led.

    A topic created a moment ago may not have leaders yet; this waits for them.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            metadata = client.list_topics(topic, timeout=timeout_s).topics.get(topic)
        except KafkaException as exc:
            raise KafkaUnavailableError(f"cannot read metadata of {topic}: {exc}") from None
        if (metadata is not None and metadata.error is None and metadata.partitions
                and all(p.leader >= 0 for p in metadata.partitions.values())):
            return sorted(metadata.partitions)
        if time.monotonic() >= deadline:
            problem = metadata.error.str() if metadata and metadata.error else "no partitions"
            raise KafkaUnavailableError(f"topic {topic} is not available: {problem}", topic=topic)
        time.sleep(0.2)


class RegistryFollower:
    """Reads ``fw.streams`` from the start; ``poll`` is called from the control thread."""

    def __init__(self, settings: KafkaSettings, timeout_s: float = 10.0) -> None:
        self.topic = settings.topics.streams
        # A private group id: the registry is read whole by every gateway, never committed.
        self._consumer = make_consumer(
            settings, f"{settings.topic_prefix}gateway-registry-{uuid.uuid4().hex[:8]}",
            **{"enable.partition.eof": True, "auto.offset.reset": "earliest",
               "isolation.level": "read_committed", **CONTROL_CONSUMER},
        )
        try:
            partitions = topic_partitions(self._consumer, self.topic, timeout_s)
        except KafkaUnavailableError:
            self._consumer.close()
            raise
        self._not_loaded = set(partitions)
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])

    @property
    def loaded(self) -> bool:
        """True once everything that was in the registry at start-up has been read."""
        return not self._not_loaded

    def poll(self, timeout_s: float) -> list[RegistryRecord]:
        """Registry changes that arrived within ``timeout_s`` (blocks at most that long)."""
        records = []
        for msg in self._consumer.consume(num_messages=500, timeout=timeout_s):
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._not_loaded.discard(msg.partition() or 0)
                else:
                    log.warning("registry %s: %s", self.topic, error.str())
                continue
            record = self._record(msg.key(), msg.value(), msg.partition(), msg.offset())
            if record is not None:
                records.append(record)
        return records

    def _record(self, key: bytes | None, value: bytes | None,
                partition: int | None, offset: int | None) -> RegistryRecord | None:
        if not key:
            log.warning("registry %s[%s]@%s: record without a key ignored",
                        self.topic, partition, offset)
            return None
        stream_id = key.decode("utf-8", "replace")
        if value is None:
            return RegistryRecord(stream_id, None)
        try:
            spec = decode(StreamSpec, value, topic=self.topic, partition=partition, offset=offset)
        except DecodeError as exc:
            log.warning("registry: %s", exc)
            return RegistryRecord(stream_id, None, error=f"unreadable spec: {exc.message}")
        return RegistryRecord(stream_id, spec)

    def close(self) -> None:
        self._consumer.close()


def put_spec(producer: Producer, topics: Topics, spec: StreamSpec) -> None:
    """Queue ``spec`` for the registry, keyed by its stream id (call ``flush`` after)."""
    producer.produce(topics.streams, encode(spec), spec.stream_id.encode())


def delete_spec(producer: Producer, topics: Topics, stream_id: str) -> None:
    """Queue the registry tombstone that deletes ``stream_id``."""
    producer.produce(topics.streams, None, stream_id.encode())
