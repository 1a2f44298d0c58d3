"""Per-stream maximum frame age, read from the compacted ``fw.streams`` topic.

A ``StreamSpec`` may set ``max_age_ms``; 0 (or no spec) means the worker's default. The
table is filled by a background thread reading the whole topic and following it, and read
by the worker loop each cycle (``max_age_ms``), so a changed spec applies within a poll.
"""

from __future__ import annotations

import logging
import threading

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError
from framewire.core.kafka import make_consumer
from framewire.v1.stream_pb2 import StreamSpec

log = logging.getLogger(__name__)


class StreamAges:
    """Stream id -> maximum age in ms for streams whose spec overrides the default."""

    def __init__(self, default_ms: int) -> None:
        self.default_ms = default_ms
        self._ages: dict[str, int] = {}
        self._lock = threading.Lock()

    def max_age_ms(self, stream_id: str | None) -> int:
        with self._lock:
            return self._ages.get(stream_id or "", self.default_ms)

    def overrides(self) -> dict[str, int]:
        with self._lock:
            return dict(self._ages)

    def apply(self, key: bytes | None, value: bytes | None, where: str = "") -> None:
        """Take one ``fw.streams`` record into account (a tombstone removes the stream)."""
        stream_id = (key or b"").decode("utf-8", "replace")
        if value is None:
            with self._lock:
                self._ages.pop(stream_id, None)
            return
        try:
            spec = decode(StreamSpec, value)
        except DecodeError as exc:
            log.warning("ignoring unreadable stream spec %s: %s", where, exc)
            return
        stream_id = spec.stream_id or stream_id
        with self._lock:
            if spec.max_age_ms > 0:
                self._ages[stream_id] = int(spec.max_age_ms)
            else:
                self._ages.pop(stream_id, None)


class StreamSpecFollower:
    """Follows ``fw.streams`` on a thread, blocking in poll (no group, no commits)."""

    def __init__(self, kafka: KafkaSettings, ages: StreamAges, poll_s: float = 1.0) -> None:
        self._kafka = kafka
        self._ages = ages
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fw-stream-specs", daemon=True)

    def start(self, wait_s: float = 10.0) -> StreamSpecFollower:
        """Start following; wait (at most ``wait_s``) until the specs present at start are
        read, so no frame is judged by the default age while its stream's spec is pending."""
        self._thread.start()
        if not self._caught_up.wait(wait_s):
            log.warning("stream specs not read within %.0fs; using the default max age", wait_s)
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
                log.warning("reading stream specs failed, retrying; default max age meanwhile: %s",
                            exc)
                self._caught_up.set()
                self._stop.wait(5.0)

    def _follow(self) -> None:
        topic = self._kafka.topics.streams
        consumer = make_consumer(self._kafka, f"{self._kafka.topic_prefix}inference-specs")
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
                    self._ages.apply(m.key(), m.value(), f"{topic}@{m.offset()}")
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
