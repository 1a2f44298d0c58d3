"""Zones and lines of a stream through the API, stored in its StreamSpec on the real broker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import TopicPartition

from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_consumer
from framewire.core.zonewire import geometry_of
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from framewire.v1.stream_pb2 import StreamSpec

pytestmark = pytest.mark.integration

TOKEN = "zones-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOOR = {"id": "door", "polygon": [[0.1, 0.5], [0.4, 0.5], [0.4, 0.95], [0.1, 0.95]], "dwell_s": 5}
GATE = {"id": "gate", "a": [0.5, 0.0], "b": [0.5, 1.0], "direction": "left_to_right"}


@pytest.fixture
def client(kafka_settings: KafkaSettings) -> Iterator[httpx.Client]:
    server = DashboardServer(DashboardSettings(kafka=kafka_settings, port=0, topic_refresh_s=0.5,
                                               token=TOKEN))
    url = server.start()
    with httpx.Client(base_url=url, timeout=20, headers=AUTH) as c:
        yield c
    server.stop()


def newest_spec(kafka: KafkaSettings, stream: str) -> StreamSpec:
    """The last spec the registry topic holds for ``stream``, read back from Kafka."""
    consumer = make_consumer(kafka, f"check-{uuid.uuid4().hex[:8]}")
    topic = kafka.topics.streams
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), 10)
        consumer.assign([TopicPartition(topic, 0, 0)])
        found, seen, deadline = None, 0, time.monotonic() + 10
        while seen < high and time.monotonic() < deadline:
            for m in consumer.consume(100, timeout=0.5):
                seen += 1
                if m.key() == stream.encode() and m.value() is not None:
                    found = decode(StreamSpec, m.value())
        assert found is not None, f"no spec of {stream} on {topic}"
        return found
    finally:
        consumer.close()


def test_zones_and_lines_are_stored_in_the_registry_and_survive_a_stream_update(
    client: httpx.Client, kafka_settings: KafkaSettings,
) -> None:
    # Given a stream
    stream = f"yard-{uuid.uuid4().hex[:6]}"
    created = client.post("/api/streams", json={"stream_id": stream, "source_uri": "rtsp://cam/a"})
    assert created.status_code == 201, created.text
    # When a zone and a line are put
    put = client.put(f"/api/streams/{stream}/zones", json={"zones": [DOOR], "lines": [GATE]})
    # Then they are answered back, readable, and in the stream's spec on Kafka
    assert put.status_code == 200, put.text
    assert put.json() == {"zones": [DOOR], "lines": [GATE]}
    assert client.get(f"/api/streams/{stream}/zones").json() == put.json()
    zones, lines = geometry_of(newest_spec(kafka_settings, stream))
    assert [z.id for z in zones] == ["door"] and zones[0].dwell_s == 5
    assert [(line.id, line.direction.value) for line in lines] == [("gate", "left_to_right")]
    # When the stream itself is replaced and patched / Then its zones and lines stay
    assert client.put(f"/api/streams/{stream}", json={"source_uri": "rtsp://cam/b"}).status_code == 200
    assert client.patch(f"/api/streams/{stream}", json={"target_fps": 5}).status_code == 200
    assert client.get(f"/api/streams/{stream}/zones").json() == {"zones": [DOOR], "lines": [GATE]}
    assert len(geometry_of(newest_spec(kafka_settings, stream))[0]) == 1
    # When they are cleared / Then none are left
    assert client.put(f"/api/streams/{stream}/zones", json={}).json() == {"zones": [], "lines": []}


@pytest.mark.parametrize(("body", "says"), [
    ({"zones": [{"id": "bow", "polygon": [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]}]},
     "self-intersect"),
    ({"zones": [{"id": "big", "polygon": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]}]}, "1.5"),
    ({"zones": [{"id": "many", "polygon": [[0.5 + 0.4 * (i % 2), i / 40] for i in range(40)]}]}, "32"),
    ({"lines": [{"id": "dot", "a": [0.2, 0.2], "b": [0.2, 0.2]}]}, "zero length"),
    ({"zones": [DOOR], "lines": [{**GATE, "id": "door"}]}, "used more than once"),
    ({"zones": [DOOR], "shapes": []}, "shapes"),
])
def test_bad_zones_and_lines_get_a_422_that_says_why_and_change_nothing(
    client: httpx.Client, body: dict[str, object], says: str,
) -> None:
    # Given a stream with one zone
    stream = f"lot-{uuid.uuid4().hex[:6]}"
    created = client.post("/api/streams", json={"stream_id": stream, "source_uri": "rtsp://cam/a"})
    assert created.status_code == 201, created.text
    assert client.put(f"/api/streams/{stream}/zones", json={"zones": [DOOR]}).status_code == 200
    # When a bad set is put
    bad = client.put(f"/api/streams/{stream}/zones", json=body)
    # Then 422 naming the problem, and the stored set is unchanged
    assert bad.status_code == 422, bad.text
    assert says in bad.text, bad.text
    assert client.get(f"/api/streams/{stream}/zones").json() == {"zones": [DOOR], "lines": []}


def test_zones_need_the_token_and_a_known_stream(client: httpx.Client) -> None:
    # Given no token / Then writes are refused; an unknown stream is a 404
    anonymous = httpx.put(f"{client.base_url}api/streams/x/zones", json={})
    assert anonymous.status_code == 401
    assert client.get("/api/streams/nowhere-cam/zones").status_code == 404
