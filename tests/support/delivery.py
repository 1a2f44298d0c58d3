"""Delivery reports of a test's producer: what reached the broker, at which offsets.

A producer's ``flush`` returning 0 says only that its queue is empty, not that every
message got there: a message can fail (seen once in a loaded run: the first four frames
of a stream just created never reached its partition, so the stream's offsets ran four
short of the frames counted as sent, and the accounting missed "the last four frames").
A test that counts what it sent counts what ``Deliveries`` saw delivered instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

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

def wait_for_leaders(client: Any, topics: Iterable[str], timeout_s: float = 30.0) -> None:
    """Block until the client's metadata shows a leader for partition 0 of each topic, so
    the first messages of a topic created a moment ago are not the ones that fail."""
    wanted = set(topics)
    deadline = time.monotonic() + timeout_s
    while wanted:
        for topic in list(wanted):
            meta = client.list_topics(topic, timeout=5).topics.get(topic)
            part = meta.partitions.get(0) if meta is not None and meta.error is None else None
            if part is not None and part.leader >= 0 and part.error is None:
                wanted.discard(topic)
        if wanted and time.monotonic() > deadline:
            raise AssertionError(f"no leader for {sorted(wanted)} after {timeout_s:.0f}s")
        if wanted:
            time.sleep(0.1)
