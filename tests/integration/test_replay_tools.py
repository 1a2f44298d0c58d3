"""tail and compare on the real broker, and Kafka's console consumer piped into tail."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from framewire.core.admin import TopicPolicy, TopicSpec, ensure_topics, stream_topics
from framewire.core.codec import DetectionResult, Frame, encode
from framewire.core.kafka import make_admin, make_producer
from framewire.v1.detection_pb2 import Box

pytestmark = pytest.mark.integration


def _cli(settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FW_KAFKA_BOOTSTRAP": settings.bootstrap,
        "FW_KAFKA_TOPIC_PREFIX": settings.topic_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "framewire.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _result(topic: str, offset: int, boxes: list[tuple[str, float]]) -> bytes:
    r = DetectionResult(
        stream_id="cam",
        frame_sequence=offset,
        source_topic=topic,
        source_partition=0,
        source_offset=offset,
        model_id="m",
    )
    for label, x in boxes:
        r.detections.add(label=label, score=0.9, box=Box(xmin=x, ymin=0.1, xmax=x + 0.2, ymax=0.5))
    return encode(r)


def _seed(settings, results_a: list[bytes], topic_b: str, results_b: list[bytes]) -> str:
    ensure_topics(make_admin(settings), stream_topics(settings.topics, "cam", TopicPolicy()))
    ensure_topics(make_admin(settings), [TopicSpec(topic_b)])
    producer = make_producer(settings)
    for value in results_a:
        producer.produce(settings.topics.results("cam"), key=b"cam", value=value)
    for value in results_b:
        producer.produce(topic_b, key=b"cam", value=value)
    assert producer.flush(10) == 0
    return settings.topics.results("cam")


def test_compare_reports_agreement_on_a_constructed_case(kafka_settings):
    # Given live results (A) and a replay with another model (B) for the same 3 frames:
    # B agrees on 2 of 3 persons and adds one Dog
    frames = kafka_settings.topics.frames("cam")
    a = [_result(frames, i, [("Person", 0.1)]) for i in range(3)]
    b = [
        _result(frames, 0, [("Person", 0.1)]),
        _result(frames, 1, [("Person", 0.12), ("Dog", 0.6)]),
        _result(frames, 2, [("Person", 0.7)]),
    ]
    topic_b = kafka_settings.topics.results("cam") + ".other-2"
    topic_a = _seed(kafka_settings, a, topic_b, b)
    # When compared
    out = _cli(kafka_settings, "compare", topic_a, topic_b)
    # Then the table shows 3 frames, Person 2/3 matched, Dog unmatched, total precision 50%
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines() if line.strip()}
    assert "frames compared: 3" in out.stdout
    assert rows["Person"][1:4] == ["3", "3", "2"]
    assert rows["Dog"][1:4] == ["0", "1", "0"]
    assert rows["TOTAL"][4:6] == ["50.0%", "66.7%"]


def test_tail_decodes_results_and_hides_frame_bytes(kafka_settings):
    # Given a frame and a result on their topics
    topics = kafka_settings.topics
    ensure_topics(make_admin(kafka_settings), stream_topics(topics, "cam", TopicPolicy()))
    producer = make_producer(kafka_settings)
    producer.produce(
        topics.frames("cam"),
        key=b"cam",
        value=encode(Frame(stream_id="cam", sequence=7, data=b"\xff\xd8" * 100)),
    )
    producer.produce(
        topics.results("cam"), key=b"cam", value=_result(topics.frames("cam"), 0, [("Cat", 0.2)])
    )
    assert producer.flush(10) == 0
    # When tailed
    frames = _cli(kafka_settings, "tail", topics.frames("cam"))
    results = _cli(kafka_settings, "tail", topics.results("cam"))
    # Then each is one JSON line, without the JPEG bytes unless asked
    frame = json.loads(frames.stdout.splitlines()[0])
    assert frame["value"]["sequence"] == "7" and frame["value"]["data_bytes"] == 200
    assert "data" not in frame["value"] and frame["key"] == "cam"
    with_data = json.loads(_cli(kafka_settings, "tail", topics.frames("cam"), "--with-data").stdout)
    assert base64.b64decode(with_data["value"]["data"]) == b"\xff\xd8" * 100
    result = json.loads(results.stdout.splitlines()[0])
    assert result["value"]["detections"][0]["label"] == "Cat"


def test_console_consumer_output_decodes_through_tail(kafka_settings):
    # Given results on a topic, printed by Kafka's own console consumer with escaped bytes
    topics = kafka_settings.topics
    ensure_topics(make_admin(kafka_settings), stream_topics(topics, "cam", TopicPolicy()))
    producer = make_producer(kafka_settings)
    for i in range(3):
        producer.produce(
            topics.results("cam"), key=b"cam", value=_result(topics.frames("cam"), i, [("Car", 0.3)])
        )
    assert producer.flush(10) == 0
    printed = _cli(
        kafka_settings,
        "kafka",
        "tool",
        "console-consumer",
        "--topic",
        topics.results("cam"),
        "--from-beginning",
        "--max-messages",
        "3",
        "--timeout-ms",
        "20000",
        "--formatter-property",
        "print.key=true",
        "--formatter-property",
        "print.offset=true",
        "--formatter-property",
        "value.deserializer=org.apache.kafka.common.serialization.BytesDeserializer",
    )
    assert printed.returncode == 0, printed.stderr
    # When piped into framewire tail --stdin
    decoded = _cli(kafka_settings, "tail", topics.results("cam"), "--stdin", stdin=printed.stdout)
    # Then the three results come back with their offsets and labels
    lines = [json.loads(x) for x in decoded.stdout.splitlines()]
    assert [x["offset"] for x in lines] == ["0", "1", "2"]
    assert [x["value"]["source_offset"] for x in lines] == ["0", "1", "2"]
    assert all(x["value"]["detections"][0]["label"] == "Car" for x in lines)
