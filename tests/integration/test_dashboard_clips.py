"""The dashboard's clip API on the real broker: an alert's clip as a background job, its
download decoded again, snapshots, auth, bounded jobs and clear errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import httpx
import pytest

import framewire.clips.make as make
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.core.statsformat import AlertMessage, message_json
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.replay import Recording, photo_jpegs, record

pytestmark = pytest.mark.integration

TOKEN = "clips-token-0123456789abc"
W, H, FPS = 320, 240, 15.0
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def dashboard(kafka_settings: KafkaSettings, tmp_path: Path) -> Iterator[str]:
    server = DashboardServer(DashboardSettings(
        kafka=kafka_settings, port=0, topic_refresh_s=0.5, token=TOKEN, auth_all=True,
        clips_dir=tmp_path / "clips", clips_running=1, clips_queued=0))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def publish_alert(kafka: KafkaSettings, rec: Recording, since: int, fired: int) -> str:
    alert = AlertMessage(alert_id=f"crowd/{rec.stream}", rule="crowd", stream_id=rec.stream,
                         state="firing", severity="warning", condition="count(person) >= 1", for_s=1.0,
                         value=1.0, threshold=1.0, since_ms=rec.timestamp(since),
                         fired_ms=rec.timestamp(fired), at_ms=rec.timestamp(fired))
    producer = make_producer(kafka)
    producer.produce(kafka.topics.alerts, json.dumps(message_json(alert)).encode(), rec.stream.encode())
    assert producer.flush(30) == 0
    return f"crowd/{rec.stream}@{rec.timestamp(fired)}"


def wait_done(client: httpx.Client, job_id: str, timeout_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/clips/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"clip job {job_id} not finished in {timeout_s} s")


def test_an_alerts_clip_is_made_in_the_background_and_downloads_as_h264(
    kafka_settings: KafkaSettings, dashboard: str, tmp_path: Path,
) -> None:
    # Given 75 recorded frames and an alert whose condition began at frame 30 and fired at 40
    rec = record(kafka_settings, "lobby", photo_jpegs(75, W, H, hold=5), width=W, height=H, fps=FPS)
    event = publish_alert(kafka_settings, rec, 30, 40)
    with httpx.Client(base_url=dashboard, headers=AUTH, timeout=30) as client:
        # When its clip is asked for with 1 s of pre- and post-roll
        asked = client.post("/api/clips", json={"event": event, "pre_s": 1, "post_s": 1})
        assert asked.status_code == 202, asked.text
        job = wait_done(client, asked.json()["id"])
        # Then the job finished with frames 15..54 (since - 1 s .. fired + 1 s) and no gap
        assert job["state"] == "done", job
        assert (job["frames"], job["width"], job["height"], job["gaps"]) == (40, W, H, [])
        # And the download is that H.264 clip
        got = client.get(str(job["url"]), params={"download": 1})
        assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
        assert "attachment" in got.headers["content-disposition"]
        (tmp_path / "got.mp4").write_bytes(got.content)
        with av.open(str(tmp_path / "got.mp4")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert sum(1 for _ in container.decode(stream)) == 40
        # And the snapshot is a JPEG of one of the event's frames
        shot = client.get("/api/snapshot", params={"event": event})
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8"


def test_auth_bounds_and_bad_requests_get_clear_answers(
    kafka_settings: KafkaSettings, dashboard: str,
) -> None:
    rec = record(kafka_settings, "gate", photo_jpegs(30, W, H), width=W, height=H, fps=FPS)
    now = int(time.time() * 1000)
    with httpx.Client(base_url=dashboard, timeout=30) as anonymous:
        # Without the token: asking, listing and downloading are refused
        assert anonymous.post("/api/clips", json={"event": "crowd/gate"}).status_code == 401
        assert anonymous.get("/api/clips").status_code == 401
        assert anonymous.get("/api/snapshot", params={"event": "crowd/gate"}).status_code == 401
    with httpx.Client(base_url=dashboard, headers=AUTH, timeout=30) as client:
        # A range ending 20 s from now waits for its post-roll and holds the only slot
        waiting = client.post("/api/clips", json={"stream": "gate", "from_ms": rec.timestamp(0),
                                                  "to_ms": now + 20_000})
        assert waiting.status_code == 202
        # So another request is refused with 429 and Retry-After, not queued without bound
        full = client.post("/api/clips", json={"stream": "gate", "from_ms": rec.timestamp(0),
                                               "to_ms": rec.timestamp(10)})
        assert full.status_code == 429 and "Retry-After" in full.headers
        # The waiting job's file is not ready: 409 naming its state
        assert client.get(f"/api/clips/{waiting.json()['id']}/file").status_code == 409
        # Bad input: a malformed event id, both kinds at once, --to before --from, unknown ids
        assert "<rule>/<stream>" in client.post("/api/clips", json={"event": "nonsense"}).text
        both = client.post("/api/clips", json={"event": "crowd/gate", "stream": "gate", "from_ms": 1,
                                               "to_ms": 2})
        assert both.status_code == 422 and "not both" in both.text
        backwards = client.post("/api/clips", json={"stream": "gate", "from_ms": now, "to_ms": now - 1})
        assert backwards.status_code == 400 and "must be after" in backwards.text
        assert client.get("/api/clips/nope").status_code == 404
        missing = client.get("/api/snapshot", params={"event": "crowd/gate@1"})
        assert missing.status_code == 404 and "no alert crowd/gate@1" in missing.text


def test_snapshots_asked_at_once_for_one_event_read_kafka_once(
    kafka_settings: KafkaSettings, dashboard: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an event, and the snapshot maker counted and slowed (as under load)
    calls: list[str] = []
    real = make.make_snapshot

    def counted(kafka: KafkaSettings, ref: object) -> make.Snapshot:
        calls.append(str(ref))
        time.sleep(0.5)
        return real(kafka, ref)  # type: ignore[arg-type]

    monkeypatch.setattr(make, "make_snapshot", counted)
    rec = record(kafka_settings, "porch", photo_jpegs(45, W, H, hold=5), width=W, height=H, fps=FPS)
    event = publish_alert(kafka_settings, rec, 10, 20)
    # When four clients ask for its snapshot at once (the page's firing and cleared items)
    with httpx.Client(base_url=dashboard, headers=AUTH, timeout=30) as client, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: client.get("/api/snapshot", params={"event": event}), range(4)))
    # Then all get the same JPEG, and the span was read from Kafka once
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.content for a in answers}) == 1 and answers[0].content[:2] == b"\xff\xd8"
    assert len(calls) == 1, calls
