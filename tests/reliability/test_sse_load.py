"""200 SSE clients on one stream, and one more that connects and never reads.

The stalled client's socket fills, then its own bounded queue; the dashboard drops its
oldest events (and cuts it off after the send timeout), and the 200 others receive every result in order, with
no gap and no delay from it. Extends the dashboard's 100-client and slow-client tests to
200 readers at once, measuring delivery latency from publication to each client.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time

import httpx
import pytest

from framewire.core.config import KafkaSettings
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.dashboard import Det, TrafficPublisher, sse_events

pytestmark = pytest.mark.reliability

STREAM = "cam"
READERS = 200
EVENTS = 100
SMALL = [Det("cat", 0.9, (0.1, 0.1, 0.5, 0.5))]
# About 7 kB per event: 1200 of them overflow every buffer between the server and a client
# that does not read (the kernel's send buffer alone may grow to 4 MB).
FLOOD = 1200
BULKY = [Det(f"label-{i}-" + "x" * 150, 0.5, (0.1, 0.1, 0.2, 0.2)) for i in range(40)]


def stall(url: str) -> socket.socket:
    """A client that subscribes and then never reads (tiny receive buffer)."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET /api/streams/{STREAM}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def dropped(metrics: str) -> float:
    """Events the dashboard discarded because a client's queue was full."""
    name = "framewire_dashboard_client_events_dropped_total"
    return sum(float(v) for v in re.findall(rf"^{name}{{[^}}]*}} ([0-9.e+]+)$", metrics, re.M))


async def read(client: httpx.AsyncClient, ready: asyncio.Event) -> list[tuple[int, float]]:
    """(sequence, seconds from publication to arrival) of each result received."""
    got: list[tuple[int, float]] = []
    async with client.stream("GET", f"/api/streams/{STREAM}/events") as response:
        async for event in sse_events(response.aiter_text()):
            if event.kind == "hello":
                ready.set()
            elif event.kind == "gap":
                raise AssertionError(f"a reader lost events: {event.data}")
            elif event.kind == "result" and event.data["sequence"] >= FLOOD:
                got.append((event.data["sequence"], time.time() - event.data["result_time_ns"] / 1e9))
                if len(got) >= EVENTS:
                    return got
    return got


def test_two_hundred_readers_are_unaffected_by_one_stalled_client(kafka_settings: KafkaSettings) -> None:
    # Given a dashboard with small per-client queues
    publisher = TrafficPublisher(kafka_settings)
    publisher.create_topics(STREAM)
    server = DashboardServer(DashboardSettings(kafka=kafka_settings, port=0, topic_refresh_s=0.5,
                                               client_queue_size=128, send_timeout_s=20.0))
    server.start()
    before = dropped(httpx.get(server.url + "metrics").text)

    async def scenario() -> list[list[tuple[int, float]]]:
        limits = httpx.Limits(max_connections=READERS + 10, max_keepalive_connections=READERS + 10)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
            stalled = stall(server.url)
            await asyncio.sleep(0.3)
            for first in range(0, FLOOD, 50):
                await asyncio.to_thread(publish, publisher, first, 50, BULKY)
            flooded = await wait_for_drops(server.url, before)
            readies = [asyncio.Event() for _ in range(READERS)]
            tasks = [asyncio.create_task(read(client, r)) for r in readies]
            await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
            # When results are published at a steady 25 per second
            for first in range(FLOOD, FLOOD + EVENTS, 10):
                await asyncio.to_thread(publish, publisher, first, 10, SMALL)
                await asyncio.sleep(0.4)
            try:
                return await asyncio.wait_for(asyncio.gather(*tasks), 60)
            finally:
                drops_at_join.append(flooded)
                stalled.close()

    drops_at_join: list[float] = []
    try:
        received = asyncio.run(scenario())
        after = dropped(httpx.get(server.url + "metrics").text)
    finally:
        server.stop()
    # Then each reader got every result, in order
    assert len(received) == READERS
    assert all([seq for seq, _ in got] == list(range(FLOOD, FLOOD + EVENTS)) for got in received)
    # And the stalled client, stuck before they joined, kept losing its own events meanwhile
    assert drops_at_join[0] > before and after > drops_at_join[0]
    delays = sorted(d for got in received for _, d in got)
    p50, p99 = delays[len(delays) // 2], delays[int(0.99 * len(delays))]
    print(f"RELIABILITY sse: readers={READERS} events={EVENTS} stalled=1 "
          f"delivery_p50_ms={p50 * 1000:.0f} delivery_p99_ms={p99 * 1000:.0f}")


def publish(publisher: TrafficPublisher, first: int, count: int, detections: list[Det]) -> None:
    for seq in range(first, first + count):
        publisher.result(STREAM, None, seq, detections)
    publisher.flush()


async def wait_for_drops(url: str, before: float) -> float:
    """Wait until the dashboard has dropped events of the stalled client; the count."""
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(100):
            now = dropped((await http.get(url + "metrics")).text)
            if now > before:
                return now
            await asyncio.sleep(0.1)
    raise AssertionError("the stalled client never overflowed its queue")
