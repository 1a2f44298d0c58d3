"""framewire replay and compare on the real broker when a frame is in its topic twice (a
gateway's resend across a broker failure): the copy is replayed and compared once, and
counted."""

from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition

from framewire.core.admin import TopicSpec, ensure_topics
from framewire.core.config import KafkaSettings
from framewire.core.history import history_consumer, read_ranges
from framewire.core.kafka import make_admin, make_producer
from framewire.replay.compare import load_results
from framewire.replay.run import ReplayRequest, run_replay
from framewire.replay.settings import ReplaySettings
from framewire.v1.detection_pb2 import DetectionResult
from support.inference import TinyDetector, TopicReader
from support.replay import photo_jpegs, record

pytestmark = pytest.mark.integration

W, H = 160, 120


def copy_frame(kafka: KafkaSettings, topic: str, offset: int) -> None:
    """Write the record at ``offset`` again, as a producer resend does: same bytes and time."""
    consumer = history_consumer(kafka)
    try:
        (msg,) = list(read_ranges(consumer, topic, {0: (offset, offset + 1)}, 10.0))
    finally:
        consumer.close()
    producer = make_producer(kafka)
    producer.produce(topic, msg.value(), msg.key(), timestamp=msg.timestamp()[1])
    assert producer.flush(10) == 0


def test_a_frame_copy_is_replayed_once_and_counted(kafka_settings: KafkaSettings) -> None:
    # Given 6 recorded frames and a copy of frame 2 written after them (offset 6)
    recording = record(kafka_settings, "cam", photo_jpegs(6, W, H), width=W, height=H)
    frames_topic = kafka_settings.topics.frames("cam")
    copy_frame(kafka_settings, frames_topic, 2)
    consumer = history_consumer(kafka_settings)
    assert consumer.get_watermark_offsets(TopicPartition(frames_topic, 0), timeout=10)[1] == 7
    consumer.close()
    # When the whole recording is replayed
    settings = ReplaySettings(kafka=kafka_settings)
    summary = run_replay(settings, ReplayRequest("cam", recording.window()), detector=TinyDetector())
    # Then 7 records were in range, 6 results written, and the copy counted
    assert (summary.frames, summary.results, summary.copies) == (7, 6, 1)
    reader = TopicReader(kafka_settings, [summary.output], DetectionResult)
    reader.read_until(lambda r: len(r) >= 6, 30)
    results = reader.settle(0.5)
    reader.close()
    assert sorted(r.source_offset for r in results) == [0, 1, 2, 3, 4, 5]
    # And compare, reading a result topic that also holds a result of the copy (as a worker
    # that did not recognise copies wrote), counts that frame once and reports the copy
    live = f"{kafka_settings.topics.results('cam')}.with-copy"
    ensure_topics(make_admin(kafka_settings), [TopicSpec(live)])
    producer = make_producer(kafka_settings)
    of_copy = DetectionResult()
    of_copy.CopyFrom(next(r for r in results if r.source_offset == 2))
    of_copy.source_offset = 6
    for r in [*results, of_copy]:
        producer.produce(live, r.SerializeToString(), b"cam")
    assert producer.flush(10) == 0
    loaded = load_results(kafka_settings, live)
    assert (loaded.copies, len(loaded.frames)) == (1, 6)
