"""Freshness policies and round-robin fairness on synthetic buffers (no Kafka, no model)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framewire.inference.freshness import SUPERSEDED_DETAIL, Freshness
from framewire.inference.records import (
    Coords,
    DropReason,
    FrameItem,
    Inbound,
    Rejected,
    RejectKind,
)
from framewire.inference.scheduler import Scheduler
from framewire.inference.settings import FreshnessPolicy

pytestmark = pytest.mark.unit

NOW = 10_000_000_000
MS = 1_000_000


def frame(topic: str, offset: int, age_ms: int = 0, partition: int = 0) -> FrameItem:
    inbound = Inbound(Coords(topic, partition, offset), b"k", b"v", (), -1)
    return FrameItem(inbound, topic.split(".")[-1], offset, NOW - age_ms * MS, 0, 0, b"")


def bad(topic: str, offset: int) -> Rejected:
    inbound = Inbound(Coords(topic, 0, offset), None, b"junk", (), -1)
    return Rejected(inbound, RejectKind.DECODE_ERROR, "junk")


def scheduler(policy: FreshnessPolicy, stride: int = 1, capacity: int = 1000) -> Scheduler:
    return Scheduler(Freshness(policy, stride), capacity)


def offsets(frames: list[FrameItem]) -> list[int]:
    return [f.coords.offset for f in frames]


def test_none_processes_everything_in_order_however_old() -> None:
    # Given a partition with very old frames and policy none
    s = scheduler(FreshnessPolicy.NONE)
    for o in range(5):
        s.add(("fw.frames.a", 0), frame("fw.frames.a", o, age_ms=60_000))
    # When a cycle is selected with a recent cutoff
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    # Then every frame is processed, none dropped, and the commit position follows the last
    assert offsets(cycle.frames) == [0, 1, 2, 3, 4]
    assert cycle.drops == []
    assert cycle.positions == {("fw.frames.a", 0): 5}


def test_latest_skips_stale_frames_to_the_newest_and_records_the_range() -> None:
    # Given stale frames at offsets 0..3 followed by a fresh frame at 4
    s = scheduler(FreshnessPolicy.LATEST)
    tp = ("fw.frames.a", 0)
    for o, age in enumerate([900, 800, 700, 600, 100]):
        s.add(tp, frame(tp[0], o, age_ms=age))
    # When selected with a 500 ms budget
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    # Then the newest is processed and one STALE range covers 0..3
    assert offsets(cycle.frames) == [4]
    [drop] = cycle.drops
    assert (drop.first_offset, drop.last_offset, drop.count) == (0, 3, 4)
    assert drop.reason is DropReason.STALE and drop.stream_id == "a"
    assert cycle.positions[tp] == 5 and cycle.behind == []


def test_latest_processes_a_backlog_within_the_catch_up_window_in_order() -> None:
    # Given a 200 ms catch-up window and three frames 67 ms apart (one late cycle at 15 fps)
    s = Scheduler(Freshness(FreshnessPolicy.LATEST, 1, 200 * MS), 1000)
    tp = ("fw.frames.a", 0)
    for o, age in enumerate([134, 67, 0]):
        s.add(tp, frame(tp[0], o, age_ms=age))
    # When a cycle of up to 8 frames is selected
    cycle = s.select(8, stale_before_ns=NOW - 500 * MS)
    # Then all three are processed in order and none is superseded
    assert offsets(cycle.frames) == [0, 1, 2]
    assert cycle.drops == [] and cycle.positions[tp] == 3


def test_latest_processes_a_handed_over_backlog_in_order_when_it_clears_within_the_window() -> None:
    # Given a 200 ms window, a worker that needs 12 ms a frame, and one partition handed over
    # with 0.8 s of frames at 15 fps waiting (12 frames: 144 ms of work)
    s = Scheduler(Freshness(FreshnessPolicy.LATEST, 1, 200 * MS), 1000)
    tp = ("fw.frames.a", 0)
    for o in range(12):
        s.add(tp, frame(tp[0], o, age_ms=(11 - o) * 67))
    # When cycles of up to 8 frames are selected
    first = s.select(8, stale_before_ns=NOW - 2000 * MS, frame_cost_ns=12 * MS)
    second = s.select(8, stale_before_ns=NOW - 2000 * MS, frame_cost_ns=12 * MS)
    # Then every frame is processed, in order, and none is superseded
    assert offsets(first.frames) + offsets(second.frames) == list(range(12))
    assert first.drops == [] and second.drops == []


def test_latest_behind_by_more_than_the_window_keeps_only_each_partitions_newest() -> None:
    # Given a 200 ms window, a worker that needs 15 ms a frame, and two partitions with
    # 10 frames each (300 ms of work: more than the window, the worker is behind)
    s = Scheduler(Freshness(FreshnessPolicy.LATEST, 1, 200 * MS), 1000)
    tps = [("fw.frames.a", 0), ("fw.frames.b", 0)]
    for tp in tps:
        for o in range(10):
            s.add(tp, frame(tp[0], o, age_ms=(9 - o) * 10))
    # When a cycle is selected
    cycle = s.select(16, stale_before_ns=NOW - 500 * MS, frame_cost_ns=15 * MS)
    # Then each partition's newest frame is processed and its older 9 are superseded
    assert sorted((f.coords.topic, f.coords.offset) for f in cycle.frames) == [
        (tp[0], 9) for tp in tps]
    assert sorted((d.topic, d.first_offset, d.last_offset, d.detail) for d in cycle.drops) == [
        (tp[0], 0, 8, SUPERSEDED_DETAIL) for tp in tps]
    assert all(d.reason is DropReason.STALE for d in cycle.drops)


def test_latest_on_a_slow_worker_keeps_at_least_the_newest_frame() -> None:
    # Given a worker slower than the whole window (300 ms a frame) and three waiting frames
    s = Scheduler(Freshness(FreshnessPolicy.LATEST, 1, 200 * MS), 1000)
    tp = ("fw.frames.a", 0)
    for o, age in enumerate([40, 20, 0]):
        s.add(tp, frame(tp[0], o, age_ms=age))
    # When selected
    cycle = s.select(8, stale_before_ns=NOW - 500 * MS, frame_cost_ns=300 * MS)
    # Then the newest is processed and the others superseded
    assert offsets(cycle.frames) == [2]
    assert [(d.first_offset, d.last_offset) for d in cycle.drops] == [(0, 1)]


def test_latest_without_a_window_keeps_only_the_newest() -> None:
    # Given no catch-up window and two fresh frames 67 ms apart
    s = scheduler(FreshnessPolicy.LATEST)
    tp = ("fw.frames.a", 0)
    for o, age in enumerate([67, 0]):
        s.add(tp, frame(tp[0], o, age_ms=age))
    # When selected
    cycle = s.select(8, stale_before_ns=NOW - 500 * MS)
    # Then the newer supersedes the older
    assert offsets(cycle.frames) == [1]
    assert [(d.first_offset, d.last_offset, d.detail) for d in cycle.drops] == [
        (0, 0, SUPERSEDED_DETAIL)]


def test_latest_with_only_stale_frames_marks_the_partition_behind() -> None:
    # Given only stale frames
    s = scheduler(FreshnessPolicy.LATEST)
    tp = ("fw.frames.a", 0)
    for o in range(3):
        s.add(tp, frame(tp[0], o, age_ms=2000))
    # When selected
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    # Then all are dropped, the position moves past them and the partition is behind
    assert cycle.frames == []
    assert [(d.first_offset, d.last_offset) for d in cycle.drops] == [(0, 2)]
    assert cycle.positions[tp] == 3 and cycle.behind == [tp]


def test_rejected_messages_inside_a_skipped_range_go_to_the_dlq_not_the_drops() -> None:
    # Given stale frames around an undecodable message, then a fresh frame
    s = scheduler(FreshnessPolicy.LATEST)
    tp = ("fw.frames.a", 0)
    s.add(tp, frame(tp[0], 0, age_ms=900))
    s.add(tp, bad(tp[0], 1))
    s.add(tp, frame(tp[0], 2, age_ms=900))
    s.add(tp, frame(tp[0], 3, age_ms=10))
    # When selected
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    # Then the bad message is a dead letter and the drop ranges exclude it
    assert [r.inbound.coords.offset for r in cycle.rejected] == [1]
    assert [(d.first_offset, d.last_offset) for d in cycle.drops] == [(0, 0), (2, 2)]
    assert offsets(cycle.frames) == [3]


def test_stride_processes_every_kth_frame() -> None:
    # Given 7 fresh frames and stride 3
    s = scheduler(FreshnessPolicy.STRIDE, stride=3)
    tp = ("fw.frames.a", 0)
    for o in range(7):
        s.add(tp, frame(tp[0], o))
    # When selected
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    # Then frames 0, 3, 6 are processed and the others are STRIDE drops in two ranges
    assert offsets(cycle.frames) == [0, 3, 6]
    assert [(d.first_offset, d.last_offset, d.reason) for d in cycle.drops] == [
        (1, 2, DropReason.STRIDE), (4, 5, DropReason.STRIDE)
    ]


def test_round_robin_gives_each_partition_the_same_share() -> None:
    # Given one partition with 100 frames and two with 10 each
    s = scheduler(FreshnessPolicy.NONE)
    for name, n in (("a", 100), ("b", 10), ("c", 10)):
        for o in range(n):
            s.add((f"fw.frames.{name}", 0), frame(f"fw.frames.{name}", o))
    # When 4 cycles of 6 frames are selected
    served: dict[str, int] = {}
    for _ in range(4):
        for f in s.select(6, stale_before_ns=0).frames:
            served[f.stream_id] = served.get(f.stream_id, 0) + 1
    # Then each stream got 8: the full partition gets no more than the others
    assert served == {"a": 8, "b": 8, "c": 8}


def test_round_robin_rotates_when_the_cycle_is_smaller_than_the_partitions() -> None:
    # Given three busy partitions and cycles of one frame
    s = scheduler(FreshnessPolicy.NONE)
    for name in "abc":
        for o in range(3):
            s.add((f"fw.frames.{name}", 0), frame(f"fw.frames.{name}", o))
    # When six one-frame cycles run
    order = [s.select(1, stale_before_ns=0).frames[0].stream_id for _ in range(6)]
    # Then the streams take turns
    assert order == ["a", "b", "c", "a", "b", "c"]


def test_one_round_takes_at_most_one_frame_per_partition_in_order() -> None:
    # Given one partition with a backlog of 5 fresh frames and one with 1, and a catch-up
    # window they fit in
    s = Scheduler(Freshness(FreshnessPolicy.LATEST, 1, 200 * MS), 1000)
    for o in range(5):
        s.add(("fw.frames.a", 0), frame("fw.frames.a", o))
    s.add(("fw.frames.b", 0), frame("fw.frames.b", 0))
    # When a cycle of 8 is selected in one round, then another without the limit
    first = s.select(8, stale_before_ns=0, one_round=True)
    second = s.select(8, stale_before_ns=0)
    # Then the first took each partition's oldest frame, skipping none; the second the rest
    assert [(f.stream_id, f.coords.offset) for f in first.frames] == [("a", 0), ("b", 0)]
    assert first.drops == [] and second.drops == []
    assert offsets(second.frames) == [1, 2, 3, 4]


def test_full_buffer_asks_for_a_pause_and_drained_one_for_a_resume() -> None:
    # Given a capacity of 4
    s = scheduler(FreshnessPolicy.NONE, capacity=4)
    tp = ("fw.frames.a", 0)
    # When 4 frames arrive / Then the 4th reports the buffer full
    assert [s.add(tp, frame(tp[0], o)) for o in range(4)] == [False, False, False, True]
    assert not s.has_room(tp)
    # And after taking two the partition may resume
    s.select(2, stale_before_ns=0)
    assert s.has_room(tp)


def test_latest_overflow_drops_the_oldest_and_records_it() -> None:
    # Given policy latest and a buffer of 4
    s = scheduler(FreshnessPolicy.LATEST, capacity=4)
    tp = ("fw.frames.a", 0)
    # When 7 fresh frames arrive before any is taken
    paused = [s.add(tp, frame(tp[0], o)) for o in range(7)]
    # Then nothing asks for a pause, and the newest frame supersedes all six older ones
    assert not any(paused)
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    assert offsets(cycle.frames) == [6]
    [drop] = cycle.drops
    assert (drop.first_offset, drop.last_offset, drop.detail) == (0, 5, SUPERSEDED_DETAIL)
    assert cycle.positions[tp] == 7


def test_latest_takes_the_newest_fresh_frame_and_supersedes_the_rest() -> None:
    # Given three fresh frames of one stream waiting, then an undecodable message
    s = scheduler(FreshnessPolicy.LATEST)
    tp = ("fw.frames.a", 0)
    for o in range(3):
        s.add(tp, frame(tp[0], o, age_ms=100 - o))
    s.add(tp, bad(tp[0], 3))
    # When selected
    cycle = s.select(10, stale_before_ns=NOW - 500 * MS)
    # Then the newest frame is processed, the older two are superseded, the bad one dead-lettered
    assert offsets(cycle.frames) == [2]
    assert [(d.first_offset, d.last_offset, d.detail) for d in cycle.drops] == [
        (0, 1, SUPERSEDED_DETAIL)]
    assert [r.inbound.coords.offset for r in cycle.rejected] == [3]
    assert cycle.positions[tp] == 4


def test_removed_partition_reports_its_oldest_unhandled_offset() -> None:
    # Given buffered frames from offset 7
    s = scheduler(FreshnessPolicy.NONE)
    tp = ("fw.frames.a", 0)
    for o in (7, 8, 9):
        s.add(tp, frame(tp[0], o))
    # When removed / Then the rewind point is the first of them, and nothing is left
    assert s.remove_partition(tp) == 7
    assert s.buffered() == 0


@settings(max_examples=150, deadline=None)
@given(
    policy=st.sampled_from(list(FreshnessPolicy)),
    stride=st.integers(1, 4),
    items=st.lists(
        st.tuples(st.sampled_from("ab"), st.integers(0, 1500), st.booleans()),
        min_size=1, max_size=60,
    ),
    cycle_size=st.integers(1, 8),
    capacity=st.integers(2, 12),
)
def test_every_offset_is_accounted_for_exactly_once(
    policy, stride, items, cycle_size, capacity
) -> None:
    # Given random frames (some undecodable) of random ages on two small buffers
    s = scheduler(policy, stride, capacity)
    next_offset = {"a": 0, "b": 0}
    for name, age, is_bad in items:
        topic, o = f"fw.frames.{name}", next_offset[name]
        next_offset[name] += 1
        s.add((topic, 0), bad(topic, o) if is_bad else frame(topic, o, age_ms=age))
    # When cycles are selected until the buffers are empty
    seen: dict[tuple[str, int], list[int]] = {}
    for _ in range(200):
        assert s.buffered() <= 2 * capacity + 2 or policy is not FreshnessPolicy.LATEST
        cycle = s.select(cycle_size, stale_before_ns=NOW - 500 * MS)
        if cycle.empty:
            break
        for f in cycle.frames:
            seen.setdefault((f.coords.topic, 0), []).append(f.coords.offset)
        for r in cycle.rejected:
            seen.setdefault((r.inbound.coords.topic, 0), []).append(r.inbound.coords.offset)
        for d in cycle.drops:
            seen.setdefault((d.topic, 0), []).extend(range(d.first_offset, d.last_offset + 1))
            assert d.count == d.last_offset - d.first_offset + 1
        for tp, position in cycle.positions.items():
            assert position == max(seen[tp]) + 1
    # Then every offset was processed, dropped or dead-lettered exactly once
    assert s.buffered() == 0
    for name, n in next_offset.items():
        assert sorted(seen.get((f"fw.frames.{name}", 0), [])) == list(range(n))


def test_a_partition_with_its_own_cutoff_keeps_frames_others_would_skip() -> None:
    # Given two streams with equally old frames, one with a longer maximum age
    s = scheduler(FreshnessPolicy.LATEST)
    for name in "ab":
        s.add((f"fw.frames.{name}", 0), frame(f"fw.frames.{name}", 0, age_ms=2000))
    # When selected with a 500 ms default and a 5 s cutoff for stream b
    cycle = s.select(10, NOW - 500 * MS, {("fw.frames.b", 0): NOW - 5000 * MS})
    # Then a's frame is stale and b's is processed
    assert [f.stream_id for f in cycle.frames] == ["b"]
    assert [d.stream_id for d in cycle.drops] == ["a"]
