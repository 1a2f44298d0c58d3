"""Reading a topic's history (bounded offset ranges) without a consumer group.

The one reader of stored history: ``tail``, ``compare`` and ``replay`` (frames and output
topics), the dashboard's resume and frame look-ups, calibration frames for quantizing and
``framewire up``'s report. Services reading live data use their own consumers.

The stop rule: a partition is finished when the consumer's position reaches the range's
end offset (the position counts records and transaction markers alike), so a transactional
topic, whose last offset is a commit marker that is never delivered, ends at once rather
than after an idle timeout. A broker delivering nothing for ``stall_s`` while partitions
are unfinished is an error (KafkaUnavailableError naming them), never a silent end.
Records are read read_committed (``history_consumer``), as the catalogue asks for the
transactional kinds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.errors import FramewireError, KafkaUnavailableError
from framewire.core.kafka import make_consumer, raise_if_incurable

# partition -> (first offset, end offset exclusive)
OffsetRanges = Mapping[int, tuple[int, int]]


class UnknownTopicError(FramewireError):
    """A topic asked for by name does not exist on the broker."""


def partitions_of(consumer: Consumer, topic: str, timeout_s: float = 10.0) -> list[int]:
    """The topic's partition ids; UnknownTopicError if it does not exist."""
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot read metadata of {topic}: {exc}") from None
    info = meta.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        raise UnknownTopicError(f"topic {topic} does not exist", topic=topic)
    return sorted(info.partitions)


def watermarks(consumer: Consumer, topic: str, partition: int, timeout_s: float = 10.0) -> tuple[int, int]:
    """(first stored offset, next offset to be written) of one partition."""
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot read offsets of {topic}[{partition}]: {exc}",
                                    topic=topic, partition=partition) from None
    return int(low), int(high)


def end_offset(consumer: Consumer, topic: str, partition: int) -> int:
    """The partition's high watermark (next offset to be written)."""
    return watermarks(consumer, topic, partition)[1]


def history_consumer(settings: KafkaSettings, name: str = "framewire-reader") -> Consumer:
    """A group-less reader (a throwaway group id, never committed), read_committed."""
    return make_consumer(settings, f"{name}-{uuid.uuid4().hex[:12]}", **{"auto.offset.reset": "earliest"})


def read_ranges(
    consumer: Consumer, topic: str, ranges: OffsetRanges, stall_s: float = 30.0
) -> Iterator[Message]:
    """Records of ``ranges`` in offset order per partition (``assign``, no group), ending by
    the module's stop rule. Offsets that hold no record (markers, compacted or expired
    records) are simply not yielded."""
    pending = {p for p, (start, end) in ranges.items() if start < end}
    if not pending:
        return
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


def stored_ranges(consumer: Consumer, topic: str) -> dict[int, tuple[int, int]]:
    """Every partition's stored offsets now, ``[low, high)``; UnknownTopicError if there is
    no such topic."""
    return {p: watermarks(consumer, topic, p) for p in partitions_of(consumer, topic)}


def read_topic(consumer: Consumer, topic: str, stall_s: float = 30.0) -> Iterator[Message]:
    """Every stored record of ``topic`` up to its end when called; UnknownTopicError if
    there is no such topic."""
    return read_ranges(consumer, topic, stored_ranges(consumer, topic), stall_s)


def _finished(consumer: Consumer, topic: str, pending: set[int], ranges: OffsetRanges) -> set[int]:
    positions = consumer.position([TopicPartition(topic, p) for p in pending])
    return {tp.partition for tp in positions if tp.offset >= ranges[tp.partition][1]}
