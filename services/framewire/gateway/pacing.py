"""Timing: frame selection at a target rate, real-time reading of files, reconnect backoff.

All times are ``time.monotonic()`` seconds passed in by the caller, so the maths is tested
without sleeping. Schedules advance by whole periods (``next_due += period``): rounding and
late wake-ups never accumulate into drift.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable


class Pacer:
    """Chooses which source frames to keep so the kept rate is ``target_fps``.

    Called for every frame the source delivers. A frame is kept when it is at (or within
    half a source interval before) the next due time; the schedule then advances by one
    period. The kept rate can never exceed the source's rate, and with ``target_fps == 0``
    every frame is kept.
    """

    def __init__(self, target_fps: float, max_lag_periods: float = 2.0) -> None:
        self.period = 1.0 / target_fps if target_fps > 0 else 0.0
        # After a stall longer than this the schedule restarts instead of bursting to catch up.
        self._max_lag = max_lag_periods * self.period
        self._next_due: float | None = None
        self._last_frame: float | None = None
        self._interval = 0.0  # smoothed time between source frames

    def due(self, now: float) -> bool:
        self._observe(now)
        if self.period == 0.0:
            return True
        if self._next_due is None or now - self._next_due > self._max_lag:
            self._next_due = now
        # Jitter: a frame arriving a little early is better than waiting a whole interval.
        tolerance = 0.5 * min(self._interval, self.period)
        if now < self._next_due - tolerance:
            return False
        self._next_due += self.period
        return True

    def _observe(self, now: float) -> None:
        if self._last_frame is not None:
            gap = now - self._last_frame
            if 0 < gap < 1.0:
                self._interval = gap if self._interval == 0 else 0.9 * self._interval + 0.1 * gap
        self._last_frame = now

    def reset(self) -> None:
        """Forget the schedule (after a reconnect), so the next frame is kept."""
        self._next_due = None
        self._last_frame = None


class Throttle:
    """Waits until the next frame time of a source read at ``fps`` (files, folders)."""

    def __init__(self, fps: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period = 1.0 / fps
        self._clock = clock
        self._next_due: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before reading the next frame; advances the schedule."""
        if self._next_due is None or now - self._next_due > 1.0:
            self._next_due = now  # first frame, or we fell far behind: no catch-up burst
        wait = max(0.0, self._next_due - now)
        self._next_due += self.period
        return wait

    def wait(self, stop: threading.Event) -> bool:
        """Block until the next frame is due; False if ``stop`` was set meanwhile."""
        wait = self.delay(self._clock())
        return not stop.wait(wait) if wait > 0 else not stop.is_set()


class Backoff:
    """Capped exponential backoff with jitter, for reconnecting a failed source."""

    def __init__(self, initial_s: float, max_s: float, jitter: float = 0.1) -> None:
        self.initial_s = initial_s
        self.max_s = max(max_s, initial_s)
        self.jitter = jitter
        self._attempt = 0

    def next_delay(self) -> float:
        """The wait before the next attempt: initial, 2x, 4x ... up to max, +-jitter."""
        base = min(self.max_s, self.initial_s * (2.0**self._attempt))
        self._attempt = min(self._attempt + 1, 62)
        spread = base * self.jitter
        return max(0.0, min(self.max_s, base + random.uniform(-spread, spread)))

    def reset(self) -> None:
        """Called once the source delivers again."""
        self._attempt = 0
