"""Frame demand: which streams' frames the dashboard reads, from its clients."""

import pytest

from framewire.dashboard.hub import ALL_STREAMS, Hub
from framewire.dashboard.watch import EVERY_STREAM, NO_STREAM, FrameDemand, FramesWanted

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup(linger_s=5.0):
    hub, clock, seen = Hub(8), Clock(), []
    demand = FrameDemand(hub, linger_s, clock)
    demand.listener = seen.append
    return hub, clock, demand, seen


def test_nobody_watching_reads_no_frames_and_a_stream_client_reads_its_own():
    # Given a dashboard without clients
    hub, clock, demand, seen = setup()
    assert demand.wanted == NO_STREAM and not demand.wanted.covers("cam1")
    # When a client follows cam1's events
    queue = hub.subscribe("cam1")
    # Then cam1's frames are wanted at once, and no other stream's
    assert seen == [FramesWanted(streams=frozenset({"cam1"}))]
    assert demand.wanted.covers("cam1") and not demand.wanted.covers("cam2")
    # When it leaves / Then its frames are still read until the linger has passed
    hub.unsubscribe(queue)
    clock.now += 4.9
    demand.update()
    assert demand.wanted.covers("cam1")
    clock.now += 0.2
    demand.update()
    assert demand.wanted == NO_STREAM and seen[-1] == NO_STREAM


def test_summary_clients_watch_every_stream_and_frame_requests_renew_a_lease():
    # Given a client of the summary stream (the grid shows every picture)
    hub, clock, demand, seen = setup(linger_s=2.0)
    queue = hub.subscribe(ALL_STREAMS)
    # Then every stream's frames are wanted, for as long as it stays (ticks renew it)
    assert demand.wanted == EVERY_STREAM and demand.wanted.covers("anything")
    for _ in range(5):
        clock.now += 1.5
        demand.update()
    assert demand.wanted == EVERY_STREAM
    hub.unsubscribe(queue)
    # When only frame requests for cam2 keep coming
    for _ in range(3):
        clock.now += 1.5
        demand.touch("cam2")
    # Then only cam2 is read, and nothing once the requests stop for the linger
    assert demand.wanted == FramesWanted(streams=frozenset({"cam2"}))
    clock.now += 2.1
    demand.update()
    assert demand.wanted == NO_STREAM
    # And the listener heard each change once
    assert seen == [EVERY_STREAM, FramesWanted(streams=frozenset({"cam2"})), NO_STREAM]
