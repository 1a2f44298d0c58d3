"""Following the compacted ``fw.streams`` registry on a thread: every spec, then every change.

A service that needs a per-stream setting from the registry (inference's maximum frame age,
the tracker's zones and lines) gives a ``SpecTable``; the follower reads the whole topic
from the start and keeps applying new records, blocking in poll (no group, no commits).
``start`` waits until the specs present at start are applied, so the service does not judge
a stream by its defaults while that stream's spec is still unread.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_consumer

log = logging.getLogger(__name__)


class SpecTable(Protocol):
    def apply(self, key: bytes | None, value: bytes | None, where: str = "") -> None:
        """Called on the follower's thread for each ``fw.streams`` record (None: a tombstone)."""


class StreamSpecFollower:
    """Follows ``fw.streams`` into ``table``; ``name`` names the thread and the group id."""

    def __init__(self, kafka: KafkaSettings, table: SpecTable, name: str, poll_s: float = 1.0) -> None:
        self._kafka = kafka
        self._table = table
        self._name = name
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fw-{name}", daemon=True)

    def start(self, wait_s: float = 10.0) -> StreamSpecFollower:
        """Start following; wait (at most ``wait_s``) until the specs present at start are read."""
        self._thread.start()
        if not self._caught_up.wait(wait_s):
            log.warning("stream specs not read within %.0fs; defaults apply meanwhile", wait_s)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
                return
            except KafkaException as exc:
                log.warning("reading stream specs failed, retrying; defaults apply meanwhile: %s", exc)
                self._caught_up.set()
                self._stop.wait(5.0)

    def _follow(self) -> None:
        topic = self._kafka.topics.streams
        consumer = make_consumer(self._kafka, f"{self._kafka.topic_prefix}{self._name}")
        try:
            timeout = self._kafka.connect_timeout_s
            meta = consumer.list_topics(topic, timeout=timeout)
            partitions = sorted(meta.topics[topic].partitions) if topic in meta.topics else []
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
            marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout)
                     for p in partitions}
            ends = {p: high for p, (low, high) in marks.items() if high > low}
            while not self._stop.is_set():
                self._note_progress(consumer, topic, ends)
                m = consumer.poll(self._poll_s)
                if m is not None and m.error() is None:
                    value = m.value()
                    self._table.apply(m.key(), value if isinstance(value, bytes) or value is None
                                      else None, f"{topic}@{m.offset()}")
        finally:
            consumer.close()

    def _note_progress(self, consumer: Consumer, topic: str, ends: dict[int, int]) -> None:
        if ends:
            # Positions, not message offsets: they also move past control records.
            for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= ends[tp.partition]:
                    ends.pop(tp.partition)
        if not ends:
            self._caught_up.set()
