"""CPU time and resident memory of service processes, read from /proc (Linux).

A service is a process tree (its pid and every descendant). ``ResourceSampler`` samples
RSS twice a second on its own thread; CPU seconds are read on demand at the edges of each
measurement window, so a phase's CPU share is exact rather than sampled.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_PERIOD_S = 0.5


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (empty when ``pid`` is gone)."""
    if not Path(f"/proc/{pid}").exists():
        return []
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                continue  # the thread ended while we looked
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in process_tree(pid))


def tree_rss_bytes(pid: int) -> int:
    return sum(rss_bytes(p) for p in process_tree(pid))


class ResourceSampler:
    """Watches named services; ``pids`` is called each time to learn who is running now.

    Services named in ``alone`` count only their own process, not its children (the
    harness itself, whose children are the services).
    """

    def __init__(self, pids: Callable[[], dict[str, list[int]]], alone: frozenset[str]) -> None:
        self._pids = pids
        self._alone = alone
        self._stop = threading.Event()
        self._lock = threading.Lock()
        # (monotonic time, service, bytes); bounded by the run's length (2 per second each).
        self._rss: list[tuple[float, str, int]] = []
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each running service (all its processes)."""
        return {name: sum(self._cpu(name, p) for p in pids) for name, pids in self._pids().items()}

    def rss_max(self, start: float, end: float) -> dict[str, int]:
        """Largest RSS of each service sampled between two ``time.monotonic()`` instants."""
        peak: dict[str, int] = {}
        with self._lock:
            for t, name, value in self._rss:
                if start <= t <= end:
                    peak[name] = max(peak.get(name, 0), value)
        return peak

    def _cpu(self, name: str, pid: int) -> float:
        return cpu_seconds(pid) if name in self._alone else tree_cpu_seconds(pid)

    def _rss_of(self, name: str, pid: int) -> int:
        return rss_bytes(pid) if name in self._alone else tree_rss_bytes(pid)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_PERIOD_S):
            now = time.monotonic()
            sample = [(now, name, sum(self._rss_of(name, p) for p in pids))
                      for name, pids in self._pids().items()]
            with self._lock:
                self._rss += sample


def cpu_share(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
    """Percent of one core each service used between two ``cpu()`` readings."""
    return {name: 100.0 * (after[name] - before[name]) / wall_s
            for name in after if name in before and wall_s > 0}
