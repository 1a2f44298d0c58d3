"""Per-stream rolling figures the dashboard shows: fps, latency percentiles, drops, classes.

Fed from the loop thread as records arrive; kept in one-second buckets so memory is bounded
by ``history_s`` whatever the frame rate. No Kafka, no web framework here.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

RATE_WINDOW_S = 5
CLASS_WINDOW_S = 60
# Latencies kept per bucket; beyond this a bucket samples (bounded memory at any fps).
MAX_SAMPLES_PER_BUCKET = 256


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Bucket:
    """Everything observed for one stream during one wall-clock second."""

    second: int
    frames: int = 0
    results: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    classes: Counter[str] = field(default_factory=Counter)


class StreamView:
    """Rolling figures of one stream; ``summary(now)`` is called once per summary tick."""

    def __init__(self, stream_id: str, history_s: int = 120) -> None:
        self.stream_id = stream_id
        self._buckets: deque[Bucket] = deque(maxlen=history_s)
        self.frames_seen = 0
        self.results_seen = 0
        self.drops_by_reason: Counter[str] = Counter()
        self.last_frame: tuple[int, int] | None = None
        self.last_result: dict[str, Any] | None = None

    def _bucket(self, now_s: float) -> Bucket:
        second = int(now_s)
        if not self._buckets or self._buckets[-1].second != second:
            self._buckets.append(Bucket(second))
        return self._buckets[-1]

    def note_frame(self, now_s: float, partition: int, offset: int) -> None:
        self._bucket(now_s).frames += 1
        self.frames_seen += 1
        self.last_frame = (partition, offset)

    def note_result(self, now_s: float, latency_ms: float | None, labels: list[str]) -> None:
        bucket = self._bucket(now_s)
        bucket.results += 1
        self.results_seen += 1
        if latency_ms is not None and len(bucket.latencies_ms) < MAX_SAMPLES_PER_BUCKET:
            bucket.latencies_ms.append(latency_ms)
        bucket.classes.update(labels)

    def note_drop(self, reason: str, count: int) -> None:
        self.drops_by_reason[reason] += count

    def _recent(self, now_s: float, seconds: int) -> list[Bucket]:
        # Only complete seconds, so a rate is not halved by the second in progress.
        lo, hi = int(now_s) - seconds, int(now_s)
        return [b for b in self._buckets if lo <= b.second < hi]

    def summary(self, now_s: float) -> dict[str, Any]:
        """fps in/out over the last seconds, latency percentiles, drops and class counts."""
        rate = self._recent(now_s, RATE_WINDOW_S)
        latencies = sorted(v for b in rate for v in b.latencies_ms)
        classes: Counter[str] = Counter()
        for b in self._buckets:  # counts include the second in progress
            if b.second > now_s - CLASS_WINDOW_S:
                classes.update(b.classes)
        return {
            "stream_id": self.stream_id,
            "fps_in": round(sum(b.frames for b in rate) / RATE_WINDOW_S, 2),
            "fps_out": round(sum(b.results for b in rate) / RATE_WINDOW_S, 2),
            "latency_ms": {
                "p50": _round(percentile(latencies, 50)),
                "p95": _round(percentile(latencies, 95)),
                "p99": _round(percentile(latencies, 99)),
                "samples": len(latencies),
            },
            "drops": {
                "total": sum(self.drops_by_reason.values()),
                "by_reason": dict(self.drops_by_reason),
            },
            "classes": dict(classes.most_common(20)),
            "frames_seen": self.frames_seen,
            "results_seen": self.results_seen,
            "last_frame": _coords(self.last_frame),
        }

    def history(self, now_s: float) -> list[dict[str, Any]]:
        """One point per complete second: time, results/s, latency p50/p99 (detail chart)."""
        return [_point(b) for b in self._buckets if b.second < int(now_s)]

    def last_point(self, now_s: float) -> dict[str, Any] | None:
        """The newest complete second, pushed to detail views once per summary tick."""
        done = [b for b in reversed(self._buckets) if b.second < int(now_s)]
        return _point(done[0]) if done else None


def _point(bucket: Bucket) -> dict[str, Any]:
    lat = sorted(bucket.latencies_ms)
    return {
        "t": bucket.second,
        "fps_out": bucket.results,
        "p50": _round(percentile(lat, 50)),
        "p99": _round(percentile(lat, 99)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _coords(pair: tuple[int, int] | None) -> str | None:
    return None if pair is None else f"{pair[0]}:{pair[1]}"
