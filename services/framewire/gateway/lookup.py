"""Reads the last frame of a stream's topic, so a stream that starts (or moves to this
gateway) continues its sequence instead of starting again at 0."""

from __future__ import annotations

import logging
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import DecodeError, KafkaUnavailableError
from framewire.core.kafka import make_consumer
from framewire.gateway.registry import topic_partitions
from framewire.v1.frame_pb2 import Frame

log = logging.getLogger(__name__)


def last_sequence(settings: KafkaSettings, topic: str, timeout_s: float = 10.0) -> int:
    """The highest frame sequence in ``topic``'s last message, or -1 if it holds none.

    Called when a stream starts. Raises KafkaUnavailableError if the broker does not
    answer within ``timeout_s``; the caller retries.
    """
    consumer = make_consumer(
        settings, f"{settings.topic_prefix}gateway-lookup-{uuid.uuid4().hex[:8]}",
        **{"isolation.level": "read_uncommitted", "enable.partition.eof": True},
    )
    try:
        return _read_last(consumer, topic, timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"cannot read the last frame of {topic}: {exc}") from None
    finally:
        consumer.close()


def _read_last(consumer: Consumer, topic: str, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    best = -1
    for partition in topic_partitions(consumer, topic, timeout_s):
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=max(0.1, deadline - time.monotonic())
        )
        if high > low:
            best = max(best, _sequence_at(consumer, topic, partition, high - 1, deadline))
    return best


def _sequence_at(
    consumer: Consumer, topic: str, partition: int, offset: int, deadline: float
) -> int:
    consumer.assign([TopicPartition(topic, partition, offset)])
    while (left := deadline - time.monotonic()) > 0:
        msg = consumer.poll(min(left, 0.5))
        if msg is None:
            continue
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:  # nothing there (e.g. aborted)
                return -1
            raise KafkaUnavailableError(f"reading {topic}: {error.str()}", topic=topic)
        try:
            return int(decode(Frame, msg.value(), topic=topic, partition=partition,
                              offset=msg.offset()).sequence)
        except DecodeError as exc:
            # Only gateways write here; a foreign record must not stop the stream forever.
            log.warning("ignoring the last record of %s: %s", topic, exc)
            return -1
    raise KafkaUnavailableError(f"timed out reading the last frame of {topic}",
                                topic=topic, partition=partition, offset=offset)
