"""What a clip covers: a time range given directly or derived from an alert, and the gaps
found in the frames read. Pure logic, no Kafka.

Built by ``framewire clip`` and the dashboard's clip jobs before anything is read; the
checks here are the ones a user gets as a clear error before waiting on the broker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from framewire.core.errors import ConfigError, FramewireError
from framewire.core.statsformat import AlertMessage
from framewire.core.topics import validate_stream_id
from framewire.replay.window import format_time

# Longest clip one request may ask for: frames are read into one file in one go.
MAX_CLIP_S = 15 * 60
# How far past now a range may end: the rest is waited for (post-roll of a fresh alert).
MAX_WAIT_S = 60
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, None: 1000, "m": 60_000, "min": 60_000}


class ClipRangeError(FramewireError):
    """The asked range cannot be cut; the message says what is available instead."""


class UnknownEventError(FramewireError):
    """No alert with the asked event id is on the alerts topic."""


@dataclass(frozen=True)
class ClipRange:
    """Frames of ``stream`` captured in ``[start_ms, end_ms)``."""

    stream: str
    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        validate_stream_id(self.stream)
        if self.end_ms <= self.start_ms:
            raise ConfigError(f"--to ({format_time(self.end_ms)}) must be after --from "
                              f"({format_time(self.start_ms)})", stream_id=self.stream)
        if self.end_ms - self.start_ms > MAX_CLIP_S * 1000:
            raise ConfigError(f"a clip is at most {MAX_CLIP_S // 60} minutes; "
                              f"{self.seconds:.0f} s asked", stream_id=self.stream)

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000

    def check_not_future(self, now_ms: int) -> None:
        """ClipRangeError for a range that starts after now or ends more than MAX_WAIT_S
        after now; called before reading (a range ending a little later is waited for)."""
        if self.start_ms > now_ms:
            raise ClipRangeError(f"the range starts in the future ({format_time(self.start_ms)}; "
                                 f"now is {format_time(now_ms)})", stream_id=self.stream)
        if self.end_ms > now_ms + MAX_WAIT_S * 1000:
            raise ClipRangeError(f"the range ends more than {MAX_WAIT_S} s in the future "
                                 f"({format_time(self.end_ms)}; now is {format_time(now_ms)})",
                                 stream_id=self.stream)

    def __str__(self) -> str:
        return f"{self.stream} {format_time(self.start_ms)} .. {format_time(self.end_ms)}"


def parse_duration_ms(text: str, option: str) -> int:
    """``"5s"``, ``"500ms"``, ``"2m"`` or a bare number of seconds, in milliseconds."""
    found = _DURATION.match(text)
    if not found:
        raise ConfigError(f"{option} {text!r} is not a duration such as 5s, 500ms or 2m")
    return int(float(found.group(1)) * _UNIT_MS[found.group(2)])


@dataclass(frozen=True)
class EventRef:
    """An alert firing, named ``<rule>/<stream>@<fired_ms>``; without ``@`` the latest one."""

    rule: str
    stream: str
    fired_ms: int | None

    @classmethod
    def parse(cls, text: str) -> EventRef:
        name, _, fired = text.strip().partition("@")
        rule, sep, stream = name.partition("/")
        if not sep or not rule or not stream or (fired and not fired.isdigit()):
            raise ConfigError(f"event id {text!r} is not <rule>/<stream>[@<fired epoch ms>], "
                              "e.g. crowd/cam1@1700000008000")
        return cls(rule, validate_stream_id(stream), int(fired) if fired else None)

    def __str__(self) -> str:
        tail = "" if self.fired_ms is None else f"@{self.fired_ms}"
        return f"{self.rule}/{self.stream}{tail}"


def event_id(alert: AlertMessage) -> str:
    """The id under which an alert's firing is asked for by clip and snapshot requests."""
    return f"{alert.alert_id}@{alert.fired_ms}"


@dataclass(frozen=True)
class Event:
    """One firing: when its condition began, when it fired, and when it cleared (if yet)."""

    ref: EventRef
    since_ms: int
    fired_ms: int
    cleared_ms: int | None
    condition: str

    @property
    def end_ms(self) -> int:
        return self.cleared_ms if self.cleared_ms is not None else self.fired_ms

    def clip_range(self, pre_ms: int, post_ms: int) -> ClipRange:
        """From ``pre`` before the condition began to ``post`` after it ended (or fired)."""
        return ClipRange(self.ref.stream, self.since_ms - pre_ms, self.end_ms + post_ms)


def find_event(ref: EventRef, alerts: Iterable[AlertMessage]) -> Event:
    """The firing ``ref`` names among alert transitions in topic order, with its clearing."""
    wanted = f"{ref.rule}/{ref.stream}"
    firing: AlertMessage | None = None
    cleared_ms: int | None = None
    for alert in alerts:
        if alert.alert_id != wanted:
            continue
        if alert.state == "firing" and (ref.fired_ms is None or alert.fired_ms == ref.fired_ms):
            firing, cleared_ms = alert, None
        elif alert.state == "cleared" and firing is not None and alert.fired_ms == firing.fired_ms:
            cleared_ms = alert.at_ms
    if firing is None:
        raise UnknownEventError(f"no alert {ref} on the alerts topic", stream_id=ref.stream)
    return Event(EventRef(ref.rule, ref.stream, firing.fired_ms), firing.since_ms,
                 firing.fired_ms, cleared_ms, firing.condition)


@dataclass(frozen=True)
class Gap:
    """Capture times ``[start_ms, end_ms)`` of the range with no frame."""

    start_ms: int
    end_ms: int

    def __str__(self) -> str:
        return f"{format_time(self.start_ms)} .. {format_time(self.end_ms)} " \
               f"({(self.end_ms - self.start_ms) / 1000:.1f} s)"


def find_gaps(clip: ClipRange, capture_ms: list[int], min_gap_ms: int = 1000) -> list[Gap]:
    """Stretches of at least ``min_gap_ms`` without a frame, the range's edges included.

    ``capture_ms`` is sorted. A stream at 1 fps or faster never shows a 1 s hole unless
    frames are missing (an outage, retention, a gateway down)."""
    edges = [clip.start_ms, *capture_ms, clip.end_ms]
    return [Gap(a, b) for a, b in pairwise(edges) if b - a >= min_gap_ms]
