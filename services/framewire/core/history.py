"""Read a topic's history (a bounded range of offsets) without a consumer group.

Used by the tools that look back in Kafka (tail, compare, replay); services reading live
data use their own consumers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.errors import FramewireError, KafkaUnavailableError
from framewire.core.kafka import make_consumer


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


def end_offset(consumer: Consumer, topic: str, partition: int) -> int:
    """The partition's high watermark (next offset to be written)."""
    return int(consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1])


def history_consumer(settings: KafkaSettings) -> Consumer:
    """A group-less reader (a throwaway group id, never committed)."""
    return make_consumer(
        settings, f"framewire-reader-{uuid.uuid4().hex[:12]}", **{"auto.offset.reset": "earliest"}
    )


def read_range(
    consumer: Consumer,
    topic: str,
    starts: dict[int, int] | None = None,
    ends: dict[int, int] | None = None,
    idle_timeout_s: float = 5.0,
) -> Iterator[Message]:
    """Yield every record of ``topic`` from ``starts`` (default: the beginning) up to, not
    including, ``ends`` (default: the end offsets when called). Stops when every partition
    reached its end, or nothing arrived for ``idle_timeout_s``.
    """
    partitions = partitions_of(consumer, topic)
    if ends is None:
        ends = {p: end_offset(consumer, topic, p) for p in partitions}
    starts = starts or {}
    pending = {p for p in partitions if ends.get(p, 0) > max(starts.get(p, 0), 0)}
    if not pending:
        return
    consumer.assign([TopicPartition(topic, p, starts.get(p, OFFSET_BEGINNING)) for p in sorted(pending)])
    while pending:
        msg = consumer.poll(idle_timeout_s)
        if msg is None:
            break
        if msg.error():
            continue
        part, offset = msg.partition() or 0, msg.offset() or 0
        if part not in pending:
            continue
        if offset < ends[part]:
            yield msg
        if offset >= ends[part] - 1:
            pending.discard(part)
    consumer.unassign()
