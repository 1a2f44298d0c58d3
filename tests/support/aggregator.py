"""Test and benchmark support: run ``framewire aggregator`` as a real process, feed it
DetectionResults and drop records, read what it publishes.

Used by the integration tests and by benchmarks; the process is the same command an
operator runs, configured through its ``FW_*`` environment.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer

from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics, stream_topics
from framewire.core.codec import DetectionResult, DropRecord, encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import consumer_config, make_admin, make_producer

# Small windows so a test sees several close within seconds.
FAST_WINDOWS = {
    "FW_AGGREGATOR_TUMBLING_S": "2",
    "FW_AGGREGATOR_HOPPING_S": "6",
    "FW_AGGREGATOR_HOPPING_STEP_S": "2",
    "FW_AGGREGATOR_GRACE_S": "0.5",
    "FW_AGGREGATOR_IDLE_S": "1.5",
    "FW_AGGREGATOR_TICK_S": "0.25",
    "FW_AGGREGATOR_DISCOVER_S": "1",
    "FW_AGGREGATOR_PARTITIONS": "2",
}


def feed(engine: Any, observations: Iterable[tuple[Any, float]]) -> tuple[list[Any], list[Any]]:
    """Each (observation, arrival_s) through an Aggregator engine, in order: everything it
    published and every rejection."""
    published: list[Any] = []
    rejected: list[Any] = []
    for obs, now in observations:
        outcome = engine.on_observation(obs, now)
        published += outcome.published
        rejected += [outcome.rejected] if outcome.rejected else []
    return published, rejected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def result_bytes(
    stream_id: str, sequence: int, capture_ms: int, latency_ms: float, labels: Iterable[str] = ()
) -> bytes:
    """A DetectionResult as inference publishes it."""
    capture_ns = capture_ms * 1_000_000
    result = DetectionResult(
        stream_id=stream_id,
        frame_sequence=sequence,
        capture_time_ns=capture_ns,
        result_time_ns=capture_ns + int(latency_ms * 1e6),
        model_id="test",
    )
    for label in labels:
        det = result.detections.add()
        det.label, det.score = label, 0.9
    return encode(result)


def drop_bytes(stream_id: str, time_ms: int, reason: str, count: int) -> bytes:
    """A DropRecord; ``reason`` is the enum name, e.g. ``REASON_STALE``."""
    record = DropRecord(
        stream_id=stream_id, time_ns=time_ms * 1_000_000, count=count,
        reason=DropRecord.Reason.Value(reason),  # type: ignore[arg-type]
    )
    return encode(record)


class AggregatorProcess:
    """``framewire aggregator`` in a subprocess, with its web view and metrics on free ports."""

    def __init__(self, kafka: KafkaSettings, log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.kafka, self.log_path = kafka, log_path
        self.web_port, self.metrics_port = free_port(), free_port()
        self.env = {
            **os.environ,
            **FAST_WINDOWS,
            "FW_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "FW_AGGREGATOR_WEB_HOST": "127.0.0.1",
            "FW_AGGREGATOR_WEB_PORT": str(self.web_port),
            "FW_AGGREGATOR_METRICS_PORT": str(self.metrics_port),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> AggregatorProcess:
        """Start and wait until tables are recovered and partitions assigned."""
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "framewire.cli", "aggregator"]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._ready, timeout_s, f"aggregator ready (log: {self.log_path})", self._alive)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.web_port}{path}", timeout=5)

    def metrics_text(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def _ready(self) -> bool:
        try:
            return self.get("/ready/").status_code == 200
        except httpx.HTTPError:
            return False

    def _alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"aggregator exited with {self.proc.returncode}:\n{tail}")


def prepare_streams(kafka: KafkaSettings, streams: Iterable[str]) -> None:
    """Shared topics and the per-stream topics of ``streams``."""
    policy = TopicPolicy()
    specs = fixed_topics(kafka.topics, policy)
    for stream in streams:
        specs += stream_topics(kafka.topics, stream, policy)
    ensure_topics(make_admin(kafka), specs)


def produce(kafka: KafkaSettings, records: Iterable[tuple[str, str, bytes]]) -> int:
    """Send (topic, key, value) records and wait until all are acknowledged."""
    producer, n = make_producer(kafka), 0
    for topic, key, value in records:
        producer.produce(topic, key=key.encode(), value=value)
        producer.poll(0)
        n += 1
    if producer.flush(30):
        raise RuntimeError("records not acknowledged within 30 s")
    return n


class JsonReader:
    """Reads a JSON topic (stats, alerts) from the beginning, accumulating messages."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        conf = consumer_config(kafka, f"reader-{time.time_ns()}", **{"auto.offset.reset": "earliest"})
        conf["enable.auto.commit"] = False
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic])
        self.messages: list[dict[str, Any]] = []

    def poll(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self.consumer.poll(0.2)
            value = None if msg is None or msg.error() else msg.value()
            if value is not None:
                self.messages.append(json.loads(value))
        return self.messages

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout_s: float) -> list[dict]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.poll(0.5)):
                return self.messages
        raise TimeoutError(f"condition not met in {timeout_s}s; got {len(self.messages)} messages")

    def close(self) -> None:
        self.consumer.close()


def wait_for(
    check: Callable[[], bool], timeout_s: float, what: str, alive: Callable[[], None] | None = None
) -> None:
    """Poll ``check`` every 0.2 s (never spinning) until true, else TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
