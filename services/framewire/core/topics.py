"""Topic naming and stream-id validation.

Kafka topic names allow ``[a-zA-Z0-9._-]`` up to 249 characters. Stream ids become a
suffix of per-stream topics (``fw.frames.<stream>``), so they are restricted further: no
dots (they would make ``fw.frames.a.b`` ambiguous with nested names) and a bounded length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from framewire.core.errors import InvalidStreamIdError

STREAM_ID_MAX_LEN = 64
_STREAM_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._-]*$")


def validate_stream_id(stream_id: str) -> str:
    """Return ``stream_id`` unchanged if legal, else raise InvalidStreamIdError saying why."""
    if not isinstance(stream_id, str) or not stream_id:
        raise InvalidStreamIdError("stream id must be a non-empty string")
    if len(stream_id) > STREAM_ID_MAX_LEN:
        raise InvalidStreamIdError(
            f"stream id is {len(stream_id)} characters; at most {STREAM_ID_MAX_LEN} allowed"
        )
    if not _STREAM_ID_RE.match(stream_id):
        raise InvalidStreamIdError(
            f"stream id {stream_id!r} may only contain letters, digits, '_' and '-' "
            "and must start with a letter or digit"
        )
    return stream_id


class TopicKind(StrEnum):
    """Every kind of topic framewire uses; the value is the name part after the prefix.

    What each kind holds (key, payload, retention, readers) is in ``framewire.core.catalog``.
    """

    FRAMES = "frames"
    RESULTS = "results"
    STREAMS = "streams"
    STATUS = "status"
    STATS = "stats"
    ALERTS = "alerts"
    DROPS = "drops"
    DLQ = "dlq"
    TRACKS = "tracks"
    TRACKER_STATE = "tracker-state"
    EVENTS = "events"


PER_STREAM_KINDS = frozenset({TopicKind.FRAMES, TopicKind.RESULTS, TopicKind.TRACKS})


@dataclass(frozen=True)
class Topics:
    """Names of every framewire topic under one prefix (default ``fw.``)."""

    prefix: str = "fw."

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix) or len(self.prefix) > 100:
            raise InvalidStreamIdError(f"topic prefix {self.prefix!r} is not a legal Kafka name")

    def name(self, kind: TopicKind, stream_id: str | None = None) -> str:
        """The topic of ``kind``: ``<prefix><kind>`` or, per stream, ``<prefix><kind>.<stream>``."""
        if kind in PER_STREAM_KINDS:
            if stream_id is None:
                raise InvalidStreamIdError(f"{kind} topics are per stream: a stream id is needed")
            return f"{self.prefix}{kind}.{validate_stream_id(stream_id)}"
        return f"{self.prefix}{kind}"

    def frames(self, stream_id: str) -> str:
        return self.name(TopicKind.FRAMES, stream_id)

    def results(self, stream_id: str) -> str:
        return self.name(TopicKind.RESULTS, stream_id)

    def tracks(self, stream_id: str) -> str:
        return self.name(TopicKind.TRACKS, stream_id)

    @property
    def tracker_state(self) -> str:
        return self.name(TopicKind.TRACKER_STATE)

    @property
    def events(self) -> str:
        return self.name(TopicKind.EVENTS)

    @property
    def streams(self) -> str:
        return self.name(TopicKind.STREAMS)

    @property
    def status(self) -> str:
        return self.name(TopicKind.STATUS)

    @property
    def stats(self) -> str:
        return self.name(TopicKind.STATS)

    @property
    def alerts(self) -> str:
        return self.name(TopicKind.ALERTS)

    @property
    def drops(self) -> str:
        return self.name(TopicKind.DROPS)

    @property
    def dlq(self) -> str:
        return self.name(TopicKind.DLQ)

    @property
    def frames_pattern(self) -> str:
        """librdkafka regex subscription (leading ``^``) matching every frames topic."""
        return "^" + re.escape(f"{self.prefix}{TopicKind.FRAMES}.") + _STREAM_ID_RE.pattern[1:]

    @property
    def results_pattern(self) -> str:
        """Regex matching live result topics (not replay outputs, which carry a dot)."""
        return "^" + re.escape(f"{self.prefix}{TopicKind.RESULTS}.") + _STREAM_ID_RE.pattern[1:]

    def stream_of(self, topic: str) -> str | None:
        """The stream id of a per-stream frames or results topic, or None."""
        for kind in PER_STREAM_KINDS:
            head = f"{self.prefix}{kind}."
            if topic.startswith(head):
                rest = topic[len(head) :]
                return rest if _STREAM_ID_RE.match(rest) else None
        return None
