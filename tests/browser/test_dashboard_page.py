"""The dashboard page in a real browser: streams, boxes on the canvas, the form, reconnects."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from framewire.v1.stream_pb2 import StreamStatus
from support.dashboard import Det, TrafficPublisher, sample_jpeg

pytestmark = pytest.mark.browser

TILE = "article[data-stream='{}']"
Shot = Callable[[Page, str], Path]


def canvas_pixels(page: Page, selector: str, points: list[tuple[int, int]]) -> list[list[int]]:
    """RGB of canvas pixels read with getImageData (what was painted, not the DOM)."""
    return page.evaluate(
        """([selector, points]) => {
            const ctx = document.querySelector(selector).getContext("2d");
            return points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
        }""",
        [selector, points],
    )


def label_color(page: Page, label: str) -> list[int]:
    return page.evaluate("(label) => window.framewire.labelColor(label)", label)


def photo_rgb(name: str, x: int, y: int) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(sample_jpeg(name)[0], np.uint8), cv2.IMREAD_COLOR)
    return bgr[y, x, ::-1].astype(int)


def test_page_loads_and_a_stream_appears(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given the page is open with no streams
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#empty")).to_be_visible()
    # When a gateway-side spec and status appear on Kafka
    publisher.spec("cat-cam", display_name="Cat cam")
    publisher.status("cat-cam", StreamStatus.STATE_RUNNING)
    publisher.flush()
    # Then a tile shows it, named and running
    tile = page.locator(TILE.format("cat-cam"))
    expect(tile.locator(".tile-name")).to_have_text("Cat cam")
    expect(tile.locator(".pill")).to_have_text("running")
    expect(page.locator("#empty")).to_be_hidden()
    shot(page, "stream-appears")


def test_boxes_are_drawn_on_the_frame_the_detection_belongs_to(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given the page is open and a stream has two frames: the astronaut, then the cat
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    astronaut = publisher.frame("cat-cam", 1, "astronaut")
    publisher.frame("cat-cam", 2, "chelsea")
    publisher.flush()
    # When a result for the *first* frame arrives with a known box (x from 128 to 384 of 512)
    box = (128 / 512, 100 / 512, 384 / 512, 400 / 512)
    publisher.result("cat-cam", astronaut, 1, [Det("person", 0.92, box, class_id=1)],
                     size=(512, 512))
    publisher.flush()
    canvas = TILE.format("cat-cam") + " canvas"
    expect(page.locator(canvas)).to_have_attribute("data-frame", astronaut.coords)
    expect(page.locator(canvas)).to_have_attribute("data-detections", "1")
    # Then the canvas holds the astronaut photo (not the newer cat) ...
    centre = canvas_pixels(page, canvas, [(256, 260)])[0]
    assert np.abs(np.array(centre) - photo_rgb("astronaut", 256, 260)).max() <= 24
    # ... and the box's left edge, at x=128, is painted in the label's colour
    colour = np.array(label_color(page, "person"))
    edge = canvas_pixels(page, canvas, [(x, 250) for x in range(126, 131)])
    assert min(int(np.abs(np.array(p) - colour).max()) for p in edge) <= 16
    # ... while just outside the box the photo is untouched
    outside = canvas_pixels(page, canvas, [(110, 250)])[0]
    assert np.abs(np.array(outside) - photo_rgb("astronaut", 110, 250)).max() <= 24
    shot(page, "boxes-on-canvas")


def test_adding_a_stream_through_the_form(
    page: Page, dashboard: DashboardServer, shot: Shot
) -> None:
    # Given the page is open
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    form = page.locator("#add-form")
    # When an invalid source is submitted / Then the API's message is shown
    form.locator("input[name=stream_id]").fill("garage")
    form.locator("input[name=source_uri]").fill("ftp://nas/garage.mp4")
    form.locator("button[type=submit]").click()
    expect(page.locator("#form-message")).to_contain_text("scheme 'ftp' is not supported")
    # When a valid stream is submitted
    form.locator("input[name=source_uri]").fill("rtsp://admin:pw12345@10.0.0.9/live")
    form.locator("input[name=display_name]").fill("Garage")
    form.locator("button[type=submit]").click()
    # Then it appears in the grid, and its source is shown without the password
    tile = page.locator(TILE.format("garage"))
    expect(tile.locator(".tile-name")).to_have_text("Garage")
    expect(tile.locator(".tile-name")).to_have_attribute(
        "title", "garage · rtsp://***@10.0.0.9/live")
    expect(page.locator("#form-message")).to_have_text("added garage")
    shot(page, "form-added")


def test_detail_view_shows_latency_classes_and_deletes(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given a stream producing results with two classes for a few seconds
    publisher.spec("cat-cam")
    page.goto(dashboard.url)
    dets = [Det("cat", 0.9, (0.2, 0.1, 0.7, 0.9)), Det("dog", 0.6, (0.7, 0.5, 0.95, 0.9))]
    for seq in range(30):
        frame = publisher.frame("cat-cam", seq)
        publisher.flush()
        publisher.result("cat-cam", frame, seq, dets,
                         capture_time_ns=time.time_ns() - (20 + seq) * 1_000_000)
        time.sleep(0.1)
    publisher.flush()
    # When its tile is opened
    page.locator(TILE.format("cat-cam")).click()
    # Then the detail lists both classes and the chart has drawn lines
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#class-counts")).to_contain_text("cat")
    expect(page.locator("#class-counts")).to_contain_text("dog")
    expect(page.locator("#detail-figures")).to_contain_text("latency")
    page.wait_for_function(
        """() => {
            const c = document.getElementById("latency-chart");
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4) if (d[i] === 0x58 && d[i + 1] === 0xa6) return true;
            return false;
        }"""
    )
    shot(page, "detail-view")
    # When deleted (two clicks: arm, confirm) / Then the tile disappears
    page.locator("#detail-delete").click()
    page.locator("#detail-delete").click()
    expect(page.locator(TILE.format("cat-cam"))).to_have_count(0)
    expect(page.locator("#detail")).to_be_hidden()


def test_page_reconnects_after_the_dashboard_restarts(
    page: Page, publisher: TrafficPublisher, shot: Shot,
    make_settings: Callable[..., DashboardSettings],
) -> None:
    # Given the page connected to a dashboard
    publisher.create_topics("cat-cam")
    publisher.spec("cat-cam")
    publisher.flush()
    first = DashboardServer(make_settings())
    url = first.start()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator(TILE.format("cat-cam"))).to_have_count(1)
    # When the dashboard stops
    first.stop()
    # Then the page says it is reconnecting
    expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    shot(page, "reconnecting")
    # When it comes back on the same port and a new result is published
    second = DashboardServer(make_settings(port=port))
    second.start()
    try:
        expect(page.locator("#connection")).to_have_attribute("data-state", "live",
                                                              timeout=15_000)
        frame = publisher.frame("cat-cam", 1)
        publisher.flush()
        publisher.result("cat-cam", frame, 1, [Det("cat", 0.8, (0.3, 0.2, 0.7, 0.9))])
        publisher.flush()
        # Then the page is live again and draws it
        canvas = page.locator(TILE.format("cat-cam") + " canvas")
        expect(canvas).to_have_attribute("data-frame", frame.coords)
        shot(page, "reconnected")
    finally:
        second.stop()


def test_token_protected_dashboard_asks_for_the_token(
    page: Page, publisher: TrafficPublisher, shot: Shot,
    make_settings: Callable[..., DashboardSettings],
) -> None:
    # Given a dashboard that requires a token for everything
    token = "browser-token-0123456789"
    publisher.create_topics("cat-cam")
    publisher.spec("cat-cam")
    publisher.flush()
    server = DashboardServer(make_settings(token=token, auth_all=True))
    server.start()
    try:
        # When the page is opened / Then it asks for the token
        page.goto(server.url)
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        shot(page, "token-dialog")
        # When the token is given / Then the stream appears
        dialog.locator("input[name=token]").fill(token)
        dialog.locator("button[value=save]").click()
        expect(page.locator(TILE.format("cat-cam"))).to_have_count(1)
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    finally:
        server.stop()


def test_aggregator_alerts_are_listed(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given the page is open
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    # When the aggregator publishes an alert (framewire.alert/1 JSON)
    alert = {"schema": "framewire.alert/1", "rule": "crowd", "stream_id": "cat-cam",
             "state": "firing", "severity": "critical", "condition": "count(person) >= 3",
             "value": 4.0}
    publisher.raw(publisher.kafka.topics.alerts, "cat-cam", json.dumps(alert).encode())
    publisher.flush()
    # Then the alerts panel shows it as firing; without at_ms, at the record's Kafka time
    item = page.locator("#alerts li").first
    expect(item).to_have_class("alert firing")
    expect(item.locator(".alert-what")).to_have_text("crowd on cat-cam")
    expect(item.locator(".alert-detail")).to_have_text("count(person) >= 3 · value 4")
    expect(item.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    shown = item.locator("time").get_attribute("datetime") or ""
    age_s = time.time() - datetime.fromisoformat(shown.replace("Z", "+00:00")).timestamp()
    assert 0 <= age_s < 60, shown
    shot(page, "alert")
