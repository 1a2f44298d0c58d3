"""Foundation on the real broker: topics, large frames, transactions, Kafka's own tools."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition

from framewire.core.admin import (
    TopicPolicy,
    await_topics,
    ensure_topics,
    fixed_topics,
    read_topic_configs,
    stream_topics,
)
from framewire.core.codec import Frame, decode, encode
from framewire.core.config import KafkaSettings
from framewire.core.errors import KafkaUnavailableError
from framewire.core.kafka import check_reachable, make_admin, make_consumer, make_producer

pytestmark = pytest.mark.integration


def _consume_all(consumer: Consumer, expect: int, timeout_s: float = 15.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout_s
    while len(got) < expect and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg)
    return got


def _reader(settings: KafkaSettings, topic: str) -> Consumer:
    consumer = make_consumer(settings, f"g-{uuid.uuid4().hex[:8]}", **{"auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    return consumer


def test_ensure_topics_is_idempotent_and_configs_read_back(kafka_settings):
    # Given the fixed topics and one stream's topics with a custom frames retention
    admin = make_admin(kafka_settings)
    policy = TopicPolicy(frames_retention_ms=120_000)
    specs = fixed_topics(kafka_settings.topics, policy) + stream_topics(
        kafka_settings.topics, "cam-1", policy
    )
    # When ensured twice
    first = ensure_topics(admin, specs)
    second = ensure_topics(admin, specs)
    # Then the first call created all of them, the second nothing, and configs are as asked
    assert sorted(first) == sorted(s.name for s in specs)
    assert second == []
    configs = read_topic_configs(admin, [s.name for s in specs])
    for spec in specs:
        for key, value in spec.config.items():
            assert configs[spec.name][key] == value, (spec.name, key)
    frames = configs[kafka_settings.topics.frames("cam-1")]
    assert frames["retention.ms"] == "120000"
    assert int(frames["max.message.bytes"]) >= 8 * 1024 * 1024
    assert configs[kafka_settings.topics.streams]["cleanup.policy"] == "compact"


def test_new_topics_are_awaited_until_they_have_leaders_and_a_missing_one_is_named(kafka_settings):
    # Given a stream's topics just created
    admin = make_admin(kafka_settings)
    specs = stream_topics(kafka_settings.topics, "cam-2", TopicPolicy())
    ensure_topics(admin, specs)
    # When they are awaited, then every partition has a leader in the broker's metadata
    await_topics(admin, [s.name for s in specs], timeout_s=30)
    metadata = admin.list_topics(timeout=10).topics
    assert all(p.leader >= 0 for s in specs for p in metadata[s.name].partitions.values())
    # And a topic that was never created is named when the wait gives up
    never = f"{kafka_settings.topic_prefix}never"
    with pytest.raises(KafkaUnavailableError, match=f"without a leader after 1s: {never}"):
        await_topics(admin, [specs[0].name, never], timeout_s=1)


def test_changed_retention_is_applied_to_an_existing_topic(kafka_settings):
    admin = make_admin(kafka_settings)
    topics = kafka_settings.topics
    ensure_topics(admin, stream_topics(topics, "cam", TopicPolicy()))
    ensure_topics(admin, stream_topics(topics, "cam", TopicPolicy(frames_retention_ms=60_000)))
    # The change travels through the KRaft metadata log: give the broker a moment to apply it.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if read_topic_configs(admin, [topics.frames("cam")])[topics.frames("cam")]["retention.ms"] == "60000":
            break
        time.sleep(0.2)
    assert read_topic_configs(admin, [topics.frames("cam")])[topics.frames("cam")]["retention.ms"] == "60000"


def test_two_mib_frame_round_trips(kafka_settings):
    # Given a frames topic and a Frame carrying 2 MiB of data
    topic = kafka_settings.topics.frames("big")
    ensure_topics(make_admin(kafka_settings), stream_topics(kafka_settings.topics, "big", TopicPolicy()))
    payload = os.urandom(2 * 1024 * 1024)
    frame = Frame(stream_id="big", sequence=1, data=payload, encoding=Frame.ENCODING_JPEG)
    # When produced and consumed
    producer = make_producer(kafka_settings)
    producer.produce(topic, key=b"big", value=encode(frame))
    assert producer.flush(15) == 0
    consumer = _reader(kafka_settings, topic)
    msgs = _consume_all(consumer, 1)
    consumer.close()
    # Then the bytes are intact
    assert len(msgs) == 1
    assert decode(Frame, msgs[0].value()).data == payload


def test_transaction_is_invisible_until_commit_and_gone_after_abort(kafka_settings):
    # Given a transactional producer and a read_committed reader
    topic = kafka_settings.topics.drops
    ensure_topics(make_admin(kafka_settings), fixed_topics(kafka_settings.topics, TopicPolicy()))
    producer = make_producer(kafka_settings, transactional_id=f"tx-{uuid.uuid4().hex[:8]}")
    producer.init_transactions(15)
    consumer = _reader(kafka_settings, topic)
    # When one transaction is aborted and another is open
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"aborted")
    producer.flush(10)
    producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce(topic, key=b"k", value=b"committed")
    producer.flush(10)
    # Then nothing is visible before commit
    assert _consume_all(consumer, 1, timeout_s=3) == []
    producer.commit_transaction(10)
    # And after commit only the committed record appears
    values = [m.value() for m in _consume_all(consumer, 1)]
    values += [m.value() for m in _consume_all(consumer, 1, timeout_s=2)]
    consumer.close()
    assert values == [b"committed"]


def _framewire(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framewire.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_kafka_console_tools_read_our_topic(kafka_settings, monkeypatch):
    # Given 5 frames on a stream topic
    topic = kafka_settings.topics.frames("tools")
    ensure_topics(make_admin(kafka_settings), stream_topics(kafka_settings.topics, "tools", TopicPolicy()))
    producer = make_producer(kafka_settings)
    for seq in range(5):
        producer.produce(topic, key=b"tools", value=encode(Frame(stream_id="tools", sequence=seq)))
    assert producer.flush(10) == 0
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", kafka_settings.bootstrap)
    # When Kafka's GetOffsetShell and console consumer run through our command
    offsets = _framewire("kafka", "tool", "get-offsets", "--topic", topic)
    consumed = _framewire(
        "kafka",
        "tool",
        "console-consumer",
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        "5",
        "--timeout-ms",
        "20000",
        "--formatter-property",
        "print.key=true",
        "--formatter-property",
        "print.offset=true",
    )
    # Then the end offset is 5 and the console consumer printed 5 records keyed by the stream
    assert offsets.returncode == 0, offsets.stderr
    assert f"{topic}:0:5" in offsets.stdout
    assert consumed.returncode == 0, consumed.stderr
    lines = [ln for ln in consumed.stdout.splitlines() if ln.startswith("Offset:")]
    assert len(lines) == 5
    assert all("tools" in ln for ln in lines)
    assert "Processed a total of 5 messages" in consumed.stderr


def test_console_consumer_output_passes_through_byte_for_byte(kafka_settings, monkeypatch):
    # Given a frame on a frames topic whose JPEG payload is not valid UTF-8
    import cv2
    import numpy as np

    ok, jpeg = cv2.imencode(".jpg", np.random.default_rng(7).integers(0, 255, (48, 64, 3), np.uint8))
    assert ok
    data = jpeg.tobytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    topic = kafka_settings.topics.frames("rawbytes")
    ensure_topics(make_admin(kafka_settings), stream_topics(kafka_settings.topics, "rawbytes", TopicPolicy()))
    value = encode(Frame(stream_id="rawbytes", sequence=1, encoding=Frame.ENCODING_JPEG, data=data))
    producer = make_producer(kafka_settings)
    producer.produce(topic, key=b"rawbytes", value=value)
    assert producer.flush(10) == 0
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", kafka_settings.bootstrap)
    # When the console consumer prints it with its default deserializer and formatter
    consumed = subprocess.run(
        [sys.executable, "-m", "framewire.cli", "kafka", "tool", "console-consumer", "--topic", topic,
         "--from-beginning", "--max-messages", "1", "--timeout-ms", "20000"],
        capture_output=True, timeout=120, check=False,
    )
    # Then the command succeeds and its stdout holds the record's value unchanged
    assert consumed.returncode == 0, consumed.stderr.decode(errors="replace")
    assert consumed.stdout == value + b"\n"
    assert b"Processed a total of 1 messages" in consumed.stderr


def test_unreachable_broker_fails_fast_naming_the_address():
    # Given a bootstrap address where nothing listens
    settings = KafkaSettings(bootstrap="127.0.0.1:1", connect_timeout_s=3)
    # When checked
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError) as info:
        check_reachable(settings)
    # Then the error names the address, within seconds
    assert "127.0.0.1:1" in str(info.value)
    assert time.monotonic() - started < 10


def test_unknown_tool_is_a_clear_error():
    result = _framewire("kafka", "tool", "no-such-tool")
    assert result.returncode == 2
    assert "unknown Kafka tool 'no-such-tool'" in result.stderr
