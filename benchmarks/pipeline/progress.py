"""The run's progress bar (tqdm, on stderr) and the harness's only way of waiting.

Waiting goes through ``Progress.wait`` so that the bar moves, and a service that died is
noticed within half a second instead of at the end of a phase.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tqdm import tqdm

TICK_S = 0.5


class Progress:
    def __init__(self, total_s: float, enabled: bool, check: Callable[[], None] = lambda: None):
        self._bar = tqdm(total=round(total_s), unit="s", disable=not enabled, dynamic_ncols=True,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")
        self._check = check
        self._idle = threading.Event()  # never set: a sleep that cannot be woken early
        self._done = 0.0

    def set_check(self, check: Callable[[], None]) -> None:
        self._check = check

    def phase(self, label: str) -> None:
        self._bar.set_description_str(label)

    def tick(self, seconds: float) -> None:
        """Account ``seconds`` of planned work (never beyond the planned total)."""
        step = min(seconds, max(0.0, self._bar.total - self._done))
        self._done += step
        self._bar.update(step)

    def wait(self, seconds: float, planned: bool = True) -> None:
        """Sleep ``seconds``; ``planned`` time moves the bar, start-up waits do not."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._idle.wait(min(TICK_S, left))
            self._check()
            if planned:
                self.tick(min(TICK_S, left))

    def close(self) -> None:
        self.tick(self._bar.total)
        self._bar.close()
