"""Freshness: which buffered frames of one partition are processed, skipped or dead-lettered.

Policies: ``none`` processes every frame in order; ``stride`` every k-th, in order;
``latest`` the newest buffered frame, skipping older ones (a stream the worker cannot keep
up with shows its most recent frames, not a growing delay). Under ``latest`` a backlog the
worker can clear within the catch-up window (its frames times the measured time per frame)
is processed in order: one late cycle, a moment's CPU contention or a partition handed over
by another worker costs no frame. Beyond that the worker is behind (overload) and every
partition jumps to its newest frame, superseding the older ones, as without a window.
``latest`` and ``stride`` also skip frames older than the maximum age.

``take_next`` is called by the scheduler each time a partition's turn comes. It consumes
items from the head of the partition's buffer until it has found one frame to process (or
emptied the buffer), recording every skipped frame in a ``DropRange`` and every rejected
message as a dead letter. Pure logic: no Kafka, no clocks of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from framewire.core.dedup import RecentFrames
from framewire.inference.records import DropRange, DropReason, FrameItem, Processed, Rejected
from framewire.inference.settings import FreshnessPolicy

Item = FrameItem | Rejected
STALE_DETAIL = "older than the maximum age"
DUPLICATE_DETAIL = "the same frame (stream, sequence, capture time) is earlier in the topic"
SUPERSEDED_DETAIL = "superseded by a newer frame"
# The time per frame assumed until the worker has measured its own.
DEFAULT_FRAME_COST_NS = 10_000_000
EXPIRED_DETAIL = "older than the maximum age when its result was due"


def item_offset(item: Item) -> int:
    return item.coords.offset if isinstance(item, FrameItem) else item.inbound.coords.offset


@dataclass
class Taken:
    """What one partition gave up in one cycle; ``position`` is the next offset to commit."""

    frames: list[FrameItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    drops: list[DropRange] = field(default_factory=list)
    position: int | None = None
    # Every buffered frame was stale: the partition is behind and may seek forward.
    behind: bool = False

    def drop(self, frame: FrameItem, reason: DropReason, detail: str = "") -> None:
        """Record a skipped frame, extending the last range when it directly follows it."""
        last = self.drops[-1] if self.drops else None
        c = frame.coords
        if (
            last is not None and (last.reason, last.detail) == (reason, detail)
            and last.last_offset + 1 == c.offset
        ):
            self.drops[-1] = DropRange(
                last.stream_id, last.topic, last.partition, last.first_offset, c.offset, reason,
                detail,
            )
        else:
            self.drops.append(DropRange(
                frame.stream_id, c.topic, c.partition, c.offset, c.offset, reason, detail
            ))

    def skip(self, item: Item, reason: DropReason, detail: str = "") -> None:
        """A frame is dropped, a rejected message dead-lettered; either way it is handled."""
        self.note(item)
        if isinstance(item, Rejected):
            self.rejected.append(item)
        else:
            self.drop(item, reason, detail)

    def note(self, item: Item) -> None:
        self.position = item_offset(item) + 1


@dataclass(frozen=True)
class Freshness:
    policy: FreshnessPolicy
    stride: int = 1
    # ``latest``: the longest the worker may spend clearing a backlog in order (0: only
    # the newest frame of a partition is processed).
    catch_up_ns: int = 0

    def behind(self, frame_cost_ns: int, waiting: int) -> bool:
        """``latest``: whether ``waiting`` frames (in all partitions) take the worker longer
        than the window to clear; then each partition keeps only its newest frame."""
        return self.catch_up_ns <= 0 or waiting * max(1, frame_cost_ns) > self.catch_up_ns


class PartitionCursor:
    """Per-partition freshness state (the stride phase, recent frames) and the selection step."""

    def __init__(self, freshness: Freshness) -> None:
        self._freshness = freshness
        self._phase = 0
        self._recent = RecentFrames()

    def take_next(
        self, buffer: deque[Item], stale_before_ns: int, taken: Taken, behind: bool = True
    ) -> None:
        """Move items from ``buffer`` into ``taken`` until one frame is chosen or it is empty;
        under ``latest``, when the worker is ``behind``, only the newest frame is processed
        and the older ones are superseded."""
        policy = self._freshness.policy
        while buffer:
            head = buffer[0]
            if isinstance(head, Rejected):
                buffer.popleft()
                taken.rejected.append(head)
                taken.note(head)
                continue
            if self._recent.seen_before(head.sequence, head.capture_time_ns):
                taken.skip(buffer.popleft(), DropReason.DUPLICATE, DUPLICATE_DETAIL)
                continue
            if policy is not FreshnessPolicy.NONE and head.capture_time_ns < stale_before_ns:
                self._skip_to_newest(buffer, stale_before_ns, taken, STALE_DETAIL)
                continue
            if policy is FreshnessPolicy.LATEST and behind and _newest_frame(buffer) is not head:
                # Behind on this stream by more than the window: a newer frame supersedes it.
                taken.skip(buffer.popleft(), DropReason.STALE, SUPERSEDED_DETAIL)
                continue
            buffer.popleft()
            taken.note(head)
            if self._stride_says_skip():
                taken.drop(head, DropReason.STRIDE)
                continue
            taken.frames.append(head)
            return

    def _stride_says_skip(self) -> bool:
        if self._freshness.policy is not FreshnessPolicy.STRIDE:
            return False
        skip = self._phase != 0
        self._phase = (self._phase + 1) % self._freshness.stride
        return skip

    def _skip_to_newest(
        self, buffer: deque[Item], stale_before_ns: int, taken: Taken, detail: str
    ) -> None:
        """Drop every buffered frame older than the newest one (all if the newest is stale)."""
        newest = _newest_frame(buffer)
        keep_newest = newest is not None and newest.capture_time_ns >= stale_before_ns
        while buffer and not (keep_newest and buffer[0] is newest):
            taken.skip(buffer.popleft(), DropReason.STALE, detail)
        self._phase = 0
        taken.behind = not keep_newest


def _newest_frame(buffer: deque[Item]) -> FrameItem | None:
    return next((i for i in reversed(buffer) if isinstance(i, FrameItem)), None)


def expire(
    processed: list[Processed], now_ns: int, max_age_ms: Callable[[str], int]
) -> tuple[list[Processed], list[DropRange]]:
    """Split results into those still fresh at ``now_ns`` and stale drops for the others.

    Called just before a transaction is committed (after inference, decode and any wait for
    the commit interval), so no result older than its stream's maximum age is published:
    what is too old becomes a counted stale drop instead.
    """
    fresh: list[Processed] = []
    taken: dict[tuple[str, int], Taken] = {}  # ranges are per partition
    for p in processed:
        if now_ns - p.frame.capture_time_ns > max_age_ms(p.frame.stream_id) * 1_000_000:
            c = p.frame.coords
            taken.setdefault((c.topic, c.partition), Taken()).drop(
                p.frame, DropReason.STALE, EXPIRED_DETAIL
            )
        else:
            fresh.append(p)
    return fresh, [d for t in taken.values() for d in t.drops]
