import pytest

from framewire.core.codec import (
    SCHEMA_VERSION,
    DetectionResult,
    Frame,
    StreamSpec,
    decode,
    encode,
)
from framewire.core.errors import DecodeError
from framewire.v1 import detection_pb2

pytestmark = pytest.mark.unit


def test_frame_round_trip_keeps_every_field():
    # Given a frame with every field set
    frame = Frame(
        stream_id="cam-1", sequence=42, capture_time_ns=1, publish_time_ns=2, source="file.mp4",
        width=640, height=480, encoding=Frame.ENCODING_JPEG, data=b"\xff\xd8jpeg", trace_id="ab",
    )
    # When it is encoded and decoded
    back = decode(Frame, encode(frame), topic="fw.frames.cam-1", partition=0, offset=7)
    # Then it is equal and stamped with the schema version
    assert back.schema_version == SCHEMA_VERSION
    frame.schema_version = SCHEMA_VERSION
    assert back == frame


def test_result_round_trip_with_detections():
    result = DetectionResult(stream_id="s", frame_sequence=3, model_id="m", model_version="1")
    result.detections.add(class_id=1, label="Person", score=0.9,
                          box=detection_pb2.Box(xmin=0.1, ymin=0.2, xmax=0.3, ymax=0.4))
    back = decode(DetectionResult, encode(result))
    assert back.detections[0].label == "Person"
    assert back.detections[0].box.xmax == pytest.approx(0.3)


def test_garbage_is_a_decode_error_with_coordinates():
    # Given bytes that are not a protobuf
    # When decoded
    # Then the error names topic[partition]@offset
    with pytest.raises(DecodeError) as info:
        decode(Frame, b"\xff\xff\xff\xff", topic="fw.frames.a", partition=0, offset=9)
    assert "fw.frames.a[0]@9" in str(info.value)


def test_unknown_schema_version_is_refused():
    payload = Frame(schema_version=99, stream_id="x").SerializeToString()
    with pytest.raises(DecodeError, match="schema version 99"):
        decode(Frame, payload)


def test_tombstone_is_a_decode_error():
    with pytest.raises(DecodeError, match="tombstone"):
        decode(StreamSpec, None)
