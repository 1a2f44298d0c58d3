"""What a test's producer got into its topics.

A producer's ``flush`` returning 0 says only that its queue is empty, not that every
message got there, and even a delivery report can be wrong for the first messages of a
partition created a moment ago (see ``end_offsets``). A feed therefore counts what the
topic holds and keeps the delivery reports (``Deliveries``) as a diagnostic beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config

log = logging.getLogger(__name__)


class Deliveries:
    """Collects the delivery reports of the messages produced with ``callback``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.offsets: dict[str, list[int]] = defaultdict(list)
        # Delivered without an offset: librdkafka reports a retried batch the broker had
        # already written (a duplicate sequence) as delivered, offset unknown.
        self.unknown: dict[str, int] = defaultdict(int)
        self.failures: list[str] = []

    def callback(self, err: Any, msg: Any) -> None:
        """The ``on_delivery`` of each produce call; runs inside poll or flush (so it
        never raises: that would end the producing thread)."""
        topic, offset = str(msg.topic()), msg.offset()
        with self._lock:
            if err is not None:
                self.failures.append(f"{topic}: {err}")
            elif offset is None or offset < 0:
                self.unknown[topic] += 1
            else:
                self.offsets[topic].append(int(offset))
        if err is not None:
            log.warning("test message not delivered to %s: %s", topic, err)

    def count(self, topic: str) -> int:
        """How many messages were reported delivered to ``topic`` (with or without an
        offset); a diagnostic beside what the topic itself holds."""
        with self._lock:
            return len(self.offsets.get(topic, [])) + self.unknown.get(topic, 0)


def end_offsets(kafka: KafkaSettings, topics: Iterable[str], timeout_s: float = 30.0) -> dict[str, int]:
    """End offset of partition 0 of each topic, once its leader answers for it.

    Called before a feed's first message to topics created a moment ago. The broker lists
    a new partition's leader before that leader serves it: a produce in between fails with
    "not leader" and is retried, and a later message of the same idempotent producer can
    reach the partition first (the broker takes any first sequence from a producer it does
    not know yet). librdkafka then reported the first frames delivered, or four of them
    failed, and the partition never held them. A ListOffsets answer means the leader serves
    the partition, so the feed starts only after one.
    """
    wanted = list(dict.fromkeys(topics))
    ends: dict[str, int] = {}
    consumer = Consumer(consumer_config(kafka, f"feed-ends-{time.time_ns()}"))
    deadline = time.monotonic() + timeout_s
    try:
        while len(ends) < len(wanted):
            for topic in [t for t in wanted if t not in ends]:
                try:
                    ends[topic] = int(consumer.get_watermark_offsets(
                        TopicPartition(topic, 0), timeout=5)[1])
                except KafkaException as exc:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{topic}[0] not served after {timeout_s:.0f}s: {exc}") from None
            if len(ends) < len(wanted):
                time.sleep(0.1)
    finally:
        consumer.close()
    return ends
