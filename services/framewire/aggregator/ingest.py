"""Kafka boundary of the aggregator: protobuf results, drop records and zone events in,
observations or dead letters out. Every malformed message becomes a DeadLetter naming its
coordinates."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from framewire.aggregator.observations import DropSeen, ResultSeen, ZoneSeen
from framewire.aggregator.zonecounts import CROSS, DIRECTIONS, DWELL, ENTER, LEAVE
from framewire.core.codec import DeadLetter, DetectionResult, DropRecord, decode, encode
from framewire.core.errors import DecodeError, FramewireError
from framewire.core.topics import Topics, validate_stream_id
from framewire.v1.tracks_pb2 import ZoneEvent

SERVICE = "aggregator"


class InvalidMessageError(DecodeError):
    """A message that decodes but cannot be counted (wrong stream, missing times)."""


@dataclass(frozen=True)
class RawMessage:
    """A consumed record as the agent sees it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_s: float
    headers: Sequence[tuple[str, bytes]] = ()


def observe(raw: RawMessage, topics: Topics) -> ResultSeen | DropSeen | ZoneSeen:
    """The observation in ``raw``; raises DecodeError (or InvalidMessageError) when malformed.

    Any other failure is turned into InvalidMessageError too: every record either counts or
    goes to the DLQ, never vanishes with a crashed agent.
    """
    try:
        return _observe(raw, topics)
    except DecodeError:
        raise
    except Exception as exc:
        raise _invalid(f"unexpected {type(exc).__name__}: {exc}", raw) from exc


def _observe(raw: RawMessage, topics: Topics) -> ResultSeen | DropSeen | ZoneSeen:
    if raw.topic == topics.events:
        return _zone_event(raw)
    if raw.topic == topics.drops:
        drop = decode(DropRecord, raw.value, topic=raw.topic, partition=raw.partition, offset=raw.offset)
        stream = _stream_id(drop.stream_id, raw)
        if drop.count <= 0 or drop.time_ns <= 0:
            raise _invalid("drop record without count or time", raw, stream)
        reason = _reason_name(drop.reason)
        return DropSeen(stream, drop.time_ns // 1_000_000, reason, int(drop.count))
    result = decode(DetectionResult, raw.value, topic=raw.topic, partition=raw.partition, offset=raw.offset)
    stream = _stream_id(result.stream_id, raw)
    if topics.stream_of(raw.topic) != stream:
        raise _invalid(f"result of stream {stream!r} on another stream's topic", raw)
    if result.capture_time_ns <= 0:
        raise _invalid("result without capture time", raw, stream)
    done_ns = result.result_time_ns or int(raw.timestamp_s * 1e9)
    counts: dict[str, int] = {}
    for det in result.detections:
        label = det.label or f"class_{det.class_id}"
        counts[label] = counts.get(label, 0) + 1
    latency_s = (done_ns - result.capture_time_ns) / 1e9
    return ResultSeen(stream, result.capture_time_ns // 1_000_000, latency_s, counts)


def _zone_event(raw: RawMessage) -> ZoneSeen:
    event = decode(ZoneEvent, raw.value, topic=raw.topic, partition=raw.partition, offset=raw.offset)
    stream = _stream_id(event.stream_id, raw)
    kind = _KINDS.get(event.kind)
    if kind is None:
        raise _invalid(f"zone event of unknown kind {event.kind}", raw, stream)
    if event.capture_time_ns <= 0 or not event.zone_or_line or not event.source_topic:
        raise _invalid("zone event without capture time, zone or line id, or source", raw, stream)
    direction = event.direction if kind == CROSS else ""
    if kind == CROSS and direction not in DIRECTIONS:
        raise _invalid(f"crossing with direction {event.direction!r}", raw, stream)
    event_ms = event.capture_time_ns // 1_000_000
    return ZoneSeen(stream, event_ms, kind, event.zone_or_line, direction, zone_event_id(event))


_KINDS = {ZoneEvent.ENTER: ENTER, ZoneEvent.LEAVE: LEAVE, ZoneEvent.CROSS: CROSS, ZoneEvent.DWELL: DWELL}


def zone_event_id(event: ZoneEvent) -> str:
    """What makes a zone event itself: the result it came from, what happened, to which
    track, where. A short digest, since a pane keeps the ids of every event it counted."""
    parts = (event.stream_id, event.source_topic, event.source_partition, event.source_offset,
             event.kind, event.track_id, event.zone_or_line)
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def _reason_name(value: int) -> str:
    """``stale`` for REASON_STALE; a reason newer than this build reads as ``reason_<n>``."""
    try:
        return DropRecord.Reason.Name(value).removeprefix("REASON_").lower()
    except ValueError:
        return f"reason_{value}"


def _stream_id(stream_id: str, raw: RawMessage) -> str:
    try:
        return validate_stream_id(stream_id)
    except FramewireError as exc:
        raise _invalid(f"bad stream id: {exc.message}", raw) from None


def _invalid(message: str, raw: RawMessage, stream: str | None = None) -> InvalidMessageError:
    return InvalidMessageError(
        message, stream_id=stream, topic=raw.topic, partition=raw.partition, offset=raw.offset
    )


def error_kind(exc: Exception) -> str:
    if isinstance(exc, InvalidMessageError):
        return "invalid_message"
    return "decode_error" if isinstance(exc, DecodeError) else "internal_error"


def dead_letter(raw: RawMessage, exc: Exception, value_max_bytes: int) -> bytes:
    """The DeadLetter for ``raw``, keeping the original value when small enough."""
    letter = DeadLetter(
        original_topic=raw.topic,
        original_partition=raw.partition,
        original_offset=raw.offset,
        original_key=raw.key or b"",
        error_kind=error_kind(exc),
        error_message=(exc.message if isinstance(exc, DecodeError) else repr(exc))[:1000],
        service=SERVICE,
        time_ns=time.time_ns(),
    )
    for key, value in raw.headers:
        letter.original_headers.add(key=key, value=value or b"")
    if raw.value is not None and len(raw.value) <= value_max_bytes:
        letter.original_value = raw.value
    return encode(letter)
