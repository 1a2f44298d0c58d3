"""Reading committed history by offsets, ending exactly where asked.

Used by ``tail`` and ``compare``, and by ``framewire replay`` for its frames and output
topics. A partition is finished when the consumer's position reaches the end offset, so a
transactional topic (whose last offset is a commit marker, never delivered) ends at once
instead of after an idle timeout; a broker delivering nothing for ``stall_s`` is an error,
not a silent end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from framewire.core.errors import KafkaUnavailableError
from framewire.core.history import partitions_of
from framewire.core.kafka import raise_if_incurable

# partition -> (first offset, end offset exclusive)
OffsetRanges = Mapping[int, tuple[int, int]]


def read_ranges(
    consumer: Consumer, topic: str, ranges: OffsetRanges, stall_s: float = 30.0
) -> Iterator[Message]:
    """Records of ``ranges`` in offset order per partition (``assign``, no group)."""
    pending = {p for p, (start, end) in ranges.items() if start < end}
    consumer.assign([TopicPartition(topic, p, ranges[p][0]) for p in sorted(pending)])
    progress = time.monotonic()
    while pending:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            if msg is not None:
                raise_if_incurable(msg.error(), f"reading {topic}")
            pending -= _finished(consumer, topic, pending, ranges)
            if pending and time.monotonic() - progress > stall_s:
                raise KafkaUnavailableError(
                    f"nothing of {topic} arrived for {stall_s:.0f}s; partitions "
                    f"{sorted(pending)} not read to their end", topic=topic,
                )
            continue
        progress = time.monotonic()
        partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
        end = ranges[partition][1] if partition in ranges else 0
        if partition in pending and offset < end:
            yield msg
        if offset >= end - 1:
            pending.discard(partition)
    consumer.unassign()


def read_topic(consumer: Consumer, topic: str, stall_s: float = 30.0) -> Iterator[Message]:
    """Every stored record of ``topic`` up to its end when called; UnknownTopicError if
    there is no such topic."""
    ranges = {}
    for p in partitions_of(consumer, topic):
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        except KafkaException as exc:
            raise KafkaUnavailableError(f"cannot read offsets of {topic}: {exc}") from None
        ranges[p] = (int(low), int(high))
    return read_ranges(consumer, topic, ranges, stall_s)


def _finished(consumer: Consumer, topic: str, pending: set[int], ranges: OffsetRanges) -> set[int]:
    positions = consumer.position([TopicPartition(topic, p) for p in pending])
    return {tp.partition for tp in positions if tp.offset >= ranges[tp.partition][1]}
