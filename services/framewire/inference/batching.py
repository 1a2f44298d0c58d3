"""Transactions that span a short commit interval instead of one per cycle.

At light load a cycle holds a frame or two, and a transaction per cycle costs the broker
and the worker more than the inference (markers on every partition written, two round
trips). ``CommitBatch`` holds finished cycles until the first of them has waited
``interval_s`` or they hold ``max_frames`` frames; the worker then commits them all in
one transaction. An abort rewinds to the last commit, so held cycles are simply read
again, as the cycles in flight are.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class CommitBatch(Generic[T]):
    """Finished, uncommitted cycles; owned by the worker thread."""

    def __init__(self, interval_s: float, max_frames: int) -> None:
        self._interval_s = interval_s
        self._max_frames = max_frames
        self._items: list[T] = []
        self._frames = 0
        self._since = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: T, frames: int, now_s: float) -> None:
        """Hold a cycle that finished at ``now_s`` with ``frames`` frames."""
        if not self._items:
            self._since = now_s
        self._items.append(item)
        self._frames += frames

    def due(self, now_s: float) -> bool:
        """True when the held cycles should be committed now."""
        if not self._items:
            return False
        return self._frames >= self._max_frames or now_s - self._since >= self._interval_s

    def wait_s(self, now_s: float, longest: float) -> float:
        """How long the worker may block before the batch is due (``longest`` when empty)."""
        if not self._items:
            return longest
        return max(0.0, min(longest, self._since + self._interval_s - now_s))

    def take(self) -> list[T]:
        """The held cycles, oldest first; the batch is empty afterwards."""
        items, self._items, self._frames = self._items, [], 0
        return items

    def clear(self) -> None:
        """Forget the held cycles (after an abort they are read again)."""
        self.take()
