"""The bounded hand-off between a stream's reader and its encoder.

Live sources must never wait for the encoder (the camera would buffer and lag), so the
oldest waiting frame is dropped and counted. A file read flat out can wait instead.
"""

from __future__ import annotations

import threading
from collections import deque
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class HandoffPolicy(Enum):
    """What ``put`` does when the hand-off is full."""

    DROP_OLDEST = "drop_oldest"  # newest frame wins; the dropped one is counted
    BLOCK = "block"  # wait for room (only for sources that can wait)


class Handoff(Generic[T]):
    """A bounded single-producer single-consumer queue with an explicit overflow policy."""

    def __init__(self, capacity: int, policy: HandoffPolicy) -> None:
        if capacity < 1:
            raise ValueError("hand-off capacity must be at least 1")
        self.capacity = capacity
        self.policy = policy
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: T, timeout: float = 0.5) -> int:
        """Add ``item``; return how many frames were dropped to make room (0 or 1).

        With BLOCK it waits up to ``timeout`` for room and then drops the oldest anyway,
        so the reader is never stuck for longer than that.
        """
        with self._cond:
            if self.policy is HandoffPolicy.BLOCK:
                self._cond.wait_for(self._has_room, timeout)
            dropped = 0
            while len(self._items) >= self.capacity:
                self._items.popleft()
                dropped += 1
            self._items.append(item)
            self._cond.notify_all()
            return dropped

    def get(self, timeout: float) -> T | None:
        """The oldest item, or None after ``timeout`` seconds or once closed and empty."""
        with self._cond:
            if not self._cond.wait_for(self._readable, timeout) or not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """Wake every waiter; called when the stream stops."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def _has_room(self) -> bool:
        return self._closed or len(self._items) < self.capacity

    def _readable(self) -> bool:
        return self._closed or bool(self._items)
