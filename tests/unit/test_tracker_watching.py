"""The zone watcher kept with each stream's tracker: geometry from the registry, saved with
the tracker's state, rebuilt after a take-over, a geometry change or an aborted transaction."""

from __future__ import annotations

import logging

import pytest

from framewire.core.zones import parse_lines, parse_zones
from framewire.core.zonewire import set_geometry
from framewire.tracker.assignment import Owned
from framewire.tracker.geometry import NO_GEOMETRY, StreamGeometry
from framewire.tracker.tracking import StreamTracker, TrackerConfig
from framewire.tracker.watching import followed, restored, saved
from framewire.tracker.zoneevents import ZoneEventKind, ZoneWatcher
from framewire.v1.stream_pb2 import LineSpec, StreamSpec, ZonePoint
from framewire.v1.tracks_pb2 import TrackerState

pytestmark = pytest.mark.unit

LEFT = parse_zones([{"id": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}])
GATE = parse_lines([{"id": "gate", "a": [0.5, 0], "b": [0.5, 1]}])


def spec_with(zones: tuple = LEFT, lines: tuple = GATE) -> bytes:
    spec = StreamSpec(schema_version=1, stream_id="cam", source_uri="file:///x.mp4")
    set_geometry(spec, zones, lines)
    return spec.SerializeToString()


def test_the_registry_gives_each_stream_its_geometry_and_a_tombstone_takes_it_away() -> None:
    # Given the geometry table
    table = StreamGeometry()
    # When a spec with a zone and a line arrives, then its tombstone
    table.apply(b"cam", spec_with())
    during = table.of("cam")
    table.apply(b"cam", None)
    # Then the stream had them while registered, and none after
    assert during == (LEFT, GATE)
    assert table.of("cam") == NO_GEOMETRY and table.of("other") == NO_GEOMETRY


def test_a_spec_whose_zone_and_line_share_an_id_is_logged_and_watched_without_geometry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a stream with valid geometry, then a spec from another producer with a line
    # named like the zone (the API refuses that; the topic cannot)
    table = StreamGeometry()
    table.apply(b"cam", spec_with())
    spec = StreamSpec.FromString(spec_with())
    spec.lines.append(LineSpec(id="left", a=ZonePoint(x=0.1, y=0.1), b=ZonePoint(x=0.2, y=0.2)))
    # When it is applied
    with caplog.at_level(logging.WARNING):
        table.apply(b"cam", spec.SerializeToString(), "fw.streams@7")
    # Then the stream has no zones or lines rather than half of them, and the log says why
    assert table.of("cam") == NO_GEOMETRY
    assert "fw.streams@7" in caplog.text and "more than once" in caplog.text


def test_a_saved_watcher_resumes_where_its_tracks_stood() -> None:
    # Given a watcher that saw a track enter the zone
    watcher = ZoneWatcher(LEFT, GATE)
    assert [e.kind for e in watcher.observe(1000, {1: (0.2, 0.5)})] == [ZoneEventKind.ENTER]
    state = TrackerState(zone_watcher_json=saved(watcher), next_source_offset=3)
    # When it is restored and the track walks on across the line
    again = restored(state, (LEFT, GATE), "cam")
    assert again is not None
    events = again.observe(1040, {1: (0.7, 0.5)})
    # Then it leaves and crosses, without entering a second time
    assert sorted(e.kind for e in events) == sorted([ZoneEventKind.LEAVE, ZoneEventKind.CROSS])


def test_an_unreadable_saved_watcher_is_logged_and_replaced(caplog: pytest.LogCaptureFixture) -> None:
    # Given a saved state that is not the watcher's JSON
    state = TrackerState(zone_watcher_json="{not json", next_source_offset=11)
    # When it is restored
    with caplog.at_level(logging.WARNING):
        watcher = restored(state, (LEFT, GATE), "cam")
    # Then a fresh watcher takes over and the warning names the stream and offset
    assert watcher is not None and watcher.state()["tracks"] == []
    assert "cam" in caplog.text and "11" in caplog.text


def test_no_geometry_means_no_watcher_and_nothing_saved() -> None:
    assert restored(None, NO_GEOMETRY, "cam") is None
    assert followed(ZoneWatcher(LEFT, GATE), NO_GEOMETRY, "cam") is None
    assert saved(None) == ""


def test_a_line_added_later_keeps_the_tracks_in_their_zones() -> None:
    # Given a track inside the zone of a stream with no line yet
    watcher = followed(None, (LEFT, ()), "cam")
    assert watcher is not None
    watcher.observe(1000, {1: (0.2, 0.5)})
    # When a line is added to the stream's geometry
    grown = followed(watcher, (LEFT, GATE), "cam")
    assert grown is not None
    # Then the track does not enter its zone again at the next frame
    assert grown.observe(1040, {1: (0.25, 0.5)}) == []


def test_an_aborted_transaction_puts_the_watcher_back_to_its_commit() -> None:
    # Given a stream with zones whose watcher saw a track enter, committed
    owned = Owned("cam", StreamTracker("cam", TrackerConfig()), 0)
    watcher = owned.follow((LEFT, GATE))
    assert watcher is not None
    watcher.observe(1000, {1: (0.2, 0.5)})
    owned.position = 1
    owned.mark_committed()
    # When the next frames' events are produced, then their transaction is aborted
    assert watcher.observe(1040, {1: (0.7, 0.5)}) != []
    owned.position = 2
    owned.roll_back(TrackerConfig())
    # Then the watcher is the committed one: the same frame gives the same events again
    assert owned.position == 1 and owned.watcher is not None
    assert sorted(e.kind for e in owned.watcher.observe(1040, {1: (0.7, 0.5)})) == sorted(
        [ZoneEventKind.LEAVE, ZoneEventKind.CROSS])
