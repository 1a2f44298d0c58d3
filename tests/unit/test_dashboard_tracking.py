"""The dashboard's view of the tracker's output without a broker: trails, events, counters,
their bounds, and how records become SSE events."""

from __future__ import annotations

import pytest

from framewire.dashboard import tracking
from framewire.dashboard.framestore import FrameStore
from framewire.dashboard.hub import ALL_STREAMS, Hub
from framewire.dashboard.state import PipelineState
from framewire.dashboard.tracking import TrackBoard
from framewire.dashboard.wire import READ_KINDS, Record, TopicKind
from framewire.v1.detection_pb2 import Box
from framewire.v1.stream_pb2 import StreamSpec
from framewire.v1.tracks_pb2 import Track, TrackedResult, ZoneEvent

pytestmark = pytest.mark.unit


def frame(seq: int, *ids: int, x: float = 0.0) -> TrackedResult:
    return TrackedResult(stream_id="cam", frame_sequence=seq, frame_offset=100 + seq, tracks=[
        Track(track_id=i, label="person", box=Box(xmin=x, ymin=0.1, xmax=x + 0.2, ymax=0.5))
        for i in ids])


def event(kind: int, where: str, direction: str = "") -> ZoneEvent:
    return ZoneEvent(stream_id="cam", kind=kind, track_id=1, zone_or_line=where, direction=direction)


def test_the_dashboard_reads_tracks_and_events_but_not_the_tracker_state() -> None:
    assert {TopicKind.TRACKS, TopicKind.EVENTS} <= READ_KINDS
    assert TopicKind.TRACKER_STATE not in READ_KINDS and TopicKind.DLQ not in READ_KINDS


def test_trails_follow_the_bottom_centre_and_stay_bounded() -> None:
    # Given a board
    board = TrackBoard()
    # When track 1 moves right for 30 frames
    for seq in range(30):
        out = board.on_tracks("cam", frame(seq, 1, x=seq / 100), 0, seq)
    # Then its trail holds its last 20 bottom-centres, newest last, and names the frame
    assert out is not None and out["frame"] == "0:129"
    trail = out["tracks"][0]["trail"]
    assert len(trail) == tracking.TRAIL_POINTS
    assert trail[-1] == pytest.approx([0.29 + 0.1, 0.5]) and trail[0][0] == pytest.approx(0.1 + 0.1)
    # When another track goes on alone for longer than the idle limit / Then track 1's trail goes
    for seq in range(30, 30 + tracking.TRAIL_IDLE_RESULTS):
        board.on_tracks("cam", frame(seq, 2), 0, seq)
    assert 1 not in board._streams["cam"].trails and 2 in board._streams["cam"].trails


def test_events_are_kept_newest_first_and_counted_per_zone_line_and_kind() -> None:
    # Given a board / When more events than it keeps arrive
    board = TrackBoard()
    for i in range(tracking.EVENTS_KEPT + 5):
        board.on_event("cam", event(ZoneEvent.ENTER, "door"), 0, i)
    crossed = board.on_event("cam", event(ZoneEvent.CROSS, "gate", "right_to_left"), 0, 999)
    # Then it keeps the newest ones, newest first, and counts every one
    kept = board.for_stream("cam")
    assert len(kept["events"]) == tracking.EVENTS_KEPT and kept["events"][0]["id"] == "0:999"
    assert kept["counters"]["door"]["enter"] == tracking.EVENTS_KEPT + 5
    assert crossed is not None and crossed["counters"] == {"gate": {
        "enter": 0, "leave": 0, "dwell": 0, "left_to_right": 0, "right_to_left": 1}}


def test_streams_and_zone_ids_beyond_the_limits_are_not_kept() -> None:
    # Given a board for two streams
    board = TrackBoard(max_streams=2)
    assert board.on_tracks("a", frame(0, 1), 0, 0) and board.on_tracks("b", frame(0, 1), 0, 0)
    # Then a third stream is refused
    assert board.on_tracks("c", frame(0, 1), 0, 0) is None
    # When more zone ids than counted arrive / Then the extra ones are listed, not counted
    for i in range(tracking.MAX_COUNTED + 3):
        board.on_event("a", event(ZoneEvent.LEAVE, f"z{i}"), 0, i)
    assert len(board.for_stream("a")["counters"]) == tracking.MAX_COUNTED


def test_state_sends_tracks_without_an_sse_id_and_events_to_the_stream_only() -> None:
    # Given a state with a spec, a stream client and a summary client
    hub = Hub(16)
    state = PipelineState(hub, FrameStore(4), history_s=30, clock=lambda: 100.0)
    stream, summary = hub.subscribe("cam"), hub.subscribe(ALL_STREAMS)
    state.remember_spec("cam", StreamSpec(stream_id="cam"))
    # When a tracks record and an events record are applied
    state.apply([
        Record(TopicKind.TRACKS, "fw.tracks.cam", 0, 5, "cam", frame(3, 4), 1.0, "cam"),
        Record(TopicKind.EVENTS, "fw.events", 0, 9, "cam", event(ZoneEvent.DWELL, "door"), 1.0),
    ])
    # Then both clients get the tracks, only the stream client the event; neither has an id
    kinds = [e.kind for e in stream._items]
    assert kinds[-2:] == ["tracks", "zone_event"] and [e.kind for e in summary._items][-1] == "tracks"
    assert all(e.event_id is None for e in stream._items)
    # ... and the stream's hello and the snapshot carry them
    assert state.stream_json("cam", history=True)["tracking"]["counters"]["door"]["dwell"] == 1
    assert state.snapshot()["tracks"]["cam"]["sequence"] == 3
    # When the stream is deleted / Then its tracking is forgotten
    state.remember_spec("cam", None)
    assert state.tracking.for_stream("cam")["events"] == []
