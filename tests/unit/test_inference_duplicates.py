"""A frame written twice to its topic gets one result and one duplicate drop (no Kafka)."""

from __future__ import annotations

import pytest

from framewire.core.dedup import FrameDeduplicator, RecentFrames
from framewire.inference.freshness import DUPLICATE_DETAIL, Freshness
from framewire.inference.records import Coords, DropReason, FrameItem, Inbound
from framewire.inference.scheduler import Scheduler
from framewire.inference.settings import FreshnessPolicy

pytestmark = pytest.mark.unit

TP = ("fw.frames.cam", 0)
NOW = 10_000_000_000


def frame(offset: int, sequence: int, capture_ns: int) -> FrameItem:
    inbound = Inbound(Coords(TP[0], TP[1], offset), b"cam", b"v", (), -1)
    return FrameItem(inbound, "cam", sequence, capture_ns, 0, 0, b"")


@pytest.mark.parametrize("policy", list(FreshnessPolicy))
def test_a_resent_pair_of_frames_is_dropped_as_duplicate_and_still_committed(
        policy: FreshnessPolicy) -> None:
    # Given the records a producer resend leaves behind: sequences 33, 34, 33, 34, 35
    s = Scheduler(Freshness(policy, 1), capacity=100)
    processed, drops, position = [], [], None
    # When each record is scheduled as it arrives (a worker that keeps up)
    for offset, seq in enumerate([33, 34, 33, 34, 35]):
        s.add(TP, frame(offset, seq, NOW + seq))
        cycle = s.select(10, stale_before_ns=0)
        processed += [f.coords.offset for f in cycle.frames]
        drops += [(d.first_offset, d.last_offset, d.reason, d.detail) for d in cycle.drops]
        position = cycle.positions.get(TP, position)
    # Then the originals are processed once, each copy is a duplicate drop, and the commit
    # position passes all five records
    assert processed == [0, 1, 4]
    assert drops == [(2, 2, DropReason.DUPLICATE, DUPLICATE_DETAIL),
                     (3, 3, DropReason.DUPLICATE, DUPLICATE_DETAIL)]
    assert position == 5


def test_copies_buffered_together_with_their_originals_are_found_too() -> None:
    # Given a backlog holding a frame, its copy and the next frame
    s = Scheduler(Freshness(FreshnessPolicy.NONE, 1), capacity=100)
    for offset, seq in enumerate([7, 7, 8]):
        s.add(TP, frame(offset, seq, NOW + seq))
    # When one cycle takes them
    cycle = s.select(10, stale_before_ns=0)
    # Then the copy is dropped and the others are processed
    assert [f.coords.offset for f in cycle.frames] == [0, 2]
    assert [(d.first_offset, d.reason) for d in cycle.drops] == [(1, DropReason.DUPLICATE)]


def test_a_stream_restarting_its_sequence_is_not_a_duplicate() -> None:
    # Given sequence 0 seen once, then sequence 0 again with a later capture time (a stream
    # re-created from scratch)
    recent = RecentFrames()
    assert not recent.seen_before(0, NOW)
    # When the new sequence 0 arrives; then it is a new frame, while a true copy is not
    assert not recent.seen_before(0, NOW + 40_000_000)
    assert recent.seen_before(0, NOW + 40_000_000)


def test_the_memory_of_recent_frames_is_bounded() -> None:
    # Given a memory of 4 frames and 10 frames seen
    recent = RecentFrames(size=4)
    for seq in range(10):
        recent.seen_before(seq, NOW + seq)
    # When the oldest is seen again; then it is forgotten, while a recent one is remembered
    assert not recent.seen_before(0, NOW)
    assert recent.seen_before(9, NOW + 9)


def test_a_memory_of_no_frames_is_refused() -> None:
    # Given / when a memory of size 0 is asked for; then it is refused with the size named
    with pytest.raises(ValueError, match="at least 1, got 0"):
        RecentFrames(size=0)


def test_the_deduplicator_keeps_streams_apart_and_counts_copies() -> None:
    # Given the same (sequence, capture time) read on two streams, and once more on the first
    dedup = FrameDeduplicator()
    # When each is checked
    first = dedup.is_copy("cam-1", 5, NOW)
    other_stream = dedup.is_copy("cam-2", 5, NOW)
    again = dedup.is_copy("cam-1", 5, NOW)
    # Then only the repeat on the same stream is a copy, and it is counted
    assert (first, other_stream, again) == (False, False, True)
    assert dedup.duplicates == 1
    # And a forgotten stream starts afresh
    dedup.forget("cam-1")
    assert not dedup.is_copy("cam-1", 5, NOW)
