"""The tracker's tracks and zone events through the dashboard on the real broker: written in
Kafka transactions as the tracking stage writes them, read committed, streamed over SSE with
trails, kept as recent events and counters per zone or line."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from framewire.core.config import KafkaSettings
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.dashboard import Obj, SseEvent, TrackerTraffic, TrafficPublisher, sse_events

pytestmark = pytest.mark.integration

DOOR = {"id": "door", "polygon": [[0.1, 0.5], [0.4, 0.5], [0.4, 0.95], [0.1, 0.95]], "dwell_s": 1}
GATE = {"id": "gate", "a": [0.5, 0.0], "b": [0.5, 1.0], "direction": "both"}
# One walker going right: box x from 0.2 + 0.1 * step, bottom at 0.8.
STEPS = 3


def walker(step: int) -> Obj:
    x = 0.2 + 0.1 * step
    return Obj(7, "person", (x, 0.5, x + 0.1, 0.8))


@pytest.fixture
def stream(kafka_settings: KafkaSettings) -> str:
    name = f"hall-{uuid.uuid4().hex[:6]}"
    TrafficPublisher(kafka_settings).create_topics(name)
    return name


@pytest.fixture
def server(kafka_settings: KafkaSettings, stream: str) -> Iterator[DashboardServer]:
    running = DashboardServer(DashboardSettings(kafka=kafka_settings, port=0, topic_refresh_s=0.5,
                                                summary_interval_s=0.25))
    running.start()
    with httpx.Client(base_url=running.url, timeout=20) as c:
        assert c.post("/api/streams", json={"stream_id": stream, "source_uri": "rtsp://cam/a"}
                      ).status_code == 201
        assert c.put(f"/api/streams/{stream}/zones", json={"zones": [DOOR], "lines": [GATE]}
                     ).status_code == 200
    yield running
    running.stop()


def rounded(points: list[list[float]]) -> list[list[float]]:
    return [[round(v, 4) for v in p] for p in points]


def publish_walk(kafka: KafkaSettings, stream: str) -> None:
    """Three frames of one track; its events, plus one event in an aborted transaction."""
    tracker = TrackerTraffic(kafka)
    ev = TrackerTraffic.event
    events = [[ev(stream, "enter", 7, "door", 0)],
              [ev(stream, "dwell", 7, "door", 1)],
              [ev(stream, "leave", 7, "door", 2), ev(stream, "cross", 7, "gate", 2, "left_to_right")]]
    tracker.frame(stream, 0, 10, [walker(0)], events[0])
    tracker.frame(stream, 99, 99, [Obj(99, "ghost", (0.0, 0.0, 0.1, 0.1))],
                  [ev(stream, "enter", 99, "door", 99)], commit=False)
    for step in range(1, STEPS):
        tracker.frame(stream, step, 10 + step, [walker(step)], events[step])
    tracker.close()


async def read_stream(url: str, stream: str, kafka: KafkaSettings) -> list[SseEvent]:
    """Connect to the stream's SSE, publish once subscribed, read until every event came."""
    got: list[SseEvent] = []
    publishing = None
    async with httpx.AsyncClient(base_url=url, timeout=30) as client, \
            client.stream("GET", f"/api/streams/{stream}/events") as response:
        assert response.status_code == 200
        async for event in sse_events(response.aiter_text()):
            got.append(event)
            if event.kind == "hello":
                publishing = asyncio.create_task(asyncio.to_thread(publish_walk, kafka, stream))
            kinds = [e.kind for e in got]
            if kinds.count("tracks") >= STEPS and kinds.count("zone_event") >= 4:
                break
    assert publishing is not None
    await publishing
    return got


def test_committed_tracks_and_zone_events_reach_the_stream_events_and_the_api(
    server: DashboardServer, stream: str, kafka_settings: KafkaSettings,
) -> None:
    # Given a stream with a zone and a line, and a client following its events
    # When the tracker commits three frames of one walking person with their zone events, and
    # aborts a transaction holding another track and event
    got = asyncio.run(asyncio.wait_for(read_stream(server.url, stream, kafka_settings), 60))
    # Then the client gets each frame's tracks, in order, with the trail of bottom-centres
    tracks = [e for e in got if e.kind == "tracks"]
    assert [t.data["sequence"] for t in tracks] == [0, 1, 2]
    assert all(t.event_id is None for t in tracks)  # the SSE id stays the results' position
    last = tracks[-1].data
    assert last["frame"] == "0:12" and [t["id"] for t in last["tracks"]] == [7]
    assert rounded(last["tracks"][0]["trail"]) == [[0.25, 0.8], [0.35, 0.8], [0.45, 0.8]]
    # ... and the committed zone events with their zone's or line's counters, nothing aborted
    zone_events = [e.data for e in got if e.kind == "zone_event"]
    assert [(z["event"]["kind"], z["event"]["zone_or_line"]) for z in zone_events] == [
        ("enter", "door"), ("dwell", "door"), ("leave", "door"), ("cross", "gate")]
    assert zone_events[-1]["counters"]["gate"]["left_to_right"] == 1
    assert zone_events[2]["counters"]["door"] == {"enter": 1, "leave": 1, "dwell": 1,
                                                  "left_to_right": 0, "right_to_left": 0}
    # ... and the API answers the same: events newest first, counters per zone and line
    with httpx.Client(base_url=server.url, timeout=20) as c:
        tracking = c.get(f"/api/streams/{stream}/tracking").json()
        summary = c.get(f"/api/streams/{stream}/status").json()
    assert [e["kind"] for e in tracking["events"]] == ["cross", "leave", "dwell", "enter"]
    assert tracking["events"][0]["direction"] == "left_to_right"
    assert tracking["counters"]["door"]["enter"] == 1 and tracking["counters"]["gate"]["left_to_right"] == 1
    assert all(e["track_id"] == 7 for e in tracking["events"])
    assert tracking["tracks"]["sequence"] == 2
    assert summary["tracking"]["counters"] == tracking["counters"]
    assert [z["id"] for z in summary["geometry"]["zones"]] == ["door"]


def test_a_new_client_starts_from_the_kept_tracks_events_and_counters(
    server: DashboardServer, stream: str, kafka_settings: KafkaSettings,
) -> None:
    # Given the tracker committed a walk before anyone watched
    publish_walk(kafka_settings, stream)
    with httpx.Client(base_url=server.url, timeout=20) as c:
        for _ in range(100):
            if len(c.get(f"/api/streams/{stream}/tracking").json()["events"]) >= 4:
                break
            time.sleep(0.1)

    # When a client connects to the stream's events and to the summary
    async def first(path: str) -> SseEvent:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client, \
                client.stream("GET", path) as response:
            async for event in sse_events(response.aiter_text()):
                return event
        raise AssertionError(f"no event from {path}")

    hello = asyncio.run(first(f"/api/streams/{stream}/events"))
    snapshot = asyncio.run(first("/api/events"))
    # Then its hello holds the last tracks, the events (newest first) and the counters
    assert hello.kind == "hello"
    tracking = hello.data["tracking"]
    assert [e["zone_or_line"] for e in tracking["events"]] == ["gate", "door", "door", "door"]
    assert tracking["counters"]["door"]["dwell"] == 1
    assert rounded(tracking["tracks"]["tracks"][0]["trail"])[-1] == [0.45, 0.8]
    # ... and the grid's snapshot has the stream's last tracks and its zones
    assert snapshot.kind == "snapshot"
    assert snapshot.data["tracks"][stream]["sequence"] == 2
    info = next(s for s in snapshot.data["streams"] if s["stream_id"] == stream)
    assert info["geometry"]["lines"][0]["id"] == "gate"
