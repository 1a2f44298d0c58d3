"""Tracker core: stable ids across frames, ByteTrack's two passes, determinism, state round trip."""

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framewire.core.errors import DecodeError
from framewire.core.records import Box, Detection
from framewire.tracker.tracking import StreamTracker, TrackerConfig, to_track_proto
from framewire.v1 import tracks_pb2

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000_000_000
FRAME_NS = 100_000_000  # 10 fps


def at(frame: int) -> int:
    return T0 + frame * FRAME_NS


def det(x: float, y: float, *, class_id: int = 1, score: float = 0.9, size: float = 0.1) -> Detection:
    label = {1: "person", 2: "car"}.get(class_id, f"class{class_id}")
    return Detection(class_id, label, score, Box(x, y, x + size, y + size))


def ids(objs):
    return [o.track_id for o in objs]


def restored(tracker: StreamTracker, config: TrackerConfig | None = None) -> StreamTracker:
    wire = tracker.to_state(next_source_offset=42).SerializeToString()
    state = tracks_pb2.TrackerState()
    state.ParseFromString(wire)
    return StreamTracker.from_state(state, config or TrackerConfig())


def test_two_moving_objects_keep_their_ids():
    # Given a person moving right and a car moving left, apart from each other
    tracker = StreamTracker("cam1")
    seen = []
    # When ten frames are tracked
    for k in range(10):
        frame = [det(0.1 + 0.03 * k, 0.1, class_id=1), det(0.8 - 0.03 * k, 0.6, class_id=2)]
        seen.append(tracker.update(frame, at(k)))
    # Then both keep the ids they were born with, every frame, and move the right way
    assert all(ids(objs) == [1, 2] for objs in seen)
    assert all([o.label for o in objs] == ["person", "car"] for objs in seen)
    last = seen[-1]
    assert last[0].hits == 10 and last[0].first_seen_ns == at(0) and last[0].last_seen_ns == at(9)
    assert last[0].velocity_x == pytest.approx(0.3, rel=1e-4)  # 0.03 per 0.1 s
    assert last[1].velocity_x == pytest.approx(-0.3, rel=1e-4)
    assert last[0].velocity_y == pytest.approx(0.0, abs=1e-5)
    assert tracker.next_track_id == 3


def test_crossing_objects_of_different_classes_keep_their_ids():
    # Given a person and a car on the same row moving towards each other, overlapping mid-way
    tracker = StreamTracker("cam1")
    by_class: dict[int, set[int]] = {1: set(), 2: set()}
    # When they pass through each other (identical boxes at frame 5)
    for k in range(11):
        frame = [det(0.2 + 0.04 * k, 0.4, class_id=2), det(0.6 - 0.04 * k, 0.4, class_id=1)]
        for obj in tracker.update(frame, at(k)):
            by_class[obj.class_id].add(obj.track_id)
    # Then each class was only ever reported under one id
    assert by_class == {1: {2}, 2: {1}}
    assert tracker.next_track_id == 3


def test_a_detection_of_another_class_never_extends_a_track():
    # Given a person track
    tracker = StreamTracker("cam1")
    tracker.update([det(0.3, 0.3, class_id=1)], at(0))
    # When a car is detected exactly on the person's box
    out = tracker.update([det(0.3, 0.3, class_id=2)], at(1))
    # Then the car starts a new track and the person's track counts a miss
    assert [(o.track_id, o.class_id) for o in out] == [(2, 2)]
    assert [(t.track_id, t.misses) for t in tracker.tracks] == [(1, 1), (2, 0)]


def test_an_object_missed_for_a_few_frames_resumes_where_its_velocity_predicts():
    # Given an object moving 0.05 per frame (half its width), tracked for 3 frames
    tracker = StreamTracker("cam1", TrackerConfig(max_misses=5))
    for k in range(3):
        tracker.update([det(0.1 + 0.05 * k, 0.2)], at(k))
    # When it is missed for 4 frames and reappears where constant velocity puts it
    for k in range(3, 7):
        assert tracker.update([], at(k)) == []
    out = tracker.update([det(0.1 + 0.05 * 7, 0.2)], at(7))
    # Then it keeps its id (its box moved 0.2 since last seen: no overlap without prediction)
    assert ids(out) == [1]
    assert out[0].hits == 4 and out[0].misses == 0
    assert out[0].velocity_x == pytest.approx(0.5, rel=1e-4)


@pytest.mark.parametrize(("missed", "expected_id"), [(3, 1), (4, 2)])
def test_a_track_survives_max_misses_missed_frames_and_is_dropped_after(missed, expected_id):
    # Given a still object tracked with max_misses=3
    tracker = StreamTracker("cam1", TrackerConfig(max_misses=3))
    tracker.update([det(0.5, 0.5)], at(0))
    # When it is missed for `missed` frames in a row, then seen again at the same place
    for k in range(1, missed + 1):
        tracker.update([], at(k))
    out = tracker.update([det(0.5, 0.5)], at(missed + 1))
    # Then up to max_misses it resumes with its id; one more and it comes back as a new track
    assert ids(out) == [expected_id]
    assert [t.track_id for t in tracker.tracks] == [expected_id]


def test_low_score_detections_extend_tracks_but_never_start_them():
    config = TrackerConfig(high_score=0.5, low_score=0.1)
    tracker = StreamTracker("cam1", config)
    # Given a frame of only low-score detections
    # When it is tracked
    out = tracker.update([det(0.1, 0.1, score=0.3), det(0.6, 0.6, score=0.2)], at(0))
    # Then no track starts
    assert out == [] and tracker.tracks == () and tracker.next_track_id == 1
    # Given a confident detection that starts a track
    tracker.update([det(0.1, 0.1, score=0.9)], at(1))
    # When the object's score dips into [low, high) while a new low-score object shows up
    out = tracker.update([det(0.11, 0.1, score=0.3), det(0.6, 0.6, score=0.3)], at(2))
    # Then the dip extends the track (second pass) and the newcomer starts nothing
    assert [(o.track_id, o.hits, o.score) for o in out] == [(1, 2, pytest.approx(0.3))]
    assert tracker.next_track_id == 2


def test_detections_below_low_score_are_ignored():
    # Given a track
    tracker = StreamTracker("cam1", TrackerConfig(low_score=0.1))
    tracker.update([det(0.1, 0.1)], at(0))
    # When the only detection on it scores below low_score
    out = tracker.update([det(0.1, 0.1, score=0.05)], at(1))
    # Then it neither extends the track nor starts one
    assert out == []
    assert [(t.track_id, t.hits, t.misses) for t in tracker.tracks] == [(1, 1, 1)]


def test_a_second_detection_on_a_taken_track_starts_a_new_track_only_if_confident():
    # Given a track and, next frame, two confident detections and a weak one on top of it
    tracker = StreamTracker("cam1")
    tracker.update([det(0.4, 0.4)], at(0))
    frame = [det(0.4, 0.4, score=0.95), det(0.41, 0.4, score=0.8), det(0.4, 0.41, score=0.3)]
    # When tracked
    out = tracker.update(frame, at(1))
    # Then the best one extends the track, the other confident one is born, the weak one is dropped
    assert [(o.track_id, o.hits, o.box.xmin) for o in out] == [
        (1, 2, pytest.approx(0.4)),
        (2, 1, pytest.approx(0.41)),
    ]


def test_track_ids_are_never_reused():
    # Given max_misses=0, so every gap drops the track
    tracker = StreamTracker("cam1", TrackerConfig(max_misses=0))
    born: dict[int, int] = {}
    # When objects appear and vanish in turn at the same place
    for k in range(12):
        frame = [det(0.3, 0.3)] if k % 2 == 0 else []
        for obj in tracker.update(frame, at(k)):
            born.setdefault(obj.track_id, obj.first_seen_ns)
            assert born[obj.track_id] == obj.first_seen_ns
    # Then each reappearance got a fresh, increasing id
    assert sorted(born) == [1, 2, 3, 4, 5, 6]
    assert [born[i] for i in sorted(born)] == [at(k) for k in range(0, 12, 2)]
    assert tracker.next_track_id == 7


def test_min_hits_holds_back_new_tracks():
    # Given min_hits=3
    tracker = StreamTracker("cam1", TrackerConfig(min_hits=3))
    # When a still object is seen four frames
    reported = [ids(tracker.update([det(0.2, 0.2)], at(k))) for k in range(4)]
    # Then it is reported from its third hit on, with the id it had from birth
    assert reported == [[], [], [1], [1]]


@pytest.mark.parametrize("offset", [0, -1, -FRAME_NS * 3])
def test_a_duplicate_or_earlier_capture_time_is_ignored(offset):
    # Given a tracker after three frames
    tracker = StreamTracker("cam1")
    twin = StreamTracker("cam1")
    for k in range(3):
        frame = [det(0.1 + 0.02 * k, 0.1)]
        tracker.update(frame, at(k))
        twin.update(frame, at(k))
    before = tracker.to_state(next_source_offset=3)
    # When a frame comes with the last capture time or an earlier one, with other detections
    out = tracker.update([det(0.7, 0.7), det(0.12, 0.1)], at(2) + offset)
    # Then nothing is reported and the state is exactly as before
    assert out == []
    assert tracker.to_state(next_source_offset=3) == before
    assert tracker.last_capture_time_ns == at(2)
    # And the next frames go as if it had never come
    for k in range(3, 6):
        frame = [det(0.1 + 0.02 * k, 0.1)]
        assert tracker.update(frame, at(k)) == twin.update(frame, at(k))


def test_output_is_sorted_by_track_id_and_independent_of_detection_order():
    # Given a frame of five objects, fed to two trackers in different orders
    frame = [det(0.05 + 0.18 * i, 0.3 + 0.1 * (i % 2), class_id=1 + i % 2) for i in range(5)]
    a, b = StreamTracker("cam1"), StreamTracker("cam1")
    shuffled = list(frame)
    rng = random.Random(7)
    for k in range(4):
        moved = [dataclasses.replace(d, box=_shift(d.box, 0.01 * k)) for d in frame]
        rng.shuffle(shuffled)
        order = [moved[frame.index(d)] for d in shuffled]
        out_a, out_b = a.update(moved, at(k)), b.update(order, at(k))
        # Then both report the same tracks, by id
        assert out_a == out_b
        assert ids(out_a) == sorted(ids(out_a)) == [1, 2, 3, 4, 5]


def _shift(box: Box, dx: float) -> Box:
    return Box(box.xmin + dx, box.ymin, box.xmax + dx, box.ymax)


@st.composite
def scenes(draw):
    """A few objects of two classes moving at constant velocity, sometimes missed or weak."""
    n_objects = draw(st.integers(min_value=0, max_value=5))
    unit = st.floats(min_value=0.0, max_value=0.8, allow_nan=False)
    speed = st.floats(min_value=-0.04, max_value=0.04, allow_nan=False)
    objects = [
        (draw(unit), draw(unit), draw(speed), draw(speed), draw(st.integers(1, 2))) for _ in range(n_objects)
    ]
    n_frames = draw(st.integers(min_value=1, max_value=14))
    frames = []
    time_ns = T0
    for k in range(n_frames):
        # Mostly steady frame gaps, now and then a long one or a repeated capture time
        time_ns += draw(st.sampled_from([FRAME_NS, FRAME_NS, FRAME_NS // 2, 3 * FRAME_NS, 0]))
        dets = []
        for x, y, vx, vy, class_id in objects:
            score = draw(st.sampled_from([0.0, 0.05, 0.3, 0.6, 0.9]))
            jitter = draw(st.floats(min_value=-0.01, max_value=0.01, allow_nan=False))
            dets.append(det(x + vx * k + jitter, y + vy * k, class_id=class_id, score=score))
        frames.append((dets, time_ns))
    return frames


def run(tracker, frames):
    return [tracker.update(dets, time_ns) for dets, time_ns in frames]


@settings(max_examples=80, deadline=None)
@given(scenes())
def test_two_trackers_fed_the_same_frames_give_identical_outputs(frames):
    # Given two trackers with the same config
    config = TrackerConfig(max_misses=2)
    # When both are fed the same frames
    # Then every frame's output and the final state are identical
    a, b = StreamTracker("cam1", config), StreamTracker("cam1", config)
    assert run(a, frames) == run(b, frames)
    assert a.to_state(9).SerializeToString() == b.to_state(9).SerializeToString()


@settings(max_examples=80, deadline=None)
@given(scenes(), st.data())
def test_a_restored_tracker_continues_exactly_like_the_original(frames, data):
    # Given a tracker that took in the first part of a scene
    config = TrackerConfig(max_misses=3)
    split = data.draw(st.integers(min_value=0, max_value=len(frames)))
    original = StreamTracker("cam1", config)
    run(original, frames[:split])
    # When its state goes through the wire and a new tracker is built from it
    copy = restored(original, config)
    # Then the copy holds the same tracks, and both continue with identical outputs and state
    assert copy.tracks == original.tracks
    assert copy.next_track_id == original.next_track_id
    assert copy.last_capture_time_ns == original.last_capture_time_ns
    assert run(copy, frames[split:]) == run(original, frames[split:])
    assert copy.to_state(9) == original.to_state(9)


def test_state_round_trip_keeps_ids_of_tracks_currently_missed():
    # Given two tracks, one of them missed for two frames
    tracker = StreamTracker("cam1")
    tracker.update([det(0.1, 0.1), det(0.6, 0.6, class_id=2)], at(0))
    tracker.update([det(0.1, 0.1)], at(1))
    tracker.update([det(0.1, 0.1)], at(2))
    # When it is saved and restored
    state = tracker.to_state(next_source_offset=17)
    copy = restored(tracker)
    # Then the state says what it holds, and the missed track resumes under its id
    assert (state.schema_version, state.stream_id, state.next_track_id) == (1, "cam1", 3)
    assert (state.last_capture_time_ns, state.next_source_offset) == (at(2), 17)
    assert [(t.track_id, t.misses) for t in state.tracks] == [(1, 0), (2, 2)]
    out = copy.update([det(0.1, 0.1), det(0.6, 0.6, class_id=2)], at(3))
    assert [(o.track_id, o.hits) for o in out] == [(1, 4), (2, 2)]


def test_from_state_rejects_an_unknown_schema_version_and_clashing_ids():
    # Given a state from a newer schema, and one whose track ids are not below next_track_id
    newer = StreamTracker("cam1").to_state(0)
    newer.schema_version = 2
    clash = tracks_pb2.TrackerState(schema_version=1, stream_id="cam1", next_track_id=2)
    clash.tracks.add(track_id=2)
    # When restored / Then each is refused, naming the stream
    with pytest.raises(DecodeError, match=r"schema_version 2.*stream=cam1"):
        StreamTracker.from_state(newer)
    with pytest.raises(DecodeError, match="next_track_id"):
        StreamTracker.from_state(clash)


def test_to_track_proto_carries_every_field():
    # Given a reported object
    tracker = StreamTracker("cam1")
    tracker.update([det(0.2, 0.3, class_id=2)], at(0))
    (obj,) = tracker.update([det(0.25, 0.3, class_id=2, score=0.75)], at(1))
    # When converted for a TrackedResult
    track = to_track_proto(obj)
    # Then every field is there, at the wire's float precision
    assert (track.track_id, track.label, track.class_id, track.hits, track.misses) == (1, "car", 2, 2, 0)
    assert (track.first_seen_ns, track.last_seen_ns) == (at(0), at(1))
    assert track.score == obj.score == pytest.approx(0.75)
    assert (track.box.xmin, track.box.ymax) == (obj.box.xmin, obj.box.ymax)
    assert track.velocity_x == obj.velocity_x == pytest.approx(0.5, rel=1e-4)
    assert track.velocity_y == obj.velocity_y == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"low_score": 0.6, "high_score": 0.5}, "low_score <= high_score"),
        ({"low_score": -0.1}, "0 <= low_score"),
        ({"high_score": 1.5}, "high_score <= 1"),
        ({"match_iou": 0.0}, "0 < match_iou <= 1"),
        ({"match_iou": 1.2}, "0 < match_iou <= 1"),
        ({"max_misses": -1}, "max_misses >= 0"),
        ({"min_hits": 0}, "min_hits >= 1"),
    ],
)
def test_config_out_of_range_is_refused(kwargs, message):
    # Given / When a config with a value out of range / Then it is refused, naming the rule
    with pytest.raises(ValueError, match=message):
        TrackerConfig(**kwargs)


def test_config_edges_are_accepted():
    # Given the extreme valid values / When built / Then accepted
    assert TrackerConfig(low_score=0.0, high_score=0.0, match_iou=1.0, max_misses=0, min_hits=1)
    assert TrackerConfig(low_score=1.0, high_score=1.0)
