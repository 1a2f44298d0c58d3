"""Noticing that this process was frozen: SIGSTOP, a paused container or VM, a swap storm.

A worker frozen inside a transaction comes back to find the broker has aborted it, which
looks the same as a transaction a broker outage kept open too long. After an outage the
worker replaces its producer and goes on. After a freeze it must not: while it was frozen
another worker may have started under its id, and a new producer would fence that one.
``FreezeWatch`` tells the two apart. A daemon thread wakes every ``tick_s``; a wake-up much
later than asked means the whole process stood still, which a broker outage never causes
(the thread waits on no Kafka call).
"""

from __future__ import annotations

import threading
import time
from collections import deque


class FreezeWatch:
    """Records every stall of the process longer than ``min_gap_s``; one per worker."""

    def __init__(self, tick_s: float = 0.1, min_gap_s: float = 0.5) -> None:
        self._tick_s = tick_s
        self._min_gap_s = min_gap_s
        # (monotonic time the stall ended, its length), newest last.
        self._stalls: deque[tuple[float, float]] = deque(maxlen=64)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fw-freeze-watch", daemon=True)

    def start(self) -> FreezeWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def longest_since(self, since: float) -> float:
        """The longest stall (seconds) that ended after monotonic time ``since``; called by
        the publisher when a transaction it opened at ``since`` comes back fenced."""
        with self._lock:
            return max((gap for end, gap in self._stalls if end >= since), default=0.0)

    def note(self, end: float, gap: float) -> None:
        """Record a stall (the thread does; tests call it directly)."""
        with self._lock:
            self._stalls.append((end, gap))

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self._tick_s):
            now = time.monotonic()
            if now - last - self._tick_s >= self._min_gap_s:
                self.note(now, now - last - self._tick_s)
            last = now
