"""The test kits count what reached the broker, not what they produced."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support.delivery import Deliveries

pytestmark = pytest.mark.unit


@dataclass
class Msg:
    _topic: str
    _offset: int | None

    def topic(self) -> str:
        return self._topic

    def offset(self) -> int | None:
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


def test_a_delivery_without_an_offset_counts_and_does_not_raise() -> None:
    # Given a retried batch the broker had already written: delivered, offset unknown
    d = Deliveries()
    d.callback(None, Msg("t", 0))
    d.callback(None, Msg("t", None))
    d.callback(None, Msg("t", -1001))
    d.callback(None, Msg("t", 3))
    # Then it is counted as in the topic, without making up its offset
    assert d.count("t") == 4
