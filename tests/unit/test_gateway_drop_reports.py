"""A drop record the broker never acknowledged is reported again (no Kafka)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from framewire.gateway.counters import DropReason, StreamCounters
from framewire.gateway.publisher import drop_report_callback

pytestmark = pytest.mark.unit


class DeliveredTo:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


def test_an_undelivered_drop_record_goes_back_to_the_unreported_counts() -> None:
    # Given a stream with 7 backpressure drops taken for reporting
    counters = StreamCounters("cam")
    counters.frames_dropped(DropReason.BACKPRESSURE, 7)
    taken = counters.take_unreported_drops()
    assert taken[DropReason.BACKPRESSURE] == 7
    callback = drop_report_callback(counters.give_back_drops, {DropReason.BACKPRESSURE: 7})
    # When the record's delivery fails (the broker was gone past the timeout)
    callback(KafkaError(KafkaError._MSG_TIMED_OUT), DeliveredTo("fw.drops"))  # type: ignore[arg-type]
    # Then the 7 are unreported again, so the next report carries them
    assert counters.take_unreported_drops()[DropReason.BACKPRESSURE] == 7


def test_a_delivered_drop_record_is_not_reported_again() -> None:
    # Given the same counts; when the delivery succeeds
    counters = StreamCounters("cam")
    counters.frames_dropped(DropReason.DELIVERY_FAILED, 3)
    counters.take_unreported_drops()
    drop_report_callback(counters.give_back_drops, {DropReason.DELIVERY_FAILED: 3})(
        None, DeliveredTo("fw.drops"))  # type: ignore[arg-type]
    # Then nothing is left to report
    assert sum(counters.take_unreported_drops().values()) == 0
