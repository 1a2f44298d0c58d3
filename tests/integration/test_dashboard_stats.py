"""Aggregator windows and topic policy on the real broker: stats JSON in, API and SSE out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from framewire.core.admin import read_topic_configs
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_admin
from framewire.dashboard import metrics
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.aggregator import (
    AggregatorProcess,
    prepare_streams,
    produce,
    result_bytes,
    wait_for,
)
from support.dashboard import SseEvent, TrafficPublisher, sse_events

pytestmark = pytest.mark.integration

STREAM = "cam"


def start(kafka: KafkaSettings) -> DashboardServer:
    server = DashboardServer(DashboardSettings(kafka=kafka, port=0, topic_refresh_s=0.5,
                                               summary_interval_s=0.25))
    server.start()
    return server


def window(kind: str, start_ms: int, size_s: float, fps: float, p95: float,
           drops: dict[str, int]) -> dict[str, Any]:
    """A stats message in the documented format (docs/stats-format.md)."""
    frames = int(fps * size_s)
    return {
        "schema": "framewire.stats/1", "stream_id": STREAM,
        "window": {"kind": kind, "start_ms": start_ms, "end_ms": start_ms + int(size_s * 1000),
                   "size_s": size_s},
        "frames": frames, "fps": fps, "detections": {"person": 3 * frames, "car": frames // 10},
        "latency_ms": {"count": frames, "p50": p95 / 2, "p95": p95, "p99": p95 + 10,
                       "mean": p95 / 2, "max": p95 + 20},
        "drops": drops, "drops_total": sum(drops.values()),
        "emitted_ms": start_ms + int(size_s * 1000) + 2000,
    }


def publish_json(pub: TrafficPublisher, messages: list[Any]) -> None:
    for message in messages:
        pub.raw(pub.kafka.topics.stats, STREAM, json.dumps(message).encode())
    pub.flush()


def poll(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    wait_for(check, timeout_s, what)


def outcome(name: str) -> float:
    return metrics.WINDOW_STATS.labels(name)._value.get()


async def window_events(url: str, publish: Callable[[], None], kinds: set[str],
                        counts: Callable[[dict[str, Any]], bool] = lambda s: True) -> list[SseEvent]:
    """Connect to one stream's events, publish once subscribed, collect window_stats events
    until one of each of ``kinds`` for which ``counts(stats)`` holds arrived."""
    got: list[SseEvent] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client, \
            client.stream("GET", f"/api/streams/{STREAM}/events") as response:
        async for event in sse_events(response.aiter_text()):
            if event.kind == "hello":
                await asyncio.to_thread(publish)
            if event.kind == "window_stats":
                got.append(event)
                if {e.data["kind"] for e in got if counts(e.data["stats"])} >= kinds:
                    return got
    return got


def test_published_windows_are_kept_per_kind_and_served(kafka_settings: KafkaSettings) -> None:
    # Given a stream with a spec and a running dashboard
    pub = TrafficPublisher(kafka_settings)
    pub.create_topics(STREAM)
    pub.spec(STREAM)
    pub.flush()
    t0 = (int(time.time()) // 10) * 10_000 - 60_000
    tumbling = window("tumbling", t0 + 50_000, 10.0, 25.0, 80.3, {"stale": 5})
    hopping = window("hopping", t0, 60.0, 24.5, 91.0, {"stale": 9, "stride": 2})
    older = window("tumbling", t0 + 40_000, 10.0, 1.0, 500.0, {})
    broken = {**tumbling, "fps": "fast"}
    invalid_before = outcome("invalid")
    server = start(kafka_settings)
    try:
        # When the aggregator's windows of both kinds arrive (same key), then an older
        # republished tumbling window and a broken message
        events = asyncio.run(window_events(
            server.url, lambda: publish_json(pub, [hopping, tumbling, older, broken]),
            {"tumbling", "hopping"}))
        poll(lambda: outcome("invalid") > invalid_before, "the broken record to be counted")
        one = httpx.get(f"{server.url}api/streams/{STREAM}/stats", timeout=10).json()
        every = httpx.get(f"{server.url}api/stats", timeout=10).json()
        listed = httpx.get(f"{server.url}api/streams/{STREAM}", timeout=10).json()
    finally:
        server.stop()
    # Then the detail channel was told about each kind, and the API keeps the newest of each
    assert {e.data["kind"]: e.data["stats"]["fps"] for e in events} == {"tumbling": 25.0,
                                                                        "hopping": 24.5}
    assert one["tumbling"] == tumbling and one["hopping"] == hopping
    assert every["streams"][STREAM]["tumbling"]["latency_ms"]["p95"] == 80.3
    assert listed["windows"]["hopping"]["drops"] == {"stale": 9, "stride": 2}
    # When a new dashboard starts after the windows were published
    later = start(kafka_settings)
    try:
        url = f"{later.url}api/streams/{STREAM}/stats"
        poll(lambda: httpx.get(url, timeout=10).json()["hopping"] is not None, "backlog read")
        again = httpx.get(url, timeout=10).json()
    finally:
        later.stop()
    # Then it shows the same newest windows at once (read back from the stats topic)
    assert again["tumbling"] == tumbling and again["hopping"] == hopping


def test_windows_of_the_real_aggregator_reach_the_dashboard(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given 6 s of results captured a few seconds ago, a dashboard, and the aggregator
    prepare_streams(kafka_settings, [STREAM])
    topics = kafka_settings.topics
    now_ms = int(time.time() * 1000)
    t0 = now_ms - now_ms % 2000 - 10_000
    values = [result_bytes(STREAM, i, t0 + i * 80, 5 + (i * 37) % 100, ["person"] * (i % 3))
              for i in range(75)]
    invalid_before = outcome("invalid")
    server = start(kafka_settings)
    aggregator = AggregatorProcess(kafka_settings, tmp_path / "aggregator.log")
    try:
        aggregator.start()
        # When the results are published and the aggregator closes windows of both kinds
        events = asyncio.run(window_events(
            server.url, lambda: produce(kafka_settings,
                                        [(topics.results(STREAM), STREAM, v) for v in values]),
            {"tumbling", "hopping"}, lambda stats: stats["frames"] > 0))

        # Then what the dashboard serves becomes what the aggregator says it last published
        # (its web view leaves out the publication time)
        def same_as_aggregator() -> bool:
            mine = httpx.get(f"{server.url}api/streams/{STREAM}/stats", timeout=5).json()
            theirs = aggregator.get("/stats/").json()["streams"].get(STREAM, {})
            return all(mine[k] is not None and mine[k].pop("emitted_ms") > 0
                       and mine[k] == theirs.get(k) for k in ("tumbling", "hopping"))

        poll(same_as_aggregator, "dashboard windows equal to the aggregator's", 30)
    finally:
        aggregator.stop()
        server.stop()
    counted = [e.data["stats"] for e in events if e.data["stats"]["frames"] > 0]
    assert {s["window"]["kind"] for s in counted} == {"tumbling", "hopping"}
    assert all(s["detections"]["person"] > 0 and s["latency_ms"]["p95"] > 0 for s in counted)
    assert outcome("invalid") == invalid_before


def test_topics_the_dashboard_creates_follow_the_kafka_topic_policy(
    kafka_settings: KafkaSettings,
) -> None:
    # Given FW_KAFKA_* retention different from the defaults
    kafka = kafka_settings.model_copy(
        update={"frames_retention_ms": 120_000, "results_retention_ms": 7_200_000})
    server = start(kafka)
    try:
        # When a stream is created through the API
        response = httpx.post(f"{server.url}api/streams", timeout=20,
                              json={"stream_id": "door", "source_uri": "file:///door.mp4"})
        assert response.status_code == 201, response.text
    finally:
        server.stop()
    # Then its topics carry that retention
    topics = kafka.topics
    configs = read_topic_configs(make_admin(kafka), [topics.frames("door"), topics.results("door")])
    assert configs[topics.frames("door")]["retention.ms"] == "120000"
    assert configs[topics.results("door")]["retention.ms"] == "7200000"
