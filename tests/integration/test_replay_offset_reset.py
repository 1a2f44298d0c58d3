"""The offset-reset recipe: Kafka's own consumer-groups tool rewinds the inference group to
a time and the live service produces that period's results again, exactly once.

Exactly once here means, for read_committed readers of the results topic: the first run
holds one result for every frame offset 0..N-1; the run after the reset to the time of
frame K appends one result for every offset K..N-1 (a new committed record each, equal to
the first run's but for its provenance) and nothing else; no drop or dead letter appears;
the group's committed offset ends at N again.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from confluent_kafka import Consumer, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.replay.window import format_time
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.ops_pb2 import DeadLetter, DropRecord
from support.inference import TinyDetector, TopicReader, WorkerThread
from support.replay import photo_jpegs, record

pytestmark = pytest.mark.integration

FRAMES, RESET_TO = 20, 12


def kafka_tool(kafka: KafkaSettings, *args: str) -> str:
    """``framewire kafka tool ...``; Kafka's tools print errors but may still exit 0, so the
    output (stdout and stderr) is what tells."""
    env = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka.bootstrap}
    proc = subprocess.run([sys.executable, "-m", "framewire.cli", "kafka", "tool", *args],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    return proc.stdout + proc.stderr


def committed(kafka: KafkaSettings, group: str, topic: str) -> int:
    consumer = Consumer(consumer_config(kafka, group))
    try:
        return int(consumer.committed([TopicPartition(topic, 0)], timeout=10)[0].offset)
    finally:
        consumer.close()


def without_provenance(r: DetectionResult) -> bytes:
    copy = DetectionResult()
    copy.CopyFrom(r)
    for name in ("worker_id", "result_time_ns", "timings"):
        copy.ClearField(name)
    return copy.SerializeToString(deterministic=True)


def test_reset_to_datetime_reproduces_the_period_exactly_once(kafka_settings: KafkaSettings) -> None:
    # Given 20 recorded frames and the inference service's committed results for all of them
    recording = record(kafka_settings, "cam", photo_jpegs(FRAMES, 160, 120), width=160, height=120)
    topics = kafka_settings.topics
    settings = InferenceSettings(
        kafka=kafka_settings, worker_id="w1", http_port=-1, freshness=FreshnessPolicy.NONE,
        metadata_refresh_ms=1000, session_timeout_ms=6000, poll_timeout_s=0.2,
    )
    group, frames_topic = settings.group, topics.frames("cam")
    results = TopicReader(kafka_settings, [topics.results("cam")], DetectionResult)
    worker = WorkerThread(settings, TinyDetector()).start()
    results.read_until(lambda r: len(r) >= FRAMES, 30)
    reset = ["consumer-groups", "--group", group, "--topic", frames_topic, "--reset-offsets",
             "--to-datetime", format_time(recording.timestamp(RESET_TO))]
    # When the group is reset while the worker runs, Kafka refuses: the group is not empty
    refused = kafka_tool(kafka_settings, *reset, "--execute")
    assert "inactive" in refused, refused
    # When the worker is stopped, the group reset to frame 12's time and the worker restarted
    worker.stop()
    first_run = list(results.settle(0.5))
    done = kafka_tool(kafka_settings, *reset, "--execute")
    assert committed(kafka_settings, group, frames_topic) == RESET_TO, done
    worker = WorkerThread(settings, TinyDetector()).start()
    results.read_until(lambda r: len(r) >= FRAMES + FRAMES - RESET_TO, 30)
    second_run = results.settle(1.0)[len(first_run):]
    worker.stop()
    # Then the first run holds every offset once, the second every offset from 12 once
    assert sorted(r.source_offset for r in first_run) == list(range(FRAMES))
    assert sorted(r.source_offset for r in second_run) == list(range(RESET_TO, FRAMES))
    # And the re-produced results equal the first ones; nothing was dropped or dead-lettered
    first = {r.source_offset: without_provenance(r) for r in first_run}
    assert all(without_provenance(r) == first[r.source_offset] for r in second_run)
    for topic, cls in ((topics.drops, DropRecord), (topics.dlq, DeadLetter)):
        reader = TopicReader(kafka_settings, [topic], cls)
        assert reader.settle(0.3) == [], topic
        reader.close()
    results.close()
    assert committed(kafka_settings, group, frames_topic) == FRAMES
