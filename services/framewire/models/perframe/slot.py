"""The detector in use, swapped atomically when a new model version is loaded.

The engine reads ``current`` once per cycle, so every frame of a cycle is made by one
version; the model watcher calls ``switch`` after the new version is compiled and warm.
"""

from __future__ import annotations

import threading

from framewire.models.api import Detector


class ModelSlot:
    def __init__(self, detector: Detector) -> None:
        self._lock = threading.Lock()
        self._current = detector

    @property
    def current(self) -> Detector:
        with self._lock:
            return self._current

    @property
    def version(self) -> str:
        return self.current.info.version

    def switch(self, detector: Detector) -> Detector:
        """Install ``detector``; return the one it replaces (still used by running cycles)."""
        with self._lock:
            old, self._current = self._current, detector
        return old
