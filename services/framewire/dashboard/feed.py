"""The dashboard's single Kafka consumer: one per process, shared by every browser tab.

It uses ``assign`` (no consumer group, nothing committed): the dashboard is a viewer, and
assigning explicitly lets it start each partition exactly where it wants and tell the loop
that position (a ``Baseline``) before any record of it, which is what makes gap-free
``Last-Event-ID`` resumes possible. New per-stream topics are found by polling metadata
every ``refresh_s`` (or at once after the API creates a stream). Frames topics are read
only for the streams in ``want_frames`` (the ones clients watch, see ``watch``); every
other topic is read for every stream.

Records are decoded on this thread and handed to the event loop in batches; at most
``max_pending`` batches wait for the loop, after which the consumer simply stops fetching
(Kafka keeps the data; nothing is dropped and memory stays bounded).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from framewire.core.catalog import CATALOG
from framewire.core.codec import decode_value
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError
from framewire.core.kafka import make_consumer
from framewire.dashboard import metrics
from framewire.dashboard.watch import EVERY_STREAM, FramesWanted
from framewire.dashboard.wire import (
    STATE_KINDS,
    Baseline,
    Record,
    TopicKind,
    classify,
    decode_json_or_text,
)

log = logging.getLogger(__name__)

# Records read back when a partition is first assigned at start-up (the rest is history):
# the newest frame; enough stats to hold the last windows of ~1000 streams (two kinds, one
# message each per 10 s), so a restarted dashboard shows them at once; recent alerts; a
# trail's worth of tracks per stream and recent zone events (shared by every stream).
STARTUP_BACKLOG = {TopicKind.FRAMES: 1, TopicKind.STATS: 2000, TopicKind.ALERTS: 100,
                   TopicKind.TRACKS: 20, TopicKind.EVENTS: 1000}
# ... and when a topic appears later (a new stream): its first records are news.
NEW_TOPIC_BACKLOG = 1000
WATCH_FRAMES_BACKLOG = 16
# After a new stream id appears in the specs or status, topics are looked for this often,
# for this long.
EAGER_REFRESH_S, EAGER_WINDOW_S = 1.0, 15.0
Batch = Sequence[Record | Baseline]


def fetch_available(consumer: Consumer, timeout_s: float, limit: int = 500) -> list[Message]:
    """Wait up to ``timeout_s`` for one record, then take what else is already fetched.

    (``consume(n, timeout)`` alone would hold the first record until ``n`` arrive or the
    timeout ends, adding up to ``timeout_s`` of latency to every event.)
    """
    first = consumer.poll(timeout_s)
    if first is None:
        return []
    return [first, *consumer.consume(limit - 1, timeout=0)]


class Feed:
    """Runs the consumer thread; ``apply(batch)`` is called on ``loop`` for every batch."""

    def __init__(
        self,
        kafka: KafkaSettings,
        loop: asyncio.AbstractEventLoop,
        apply: Callable[[Batch], None],
        *,
        refresh_s: float = 2.0,
        frames_backlog: int = 64,
        max_pending: int = 8,
    ) -> None:
        self._kafka = kafka
        self._topics = kafka.topics
        self._loop = loop
        self._apply = apply
        self._refresh_s = refresh_s
        self._frames_backlog = frames_backlog
        self._slots = threading.BoundedSemaphore(max_pending)
        self._stop = threading.Event()
        self._refresh = threading.Event()
        self._assigned: dict[tuple[str, int], TopicKind] = {}
        self._thread: threading.Thread | None = None
        # Compacted state partitions still being read up to their start-up end offset.
        self._catching_up: dict[tuple[str, int], int] = {}
        self.ready = threading.Event()
        self.last_metadata_ok = 0.0
        # Frames topics to read (replaced from the loop thread; read here at each sync).
        self._frames_wanted = EVERY_STREAM
        self._streams_seen: set[str] = set()
        self._eager_until = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dashboard-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def request_refresh(self) -> None:
        """Look for new topics now (called after the API creates a stream)."""
        self._refresh.set()

    def want_frames(self, wanted: FramesWanted) -> None:
        """Read only these frames topics from now on (called when the set of watched
        streams changes); the assignment follows within one poll."""
        self._frames_wanted = wanted
        self._refresh.set()

    def _run(self) -> None:
        consumer = make_consumer(
            self._kafka, f"fw-dashboard-{uuid.uuid4().hex[:12]}",
            # Our own sync finds new and deleted topics; librdkafka's refresh of the assigned
            # topics' metadata is only for leader changes, which it also learns from errors.
            **{"enable.partition.eof": False, "topic.metadata.refresh.interval.ms": 30_000},
        )
        next_sync = 0.0
        try:
            while not self._stop.is_set():
                if self._refresh.is_set() or time.monotonic() >= next_sync:
                    self._refresh.clear()
                    self._sync(consumer)
                    next_sync = time.monotonic() + self._sync_interval()
                if not self._assigned:
                    self._refresh.wait(min(self._refresh_s, 0.5))
                    continue
                batch = [r for m in fetch_available(consumer, 0.2) if (r := self._read(m))]
                if batch:
                    self._deliver(batch)
                if self._catching_up:
                    self._check_caught_up(consumer)
        except Exception:
            log.exception("dashboard consumer stopped")
            raise
        finally:
            consumer.close()

    def _sync_interval(self) -> float:
        """``refresh_s``, or shorter for a while after a new stream showed up in the specs or
        status (its topics are created around then; listing every topic costs CPU on a
        cluster with thousands of them, so it is not done that often otherwise)."""
        if time.monotonic() < self._eager_until:
            return min(self._refresh_s, EAGER_REFRESH_S)
        return self._refresh_s

    def _note_stream(self, key: str | None) -> None:
        if key and key not in self._streams_seen:
            self._streams_seen.add(key)
            self._eager_until = time.monotonic() + EAGER_WINDOW_S

    def _sync(self, consumer: Consumer) -> None:
        try:
            metadata = consumer.list_topics(timeout=5)
        except KafkaException as exc:
            log.warning("cannot read topic metadata from %s: %s", self._kafka.bootstrap, exc)
            return
        frames = self._frames_wanted
        wanted: dict[tuple[str, int], TopicKind] = {}
        for name, topic in metadata.topics.items():
            kind = classify(self._topics, name)
            if kind is None or topic.error is not None:
                continue
            if kind[0] is TopicKind.FRAMES and not frames.covers(kind[1]):
                continue  # nobody watches this stream's pictures
            wanted.update({(name, p): kind[0] for p in topic.partitions})
        gone = [k for k in self._assigned if k not in wanted]
        if gone:
            log.info("dashboard stops reading %d partitions", len(gone))
            consumer.incremental_unassign([TopicPartition(t, p) for t, p in gone])
            for key in gone:
                del self._assigned[key]
        new = {k: v for k, v in wanted.items() if k not in self._assigned}
        if new and not self._assign(consumer, new):
            return
        metrics.FRAMES_PARTITIONS.set(sum(k is TopicKind.FRAMES for k in self._assigned.values()))
        self.last_metadata_ok = time.monotonic()
        if not self._catching_up:
            self.ready.set()

    def _check_caught_up(self, consumer: Consumer) -> None:
        """Ready once streams and status are read to where they ended at start-up, so the
        first page load already lists every stream."""
        keys = list(self._catching_up)
        positions = consumer.position([TopicPartition(t, p) for t, p in keys])
        for key, tp in zip(keys, positions, strict=True):
            if tp.offset >= self._catching_up[key]:
                del self._catching_up[key]
        if not self._catching_up:
            self.ready.set()

    def _assign(self, consumer: Consumer, new: dict[tuple[str, int], TopicKind]) -> bool:
        startup = not self.ready.is_set()
        partitions, baselines = [], []
        try:
            for (topic, partition), kind in new.items():
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 5)
                start = max(low, high - self._backlog(kind, startup))
                partitions.append(TopicPartition(topic, partition, start))
                baselines.append(Baseline(topic, partition, start - 1))
                if startup and kind in STATE_KINDS and high > start:
                    self._catching_up[(topic, partition)] = high
        except KafkaException as exc:
            log.warning("cannot read offsets of new topics, will retry: %s", exc)
            return False
        # The loop learns where each partition starts before any of its records arrive.
        self._deliver(baselines)
        consumer.incremental_assign(partitions)
        self._assigned.update(new)
        log.info("dashboard now reads %d partitions (+%d)", len(self._assigned), len(new))
        return True

    def _backlog(self, kind: TopicKind, startup: bool) -> int:
        if kind in STATE_KINDS:
            return 2**62
        if kind is TopicKind.FRAMES:
            # A stream starting to be watched: enough recent frames for the results already
            # on their way to the page, not a whole ring per stream at once.
            return 1 if startup else min(self._frames_backlog, WATCH_FRAMES_BACKLOG)
        return STARTUP_BACKLOG.get(kind, 0) if startup else NEW_TOPIC_BACKLOG

    def _read(self, message: Message) -> Record | None:
        if message.error() is not None:
            log.warning("dashboard consumer: %s", message.error())
            return None
        topic = message.topic() or ""
        partition, offset = int(message.partition() or 0), int(message.offset() or 0)
        kind, stream = classify(self._topics, topic) or (None, None)
        if kind is None:
            return None
        metrics.RECORDS.labels(kind.value).inc()
        payload = message.value()
        try:
            body = self._decode(kind, payload, topic, partition, offset)
        except DecodeError as exc:
            metrics.DECODE_ERRORS.labels(kind.value).inc()
            log.warning("dashboard skipped a record: %s", exc)
            return None
        raw_key = message.key()
        key = raw_key.decode("utf-8", "replace") if raw_key is not None else None
        if kind in STATE_KINDS:
            self._note_stream(key)
        ts_type, ts_ms = message.timestamp()
        kafka_time = ts_ms / 1000.0 if ts_type and ts_ms > 0 else None
        return Record(kind, topic, partition, offset, key, body, kafka_time, stream)

    @staticmethod
    def _decode(kind: TopicKind, payload: bytes | None, topic: str, part: int, off: int) -> Any:
        if CATALOG[kind].payload is None:
            return decode_json_or_text(payload)  # JSON, or a preview of what is not
        # A tombstone on a state topic decodes to None: the key's state is deleted.
        return decode_value(kind, payload, topic=topic, partition=part, offset=off)

    def _deliver(self, batch: Batch) -> None:
        # Bounded hand-over: wait (without spinning) while the loop is behind.
        while not self._slots.acquire(timeout=0.5):
            if self._stop.is_set():
                return
        try:
            self._loop.call_soon_threadsafe(self._apply_then_release, batch)
        except RuntimeError:  # the loop is closed: we are shutting down
            self._slots.release()
            self._stop.set()

    def _apply_then_release(self, batch: Batch) -> None:
        try:
            self._apply(batch)
        except Exception:
            log.exception("dashboard could not apply a batch of %d records", len(batch))
        finally:
            self._slots.release()
