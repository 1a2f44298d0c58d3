"""Short-lived Kafka reads for what the live consumer has already passed.

Used by a resuming SSE client (results after its ``Last-Event-ID``) and by a page asking
for a frame older than the in-memory ring. Each call opens its own consumer with
``assign`` (no group), reads a bounded range and closes it; a semaphore in the caller
bounds how many run at once. Blocking: call through ``asyncio.to_thread``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.kafka import make_consumer
from framewire.dashboard.feed import fetch_available
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame


@dataclass(frozen=True)
class Replay:
    """Records read for a resume: (offset, message) pairs, plus what could not be read."""

    records: list[tuple[int, Any]]
    # First offset still on Kafka when it is past the one asked for (retention removed some).
    log_start: int
    skipped_undecodable: int


def read_range(
    kafka: KafkaSettings, topic: str, partition: int, first: int, last: int, timeout_s: float = 10.0
) -> Replay:
    """Decode DetectionResults at offsets ``first..last`` inclusive of one partition."""
    consumer = make_consumer(kafka, f"fw-dashboard-replay-{uuid.uuid4().hex[:12]}")
    records: list[tuple[int, Any]] = []
    skipped = 0
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout_s)
        start, stop = max(first, low), min(last, high - 1)
        if start > stop:
            return Replay([], low, 0)
        consumer.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout_s
        offset = start - 1
        while offset < stop and time.monotonic() < deadline:
            for message in fetch_available(consumer, 0.5):
                if message.error() is not None or int(message.offset() or 0) > stop:
                    continue
                offset = int(message.offset() or 0)
                try:
                    result = decode(DetectionResult, message.value(), topic=topic,
                                    partition=partition, offset=offset)
                except DecodeError:
                    skipped += 1
                    continue
                records.append((offset, result))
        if offset < stop:
            raise KafkaUnavailableError(
                f"replay of {topic}[{partition}] stopped at {offset} before {stop}",
                topic=topic, partition=partition, offset=offset,
            )
        return Replay(records, low, skipped)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot replay {topic}[{partition}]: {exc}") from None
    finally:
        consumer.close()


def read_frame(
    kafka: KafkaSettings, topic: str, partition: int, offset: int, timeout_s: float = 5.0
) -> Frame | None:
    """The Frame at one offset, or None when it is gone (retention) or not written yet."""
    consumer = make_consumer(kafka, f"fw-dashboard-frame-{uuid.uuid4().hex[:12]}")
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout_s)
        if not low <= offset < high:
            return None
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            if message.offset() != offset:
                return None  # compacted or transaction marker: that offset holds no frame
            return decode(Frame, message.value(), topic=topic, partition=partition, offset=offset)
        return None
    except (KafkaException, DecodeError):
        return None
    finally:
        consumer.close()
