"""A mergeable latency sketch with bounded relative error.

Values fall into logarithmic buckets whose width grows with the value, so any quantile is
returned within ``RELATIVE_ACCURACY`` of the exact sample quantile while memory stays bounded
(under a thousand buckets between 10 µs and one hour) whatever the frame rate. Two sketches
merge by adding bucket counts, which is what lets a one-minute window be built from six
ten-second panes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
# Below this a latency is reported as zero; above the cap it is clamped (bounds the buckets).
MIN_TRACKED_S = 1e-5
MAX_TRACKED_S = 3600.0


def bucket_of(value_s: float) -> int:
    """Index of the bucket holding ``value_s`` (> MIN_TRACKED_S)."""
    return math.ceil(math.log(min(value_s, MAX_TRACKED_S)) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """Representative value of a bucket: within RELATIVE_ACCURACY of all it holds."""
    return 2.0 * _GAMMA**index / (_GAMMA + 1.0)


@dataclass(frozen=True)
class LatencySketch:
    """Counts of latencies (seconds) per logarithmic bucket, plus exact count, sum and max."""

    buckets: Mapping[int, int] = field(default_factory=dict)
    zeros: int = 0
    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0

    def add(self, value_s: float) -> LatencySketch:
        """A sketch with one more sample; negative values (clock skew) count as zero."""
        value_s = max(0.0, value_s)
        buckets, zeros = dict(self.buckets), self.zeros
        if value_s <= MIN_TRACKED_S:
            zeros += 1
        else:
            index = bucket_of(value_s)
            buckets[index] = buckets.get(index, 0) + 1
        return LatencySketch(buckets, zeros, self.count + 1, self.total_s + value_s, max(self.max_s, value_s))

    def merge(self, other: LatencySketch) -> LatencySketch:
        buckets = dict(self.buckets)
        for index, n in other.buckets.items():
            buckets[index] = buckets.get(index, 0) + n
        return LatencySketch(
            buckets,
            self.zeros + other.zeros,
            self.count + other.count,
            self.total_s + other.total_s,
            max(self.max_s, other.max_s),
        )

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile (the smallest sample with at least ``q`` of samples at or
        below it), within RELATIVE_ACCURACY; None when empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be within [0, 1], got {q}")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = self.zeros
        if seen >= rank:
            return 0.0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(bucket_value(index), self.max_s)
        return self.max_s

    @property
    def mean_s(self) -> float | None:
        return self.total_s / self.count if self.count else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; buckets as [index, count] pairs (cheap both ways)."""
        return {
            "b": [list(item) for item in self.buckets.items()],
            "z": self.zeros,
            "n": self.count,
            "sum": self.total_s,
            "max": self.max_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencySketch:
        return cls(
            dict(data.get("b", ())),
            int(data.get("z", 0)),
            int(data.get("n", 0)),
            float(data.get("sum", 0.0)),
            float(data.get("max", 0.0)),
        )
