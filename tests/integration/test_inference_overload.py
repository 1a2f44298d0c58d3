"""Overload on the real broker: stale frames are skipped with drop records that add up, and
every stream gets the same share of the worker."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest
import skimage.data

from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.inference.freshness import STALE_DETAIL
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.v1.ops_pb2 import DropRecord
from framewire.v1.stream_pb2 import StreamSpec
from support.inference import (
    FramePublisher,
    WorkerThread,
    coverage,
    create_streams,
    frame_bytes,
    jpeg_of,
    read_until_covered,
)

pytestmark = pytest.mark.integration


def test_overload_drops_add_up_and_streams_get_equal_shares(kafka_settings: KafkaSettings) -> None:
    # Given three streams together fed faster than one worker can detect (90 fps each)
    streams = ["o0", "o1", "o2"]
    create_streams(kafka_settings, streams)
    rocket = np.ascontiguousarray(skimage.data.rocket()[:, :, ::-1])
    worker = WorkerThread(InferenceSettings(
        kafka=kafka_settings, worker_id="o", model="ssd-mobilenet-v2-oidv4", http_port=-1,
        freshness=FreshnessPolicy.LATEST, max_age_ms=500, poll_timeout_s=0.2,
    )).start()
    h, w = rocket.shape[:2]
    feed = FramePublisher(kafka_settings, streams, jpeg_of(rocket), width=w, height=h,
                          fps=90).start()
    # When it runs overloaded for a while
    time.sleep(6.0)
    sent = feed.stop()
    results, drops = read_until_covered(kafka_settings, sent, 30)
    worker.stop()
    # Then frames were skipped as stale, and results plus skipped ranges add up to what was sent
    assert drops and all(d.reason == DropRecord.REASON_STALE for d in drops)
    assert sum(d.count for d in drops) + len(results) == sum(sent.values())
    seen = coverage(results, drops)
    for stream, n in sent.items():
        assert sorted(seen[(kafka_settings.topics.frames(stream), 0)]) == list(range(n))
    # And each stream got a fair share: result counts within 10% of each other
    per_stream = Counter(r.stream_id for r in results)
    assert set(per_stream) == set(streams)
    low, high = min(per_stream.values()), max(per_stream.values())
    assert high <= 1.1 * low, f"unfair shares: {dict(per_stream)}"
    # And what was processed was fresh when chosen (max age plus one cycle's work)
    ages_ms = sorted((r.result_time_ns - r.capture_time_ns) / 1e6 for r in results)
    assert ages_ms[len(ages_ms) // 2] < 500


def test_a_stale_backlog_is_skipped_by_seeking_and_fresh_frames_are_served(
    kafka_settings: KafkaSettings,
) -> None:
    # Given a backlog of 400 frames (about 20 MB, more than one fetch) published a while ago
    create_streams(kafka_settings, ["old"])
    topics = kafka_settings.topics
    coffee = np.ascontiguousarray(skimage.data.coffee()[:, :, ::-1])
    jpeg = jpeg_of(coffee, quality=95)
    producer = make_producer(kafka_settings)
    for seq in range(400):
        producer.produce(topics.frames("old"), frame_bytes(jpeg, "old", seq, width=600, height=400))
        producer.poll(0)
    assert producer.flush(30) == 0
    time.sleep(1.0)
    # When a worker with policy latest starts, and fresh frames follow once it has joined
    worker = WorkerThread(InferenceSettings(
        kafka=kafka_settings, worker_id="late", model="ssd-mobilenet-v2-oidv4", http_port=-1,
        freshness=FreshnessPolicy.LATEST, max_age_ms=500, poll_timeout_s=0.2,
    )).start()
    registry = worker.handle.metrics.registry
    deadline = time.monotonic() + 15
    while not registry.get_sample_value("framewire_inference_assigned_partitions"):
        assert time.monotonic() < deadline, "worker was not assigned the partition"
        time.sleep(0.1)
    time.sleep(0.5)
    for seq in range(400, 403):
        producer.produce(topics.frames("old"), frame_bytes(jpeg, "old", seq, width=600, height=400))
        time.sleep(0.05)
    assert producer.flush(10) == 0
    results, drops = read_until_covered(kafka_settings, {"old": 403}, 30)
    worker.stop()
    # Then the stale backlog is skipped, part of it without reading it (a seek forward) ...
    assert any(d.detail == "seek forward" for d in drops)
    assert sorted(o for o in coverage([], drops)[(topics.frames("old"), 0)]) == sorted(
        set(range(403)) - {r.source_offset for r in results}
    )
    # ... and the fresh frames are detected, exactly once
    assert 402 in [r.source_offset for r in results]
    assert len(results) + sum(d.count for d in drops) == 403


def test_a_stream_spec_sets_that_streams_maximum_age(kafka_settings: KafkaSettings) -> None:
    # Given stream "patient" whose spec allows 5 s and stream "eager" on the 500 ms default
    create_streams(kafka_settings, ["patient", "eager"])
    topics = kafka_settings.topics
    producer = make_producer(kafka_settings)
    spec = StreamSpec(stream_id="patient", source_uri="file:///x.mp4", max_age_ms=5000)
    producer.produce(topics.streams, encode(spec), b"patient")
    # And on each, three frames captured two seconds ago
    jpeg = jpeg_of(np.ascontiguousarray(skimage.data.chelsea()[:, :, ::-1]))
    two_seconds_ago = time.time_ns() - 2_000_000_000
    for stream in ("patient", "eager"):
        for seq in range(3):
            value = frame_bytes(jpeg, stream, seq, width=451, height=300,
                                capture_time_ns=two_seconds_ago + seq)
            producer.produce(topics.frames(stream), value, stream.encode())
    assert producer.flush(10) == 0
    # When a worker with policy latest handles them
    worker = WorkerThread(InferenceSettings(
        kafka=kafka_settings, worker_id="ages", model="ssd-mobilenet-v2-oidv4", http_port=-1,
        freshness=FreshnessPolicy.LATEST, poll_timeout_s=0.2,
    ))
    worker.start()
    results, drops = read_until_covered(kafka_settings, {"patient": 3, "eager": 3}, 20)
    worker.stop()
    # Then the patient stream's frames are detected (a backlog short enough to catch up on),
    # the eager stream's frames are stale
    assert [(r.stream_id, r.source_offset) for r in results] == [
        ("patient", 0), ("patient", 1), ("patient", 2)]
    assert {(d.stream_id, d.detail) for d in drops} == {("eager", STALE_DETAIL)}
