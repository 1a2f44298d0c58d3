"""Fairness: bounded per-partition buffers served round-robin.

The worker ``add``s every consumed item to its partition's buffer. A full buffer either
drops its oldest frame (policy ``latest``: newer frames supersede it; the drop is recorded
like any other) or asks the worker to pause the partition (back-pressure), so memory stays
bounded and one busy stream cannot crowd out the others.

``select`` builds one cycle by taking one frame per partition in turn (rotating the
starting partition between cycles) until the cycle is full: under overload every assigned
stream gets the same share, whichever partition holds the most data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from framewire.inference.freshness import (
    DEFAULT_FRAME_COST_NS,
    SUPERSEDED_DETAIL,
    Freshness,
    Item,
    PartitionCursor,
    Taken,
    item_offset,
)
from framewire.inference.records import DropRange, DropReason, FrameItem, Rejected
from framewire.inference.settings import FreshnessPolicy

TP = tuple[str, int]


class Overflow(StrEnum):
    """What a full partition buffer does with one more item."""

    # Stop fetching the partition until the buffer has drained (nothing skipped).
    PAUSE = "pause"
    # Drop the oldest buffered frame (recorded as a stale drop): the newest frames win.
    DROP_OLDEST = "drop_oldest"

    @classmethod
    def for_policy(cls, policy: FreshnessPolicy) -> Overflow:
        return cls.DROP_OLDEST if policy is FreshnessPolicy.LATEST else cls.PAUSE


@dataclass
class Cycle:
    """One cycle's selection: frames to process, dead letters, drops, offsets to commit."""

    frames: list[FrameItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    drops: list[DropRange] = field(default_factory=list)
    positions: dict[TP, int] = field(default_factory=dict)
    behind: list[TP] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.frames or self.rejected or self.drops or self.positions)


class Scheduler:
    """Round-robin over partitions with bounded buffers; owned by the worker thread."""

    def __init__(self, freshness: Freshness, capacity: int) -> None:
        self._freshness = freshness
        self._capacity = capacity
        self._overflow = Overflow.for_policy(freshness.policy)
        self._buffers: dict[TP, deque[Item]] = {}
        # Items pushed out of full buffers, published with the next cycle.
        self._spilled: dict[TP, Taken] = {}
        self._cursors: dict[TP, PartitionCursor] = {}
        self._order: list[TP] = []
        self._next = 0

    def add_partition(self, tp: TP) -> None:
        if tp not in self._buffers:
            self._buffers[tp] = deque()
            self._cursors[tp] = PartitionCursor(self._freshness)
            self._order.append(tp)

    def remove_partition(self, tp: TP) -> int | None:
        """Forget a partition; return the offset of its oldest unhandled item, if any."""
        buffer = self._buffers.pop(tp, None)
        spilled = self._spilled.pop(tp, None)
        self._cursors.pop(tp, None)
        if tp in self._order:
            index = self._order.index(tp)
            self._order.pop(index)
            if index < self._next:
                self._next -= 1
        firsts = [d.first_offset for d in spilled.drops] if spilled else []
        firsts += [item_offset(r) for r in spilled.rejected] if spilled else []
        firsts += [item_offset(buffer[0])] if buffer else []
        return min(firsts, default=None)

    def add(self, tp: TP, item: Item) -> bool:
        """Buffer ``item``; True when the partition's buffer is full and should be paused."""
        self.add_partition(tp)
        buffer = self._buffers[tp]
        buffer.append(item)
        if len(buffer) < self._capacity:
            return False
        if self._overflow is Overflow.PAUSE:
            return True
        while len(buffer) > self._capacity:
            spilled = self._spilled.setdefault(tp, Taken())
            spilled.skip(buffer.popleft(), DropReason.STALE, SUPERSEDED_DETAIL)
        return False

    def has_room(self, tp: TP) -> bool:
        """True when a paused partition has drained to half its capacity (resume it)."""
        buffer = self._buffers.get(tp)
        return buffer is None or len(buffer) <= self._capacity // 2

    def buffered(self, tp: TP | None = None) -> int:
        """Items waiting (in ``tp``'s buffer, or anywhere, including spilled ones)."""
        if tp is not None:
            return len(self._buffers.get(tp, ()))
        return sum(len(b) for b in self._buffers.values()) + len(self._spilled)

    def oldest_capture_ns(self, tp: TP) -> int | None:
        frame = next((i for i in self._buffers.get(tp, ()) if isinstance(i, FrameItem)), None)
        return frame.capture_time_ns if frame else None

    def select(
        self, max_frames: int, stale_before_ns: int, cutoffs: Mapping[TP, int] | None = None,
        frame_cost_ns: int = DEFAULT_FRAME_COST_NS, one_round: bool = False,
    ) -> Cycle:
        """Take up to ``max_frames`` frames, one per partition per round, starting after the
        partition that was served first last time. Frames captured before
        ``stale_before_ns`` (or the partition's own entry in ``cutoffs``) are stale;
        ``frame_cost_ns``, the worker's time per frame, sizes the catch-up window.
        ``one_round`` takes at most one frame per partition: while the worker does not yet
        know another partition's backlog, no partition's backlog is cleared ahead of it."""
        taken, self._spilled = self._spilled, {}
        cycle = Cycle()
        n = len(self._order)
        waiting = sum(isinstance(i, FrameItem) for b in self._buffers.values() for i in b)
        behind = self._freshness.behind(frame_cost_ns, waiting)
        start = self._next % n if n else 0
        progress, rounds = True, 0
        while progress and len(cycle.frames) < max_frames and not (one_round and rounds):
            progress, rounds = False, rounds + 1
            for i in range(n):
                if len(cycle.frames) >= max_frames:
                    break
                tp = self._order[(start + i) % n]
                if not self._buffers[tp]:
                    continue
                t = taken.setdefault(tp, Taken())
                before = len(t.frames)
                cutoff = cutoffs.get(tp, stale_before_ns) if cutoffs else stale_before_ns
                self._cursors[tp].take_next(self._buffers[tp], cutoff, t, behind)
                if len(t.frames) > before:
                    cycle.frames.append(t.frames[-1])
                    self._next = (start + i + 1) % n
                progress = True
        self._collect(taken, cycle)
        return cycle

    @staticmethod
    def _collect(taken: dict[TP, Taken], cycle: Cycle) -> None:
        for tp, t in taken.items():
            cycle.rejected.extend(t.rejected)
            cycle.drops.extend(t.drops)
            if t.position is not None:
                cycle.positions[tp] = t.position
            if t.behind:
                cycle.behind.append(tp)
