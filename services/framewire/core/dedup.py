"""Recognising a frame that is in its topic twice.

A gateway that loses the broker in the middle of a produce request can end up with the same
frame written twice: the copy lands a few records after the original, with the same
sequence number, capture time and bytes (docs/reliability.md says when). Every reader of a
frames topic keeps one ``RecentFrames`` per partition (or per stream) and treats a repeat as
already seen: inference commits it as a duplicate drop, the dashboard does not store it,
``tail`` and ``replay`` skip it and count it.
"""

from __future__ import annotations

from collections import deque


class RecentFrames:
    """The last ``size`` frames of one partition, remembered by (sequence, capture time).

    The capture time makes a restarted stream, whose sequence starts again from 0, a
    different frame rather than a duplicate. Pure logic: no Kafka, no clock.
    """

    def __init__(self, size: int = 512) -> None:
        if size < 1:
            raise ValueError(f"RecentFrames size must be at least 1, got {size}")
        self._order: deque[tuple[int, int]] = deque()
        self._seen: set[tuple[int, int]] = set()
        self._size = size

    def seen_before(self, sequence: int, capture_time_ns: int) -> bool:
        """True if this frame is a repeat; otherwise remember it. Called once per record read."""
        key = (sequence, capture_time_ns)
        if key in self._seen:
            return True
        self._order.append(key)
        self._seen.add(key)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return False


class FrameDeduplicator:
    """One ``RecentFrames`` per key (a stream id or a (topic, partition)), with a count of
    the copies it recognised; used by readers that see many partitions."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._recent: dict[object, RecentFrames] = {}
        self.duplicates = 0

    def is_copy(self, key: object, sequence: int, capture_time_ns: int) -> bool:
        """True (and counted) if this frame was already read under ``key``."""
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = RecentFrames(self._size)
        if recent.seen_before(sequence, capture_time_ns):
            self.duplicates += 1
            return True
        return False

    def forget(self, key: object) -> None:
        """Called when a stream is deleted or a partition is given up."""
        self._recent.pop(key, None)
