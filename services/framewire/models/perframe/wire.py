"""The per-frame Kafka boundary: Frame bytes in, DetectionResult bytes out.

``read_frame`` is called for each consumed frames record (by the inference worker and by
``framewire replay``), ``result_value`` when a processed frame's result is published.
"""

from __future__ import annotations

import time

from framewire.core.codec import decode, encode
from framewire.core.errors import DecodeError
from framewire.models.perframe.records import FrameItem, Inbound, Processed, Rejected, RejectKind
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame


def read_frame(inbound: Inbound, topic_stream: str | None) -> FrameItem | Rejected:
    """Parse and sanity-check a frames-topic message; never raises."""
    c = inbound.coords
    try:
        frame = decode(Frame, inbound.value, topic=c.topic, partition=c.partition, offset=c.offset)
    except DecodeError as exc:
        kind = RejectKind.DECODE_ERROR
        if "schema version" in exc.message:
            kind = RejectKind.SCHEMA_VERSION
        return Rejected(inbound, kind, exc.message, topic_stream)
    problem = _envelope_problem(frame, topic_stream)
    if problem is not None:
        kind, message = problem
        return Rejected(inbound, kind, message, topic_stream)
    return FrameItem(
        inbound=inbound,
        stream_id=topic_stream or frame.stream_id,
        sequence=frame.sequence,
        capture_time_ns=frame.capture_time_ns,
        width=frame.width,
        height=frame.height,
        jpeg=frame.data,
    )


def _envelope_problem(frame: Frame, topic_stream: str | None) -> tuple[RejectKind, str] | None:
    if topic_stream is None:
        return RejectKind.BAD_ENVELOPE, "topic is not a frames topic of a valid stream id"
    if frame.stream_id and frame.stream_id != topic_stream:
        return (
            RejectKind.STREAM_MISMATCH,
            f"frame says stream {frame.stream_id[:80]!r}, topic is {topic_stream!r}",
        )
    if frame.encoding != Frame.ENCODING_JPEG:
        return RejectKind.BAD_ENVELOPE, f"unsupported encoding {frame.encoding}"
    if frame.capture_time_ns <= 0:
        return RejectKind.BAD_ENVELOPE, "capture_time_ns is missing"
    return None


def result_value(p: Processed, worker_id: str) -> bytes:
    f = p.frame
    msg = DetectionResult(
        stream_id=f.stream_id,
        frame_sequence=f.sequence,
        source_topic=f.coords.topic,
        source_partition=f.coords.partition,
        source_offset=f.coords.offset,
        capture_time_ns=f.capture_time_ns,
        model_id=p.model_id,
        model_version=p.model_version,
        image_width=p.image_width,
        image_height=p.image_height,
        worker_id=worker_id,
        result_time_ns=time.time_ns(),
    )
    msg.timings.decode_us = p.timing.decode_us
    msg.timings.infer_us = p.timing.infer_us
    msg.timings.postprocess_us = p.timing.postprocess_us
    for d in p.detections:
        det = msg.detections.add(class_id=d.class_id, label=d.label, score=d.score)
        det.box.xmin, det.box.ymin = d.box.xmin, d.box.ymin
        det.box.xmax, det.box.ymax = d.box.xmax, d.box.ymax
    return encode(msg)
