"""SSE on the real broker: fan-out to 100 clients, a slow client, resume, heartbeats."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from framewire.core.config import KafkaSettings
from framewire.dashboard import feed as feed_module
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.dashboard import Ack, Det, SseEvent, TrafficPublisher, sse_events

pytestmark = pytest.mark.integration

STREAM = "cam"
CAT = [Det("cat", 0.9, (0.2, 0.2, 0.6, 0.8))]


def start(kafka: KafkaSettings, **extra: Any) -> DashboardServer:
    settings = DashboardSettings(kafka=kafka, port=0, topic_refresh_s=0.5,
                                 summary_interval_s=0.25, **extra)
    server = DashboardServer(settings)
    server.start()
    return server


@pytest.fixture
def publisher(kafka_settings: KafkaSettings) -> TrafficPublisher:
    pub = TrafficPublisher(kafka_settings)
    pub.create_topics(STREAM)
    return pub


@pytest.fixture
def server(kafka_settings: KafkaSettings, publisher: TrafficPublisher) -> Iterator[DashboardServer]:
    running = start(kafka_settings)
    yield running
    running.stop()


def publish_results(pub: TrafficPublisher, count: int, start_seq: int = 0,
                    detections: list[Det] = CAT) -> list[Ack]:
    acks = [pub.result(STREAM, None, start_seq + i, detections) for i in range(count)]
    pub.flush()
    return acks


def on_loop(server: DashboardServer, fn: Any) -> Any:
    """Run ``fn`` on the dashboard's event loop (its state belongs to that thread)."""
    loop = server.context.loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(_call(fn), loop).result(5)


async def _call(fn: Any) -> Any:
    return fn()


async def collect(client: httpx.AsyncClient, url: str, until: Any, *,
                  headers: dict[str, str] | None = None, ready: asyncio.Event | None = None,
                  stop_after: Any = None) -> list[SseEvent]:
    """Read events until ``until(events)`` holds (or ``stop_after(event)`` says disconnect)."""
    got: list[SseEvent] = []
    async with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200, await response.aread()
        async for event in sse_events(response.aiter_text()):
            got.append(event)
            if event.kind == "hello" and ready is not None:
                ready.set()
            if until(got) or (stop_after is not None and stop_after(event)):
                break
    return got


def results(events: list[SseEvent]) -> list[str]:
    return [e.event_id for e in events if e.kind == "result" and e.event_id]


def test_hundred_clients_receive_every_event_from_one_consumer(
    kafka_settings: KafkaSettings, publisher: TrafficPublisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a dashboard whose consumers are counted, and 100 connected clients
    made: list[str] = []
    real = feed_module.make_consumer
    monkeypatch.setattr(feed_module, "make_consumer",
                        lambda *a, **k: made.append("consumer") or real(*a, **k))
    server = start(kafka_settings)
    count = 40

    async def scenario() -> list[list[SseEvent]]:
        limits = httpx.Limits(max_connections=120, max_keepalive_connections=120)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
            readies = [asyncio.Event() for _ in range(100)]
            url = f"/api/streams/{STREAM}/events"
            tasks = [asyncio.create_task(collect(client, url, lambda g: len(results(g)) >= count,
                                                 ready=r)) for r in readies]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 20)
            assert on_loop(server, lambda: server.context.hub.client_count(STREAM)) == 100
            # When results are published
            await asyncio.to_thread(publish_results, publisher, count)
            return await asyncio.wait_for(asyncio.gather(*tasks), 30)

    try:
        received = asyncio.run(scenario())
    finally:
        server.stop()
    # Then every client got every result in order, and the process had a single consumer
    expected = [f"0:{i}" for i in range(count)]
    assert all(results(events) == expected for events in received)
    assert made == ["consumer"]


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_a_slow_client_loses_its_own_events_and_does_not_delay_others(
    kafka_settings: KafkaSettings, publisher: TrafficPublisher
) -> None:
    # Given small per-client queues, a client that never reads, and three that do
    server = start(kafka_settings, client_queue_size=64)
    drops_name = "framewire_dashboard_client_events_dropped_total"
    before = metric(httpx.get(server.url + "metrics").text, drops_name, '{endpoint="stream"}')
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect((host, int(port)))
    slow.sendall(f"GET /api/streams/{STREAM}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    # ~7 KB per event: enough to fill the slow client's socket buffers, then its queue.
    bulky = [Det(f"label-{i}-" + "x" * 150, 0.5, (0.1, 0.1, 0.2, 0.2)) for i in range(40)]
    count = 500

    async def scenario() -> list[list[SseEvent]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            readies = [asyncio.Event() for _ in range(3)]
            url = f"/api/streams/{STREAM}/events"
            tasks = [asyncio.create_task(collect(client, url, lambda g: len(results(g)) >= count,
                                                 ready=r)) for r in readies]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 20)
            await asyncio.sleep(0.2)  # the slow client is subscribed too
            # When many large results are published at a steady pace
            for first in range(0, count, 10):
                await asyncio.to_thread(publish_results, publisher, 10, first, bulky)
                await asyncio.sleep(0.05)
            return await asyncio.wait_for(asyncio.gather(*tasks), 30)

    try:
        received = asyncio.run(scenario())
        after = metric(httpx.get(server.url + "metrics").text, drops_name, '{endpoint="stream"}')
    finally:
        slow.close()
        server.stop()
    # Then the readers got all results without a gap, while the slow client lost events
    for events in received:
        assert results(events) == [f"0:{i}" for i in range(count)]
        assert not [e for e in events if e.kind == "gap"]
    assert after - before > 0


def test_resume_with_last_event_id_has_no_gap_and_no_duplicate(
    server: DashboardServer, publisher: TrafficPublisher
) -> None:
    # Given a client that read 10 results and disconnected after the 5th
    url = f"{server.url}api/streams/{STREAM}/events"

    async def first_session() -> list[SseEvent]:
        async with httpx.AsyncClient(timeout=30) as client:
            ready = asyncio.Event()
            task = asyncio.create_task(collect(client, url, lambda g: len(results(g)) >= 5,
                                               ready=ready))
            await asyncio.wait_for(ready.wait(), 10)
            await asyncio.to_thread(publish_results, publisher, 10)
            return await asyncio.wait_for(task, 15)

    seen = results(asyncio.run(first_session()))
    assert seen == [f"0:{i}" for i in range(5)]
    # ... and results keep coming while it is away and while it reconnects
    publish_results(publisher, 10, 10)
    stop = threading.Event()
    later: list[Ack] = []

    def keep_publishing() -> None:
        seq = 20
        while not stop.is_set() and seq < 80:
            later.append(publisher.result(STREAM, None, seq, CAT))
            publisher.flush()
            seq += 1
            time.sleep(0.005)

    writer = threading.Thread(target=keep_publishing)
    writer.start()

    # When it reconnects with Last-Event-ID of the last result it saw
    async def second_session() -> list[SseEvent]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.wait_for(
                collect(client, url, lambda g: "0:79" in results(g),
                        headers={"Last-Event-ID": seen[-1]}), 20)

    try:
        resumed = results(asyncio.run(second_session()))
    finally:
        stop.set()
        writer.join()
    # Then it gets exactly every later result, once, in order
    assert resumed == [f"0:{i}" for i in range(5, 80)]


def test_resume_across_a_dashboard_restart(
    kafka_settings: KafkaSettings, publisher: TrafficPublisher
) -> None:
    # Given a client that saw result 0:2, then the dashboard stopped, and 6 more were written
    publish_results(publisher, 3)
    publish_results(publisher, 6, 3)
    # When a fresh dashboard process starts and the client reconnects with Last-Event-ID 0:2
    server = start(kafka_settings)
    publish_results(publisher, 3, 9)

    async def reconnect() -> list[SseEvent]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.wait_for(collect(
                client, f"{server.url}api/streams/{STREAM}/events",
                lambda g: "0:11" in results(g), headers={"Last-Event-ID": "0:2"}), 20)

    try:
        resumed = results(asyncio.run(reconnect()))
    finally:
        server.stop()
    # Then it receives 0:3..0:11 (replayed from Kafka, then live), no gap, no duplicate
    assert resumed == [f"0:{i}" for i in range(3, 12)]


def test_summary_stream_snapshot_live_events_heartbeats_and_disconnect(
    kafka_settings: KafkaSettings, publisher: TrafficPublisher
) -> None:
    # Given a stream with a spec and a dashboard sending heartbeats every 0.2 s
    publisher.spec(STREAM, display_name="Front door")
    publisher.flush()
    server = start(kafka_settings, heartbeat_s=0.2)
    raw: list[str] = []

    async def scenario() -> list[SseEvent]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client, \
                client.stream("GET", "/api/events") as response:
            got: list[SseEvent] = []

            async def text() -> Any:
                async for chunk in response.aiter_text():
                    raw.append(chunk)
                    yield chunk

            async for event in sse_events(text()):
                got.append(event)
                if event.kind == "snapshot":
                    # When a result and a status arrive
                    await asyncio.to_thread(publish_results, publisher, 1)
                    publisher.status(STREAM, fps_in=15.0)
                    await asyncio.to_thread(publisher.flush)
                kinds = {e.kind for e in got}
                if {"result", "status", "summary"} <= kinds and any(": ping" in c for c in raw):
                    break
            return got

    try:
        events = asyncio.run(scenario())
        # Then after the client left, it is unsubscribed
        deadline = time.monotonic() + 5
        while on_loop(server, lambda: server.context.hub.client_count()) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        remaining = on_loop(server, lambda: server.context.hub.client_count())
    finally:
        server.stop()
    snapshot = events[0]
    assert snapshot.kind == "snapshot"
    assert snapshot.data["streams"][0]["spec"]["display_name"] == "Front door"
    result = next(e for e in events if e.kind == "result")
    assert result.event_id == f"{publisher.kafka.topics.results(STREAM)}:0:0"
    assert result.data["detections"][0]["label"] == "cat"
    assert next(e for e in events if e.kind == "status").data["fps_in"] == 15.0
    assert remaining == 0


def test_a_malformed_record_is_skipped_and_counted_not_fatal(
    server: DashboardServer, publisher: TrafficPublisher
) -> None:
    # Given a garbage record on the results topic followed by a valid result
    name = "framewire_dashboard_decode_errors_total"
    before = metric(httpx.get(server.url + "metrics").text, name, '{kind="results"}')

    async def scenario() -> list[SseEvent]:
        async with httpx.AsyncClient(timeout=30) as client:
            ready = asyncio.Event()
            task = asyncio.create_task(collect(
                client, f"{server.url}api/streams/{STREAM}/events",
                lambda g: len(results(g)) >= 1, ready=ready))
            await asyncio.wait_for(ready.wait(), 10)
            publisher.raw(publisher.kafka.topics.results(STREAM), STREAM, b"\xff\x00garbage")
            await asyncio.to_thread(publish_results, publisher, 1)
            return await asyncio.wait_for(task, 15)

    events = asyncio.run(scenario())
    # Then the valid one arrives (offset 1) and the bad one is counted
    assert results(events) == ["0:1"]
    after = metric(httpx.get(server.url + "metrics").text, name, '{kind="results"}')
    assert after - before == 1
