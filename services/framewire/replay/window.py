"""What a replay covers: times from the command line, offsets per partition, output name.

Pure logic, no Kafka: ``parse_time`` and ``TimeWindow`` are built by ``framewire replay``
from ``--from``/``--to``; ``plan_ranges`` is called once the broker has answered the offset
lookups, and raises ReplayRangeError with what *is* available when the range cannot be
replayed (expired by retention, or holding no frame).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from framewire.core.catalog import classify
from framewire.core.errors import ConfigError, FramewireError
from framewire.core.topics import TopicKind, Topics

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch milliseconds before this (March 1973) are almost surely epoch seconds.
_MIN_EPOCH_MS = 10**11
_TOPIC_ILLEGAL = re.compile(r"[^A-Za-z0-9._-]")
_TOPIC_MAX_LEN = 249


class ReplayRangeError(FramewireError):
    """The asked time range cannot be replayed; the message says what is on Kafka."""


def parse_time(text: str, option: str = "time") -> int:
    """Epoch milliseconds from ISO-8601 (no zone: local time, like Kafka's own tools) or
    from epoch milliseconds; ConfigError saying the accepted forms otherwise."""
    value = text.strip()
    if value.isdigit():
        ms = int(value)
        if ms < _MIN_EPOCH_MS:
            raise ConfigError(
                f"{option} {text!r} looks like epoch seconds; give epoch milliseconds "
                "(13 digits) or an ISO-8601 time such as 2026-11-28T13:05:00Z"
            )
        return ms
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is neither an ISO-8601 time (e.g. 2026-11-28T13:05:00Z, "
            "2026-11-28T14:05:00+01:00) nor epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the local time zone
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def format_time(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC, the form ``--from`` accepts back."""
    text = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


@dataclass(frozen=True)
class TimeWindow:
    """Frames with a Kafka timestamp in ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.start_ms >= self.end_ms:
            raise ConfigError(
                f"--from ({format_time(self.start_ms)}) must be before --to "
                f"({format_time(self.end_ms)})"
            )

    def __str__(self) -> str:
        return f"{format_time(self.start_ms)} .. {format_time(self.end_ms)}"


@dataclass(frozen=True)
class PartitionState:
    """What the broker said about one frames partition; -1 where it had no answer."""

    partition: int
    # Log start offset (first offset still stored) and high watermark.
    low: int
    high: int
    # First offsets with a timestamp at or after the window's start and end.
    start: int
    end: int
    # Timestamps of the oldest stored frame and of the newest one.
    first_ts: int
    last_ts: int

    @property
    def empty(self) -> bool:
        return self.high <= self.low


@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start, end)`` of one partition to replay."""

    partition: int
    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start


def plan_ranges(
    stream: str, topic: str, window: TimeWindow, states: list[PartitionState]
) -> list[PartitionRange]:
    """Offsets to replay per partition; ReplayRangeError when none or when retention has
    already removed frames the window asks for."""
    stored = [s for s in states if not s.empty]
    if not stored:
        raise ReplayRangeError(
            f"no frames of stream {stream} are on Kafka: none were published or retention "
            "removed them all", stream_id=stream, topic=topic,
        )
    expired = [s for s in stored if s.low > 0 and window.start_ms < s.first_ts]
    if expired:
        earliest = max(s.first_ts for s in expired)
        raise ReplayRangeError(
            f"frames of stream {stream} from {format_time(window.start_ms)} are no longer on "
            f"Kafka (retention removed them); the earliest available frame is at "
            f"{format_time(earliest)}: replay from there (--from {format_time(earliest)})",
            stream_id=stream, topic=topic, partition=expired[0].partition, offset=expired[0].low,
        )
    ranges = [range_of(s) for s in stored]
    ranges = [r for r in ranges if r.count > 0]
    if not ranges:
        first = min(s.first_ts for s in stored)
        last = max(s.last_ts for s in stored)
        raise ReplayRangeError(
            f"no frames of stream {stream} between {window}; the frames on Kafka span "
            f"{format_time(first)} .. {format_time(last)}", stream_id=stream, topic=topic,
        )
    return ranges


def range_of(state: PartitionState) -> PartitionRange:
    """The offsets a partition's window covers (an unanswered lookup: up to its end)."""
    start = state.high if state.start < 0 else state.start
    end = state.high if state.end < 0 else state.end
    return PartitionRange(state.partition, start, max(start, end))


def default_output_topic(topics: Topics, stream: str, model_id: str, version: str) -> str:
    """``<prefix>results.<stream>.<model>-<version>`` with characters Kafka refuses as '-'.

    '-' rather than '_': Kafka treats '.' and '_' as the same in metric names, so a name
    mixing both could collide with another topic.
    """
    name = f"{topics.results(stream)}.{model_id}-{version}"
    return _TOPIC_ILLEGAL.sub("-", name)[:_TOPIC_MAX_LEN]


def check_output_topic(name: str, topics: Topics) -> str:
    """Return ``name`` if a replay may write to it; ConfigError saying why not otherwise.

    Live topics are refused: the dashboard and aggregator would take replayed results for
    live ones (a replay topic has a dot after the stream id, which their patterns exclude).
    """
    if not name or len(name) > _TOPIC_MAX_LEN or _TOPIC_ILLEGAL.search(name) or name in {".", ".."}:
        raise ConfigError(
            f"--output {name!r} is not a legal Kafka topic name (letters, digits, '.', '_', "
            f"'-'; at most {_TOPIC_MAX_LEN} characters)"
        )
    is_frames = name.startswith(f"{topics.prefix}{TopicKind.FRAMES}.")
    if is_frames or classify(topics, name) is not None:
        raise ConfigError(
            f"--output {name!r} is a live framewire topic; a replay writes to its own topic, "
            f"e.g. {topics.prefix}results.<stream>.<label>"
        )
    return name
