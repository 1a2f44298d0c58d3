"""10,000 bad messages on a frames topic: the inference process survives every one and
dead-letters each exactly once with its coordinates and reason, then serves a good frame.

Extends the inference tests' 1,000-message fuzz: ten times as many, more kinds of damage
(wrong message types, tombstones, PNG, junk keys and headers), against a worker started
as ``framewire inference``. It runs with freshness ``none`` so that every message is
inspected: under ``latest`` a flood published faster than real time is partly skipped as
stale before its JPEG is decoded (each such offset then has a drop record instead; see
docs/reliability.md). CI runs 2,000 messages; the 10,000 run is marked slow:
``pytest -m "reliability and slow" tests/reliability/test_frames_fuzz.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.inference.records import RejectKind
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.ops_pb2 import DeadLetter
from framewire.v1.stream_pb2 import StreamSpec
from reliability.procs import Service, kafka_env
from support.inference import TopicReader, create_streams, jpeg_of

pytestmark = pytest.mark.reliability

MODEL = "ssd-mobilenet-v2-oidv4"
STREAM = "fuzz"
GOOD_JPEG = jpeg_of(np.full((32, 48, 3), 90, np.uint8))


def frame(**fields: object) -> Frame:
    base: dict[str, object] = {
        "schema_version": 1, "stream_id": STREAM, "sequence": 1, "capture_time_ns": time.time_ns(),
        "width": 48, "height": 32, "encoding": Frame.ENCODING_JPEG, "data": GOOD_JPEG,
    }
    return Frame(**{**base, **fields})


def damaged(kind: str, blob: bytes, number: int) -> bytes | None:
    """A frames-topic value broken in one way; every kind is invalid by construction."""
    if kind == "tombstone":
        return None
    if kind == "other_message":
        other = [DetectionResult(stream_id=STREAM, frame_sequence=number),
                 StreamSpec(stream_id=STREAM, source_uri="x")][number % 2]
        return encode(other)
    jpeg = bytearray(GOOD_JPEG)
    changes: dict[str, dict[str, object]] = {
        "version": {"schema_version": 2 + number % 1000},
        "data": {"data": blob},
        "truncated": {"data": GOOD_JPEG[: number % (len(GOOD_JPEG) - 3)]},
        "empty": {"data": b""},
        "png": {"data": b"\x89PNG\r\n\x1a\n" + blob},
        "stream": {"stream_id": f"other{number}"},
        "encoding": {"encoding": Frame.ENCODING_UNSPECIFIED},
        "capture": {"capture_time_ns": -abs(number)},
    }
    if kind == "size":
        at = GOOD_JPEG.index(b"\xff\xc0")
        jpeg[at + 5 : at + 9] = (60000 + number % 5000).to_bytes(2, "big") * 2
        return encode(frame(data=bytes(jpeg)))
    return encode(frame(**changes[kind]))


def bad_messages() -> st.SearchStrategy[tuple[bytes | None, bytes | None, list]]:
    """(value, key, headers): random bytes, or a frame damaged one way, with junk around it."""
    random_bytes = st.binary(max_size=4000).filter(lambda b: not b.startswith(b"\x08\x01"))
    kinds = ["tombstone", "other_message", "version", "data", "truncated", "empty", "png",
             "stream", "encoding", "capture", "size"]
    mutated = st.builds(damaged, st.sampled_from(kinds),
                        st.binary(max_size=300).filter(lambda b: not b.startswith(b"\xff\xd8")),
                        st.integers(1, 2**31))
    keys = st.one_of(st.none(), st.just(STREAM.encode()), st.binary(max_size=40))
    headers = st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=20)), max_size=2)
    return st.tuples(st.one_of(random_bytes, mutated), keys, headers)


def publish_bad(kafka: KafkaSettings, count: int) -> list[int]:
    """Publish ``count`` generated bad messages; return their offsets."""
    producer = make_producer(kafka)
    topic = kafka.topics.frames(STREAM)
    offsets: list[int] = []

    def delivered(err: object, msg: object) -> None:
        assert err is None, err
        offsets.append(msg.offset())  # type: ignore[attr-defined]

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(bad_messages())
    def publish(message: tuple[bytes | None, bytes | None, list]) -> None:
        value, key, headers = message
        producer.produce(topic, value, key, headers=headers, on_delivery=delivered)
        producer.poll(0)

    publish()
    assert producer.flush(30) == 0
    return offsets


@pytest.mark.parametrize("messages", [2_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_bad_frames_are_each_dead_lettered_and_the_worker_lives_on(
    kafka_settings: KafkaSettings, tmp_path: Path, messages: int
) -> None:
    # Given an inference process with its default policies, serving one stream
    create_streams(kafka_settings, [STREAM])
    env = {**kafka_env(kafka_settings), "FW_INFERENCE_MODEL": MODEL, "FW_INFERENCE_HTTP_PORT": "-1",
           "FW_INFERENCE_WORKER_ID": "fuzz", "FW_INFERENCE_METADATA_REFRESH_MS": "1000",
           "FW_INFERENCE_FRESHNESS": "none"}
    worker = Service("inference", ["inference"], env, tmp_path / "inference.log").start()
    topics = kafka_settings.topics
    try:
        # When thousands of generated bad messages are published, then one good frame
        offsets = publish_bad(kafka_settings, messages)
        producer = make_producer(kafka_settings)
        producer.produce(topics.frames(STREAM), encode(frame(sequence=2)), STREAM.encode())
        assert producer.flush(10) == 0
        dlq = TopicReader(kafka_settings, [topics.dlq], DeadLetter)
        letters = dlq.read_until(lambda d: len(d) >= len(offsets), 120)
        dlq.close()
        results = TopicReader(kafka_settings, [topics.results(STREAM)], DetectionResult)
        after = results.read_until(lambda r: len(r) >= 1, 30)
        results.close()
        alive = worker.alive()
    finally:
        code = worker.stop()
    # Then every bad message is in the DLQ exactly once, with its coordinates and a reason
    assert len(offsets) == messages
    by_offset = Counter(d.original_offset for d in letters)
    assert sorted(by_offset) == sorted(offsets) and max(by_offset.values()) == 1
    known = {k.value for k in RejectKind}
    assert all(d.original_topic == topics.frames(STREAM) and d.error_kind in known
               and d.error_message for d in letters)
    kinds = Counter(d.error_kind for d in letters)
    assert set(kinds) >= {"decode_error", "unsupported_schema_version", "bad_envelope",
                          "stream_mismatch", "absurd_size", "corrupt_jpeg"}, kinds
    # And the worker never crashed: it served the good frame and stopped cleanly
    assert alive and [r.source_offset for r in after] == [max(offsets) + 1]
    assert code == 0, worker.log_text()[-2000:]
    assert "Traceback" not in worker.log_text()
