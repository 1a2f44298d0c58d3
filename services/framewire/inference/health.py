"""Liveness and readiness of one worker, served with /metrics by ``core.probes``.

``/healthz`` answers 200 while the worker loop has turned recently (it blocks at most
``poll_timeout`` per turn, so a stuck loop shows); ``/readyz`` answers 200 once the model is
loaded and the consumer has joined its group, and 503 while starting or stopping.
"""

from __future__ import annotations

import time


class Health:
    """State the worker reports and the HTTP handler reads."""

    def __init__(self, stall_after_s: float) -> None:
        self._stall_after_s = stall_after_s
        self._beat = time.monotonic()
        self.ready = False
        self.reason = "starting"

    def beat(self) -> None:
        """Called by the worker loop on every turn."""
        self._beat = time.monotonic()

    def set_ready(self, ready: bool, reason: str = "") -> None:
        self.ready, self.reason = ready, reason

    @property
    def alive(self) -> bool:
        return time.monotonic() - self._beat < self._stall_after_s

    def live_check(self) -> tuple[bool, str]:
        """The ``/healthz`` answer."""
        return (True, "ok") if self.alive else (False, "worker loop stalled")

    def ready_check(self) -> tuple[bool, str]:
        """The ``/readyz`` answer."""
        return self.ready, self.reason or "ready"
