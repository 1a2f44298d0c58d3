"""The test kits count what reached the broker, not what they produced."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support.delivery import Deliveries

pytestmark = pytest.mark.unit


@dataclass
class Msg:
    _topic: str
    _offset: int

    def topic(self) -> str:
        return self._topic

    def offset(self) -> int:
        return self._offset


def test_failed_deliveries_are_not_counted_as_sent() -> None:
    # Given six frames produced, of which the first two failed (so the rest got offsets 0..3)
    d = Deliveries()
    for _ in range(2):
        d.callback("Broker: Not leader for partition", Msg("fw.frames.a", -1))
    for offset in range(4):
        d.callback(None, Msg("fw.frames.a", offset))
    # When the frames that reached the topic are counted
    # Then it is four, and the failures are kept with their reason
    assert d.count("fw.frames.a") == 4 and d.count("fw.frames.b") == 0
    assert d.failures == ["fw.frames.a: Broker: Not leader for partition"] * 2


def test_a_gap_in_the_delivered_offsets_is_an_error() -> None:
    # Given deliveries at offsets 0, 1 and 3 (offset 2 went to another producer)
    d = Deliveries()
    for offset in (0, 1, 3):
        d.callback(None, Msg("t", offset))
    # When counted, then the count refuses to stand for offsets 0..n-1
    with pytest.raises(AssertionError, match="not 0..2"):
        d.count("t")
