"""Aggregator output on the page: window stats on tiles and in the detail view, alerts, and
box labels that stay readable on small tiles."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from framewire.dashboard.server import DashboardServer
from framewire.v1.stream_pb2 import StreamStatus
from support.dashboard import Det, TrafficPublisher

pytestmark = pytest.mark.browser

STREAM = "cat-cam"
TILE = f"article[data-stream='{STREAM}']"
Shot = Callable[[Page, str], Path]


def window(kind: str, start_ms: int, size_s: float, fps: float, latency: tuple[float, ...],
           detections: dict[str, int], drops: dict[str, int]) -> dict[str, Any]:
    """A stats message in the documented format (docs/stats-format.md)."""
    p50, p95, p99 = latency
    return {
        "schema": "framewire.stats/1", "stream_id": STREAM,
        "window": {"kind": kind, "start_ms": start_ms, "end_ms": start_ms + int(size_s * 1000),
                   "size_s": size_s},
        "frames": int(fps * size_s), "fps": fps, "detections": detections,
        "latency_ms": {"count": int(fps * size_s), "p50": p50, "p95": p95, "p99": p99,
                       "mean": p50, "max": p99 + 5},
        "drops": drops, "drops_total": sum(drops.values()),
        "emitted_ms": start_ms + int(size_s * 1000) + 2100,
    }


def alert(state: str, at_ms: int, value: float, fired_ms: int) -> dict[str, Any]:
    """An alert transition in the documented format (framewire.alert/1)."""
    return {"schema": "framewire.alert/1", "alert_id": f"crowd/{STREAM}", "rule": "crowd",
            "stream_id": STREAM, "state": state, "severity": "critical",
            "condition": "count(person) >= 3", "for_s": 5.0, "value": value, "threshold": 3.0,
            "since_ms": at_ms - 5000, "fired_ms": fired_ms, "at_ms": at_ms, "reason": "",
            "emitted_ms": at_ms + 150}


def publish_json(pub: TrafficPublisher, topic: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        pub.raw(topic, STREAM, json.dumps(message).encode())
    pub.flush()


def cell(page: Page, kind: str, field: str) -> Any:
    return page.locator(f"#detail-windows td[data-kind='{kind}'][data-field='{field}']")


def test_tiles_and_detail_view_show_the_aggregator_windows(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given a running stream with a picture, and its last 10 s and 1 min windows on fw.stats
    publisher.spec(STREAM, display_name="Cat cam")
    publisher.status(STREAM, StreamStatus.STATE_RUNNING)
    frame = publisher.frame(STREAM, 1)
    publisher.flush()
    publisher.result(STREAM, frame, 1, [Det("cat", 0.91, (0.25, 0.1, 0.75, 0.95))])
    end_ms = (int(time.time()) // 10) * 10_000
    tumbling = window("tumbling", end_ms - 10_000, 10.0, 25.0, (41.2, 80.3, 97.9),
                      {"person": 301, "car": 12}, {"stale": 5})
    hopping = window("hopping", end_ms - 60_000, 60.0, 24.5, (43.0, 91.4, 120.6),
                     {"person": 1790, "car": 70, "dog": 3}, {"stale": 9, "stride": 2})
    publish_json(publisher, publisher.kafka.topics.stats, [tumbling, hopping])
    # When the page is opened
    page.goto(dashboard.url)
    # Then the tile carries a compact line from the 1-minute window
    expect(page.locator(f"{TILE} .tile-window")).to_have_text(
        "1 min: p95 91 ms · 24.5 fps · drops 11")
    expect(page.locator(f"{TILE} canvas")).to_have_attribute("data-detections", "1")
    shot(page, "grid-with-window-stats")
    # When its detail view is opened
    page.locator(TILE).click()
    # Then both windows are shown side by side with fps, classes, latency and drops
    expect(page.locator("#detail-windows th[data-kind='tumbling']")).to_have_text("tumbling 10 s")
    expect(page.locator("#detail-windows th[data-kind='hopping']")).to_have_text("hopping 1 min")
    expect(cell(page, "tumbling", "fps")).to_have_text("250 · 25.0 fps")
    expect(cell(page, "tumbling", "latency")).to_have_text("41.2 / 80.3 / 97.9 ms")
    expect(cell(page, "tumbling", "detections")).to_have_text("person 301, car 12")
    expect(cell(page, "tumbling", "drops")).to_have_text("5 (stale 5)")
    expect(cell(page, "hopping", "fps")).to_have_text("1470 · 24.5 fps")
    expect(cell(page, "hopping", "latency")).to_have_text("43.0 / 91.4 / 120.6 ms")
    expect(cell(page, "hopping", "detections")).to_have_text("person 1790, car 70, dog 3")
    expect(cell(page, "hopping", "drops")).to_have_text("11 (stale 9, stride 2)")
    shot(page, "detail-with-window-stats")
    # When the next tumbling window closes while the detail is open
    nxt = window("tumbling", end_ms, 10.0, 12.0, (50.0, 150.0, 210.0), {"person": 40}, {})
    publish_json(publisher, publisher.kafka.topics.stats, [nxt])
    # Then the 10 s column follows, and the 1 min column keeps its window
    expect(cell(page, "tumbling", "fps")).to_have_text("120 · 12.0 fps")
    expect(cell(page, "tumbling", "drops")).to_have_text("0")
    expect(cell(page, "hopping", "fps")).to_have_text("1470 · 24.5 fps")


def test_firing_and_cleared_alerts_show_stream_rule_and_time(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given the page is open
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    fired_ms = int(time.time() * 1000) - 4000
    topic = publisher.kafka.topics.alerts
    # When an alert fires
    publish_json(publisher, topic, [alert("firing", fired_ms, 4.0, fired_ms)])
    # Then it is listed as firing, with its time, stream and rule, and counted
    newest = page.locator("#alerts li").first
    expect(newest).to_have_attribute("data-state", "firing")
    expect(newest.locator(".alert-rule")).to_have_text("crowd")
    expect(newest.locator(".alert-stream")).to_have_text(STREAM)
    expect(newest.locator("time")).to_have_attribute("datetime", iso(fired_ms))
    expect(newest.locator(".alert-detail")).to_have_text("count(person) >= 3 · value 4")
    expect(page.locator("#alerts-firing")).to_have_text("1 firing")
    shot(page, "alert-firing")
    # When it clears
    cleared_ms = fired_ms + 3000
    publish_json(publisher, topic, [alert("cleared", cleared_ms, 1.0, fired_ms)])
    # Then the clearing is listed on top, the firing entry is resolved, none is counted
    expect(newest).to_have_attribute("data-state", "cleared")
    expect(newest.locator("time")).to_have_attribute("datetime", iso(cleared_ms))
    expect(newest.locator(".alert-detail")).to_contain_text("value 1 · fired ")
    expect(page.locator("#alerts li").nth(1)).to_have_class("alert resolved")
    expect(page.locator("#alerts-firing")).to_be_hidden()
    shot(page, "alerts-firing-and-cleared")
    # When the page is reloaded (a new snapshot repeats the recent alerts)
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    # Then each transition is listed once, in order
    expect(page.locator("#alerts li")).to_have_count(2)
    expect(page.locator("#alerts li").first).to_have_attribute("data-state", "cleared")


def iso(ms: int) -> str:
    """What JavaScript's Date.toISOString() gives for ``ms``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_box_labels_on_a_grid_tile_are_as_tall_as_on_screen_text(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot
) -> None:
    # Given the page is open and a 640x360 result is drawn on a tile about 330 pixels wide
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    publisher.result(STREAM, None, 1, [Det("person", 0.92, (0.3, 0.5, 0.7, 0.9))],
                     size=(640, 360))
    publisher.flush()
    canvas = page.locator(f"{TILE} canvas")
    expect(canvas).to_have_attribute("data-detections", "1")
    # When the label's filled background above the box is measured in displayed pixels
    measured = page.evaluate(
        """(label) => {
            const canvas = document.querySelector("article[data-stream='cat-cam'] canvas");
            const ctx = canvas.getContext("2d");
            const [r, g, b] = window.framewire.labelColor(label);
            const x = Math.round(0.3 * canvas.width) + 2, top = Math.round(0.5 * canvas.height);
            let run = 0;
            for (let y = top - 1; y >= 0; y--) {
                const d = ctx.getImageData(x, y, 1, 1).data;
                if (Math.abs(d[0] - r) + Math.abs(d[1] - g) + Math.abs(d[2] - b) > 30) break;
                run++;
            }
            const shown = canvas.getBoundingClientRect().width;
            return { run, scale: canvas.width / shown, shown };
        }""",
        "person",
    )
    shot(page, "grid-box-label")
    # Then the tile is shown smaller than the frame, yet the label is ~18 displayed pixels
    # tall (12 px text plus padding), like the page's own text
    assert measured["scale"] > 1.5, measured
    assert 15 <= measured["run"] / measured["scale"] <= 22, measured
