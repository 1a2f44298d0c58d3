"""Pipeline API against the real broker: stream CRUD writes StreamSpec to the streams topic."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_admin, make_consumer
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus
from support.dashboard import Det, TrafficPublisher

pytestmark = pytest.mark.integration

TOKEN = "integration-token-0123456789"
SECRET_URI = "rtsp://viewer:hunter2pw@cam.local:554/live"


def start(kafka: KafkaSettings, **extra: object) -> DashboardServer:
    server = DashboardServer(
        DashboardSettings(kafka=kafka, port=0, topic_refresh_s=0.5, summary_interval_s=0.25,
                          **extra)
    )
    server.start()
    return server


@pytest.fixture
def dashboard(kafka_settings: KafkaSettings) -> Iterator[httpx.Client]:
    server = start(kafka_settings)
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client
    server.stop()


def spec_records(kafka: KafkaSettings) -> list[tuple[str, StreamSpec | None]]:
    """Everything on the streams topic, as (key, spec or None for a tombstone)."""
    consumer = make_consumer(kafka, f"check-{uuid.uuid4().hex[:8]}")
    topic = kafka.topics.streams
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), 10)
        consumer.assign([TopicPartition(topic, 0, 0)])
        out: list[tuple[str, StreamSpec | None]] = []
        deadline = time.monotonic() + 10
        while len(out) < high and time.monotonic() < deadline:
            for m in consumer.consume(100, timeout=0.5):
                value = m.value()
                spec = decode(StreamSpec, value) if value is not None else None
                out.append((m.key().decode(), spec))
        return out
    finally:
        consumer.close()


def test_stream_crud_round_trip_through_kafka(
    dashboard: httpx.Client, kafka_settings: KafkaSettings
) -> None:
    # Given a new stream with credentials in its URI
    body = {"stream_id": "lobby", "source_uri": SECRET_URI, "target_fps": 12.5,
            "display_name": "Lobby"}
    # When it is created
    created = dashboard.post("/api/streams", json=body)
    # Then 201, the reply hides the password, the spec is on Kafka and its topics exist
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["source_uri"] == "rtsp://***@cam.local:554/live"
    assert "hunter2pw" not in created.text
    key, spec = spec_records(kafka_settings)[-1]
    assert key == "lobby" and spec is not None and spec.source_uri == SECRET_URI
    assert spec.target_fps == pytest.approx(12.5) and spec.enabled
    topics = make_admin(kafka_settings).list_topics(timeout=10).topics
    assert kafka_settings.topics.frames("lobby") in topics
    assert kafka_settings.topics.results("lobby") in topics

    # And it is listed, can be read, and a duplicate create is refused
    listed = dashboard.get("/api/streams").json()["streams"]
    assert [s["stream_id"] for s in listed] == ["lobby"]
    assert dashboard.get("/api/streams/lobby").json()["spec"]["display_name"] == "Lobby"
    duplicate = dashboard.post("/api/streams", json=body)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]

    # When patched: only the given field changes and the stored URI keeps its credentials
    patched = dashboard.patch("/api/streams/lobby", json={"enabled": False})
    assert patched.status_code == 200 and patched.json()["spec"]["enabled"] is False
    _, spec = spec_records(kafka_settings)[-1]
    assert spec is not None and not spec.enabled and spec.source_uri == SECRET_URI

    # When replaced with PUT: every field is the new one
    put = dashboard.put("/api/streams/lobby", json={"source_uri": "/dev/video0"})
    assert put.status_code == 200 and put.json()["spec"]["target_fps"] == 0
    _, spec = spec_records(kafka_settings)[-1]
    assert spec is not None and spec.source_uri == "/dev/video0" and spec.enabled

    # When deleted: 204, a tombstone on Kafka, and the stream is gone
    assert dashboard.delete("/api/streams/lobby").status_code == 204
    assert spec_records(kafka_settings)[-1] == ("lobby", None)
    assert dashboard.get("/api/streams/lobby").status_code == 404
    assert dashboard.get("/api/streams").json()["streams"] == []


def test_streams_written_elsewhere_appear_and_tombstones_remove_them(
    dashboard: httpx.Client, kafka_settings: KafkaSettings
) -> None:
    # Given specs published straight to Kafka (another dashboard, a script)
    pub = TrafficPublisher(kafka_settings)
    pub.spec("yard")
    pub.spec("gate")
    pub.flush()
    # When the dashboard reads them / Then both are listed
    wait_for(lambda: len(dashboard.get("/api/streams").json()["streams"]) == 2)
    # When one is tombstoned / Then it disappears
    pub.raw(kafka_settings.topics.streams, "gate", None)
    pub.flush()
    wait_for(lambda: [s["stream_id"] for s in dashboard.get("/api/streams").json()["streams"]]
             == ["yard"])


def test_status_reports_fps_latency_drops_and_state(
    dashboard: httpx.Client, kafka_settings: KafkaSettings
) -> None:
    # Given a stream with a gateway status, frames and results 30 ms after capture
    assert dashboard.post("/api/streams", json={"stream_id": "dock",
                                                "source_uri": "file:///x.mp4"}).status_code == 201
    pub = TrafficPublisher(kafka_settings)
    pub.status("dock", StreamStatus.STATE_RUNNING, fps_in=15.0, frames_published=120)
    deadline = time.monotonic() + 2.2
    seq = 0
    while time.monotonic() < deadline:
        frame = pub.frame("dock", seq)
        pub.flush()
        pub.result("dock", frame, seq, [Det("cat", 0.9, (0.1, 0.1, 0.6, 0.7))],
                   capture_time_ns=time.time_ns() - 30_000_000)
        seq += 1
        time.sleep(0.05)
    pub.flush()

    # When the status is read / Then it carries state, rates, percentiles and classes
    def settled() -> bool:
        status = dashboard.get("/api/streams/dock/status").json()
        return status["live"]["results_seen"] == seq and status["live"]["fps_out"] > 0

    wait_for(settled)
    status = dashboard.get("/api/streams/dock/status").json()
    assert status["status"]["state"] == "running" and status["status"]["frames_published"] == 120
    assert status["live"]["latency_ms"]["p50"] == pytest.approx(30, abs=5)
    assert status["live"]["classes"]["cat"] == seq
    assert status["history"] and status["last_result"]["detections"][0]["label"] == "cat"


def test_frames_are_served_by_coordinates(
    dashboard: httpx.Client, kafka_settings: KafkaSettings
) -> None:
    # Given two frames of different photos
    pub = TrafficPublisher(kafka_settings)
    pub.create_topics("pics")
    cat, astronaut = pub.frame("pics", 1, "chelsea"), pub.frame("pics", 2, "astronaut")
    pub.flush()
    from support.dashboard import sample_jpeg

    # When each is fetched by its coordinates / Then the exact JPEG bytes come back
    response = dashboard.get(f"/api/streams/pics/frames/{cat.coords}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content == sample_jpeg("chelsea")[0]
    assert "immutable" in response.headers["cache-control"]
    wait_for(lambda: dashboard.get("/api/streams/pics/frames/latest").status_code == 200)
    latest = dashboard.get("/api/streams/pics/frames/latest")
    assert latest.content == sample_jpeg("astronaut")[0]
    assert latest.headers["x-frame-coordinates"] == astronaut.coords
    # And unknown coordinates are a clear 404, malformed ones a 422
    assert dashboard.get("/api/streams/pics/frames/0:999").status_code == 404
    assert dashboard.get("/api/streams/pics/frames/zero").status_code == 422


def test_a_frame_older_than_the_memory_ring_comes_from_kafka(kafka_settings: KafkaSettings) -> None:
    # Given a dashboard keeping 2 frames per stream and 4 frames published
    server = start(kafka_settings, frames_per_stream=2)
    pub = TrafficPublisher(kafka_settings)
    pub.create_topics("ring")
    acks = [pub.frame("ring", i, "coffee" if i == 0 else "chelsea") for i in range(4)]
    pub.flush()
    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            wait_for(lambda: client.get("/api/streams/ring/frames/latest").headers.get(
                "x-frame-coordinates") == acks[-1].coords)
            # When the first (evicted) frame is asked for / Then it is read back from Kafka
            response = client.get(f"/api/streams/ring/frames/{acks[0].coords}")
            from support.dashboard import sample_jpeg

            assert response.status_code == 200
            assert response.content == sample_jpeg("coffee")[0]
    finally:
        server.stop()


def test_token_required_for_writes_on_the_real_service(kafka_settings: KafkaSettings) -> None:
    server = start(kafka_settings, token=TOKEN)
    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            body = {"stream_id": "sec", "source_uri": "file:///a.mp4"}
            assert client.post("/api/streams", json=body).status_code == 401
            ok = client.post("/api/streams", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 201
            assert client.get("/api/streams").status_code == 200
    finally:
        server.stop()


def wait_for(check: object, timeout_s: float = 10.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
