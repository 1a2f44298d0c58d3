"""Frames on demand against the real broker: the dashboard reads a stream's frames only
while a client watches it; results flow for every stream all the time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from framewire.core.config import KafkaSettings
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.dashboard import Det, TrafficPublisher, sse_events

pytestmark = pytest.mark.integration

WATCHED, OTHER = "porch", "yard"
LINGER_S = 1.0


def frames_read() -> float:
    return REGISTRY.get_sample_value("framewire_dashboard_records_total", {"kind": "frames"}) or 0.0


def results_read() -> float:
    return REGISTRY.get_sample_value("framewire_dashboard_records_total", {"kind": "results"}) or 0.0


def frames_partitions() -> float:
    return REGISTRY.get_sample_value("framewire_dashboard_frames_partitions") or 0.0


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds it took for ``check`` to hold."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def grows(read: Callable[[], float], over_s: float = 1.5) -> bool:
    before = read()
    time.sleep(over_s)
    return read() > before


@pytest.fixture
def traffic(kafka_settings: KafkaSettings) -> Iterator[None]:
    """Two streams publishing a frame and its result every 50 ms until the test ends."""
    pub = TrafficPublisher(kafka_settings)
    pub.create_topics(WATCHED, OTHER)
    stop = threading.Event()

    def run() -> None:
        seq = 0
        while not stop.wait(0.05):
            for stream in (WATCHED, OTHER):
                frame = pub.frame(stream, seq)
                pub.flush()
                pub.result(stream, frame, seq, [Det("cat", 0.9, (0.1, 0.1, 0.5, 0.5))])
            seq += 1
        pub.flush()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.fixture
def dashboard(kafka_settings: KafkaSettings, traffic: None) -> Iterator[DashboardServer]:
    server = DashboardServer(DashboardSettings(
        kafka=kafka_settings, port=0, topic_refresh_s=0.5, summary_interval_s=0.25,
        frames_linger_s=LINGER_S))
    server.start()
    yield server
    server.stop()


async def watch(url: str, stream: str, stop: threading.Event, got: list[str]) -> None:
    """Follow ``stream``'s events like the page's detail view, until ``stop`` is set."""
    async with (httpx.AsyncClient(base_url=url, timeout=30) as client,
                client.stream("GET", f"/api/streams/{stream}/events") as response):
        assert response.status_code == 200
        async for event in sse_events(response.aiter_text()):
            got.append(event.kind)
            if stop.is_set():
                return


def test_frames_are_read_only_while_a_client_watches_their_stream(dashboard: DashboardServer) -> None:
    # Given a dashboard reading two busy streams and nobody watching
    wait_until(lambda: grows(results_read, 0.5), 20, "results being read")
    # Then results keep flowing but no frame is read
    assert frames_partitions() == 0
    assert not grows(frames_read)
    # When a client starts following one stream's events
    stop, got = threading.Event(), []
    client = threading.Thread(target=lambda: asyncio.run(watch(dashboard.url, WATCHED, stop, got)))
    client.start()
    try:
        # Then that stream's frames flow within a short time, and only that stream's
        took = wait_until(lambda: frames_partitions() == 1 and grows(frames_read, 0.3), 10,
                          "frames of the watched stream")
        assert took < 5
        with httpx.Client(base_url=dashboard.url, timeout=10) as http:
            latest = http.get(f"/api/streams/{WATCHED}/frames/latest")
            assert latest.status_code == 200 and latest.headers["content-type"] == "image/jpeg"
        assert "result" in got
    finally:
        stop.set()
        client.join(15)
    # When it leaves / Then once the linger has passed no frame is read any more
    wait_until(lambda: frames_partitions() == 0, LINGER_S + 5, "frames unassigned")
    assert not grows(frames_read)
    assert grows(results_read)


def test_a_frame_request_alone_starts_reading_that_stream(dashboard: DashboardServer) -> None:
    # Given nobody watching
    wait_until(lambda: grows(results_read, 0.5), 20, "results being read")
    assert frames_partitions() == 0
    # When one request asks for the newest frame of a stream nobody watched
    with httpx.Client(base_url=dashboard.url, timeout=10) as http:
        latest = http.get(f"/api/streams/{OTHER}/frames/latest")
    # Then it gets one (the request waited for the first frame), and reading stops afterwards
    assert latest.status_code == 200 and latest.content[:2] == b"\xff\xd8"
    assert frames_partitions() == 1
    wait_until(lambda: frames_partitions() == 0, LINGER_S + 5, "frames unassigned")
