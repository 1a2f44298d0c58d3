"""Clips of alert events on the page: the event's best frame as a thumbnail, Play (a clip
job, then the MP4 in a <video>) and Download, all fetched with the bearer header, on the
real broker with recorded photo frames."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.core.statsformat import AlertMessage, message_json
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from framewire.v1.detection_pb2 import Box, Detection, DetectionResult
from support.dashboard import TrafficPublisher
from support.replay import Recording, photo_jpegs, record

pytestmark = pytest.mark.browser

W, H, FPS = 320, 240, 15.0
TOKEN = "clips-page-token-0123456789"
Shot = Callable[[Page, str], Path]

VIDEO_STATE = """() => {
    const v = document.querySelector("#clip-video");
    return {open: document.querySelector("#clip-dialog").open, readyState: v.readyState,
            duration: v.duration, videoWidth: v.videoWidth, videoHeight: v.videoHeight,
            currentTime: v.currentTime, error: v.error && {code: v.error.code, message: v.error.message},
            src: v.currentSrc};
}"""

# The mean brightness of the frame the <video> shows, drawn onto a canvas: decoded pixels,
# not just metadata.
VIDEO_PIXELS = """() => {
    const v = document.querySelector("#clip-video");
    const c = document.createElement("canvas");
    c.width = v.videoWidth; c.height = v.videoHeight;
    const ctx = c.getContext("2d");
    ctx.drawImage(v, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
    return sum / (d.length / 4) / 3;
}"""


# Every text the status line shows, in order: the job's progress as the page reported it.
WATCH_STATUS = """(node) => {
    window.clipStatus = [];
    new MutationObserver(() => window.clipStatus.push(node.textContent))
        .observe(node, {childList: true, characterData: true, subtree: true});
}"""


def publish_results(kafka: KafkaSettings, rec: Recording, frames: range) -> None:
    """A person box on each of ``frames``, the middle one scoring best."""
    producer = make_producer(kafka)
    best = frames[len(frames) // 2]
    for index in frames:
        box = Box(xmin=0.2, ymin=0.2, xmax=0.6, ymax=0.9)
        result = DetectionResult(
            stream_id=rec.stream, frame_sequence=index, capture_time_ns=rec.timestamp(index) * 1_000_000,
            image_width=W, image_height=H,
            detections=[Detection(label="person", score=0.9 if index == best else 0.6, box=box)])
        producer.produce(kafka.topics.results(rec.stream), encode(result), rec.stream.encode())
    assert producer.flush(30) == 0


def alert(stream: str, state: str, since_ms: int, fired_ms: int, at_ms: int) -> AlertMessage:
    return AlertMessage(alert_id=f"crowd/{stream}", rule="crowd", stream_id=stream, state=state,
                        severity="warning", condition="count(person) >= 1", for_s=1.0, value=1.0,
                        threshold=1.0, since_ms=since_ms, fired_ms=fired_ms, at_ms=at_ms)


def publish_alerts(kafka: KafkaSettings, *alerts: AlertMessage) -> None:
    producer = make_producer(kafka)
    for a in alerts:
        producer.produce(kafka.topics.alerts, json.dumps(message_json(a)).encode(), a.stream_id.encode())
    assert producer.flush(30) == 0


@pytest.fixture
def secured(make_settings: Callable[..., DashboardSettings]) -> Iterator[DashboardServer]:
    """A dashboard that wants the bearer token for every read too: nothing loads unless the
    page sends the header."""
    server = DashboardServer(make_settings(token=TOKEN, auth_all=True))
    server.start()
    yield server
    server.stop()


def open_with_token(page: Page, server: DashboardServer) -> None:
    """Open the page with the token in the tab's storage, recording what its CSP blocks."""
    page.add_init_script(f"sessionStorage.setItem('framewire.token', {json.dumps(TOKEN)})")
    page.add_init_script("""window.cspViolations = [];
        document.addEventListener("securitypolicyviolation",
            (e) => window.cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`));""")
    page.goto(server.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def thumbnail_width(item: Locator) -> int:
    """The natural width of the item's thumbnail once it has loaded (or failed, with why).
    Thumbnails load as they come into view, so the item is scrolled to, as a user would: how
    far down the alerts sit depends on what else the page lists (streams, models)."""
    item.scroll_into_view_if_needed()
    settled = item.locator("img.thumb:not(.thumb-wait), .thumb-failed")
    expect(settled).to_have_count(1, timeout=60_000)
    assert settled.evaluate("(n) => n.tagName") == "IMG", f"no thumbnail: {settled.get_attribute('title')}"
    return int(settled.evaluate("(i) => i.complete ? i.naturalWidth : -1"))


def test_an_alert_shows_its_frame_plays_its_clip_and_downloads_it(
    kafka_settings: KafkaSettings, secured: DashboardServer, page: Page, shot: Shot,
) -> None:
    # Given 6 s of recorded photo frames, person boxes on frames 30..59, and an alert that
    # fired at frame 45 and cleared at frame 60
    rec = record(kafka_settings, "door-cam", photo_jpegs(90, W, H, hold=5), width=W, height=H, fps=FPS)
    publish_results(kafka_settings, rec, range(30, 60))
    t = rec.timestamp
    publish_alerts(kafka_settings, alert("door-cam", "firing", t(30), t(45), t(45)),
                   alert("door-cam", "cleared", t(60), t(45), t(60)))
    # When the page is open (with the token)
    open_with_token(page, secured)
    items = page.locator("#alerts li.alert")
    expect(items).to_have_count(2)
    # Then both transitions show the event's best frame, fetched with the header
    for i in range(2):
        assert thumbnail_width(items.nth(i)) == W
    cleared = items.first
    expect(cleared).to_have_attribute("data-state", "cleared")
    # When Play is clicked / Then the job's progress shows, then the clip plays in the dialog
    cleared.locator(".clip-status").evaluate(WATCH_STATUS)
    cleared.get_by_role("button", name="Play").click()
    page.wait_for_function(
        """() => { const v = document.querySelector("#clip-video");
                   return document.querySelector("#clip-dialog").open && (v.readyState >= 1 || v.error); }""",
        timeout=120_000,
    )
    state = page.evaluate(VIDEO_STATE)
    blocked = page.evaluate("window.cspViolations")
    assert not blocked, f"the page's Content-Security-Policy refused the clip: {blocked}; {state}"
    assert state["error"] is None, f"the browser did not play the clip: {state}"
    assert state["readyState"] >= 1 and state["duration"] > 0, state
    assert (state["videoWidth"], state["videoHeight"]) == (W, H)
    assert state["src"].startswith("blob:"), "the clip is loaded through an object URL"
    # And it really decodes: time advances and the shown frame is a photo, not black
    page.wait_for_function("() => document.querySelector('#clip-video').currentTime > 0.3", timeout=20_000)
    assert page.evaluate(VIDEO_PIXELS) > 20
    expect(page.locator("#clip-facts")).to_contain_text(f"{W}\u00d7{H}")
    said = page.evaluate("window.clipStatus")
    assert said[0] == "asking for a clip…", said
    assert any(text.startswith(("queued", "waiting", "cutting")) for text in said), said
    shot(page, "clip-dialog-playing")
    page.locator("#clip-close").click()
    expect(page.locator("#clip-dialog")).not_to_be_visible()
    cleared.scroll_into_view_if_needed()
    # When Download is clicked / Then an MP4 file is saved
    with page.expect_download(timeout=60_000) as info:
        cleared.get_by_role("button", name="Download").click()
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data[4:8] == b"ftyp" and len(data) > 1000
    name = download.suggested_filename
    assert name.startswith("door-cam-") and name.endswith(".mp4"), name
    expect(cleared.locator(".clip-status")).to_have_text("")


def test_an_alert_without_frames_shows_why_there_is_no_thumbnail_and_no_clip(
    kafka_settings: KafkaSettings, publisher: TrafficPublisher, secured: DashboardServer, page: Page,
    shot: Shot,
) -> None:
    # Given an alert for a stream that has never had a frame on Kafka, 20 s ago
    publisher.create_topics()
    now = int(time.time() * 1000)
    publish_alerts(kafka_settings, alert("ghost-cam", "firing", now - 22_000, now - 20_000, now - 20_000))
    open_with_token(page, secured)
    item = page.locator("#alerts li.alert").first
    # Then the thumbnail is a placeholder whose title says why
    failed = item.locator(".thumb-failed")
    expect(failed).to_have_text("no frame", timeout=30_000)
    assert "ghost-cam" in (failed.get_attribute("title") or "")
    # When Play is clicked / Then the failed job's error is shown in the panel
    item.get_by_role("button", name="Play").click()
    status = item.locator(".clip-status.error")
    expect(status).to_contain_text("ghost-cam", timeout=60_000)
    expect(page.locator("#clip-dialog")).not_to_be_visible()
    item.scroll_into_view_if_needed()
    shot(page, "clip-failed")
