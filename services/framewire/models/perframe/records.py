"""In-process records of one frame on its way through a model; protobuf exists only in
``wire.py``.

Shared by the inference service and ``framewire replay``. A Kafka message becomes an
``Inbound`` (raw bytes and coordinates), then either a ``FrameItem`` or a ``Rejected`` once
its payload has been read; a frame the model has seen ends as ``Processed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from framewire.core.errors import coordinates
from framewire.core.records import Detection


@dataclass(frozen=True, slots=True)
class Coords:
    """Where a message sits on Kafka."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return coordinates(self.topic, self.partition, self.offset)


@dataclass(frozen=True, slots=True)
class Inbound:
    """A consumed message, detached from the Kafka client."""

    coords: Coords
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    # Broker/producer timestamp in ms, -1 when absent.
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class FrameItem:
    """A frame whose envelope is valid; its JPEG is checked when decoded."""

    inbound: Inbound
    stream_id: str
    sequence: int
    capture_time_ns: int
    width: int
    height: int
    jpeg: bytes

    @property
    def coords(self) -> Coords:
        return self.inbound.coords


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that cannot be processed; published as a dead letter."""

    inbound: Inbound
    kind: RejectKind
    message: str
    stream_id: str | None = None


class RejectKind(StrEnum):
    """Why a message went to the dead-letter queue (``DeadLetter.error_kind``)."""

    DECODE_ERROR = "decode_error"
    SCHEMA_VERSION = "unsupported_schema_version"
    BAD_ENVELOPE = "bad_envelope"
    STREAM_MISMATCH = "stream_mismatch"
    ABSURD_SIZE = "absurd_size"
    CORRUPT_JPEG = "corrupt_jpeg"
    INFERENCE_ERROR = "inference_error"


@dataclass(frozen=True, slots=True)
class Timing:
    """Per-frame stage durations in microseconds."""

    decode_us: int
    infer_us: int
    postprocess_us: int


@dataclass(frozen=True, slots=True)
class Processed:
    """Detections for one frame, made by one model version."""

    frame: FrameItem
    detections: tuple[Detection, ...]
    model_id: str
    model_version: str
    timing: Timing
    # Size of the encoded frame (not of a reduced decode).
    image_width: int
    image_height: int
