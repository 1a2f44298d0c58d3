"""Exactly-once on the real broker: rebalances between workers and a SIGKILLed worker lose
and duplicate nothing for read_committed readers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from confluent_kafka import Consumer, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.v1.detection_pb2 import DetectionResult
from support.inference import (
    FramePublisher,
    TopicReader,
    WorkerThread,
    coverage,
    create_streams,
    jpeg_of,
    read_until_covered,
)

pytestmark = pytest.mark.integration

MODEL = "ssd-mobilenet-v2-oidv4"


@pytest.fixture(scope="module")
def coffee_jpeg() -> bytes:
    return jpeg_of(np.ascontiguousarray(skimage.data.coffee()[:, :, ::-1]))


def assert_exactly_once(kafka: KafkaSettings, sent: dict[str, int], results, drops) -> None:
    """Every sent offset has exactly one committed result or drop record; nothing else."""
    seen = coverage(results, drops)
    topics = kafka.topics
    for stream, n in sent.items():
        offsets = Counter(seen.get((topics.frames(stream), 0), []))
        duplicates = sorted(o for o, c in offsets.items() if c > 1)
        missing = sorted(set(range(n)) - set(offsets))
        assert not duplicates, f"{stream}: offsets accounted twice: {duplicates[:20]}"
        assert not missing, f"{stream}: offsets lost: {missing[:20]}"
        assert set(offsets) == set(range(n))
    for d in drops:
        assert d.count == d.last_offset - d.first_offset + 1


def test_two_workers_share_partitions_and_rebalances_lose_nothing(
    kafka_settings: KafkaSettings, coffee_jpeg: bytes
) -> None:
    # Given four streams fed at 4 fps each (one worker keeps up even on a loaded machine: with
    # policy none a backlog is never skipped) and one worker processing every frame
    streams = [f"s{i}" for i in range(4)]
    create_streams(kafka_settings, streams)
    base = {"kafka": kafka_settings, "model": MODEL, "http_port": -1, "poll_timeout_s": 0.2,
            "metadata_refresh_ms": 1000, "session_timeout_ms": 6000,
            "freshness": FreshnessPolicy.NONE}
    feed = FramePublisher(kafka_settings, streams, coffee_jpeg, width=600, height=400,
                          fps=4).start()
    watch = TopicReader(kafka_settings, [kafka_settings.topics.results(s) for s in streams],
                        DetectionResult)

    def results_by(worker_id: str) -> Callable[[list[DetectionResult]], bool]:
        return lambda rs: any(r.worker_id == worker_id for r in rs)

    try:
        first = WorkerThread(InferenceSettings(**base, worker_id="a")).start()  # type: ignore[arg-type]
        assert results_by("a")(watch.read_until(results_by("a"), 60)), "worker a produced nothing"
        # When a second worker joins (partitions move) and, once it has results of its own,
        # the first one leaves
        second = WorkerThread(InferenceSettings(**base, worker_id="b")).start()  # type: ignore[arg-type]
        time.sleep(1.0)
        assert results_by("b")(watch.read_until(results_by("b"), 60)), "worker b produced nothing"
        first.stop()
        time.sleep(2.0)
        sent = feed.stop()
        results, drops = read_until_covered(kafka_settings, sent, 120)
        second.stop()
    finally:
        watch.close()
        if feed.running:
            feed.stop()
    # Then every frame has exactly one result (none is skipped under policy none), and both
    # workers did part of the work
    assert drops == []
    assert_exactly_once(kafka_settings, sent, results, drops)
    assert {r.worker_id for r in results} == {"a", "b"}


def _worker_process(kafka: KafkaSettings, worker_id: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FW_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "FW_INFERENCE_WORKER_ID": worker_id,
        "FW_INFERENCE_MODEL": MODEL,
        "FW_INFERENCE_HTTP_PORT": "-1",
        "FW_INFERENCE_SESSION_TIMEOUT_MS": "6000",
        "FW_INFERENCE_METADATA_REFRESH_MS": "1000",
        "FW_INFERENCE_POLL_TIMEOUT_S": "0.2",
    }
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "framewire.cli", "inference"], env=env,
            stdout=subprocess.DEVNULL, stderr=sink,
        )


def _freeze_inside_open_transaction(
    process: subprocess.Popen[bytes], kafka: KafkaSettings, topics: list[str]
) -> bool:
    """SIGSTOP the worker at random moments until it is frozen with a transaction open
    (results written past the last stable offset); True if that happened."""
    committed = Consumer(consumer_config(kafka, "lso-probe"))
    uncommitted = Consumer(consumer_config(kafka, "hw-probe", **{"isolation.level":
                                                                 "read_uncommitted"}))
    try:
        for _ in range(300):
            process.send_signal(signal.SIGSTOP)
            for topic in topics:
                tp = TopicPartition(topic, 0)
                stable = committed.get_watermark_offsets(tp, timeout=5)[1]
                if uncommitted.get_watermark_offsets(tp, timeout=5)[1] > stable:
                    return True
            process.send_signal(signal.SIGCONT)
            time.sleep(random.uniform(0.0, 0.02))
        return False
    finally:
        committed.close()
        uncommitted.close()


def test_sigkilled_worker_loses_and_duplicates_nothing(
    kafka_settings: KafkaSettings, coffee_jpeg: bytes, tmp_path: Path
) -> None:
    # Given two streams under steady load and a worker process committing results
    streams = ["k0", "k1"]
    create_streams(kafka_settings, streams)
    topics = kafka_settings.topics
    feed = FramePublisher(kafka_settings, streams, coffee_jpeg, width=600, height=400,
                          fps=30).start()
    victim = _worker_process(kafka_settings, "k", tmp_path / "victim.log")
    reader = TopicReader(kafka_settings, [topics.results(s) for s in streams], DetectionResult)
    successor = None
    try:
        assert len(reader.read_until(lambda r: len(r) >= 40, 25)) >= 40
        # When it is killed with SIGKILL inside an open transaction, and restarted under the
        # same worker id
        results_topics = [topics.results(s) for s in streams]
        assert _freeze_inside_open_transaction(victim, kafka_settings, results_topics)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        before = len(reader.settle(0.5))
        successor = _worker_process(kafka_settings, "k", tmp_path / "successor.log")
        # (and the successor, too, works under load for a while)
        assert len(reader.read_until(lambda r: len(r) >= before + 40, 30)) >= before + 40
        sent = feed.stop()
        results, drops = read_until_covered(kafka_settings, sent, 40)
    finally:
        reader.close()
        if feed.running:
            feed.stop()
        if victim.poll() is None:
            victim.kill()
        if successor is not None:
            successor.send_signal(signal.SIGTERM)
            successor.wait(30)
    # Then every frame offset has exactly one committed result or drop record
    assert_exactly_once(kafka_settings, sent, results, drops)
    # And the restarted worker stopped cleanly on SIGTERM
    assert successor.returncode == 0, (tmp_path / "successor.log").read_text()[-2000:]
    assert victim.returncode == -signal.SIGKILL
