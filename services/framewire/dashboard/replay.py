"""Short-lived Kafka reads for what the live consumer has already passed.

Used by a resuming SSE client (results after its ``Last-Event-ID``) and by a page asking
for a frame older than the in-memory ring. Each call opens its own consumer with
``assign`` (no group), reads a bounded range and closes it; a semaphore in the caller
bounds how many run at once. Blocking: call through ``asyncio.to_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.history import history_consumer, read_ranges, watermarks
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame


@dataclass(frozen=True)
class Replay:
    """Records read for a resume: (offset, message) pairs, plus what could not be read."""

    records: list[tuple[int, Any]]
    # First offset still on Kafka when it is past the one asked for (retention removed some).
    log_start: int
    skipped_undecodable: int


def read_results(
    kafka: KafkaSettings, topic: str, partition: int, first: int, last: int, timeout_s: float = 10.0
) -> Replay:
    """Decode DetectionResults at offsets ``first..last`` inclusive of one partition
    (``core.history``'s reader and stop rule; ``timeout_s`` is its stall limit)."""
    consumer = history_consumer(kafka, "fw-dashboard-replay")
    records: list[tuple[int, Any]] = []
    skipped = 0
    try:
        low, high = watermarks(consumer, topic, partition, timeout_s)
        start, stop = max(first, low), min(last, high - 1)
        for message in read_ranges(consumer, topic, {partition: (start, stop + 1)}, timeout_s):
            offset = int(message.offset() or 0)
            try:
                result = decode(DetectionResult, message.value(), topic=topic,
                                partition=partition, offset=offset)
            except DecodeError:
                skipped += 1
                continue
            records.append((offset, result))
        return Replay(records, low, skipped)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot replay {topic}[{partition}]: {exc}") from None
    finally:
        consumer.close()


def read_frame(
    kafka: KafkaSettings, topic: str, partition: int, offset: int, timeout_s: float = 5.0
) -> Frame | None:
    """The Frame at one offset, or None when it is gone (retention) or not written yet."""
    consumer = history_consumer(kafka, "fw-dashboard-frame")
    try:
        low, high = watermarks(consumer, topic, partition, timeout_s)
        if not low <= offset < high:
            return None
        for message in read_ranges(consumer, topic, {partition: (offset, offset + 1)}, timeout_s):
            return decode(Frame, message.value(), topic=topic, partition=partition, offset=offset)
        return None  # compacted or a transaction marker: that offset holds no frame
    except (KafkaException, KafkaUnavailableError, DecodeError):
        return None
    finally:
        consumer.close()
