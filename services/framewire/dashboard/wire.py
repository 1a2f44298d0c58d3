"""What the dashboard reads from Kafka and how each record becomes JSON for the page.

The consumer classifies topics with ``classify`` (the catalogue's kinds it reads) and hands
``Record``s (already decoded) to the loop; the converters here are pure functions shared by
live events and resume replays.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from framewire.core import catalog
from framewire.core.catalog import CATALOG, Cleanup
from framewire.core.logs import redact_uri
from framewire.core.topics import TopicKind, Topics
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DropRecord
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus

# user:password@ inside free text (redact_uri only handles a string that is one URI).
_USERINFO_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@]+@")


def scrub_text(text: str) -> str:
    """Remove credentials from any URI inside a sentence, e.g. a failure reason."""
    return _USERINFO_IN_TEXT.sub(r"\1***@", redact_uri(text))


# Every kind but the dead letters (they carry whole frames the page has no use for) and the
# tracker's own state (its tracks and zone events are what the page draws and lists).
READ_KINDS = frozenset(kind for kind in TopicKind
                       if kind not in (TopicKind.DLQ, TopicKind.TRACKER_STATE))
# Compacted topics hold current state: always read from the start to rebuild it.
STATE_KINDS = frozenset(e.kind for e in CATALOG.values() if e.cleanup is Cleanup.COMPACT)


def classify(topics: Topics, topic: str) -> tuple[TopicKind, str | None] | None:
    """The kind of a topic the dashboard reads and its stream id (per-stream topics), or
    None for any other topic (not ours, a replay's output, the dead letters)."""
    found = catalog.classify(topics, topic)
    if found is None or found[0].kind not in READ_KINDS:
        return None
    return found[0].kind, found[1]


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded Kafka record; ``message`` is a protobuf, a JSON value, or None (tombstone)."""

    kind: TopicKind
    topic: str
    partition: int
    offset: int
    key: str | None
    message: Any
    # Broker/producer timestamp of the record, epoch seconds.
    kafka_time_s: float | None
    stream_id: str | None = None


@dataclass(frozen=True, slots=True)
class Baseline:
    """The consumer starts reading ``topic[partition]`` after ``last_offset``."""

    topic: str
    partition: int
    last_offset: int


def result_json(result: DetectionResult, topic: str, partition: int, offset: int) -> dict[str, Any]:
    """The detection event the page draws: boxes normalised [x1, y1, x2, y2] plus its frame."""
    latency_ms = None
    if result.capture_time_ns and result.result_time_ns:
        latency_ms = round((result.result_time_ns - result.capture_time_ns) / 1e6, 3)
    return {
        "stream_id": result.stream_id,
        "id": f"{partition}:{offset}",
        "topic": topic,
        "sequence": result.frame_sequence,
        "frame": f"{result.source_partition}:{result.source_offset}",
        "frame_topic": result.source_topic,
        "width": result.image_width,
        "height": result.image_height,
        "model": result.model_id,
        "model_version": result.model_version,
        "capture_time_ns": result.capture_time_ns,
        "result_time_ns": result.result_time_ns,
        "latency_ms": latency_ms,
        "timings_us": {
            "decode": result.timings.decode_us,
            "infer": result.timings.infer_us,
            "postprocess": result.timings.postprocess_us,
        },
        "detections": [
            {
                "class_id": d.class_id,
                "label": d.label,
                "score": round(d.score, 4),
                "box": [round(v, 5) for v in (d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax)],
            }
            for d in result.detections
        ],
    }


def spec_json(spec: StreamSpec) -> dict[str, Any]:
    """A stream's desired state for responses and the page; credentials are redacted."""
    return {
        "stream_id": spec.stream_id,
        "source_uri": redact_uri(spec.source_uri),
        "target_fps": round(spec.target_fps, 3),
        "width": spec.width,
        "height": spec.height,
        "jpeg_quality": spec.jpeg_quality,
        "model": spec.model,
        "enabled": spec.enabled,
        "loop": spec.loop,
        "max_age_ms": spec.max_age_ms,
        "display_name": spec.display_name,
    }


def status_json(status: StreamStatus) -> dict[str, Any]:
    """What the gateway reports about a stream (state names without the STATE_ prefix)."""
    state = StreamStatus.State.Name(status.state).removeprefix("STATE_").lower()
    return {
        "state": state,
        "reason": scrub_text(status.reason),
        "fps_in": round(status.fps_in, 2),
        "fps_out": round(status.fps_out, 2),
        "native_width": status.native_width,
        "native_height": status.native_height,
        "native_fps": round(status.native_fps, 2),
        "frames_published": status.frames_published,
        "frames_dropped": status.frames_dropped,
        "reconnects": status.reconnects,
        "gateway_id": status.gateway_id,
        "updated_time_ns": status.updated_time_ns,
    }


def drop_reason(drop: DropRecord) -> str:
    return DropRecord.Reason.Name(drop.reason).removeprefix("REASON_").lower()


def decode_json_or_text(payload: bytes | None) -> Any:
    """Aggregator stats and alerts: JSON when they are JSON, else a short text preview.

    The aggregator may publish JSON or protobuf; anything that is not JSON is shown as
    ``{"raw": "<hex preview>"}`` so the page still signals that something arrived.
    """
    if payload is None:
        return None
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"raw": payload[:64].hex(), "bytes": len(payload)}
