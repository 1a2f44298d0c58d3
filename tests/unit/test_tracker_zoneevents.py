"""Zone and line events of tracks: enter, leave, dwell, cross, and resuming from saved state."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framewire.core.errors import ConfigError, DecodeError
from framewire.core.records import Box
from framewire.core.zones import Line, LineDirection, Zone, side
from framewire.tracker.zoneevents import ZoneEvent, ZoneEventKind, ZoneWatcher, bottom_centre

pytestmark = pytest.mark.unit

ENTER, LEAVE = ZoneEventKind.ENTER, ZoneEventKind.LEAVE
CROSS, DWELL = ZoneEventKind.CROSS, ZoneEventKind.DWELL
DOOR = Zone("door", ((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)), dwell_s=2.0)
YARD = Zone("yard", ((0.7, 0.7), (0.9, 0.7), (0.9, 0.9), (0.7, 0.9)))
# Pointing right: its left side is above it (smaller y), its right side below.
GATE = Line("gate", (0.1, 0.5), (0.9, 0.5))

Frames = Sequence[tuple[int, Mapping[int, tuple[float, float]]]]


def run(watcher: ZoneWatcher, frames: Frames) -> list[list[ZoneEvent]]:
    return [watcher.observe(ms, tracks) for ms, tracks in frames]


def walk(*points: tuple[float, float], track_id: int = 1, step_ms: int = 100) -> list[Any]:
    return [(k * step_ms, {track_id: p}) for k, p in enumerate(points)]


def crosses(events: list[list[ZoneEvent]]) -> list[tuple[int, str | None]]:
    return [(k, e.direction) for k, frame in enumerate(events) for e in frame if e.kind is CROSS]


def test_walking_down_across_the_line_crosses_it_once_left_to_right() -> None:
    # Given a track walking down through the gate, stopping exactly on it for a frame
    frames = walk((0.5, 0.3), (0.5, 0.4), (0.5, 0.5), (0.5, 0.6), (0.5, 0.7))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then one crossing is reported, when it reaches the far side, from the left (above)
    assert events[3] == [ZoneEvent(CROSS, 1, "gate", 300, "left_to_right")]
    assert crosses(events) == [(3, "left_to_right")]


def test_walking_up_in_one_step_crosses_right_to_left() -> None:
    # Given a track jumping from below the gate to above it in one frame
    frames = walk((0.3, 0.8), (0.3, 0.2), (0.3, 0.1))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then the crossing is from the right side (below)
    assert crosses(events) == [(1, "right_to_left")]


@pytest.mark.parametrize(
    ("direction", "counted"),
    [
        (LineDirection.BOTH, [(1, "left_to_right"), (2, "right_to_left")]),
        (LineDirection.LEFT_TO_RIGHT, [(1, "left_to_right")]),
        (LineDirection.RIGHT_TO_LEFT, [(2, "right_to_left")]),
    ],
)
def test_a_line_counts_only_its_direction(direction: LineDirection, counted: list[Any]) -> None:
    # Given a line counting one or both directions, and a track going down then back up
    gate = Line("gate", GATE.a, GATE.b, direction)
    frames = walk((0.5, 0.4), (0.5, 0.6), (0.5, 0.4))
    # When the frames are observed
    events = run(ZoneWatcher([], [gate]), frames)
    # Then only the crossings in the line's direction are reported
    assert crosses(events) == counted


def test_a_box_flickering_on_the_line_is_counted_once() -> None:
    # Given a track that reaches the line, then hovers between on it and just past it
    frames = walk((0.5, 0.4), (0.5, 0.5), (0.5, 0.51), (0.5, 0.5), (0.5, 0.51), (0.5, 0.5), (0.5, 0.52))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then it has crossed once, the first time it got past
    assert crosses(events) == [(2, "left_to_right")]


def test_touching_the_line_and_going_back_is_no_crossing() -> None:
    # Given a track bouncing between the line and the side it came from
    frames = walk((0.5, 0.4), (0.5, 0.5), (0.5, 0.45), (0.5, 0.5), (0.5, 0.3))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then nothing crossed
    assert crosses(events) == []


def test_passing_beyond_the_end_of_the_line_is_no_crossing_but_sets_the_side() -> None:
    # Given a track going down past the gate's right end, then back up through the gate
    frames = walk((0.95, 0.4), (0.95, 0.5), (0.95, 0.6), (0.5, 0.6), (0.5, 0.4))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then only the way back through the segment counts, from the side reached beyond its end
    assert crosses(events) == [(4, "right_to_left")]


def test_reaching_the_line_sliding_along_it_and_leaving_past_its_end_crosses() -> None:
    # Given a track that steps onto the gate, slides along it past its end, then steps below
    frames = walk((0.5, 0.4), (0.5, 0.5), (0.95, 0.5), (0.95, 0.6))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then it crossed: it met the segment on its way from one side to the other
    assert crosses(events) == [(3, "left_to_right")]


def test_a_track_first_seen_on_the_line_has_crossed_nothing() -> None:
    # Given a track born on the line that then moves below it
    frames = walk((0.5, 0.5), (0.5, 0.6), (0.5, 0.7))
    # When the frames are observed
    events = run(ZoneWatcher([], [GATE]), frames)
    # Then it has not crossed: where it came from is unknown
    assert crosses(events) == []


def test_entering_and_leaving_a_zone() -> None:
    # Given a track walking into the door zone and out again
    frames = walk((0.1, 0.1), (0.3, 0.3), (0.4, 0.4), (0.7, 0.4))
    # When the frames are observed
    events = run(ZoneWatcher([DOOR], []), frames)
    # Then it enters when first inside and leaves when first outside
    assert events == [[], [ZoneEvent(ENTER, 1, "door", 100)], [], [ZoneEvent(LEAVE, 1, "door", 300)]]


def test_a_track_born_inside_a_zone_enters_it() -> None:
    # Given a track whose first point is inside the door zone
    watcher = ZoneWatcher([DOOR], [])
    # When it is first observed
    events = watcher.observe(0, {7: (0.4, 0.4)})
    # Then it has entered
    assert events == [ZoneEvent(ENTER, 7, "door", 0)]


def test_dwell_is_reported_once_per_visit_when_its_time_is_reached() -> None:
    # Given a track standing in the door zone (dwell 2 s), leaving, and coming back
    inside, outside = (0.4, 0.4), (0.8, 0.1)
    frames = [(0, {1: inside}), (1000, {1: inside}), (1999, {1: inside}), (2000, {1: inside}),
              (3000, {1: inside}), (3500, {1: outside}), (4000, {1: inside}), (6000, {1: inside})]
    # When the frames are observed
    events = run(ZoneWatcher([DOOR], []), frames)
    # Then it dwells at exactly 2 s into each visit, once
    kinds = [(ms, e.kind) for (ms, _), frame in zip(frames, events, strict=True) for e in frame]
    assert kinds == [(0, ENTER), (2000, DWELL), (3500, LEAVE), (4000, ENTER), (6000, DWELL)]


def test_a_zone_without_dwell_time_never_dwells() -> None:
    # Given a track standing a minute in the yard, which has no dwell time
    frames = [(ms, {1: (0.8, 0.8)}) for ms in range(0, 60_001, 10_000)]
    # When the frames are observed
    events = run(ZoneWatcher([YARD], []), frames)
    # Then it only entered
    assert [e.kind for frame in events for e in frame] == [ENTER]


def test_dwell_compares_seconds_as_written() -> None:
    # Given a zone with dwell 1.1 s (1.1 * 1000 is 1100.0000000000002 in floats)
    zone = Zone("door", DOOR.polygon, dwell_s=1.1)
    watcher = ZoneWatcher([zone], [])
    watcher.observe(0, {1: (0.4, 0.4)})
    # When the track has been inside exactly 1100 ms
    events = watcher.observe(1100, {1: (0.4, 0.4)})
    # Then it dwells
    assert events == [ZoneEvent(DWELL, 1, "door", 1100)]


def test_a_track_that_disappears_leaves_the_zones_it_was_in() -> None:
    # Given track 1 in two zones and track 2 outside them all
    door_and_yard = Zone("both", ((0.3, 0.3), (0.8, 0.3), (0.8, 0.8), (0.3, 0.8)))
    watcher = ZoneWatcher([DOOR, door_and_yard], [])
    watcher.observe(0, {1: (0.4, 0.4), 2: (0.1, 0.1)})
    # When both tracks are gone at the next frame
    events = watcher.observe(100, {})
    # Then track 1 leaves both zones at that frame, and track 2 leaves nothing
    assert events == [ZoneEvent(LEAVE, 1, "both", 100), ZoneEvent(LEAVE, 1, "door", 100)]
    # And a later track with the same id starts afresh
    assert watcher.observe(200, {1: (0.4, 0.4)})[0] == ZoneEvent(ENTER, 1, "both", 200)


def test_events_are_sorted_by_track_then_zone_or_line() -> None:
    # Given two tracks moving from above the gate into the door zone below it, given out of order
    watcher = ZoneWatcher([YARD, DOOR], [GATE])
    watcher.observe(0, {2: (0.3, 0.1), 1: (0.4, 0.1)})
    # When both cross the gate into the door zone
    events = watcher.observe(100, {2: (0.3, 0.55), 1: (0.4, 0.55)})
    # Then track 1 comes first, and within a track "door" before "gate"
    assert events == [
        ZoneEvent(ENTER, 1, "door", 100),
        ZoneEvent(CROSS, 1, "gate", 100, "left_to_right"),
        ZoneEvent(ENTER, 2, "door", 100),
        ZoneEvent(CROSS, 2, "gate", 100, "left_to_right"),
    ]


def test_a_frame_not_after_the_last_is_ignored() -> None:
    # Given a watcher that saw a track enter at 100 ms
    watcher = ZoneWatcher([DOOR], [])
    watcher.observe(100, {1: (0.4, 0.4)})
    before = watcher.state()
    # When the same frame, and an older one without the track, come again
    again = watcher.observe(100, {1: (0.4, 0.4)}), watcher.observe(50, {})
    # Then nothing is reported and nothing changed
    assert again == ([], []) and watcher.state() == before


def test_a_zone_and_a_line_may_not_share_an_id() -> None:
    # Given a zone and a line both named "door"
    # When a watcher is built on them
    with pytest.raises(ConfigError) as caught:
        ZoneWatcher([DOOR], [Line("door", GATE.a, GATE.b)], stream_id="cam")
    # Then it is refused, naming the id and the stream
    assert str(caught.value) == "zone and line ids ['door'] are used more than once (stream=cam)"


def test_the_point_of_a_box_is_its_bottom_centre() -> None:
    # Given a box
    # When its point is taken
    # Then it is the middle of its bottom edge
    assert bottom_centre(Box(0.2, 0.1, 0.4, 0.7)) == pytest.approx((0.3, 0.7))


SCENARIO = [
    (0, {1: (0.3, 0.3), 2: (0.5, 0.45), 4: (0.5, 0.4)}),
    (500, {1: (0.3, 0.45), 2: (0.5, 0.5), 4: (0.5, 0.5)}),
    (1000, {1: (0.35, 0.55), 2: (0.5, 0.52), 4: (0.95, 0.5)}),
    (1500, {1: (0.4, 0.55), 2: (0.5, 0.5), 3: (0.8, 0.8), 4: (0.95, 0.6)}),
    (2600, {1: (0.4, 0.55), 3: (0.8, 0.6)}),
    (3000, {1: (0.45, 0.45), 3: (0.8, 0.4)}),
    (3100, {3: (0.8, 0.8)}),
]


def resumed_at_every_step(zones: list[Zone], lines: list[Line], frames: Frames) -> list[list[ZoneEvent]]:
    """Events when the watcher is saved as JSON and restored before every frame."""
    state = ZoneWatcher(zones, lines).state()
    out = []
    for ms, tracks in frames:
        watcher = ZoneWatcher.restore(zones, lines, json.loads(json.dumps(state)))
        out.append(watcher.observe(ms, tracks))
        state = watcher.state()
    return out


def test_a_watcher_restored_at_every_step_gives_the_uninterrupted_events() -> None:
    # Given a scenario with enters, a dwell, crossings (one made in steps along the line), a
    # flicker on the line and ended tracks
    zones, lines = [DOOR, YARD], [GATE]
    uninterrupted = run(ZoneWatcher(zones, lines), SCENARIO)
    assert {e.kind for frame in uninterrupted for e in frame} == {ENTER, LEAVE, CROSS, DWELL}
    assert ZoneEvent(CROSS, 4, "gate", 1500, "left_to_right") in uninterrupted[3]
    # When the watcher is saved and restored from JSON before every frame
    resumed = resumed_at_every_step(zones, lines, SCENARIO)
    # Then it reports exactly the same events
    assert resumed == uninterrupted


def test_state_of_a_removed_zone_is_dropped_on_restore() -> None:
    # Given a track saved while inside the door zone
    watcher = ZoneWatcher([DOOR, YARD], [])
    watcher.observe(0, {1: (0.4, 0.4)})
    # When the stage restarts with the door zone removed and the track gone
    restored = ZoneWatcher.restore([YARD], [], watcher.state())
    # Then no event names the removed zone
    assert restored.observe(100, {}) == []


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"schema_version": 2, "last_capture_ms": 0, "tracks": []},
         "unsupported zone watcher state schema_version 2"),
        ([], "unsupported zone watcher state schema_version None"),
        ({"schema_version": 1, "tracks": []}, "malformed zone watcher state: KeyError('last_capture_ms')"),
        ({"schema_version": 1, "last_capture_ms": 0, "tracks": [{"track_id": 1, "point": [0.1]}]},
         "malformed zone watcher state"),
        ({"schema_version": 1, "last_capture_ms": 0,
          "tracks": [{"track_id": 1, "point": [0.1, 0.1], "visits": {},
                      "approaches": {"gate": {"anchor": 5, "touched": False}}}]},
         "line anchor outside -1, 0, 1"),
    ],
)
def test_a_bad_state_is_refused(state: Any, message: str) -> None:
    # Given a saved state that is from another version or damaged
    # When it is restored
    with pytest.raises(DecodeError) as caught:
        ZoneWatcher.restore([DOOR], [GATE], state, stream_id="cam")
    # Then it is refused with the reason, for that stream
    assert message in str(caught.value) and caught.value.stream_id == "cam"


# Coordinates on a tenth grid so that points land exactly on lines and zone edges often.
_coord = st.integers(0, 10).map(lambda k: k / 10)
_frame = st.dictionaries(st.integers(1, 4), st.tuples(_coord, _coord), max_size=4)
_frames = st.lists(st.tuples(st.integers(1, 1500), _frame), min_size=1, max_size=25)

RANDOM_ZONES = [
    Zone("u", ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.6, 0.9), (0.6, 0.4), (0.4, 0.4), (0.4, 0.9),
               (0.1, 0.9)), dwell_s=1.0),
    Zone("v", ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7))),
]
RANDOM_LINES = [
    Line("across", (0.2, 0.5), (0.8, 0.5)),
    Line("diagonal", (0.1, 0.1), (0.9, 0.9), LineDirection.LEFT_TO_RIGHT),
]


# What may follow each zone event for the same track and zone.
_FOLLOWS = {ENTER: {None, LEAVE}, LEAVE: {ENTER, DWELL}, DWELL: {ENTER}}


def consistent(frames: Frames, events: list[list[ZoneEvent]]) -> bool:
    """Per track life: enter, dwell at most once, leave, in turn; each crossing goes from the
    side the track was last strictly on to the other side (two crossings the same way are
    fine when the track went round the line's end in between)."""
    last: dict[tuple[int, str], str | None] = {}
    came_from: dict[tuple[int, str], int] = {}
    lines = {line.id: line for line in RANDOM_LINES}
    for (_, tracks), frame in zip(frames, events, strict=True):
        for e in frame:
            key = (e.track_id, e.zone_or_line)
            if e.kind is CROSS:
                now = _sign(side(lines[e.zone_or_line], tracks[e.track_id]))
                want = (-1, 1) if e.direction == LineDirection.LEFT_TO_RIGHT.value else (1, -1)
                if (came_from.get(key), now) != want:
                    return False
            elif last.get(key) not in _FOLLOWS[e.kind]:
                return False
            else:
                last[key] = e.kind
        # A track gone has ended: it must have left its zones, and its id may start afresh.
        if any(v in (ENTER, DWELL) for k, v in last.items() if k[0] not in tracks):
            return False
        last = {k: v for k, v in last.items() if k[0] in tracks}
        came_from = {k: v for k, v in came_from.items() if k[0] in tracks}
        for track_id, point in tracks.items():
            for line in RANDOM_LINES:
                if s := _sign(side(line, point)):
                    came_from[(track_id, line.id)] = s
    return True


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


@settings(max_examples=50, deadline=None, database=None)
@given(_frames)
def test_random_runs_resume_exactly_and_stay_consistent(steps: list[tuple[int, Any]]) -> None:
    # Given random tracks moving on a grid, over random time steps
    frames, ms = [], 0
    for dt, tracks in steps:
        ms += dt
        frames.append((ms, tracks))
    # When the watcher runs once uninterrupted, and once restored from JSON before every frame
    uninterrupted = run(ZoneWatcher(RANDOM_ZONES, RANDOM_LINES), frames)
    resumed = resumed_at_every_step(RANDOM_ZONES, RANDOM_LINES, frames)
    # Then the events are the same, sorted, and consistent per track
    assert resumed == uninterrupted
    for frame in uninterrupted:
        keys = [(e.track_id, e.zone_or_line) for e in frame]
        assert keys == sorted(keys)
    assert consistent(frames, uninterrupted)
