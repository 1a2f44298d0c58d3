"""The Kafka boundary: frames in, results / drops / dead letters out."""

from __future__ import annotations

import numpy as np
import pytest

from framewire.core.codec import decode, encode
from framewire.core.records import Box, Detection
from framewire.inference.records import (
    Coords,
    DropRange,
    DropReason,
    FrameItem,
    Inbound,
    Processed,
    Rejected,
    RejectKind,
    Timing,
)
from framewire.inference.wire import dead_letter_value, drop_value
from framewire.models.perframe.wire import read_frame, result_value
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DeadLetter, DropRecord
from support.inference import frame_bytes, jpeg_of

pytestmark = pytest.mark.unit

JPEG = jpeg_of(np.full((8, 8, 3), 200, np.uint8))


def inbound(value: bytes | None, topic: str = "fw.frames.cam1", offset: int = 42) -> Inbound:
    return Inbound(Coords(topic, 3, offset), b"cam1", value, (("trace", b"x"),), 1234)


def test_valid_frame_becomes_a_frame_item() -> None:
    # Given a frame as the gateway publishes it
    value = frame_bytes(JPEG, "cam1", 7, width=8, height=8, capture_time_ns=99)
    # When read from topic fw.frames.cam1
    item = read_frame(inbound(value), "cam1")
    # Then its fields and coordinates are kept
    assert isinstance(item, FrameItem)
    assert (item.stream_id, item.sequence, item.capture_time_ns, item.jpeg) == ("cam1", 7, 99, JPEG)
    assert str(item.coords) == "fw.frames.cam1[3]@42"


@pytest.mark.parametrize(
    ("value", "stream", "kind"),
    [
        (b"\xff\xff\xff\xff", "cam1", RejectKind.DECODE_ERROR),
        (None, "cam1", RejectKind.DECODE_ERROR),
        (b"", "cam1", RejectKind.SCHEMA_VERSION),
        (encode(Frame(schema_version=9, stream_id="cam1")), "cam1", RejectKind.SCHEMA_VERSION),
        (frame_bytes(JPEG, "cam2", 1, width=8, height=8), "cam1", RejectKind.STREAM_MISMATCH),
        (frame_bytes(JPEG, "cam1", 1, width=8, height=8), None, RejectKind.BAD_ENVELOPE),
        (encode(Frame(schema_version=1, stream_id="cam1", capture_time_ns=5, data=JPEG)),
         "cam1", RejectKind.BAD_ENVELOPE),
    ],
    ids=["garbage", "tombstone", "empty", "future-version", "other-stream", "not-a-stream",
         "no-encoding"],
)
def test_bad_messages_are_rejected_with_a_kind(value, stream, kind) -> None:
    # Given a malformed message / When read / Then it is rejected, never raised
    item = read_frame(inbound(value), stream)
    assert isinstance(item, Rejected)
    assert item.kind is kind and item.message


def test_result_carries_source_coordinates_model_and_detections() -> None:
    # Given a processed frame
    item = read_frame(inbound(frame_bytes(JPEG, "cam1", 7, width=8, height=8)), "cam1")
    assert isinstance(item, FrameItem)
    det = Detection(3, "Person", 0.75, Box(0.1, 0.2, 0.3, 0.4))
    p = Processed(item, (det,), "m", "v2", Timing(10, 20, 30), 640, 480)
    # When encoded
    r = decode(DetectionResult, result_value(p, "w1"))
    # Then a reader can trace it back to the frame and the model version
    assert (r.source_topic, r.source_partition, r.source_offset) == ("fw.frames.cam1", 3, 42)
    assert (r.stream_id, r.frame_sequence, r.model_id, r.model_version) == ("cam1", 7, "m", "v2")
    assert (r.image_width, r.image_height, r.worker_id) == (640, 480, "w1")
    assert r.detections[0].label == "Person" and r.detections[0].box.ymax == pytest.approx(0.4)
    assert r.timings.infer_us == 20 and r.result_time_ns > 0


def test_drop_record_has_range_count_and_reason() -> None:
    # Given a skipped range / When encoded / Then all of it is on the record
    d = decode(DropRecord, drop_value(DropRange("cam1", "fw.frames.cam1", 0, 5, 9, DropReason.STALE)))
    assert (d.first_offset, d.last_offset, d.count) == (5, 9, 5)
    assert d.reason == DropRecord.REASON_STALE and d.service == "inference"


def test_dead_letter_keeps_coordinates_and_small_values_only() -> None:
    # Given a rejected message
    r = Rejected(inbound(b"junk-bytes"), RejectKind.CORRUPT_JPEG, "bad", "cam1")
    # When encoded with a generous and then a tiny size limit
    kept = decode(DeadLetter, dead_letter_value(r, 1024))
    cut = decode(DeadLetter, dead_letter_value(r, 4))
    # Then the coordinates, key, headers and reason survive; the value only under the limit
    assert (kept.original_topic, kept.original_partition, kept.original_offset) == (
        "fw.frames.cam1", 3, 42)
    assert kept.original_key == b"cam1" and kept.error_kind == "corrupt_jpeg"
    assert [(h.key, h.value) for h in kept.original_headers] == [("trace", b"x")]
    assert kept.original_value == b"junk-bytes" and cut.original_value == b""
