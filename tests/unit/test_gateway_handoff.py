import threading
import time

import pytest
from prometheus_client import REGISTRY

from framewire.gateway.counters import DropReason, StreamCounters
from framewire.gateway.handoff import Handoff, HandoffPolicy

pytestmark = pytest.mark.unit


def test_drop_oldest_keeps_the_newest_frames_and_reports_drops():
    # Given a hand-off of two with the live policy
    handoff = Handoff[int](2, HandoffPolicy.DROP_OLDEST)
    # When five frames arrive without a reader
    dropped = [handoff.put(i) for i in range(5)]
    # Then each extra frame pushed out the oldest, and the newest two remain
    assert dropped == [0, 0, 1, 1, 1]
    assert [handoff.get(0.1), handoff.get(0.1), handoff.get(0.01)] == [3, 4, None]


def test_block_waits_for_room_up_to_its_timeout():
    # Given a full one-slot hand-off with the blocking policy and a slow reader
    handoff = Handoff[int](1, HandoffPolicy.BLOCK)
    handoff.put(1)
    threading.Timer(0.2, handoff.get, args=(1.0,)).start()
    # When another frame is put
    started = time.monotonic()
    dropped = handoff.put(2, timeout=2.0)
    # Then it waited for the reader instead of dropping
    assert dropped == 0
    assert 0.15 <= time.monotonic() - started < 1.5
    # And with no reader at all it gives up after the timeout, dropping the oldest
    assert handoff.put(3, timeout=0.05) == 1
    assert len(handoff) == 1


def test_close_wakes_a_waiting_reader():
    # Given a reader waiting on an empty hand-off
    handoff = Handoff[int](1, HandoffPolicy.DROP_OLDEST)
    threading.Timer(0.1, handoff.close).start()
    # When the hand-off is closed
    started = time.monotonic()
    item = handoff.get(timeout=5.0)
    # Then the reader returns at once with nothing
    assert item is None and time.monotonic() - started < 2.0


def test_drops_are_counted_per_reason_in_status_and_metrics():
    # Given a stream's counters
    counters = StreamCounters("unit-drops")
    # When frames are dropped for two reasons
    counters.frames_dropped(DropReason.BACKPRESSURE, 3)
    counters.frames_dropped(DropReason.SOURCE_OVERRUN)
    # Then totals, unreported drops and the Prometheus series agree
    assert counters.total_dropped == 4
    metric = REGISTRY.get_sample_value(
        "framewire_gateway_frames_dropped_total", {"stream": "unit-drops", "reason": "backpressure"}
    )
    assert metric == 3
    taken = counters.take_unreported_drops()
    assert taken == {DropReason.BACKPRESSURE: 3, DropReason.SOURCE_OVERRUN: 1}
    # And drops that could not be reported come back next time
    counters.give_back_drops({DropReason.BACKPRESSURE: 3})
    assert counters.take_unreported_drops() == {DropReason.BACKPRESSURE: 3}
    assert counters.take_unreported_drops() == {}
