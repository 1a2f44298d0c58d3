"""Tracks, zones and lines on the dashboard page in a real browser: ids and trails on the
frame, zones and lines drawn with their direction, a zone drawn with the mouse and saved
through the API, and the live zone events with their counters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from framewire.core.config import KafkaSettings
from framewire.dashboard.server import DashboardServer
from support.dashboard import Obj, TrackerTraffic, TrafficPublisher

pytestmark = pytest.mark.browser

STREAM = "cat-cam"
TILE = f"article[data-stream='{STREAM}']"
CANVAS = "#detail-canvas"
Shot = Callable[[Page, str], Path]
# A zone in the upper left and a vertical line on the right, counted left to right: for a→b
# pointing down the picture the left side is towards larger x, so its arrow points left.
BENCH = {"id": "bench", "polygon": [[0.05, 0.05], [0.3, 0.05], [0.3, 0.25], [0.05, 0.25]]}
GATE = {"id": "gate", "a": [0.85, 0.05], "b": [0.85, 0.95], "direction": "left_to_right"}
ZONE_RGB, LINE_RGB = (0x58, 0xA6, 0xFF), (0xF2, 0xCC, 0x60)


def pixels(page: Page, points: list[tuple[int, int]]) -> np.ndarray:
    """RGB of detail-canvas pixels, as painted."""
    return np.array(page.evaluate(
        """([selector, points]) => {
            const ctx = document.querySelector(selector).getContext("2d");
            return points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
        }""",
        [CANVAS, points],
    ))


def closest(page: Page, points: list[tuple[int, int]], rgb: tuple[int, ...] | list[int]) -> int:
    """How far the best-matching of ``points`` is from ``rgb`` (0: exactly that colour)."""
    return int(np.abs(pixels(page, points) - np.array(rgb)).max(axis=1).min())


def api(dashboard: DashboardServer) -> httpx.Client:
    return httpx.Client(base_url=dashboard.url, timeout=20)


def open_detail(page: Page, dashboard: DashboardServer) -> None:
    page.goto(dashboard.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.locator(TILE).click()
    expect(page.locator("#detail")).to_be_visible()


def click_at(page: Page, fx: float, fy: float, *, double: bool = False) -> None:
    """Click the detail canvas at a normalised position of the picture."""
    box = page.locator(CANVAS).bounding_box()
    assert box is not None
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    if double:
        page.mouse.dblclick(x, y)
    else:
        page.mouse.click(x, y)


def walking_person(step: int) -> Obj:
    x = 0.2 + 0.1 * step
    return Obj(7, "person", (x, 0.3, x + 0.15, 0.7))


def test_track_ids_trails_zones_and_lines_are_drawn_on_the_frame(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher,
    kafka_settings: KafkaSettings, shot: Shot,
) -> None:
    # Given a stream with a zone and a line, five frames of the astronaut photo (512 x 512)
    publisher.spec(STREAM)
    publisher.flush()
    page.goto(dashboard.url)
    expect(page.locator(TILE)).to_have_count(1)
    with api(dashboard) as c:
        assert c.put(f"/api/streams/{STREAM}/zones", json={"zones": [BENCH], "lines": [GATE]}
                     ).status_code == 200
    frames = [publisher.frame(STREAM, step, "astronaut") for step in range(5)]
    publisher.flush()
    # When the tracker commits a person walking right across them, as track 7
    tracker = TrackerTraffic(kafka_settings)
    for step, frame in enumerate(frames):
        tracker.frame(STREAM, step, frame.offset, [walking_person(step)])
    tracker.close()
    # Then the grid tile and the detail view draw track 7 on the last frame, with the zone
    # and the line
    expect(page.locator(f"{TILE} canvas")).to_have_attribute("data-tracks", "7")
    page.locator(TILE).click()
    canvas = page.locator(CANVAS)
    expect(canvas).to_have_attribute("data-frame", frames[-1].coords)
    expect(canvas).to_have_attribute("data-tracks", "7")
    expect(canvas).to_have_attribute("data-zones", "1")
    expect(canvas).to_have_attribute("data-lines", "1")
    shot(page, "tracks-zones-lines")
    colour = page.evaluate("() => window.framewire.trackColor(7)")
    # ... the trail joins the bottom-centres (y = 0.7 * 512 = 358), from x = 141 to 346
    assert closest(page, [(x, y) for x in (200, 220, 260) for y in (357, 358, 359)], colour) <= 40
    # ... the id tag sits above the last box (its corner at 307, 154), in the track's colour
    assert closest(page, [(308, y) for y in range(138, 150)], colour) <= 40
    # ... the zone's top edge (y = 26) and the line (x = 435) are in their colours
    assert closest(page, [(102, y) for y in range(24, 29)], ZONE_RGB) <= 40
    assert closest(page, [(x, 400) for x in range(433, 438)], LINE_RGB) <= 40
    # ... and the line's arrow points left of its midpoint (435, 256), not right
    assert closest(page, [(418, y) for y in range(254, 259)], LINE_RGB) <= 40
    assert closest(page, [(452, y) for y in range(254, 259)], LINE_RGB) > 40


def test_a_zone_and_a_line_drawn_with_the_mouse_are_saved_through_the_api(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher, shot: Shot,
) -> None:
    # Given a stream with a frame and the detail view open
    publisher.spec(STREAM)
    publisher.frame(STREAM, 0, "astronaut")
    publisher.flush()
    open_detail(page, dashboard)
    # (a stream without detections shows its newest frame to draw on)
    expect(page.locator(CANVAS)).to_have_attribute("data-frame", "latest")
    expect(page.locator("#zone-list")).to_contain_text("no zones or lines")
    # When a zone is drawn by clicking four corners and double-clicking the last
    page.locator("#zone-draw").click()
    for fx, fy in [(0.1, 0.4), (0.4, 0.4), (0.4, 0.7)]:
        click_at(page, fx, fy)
    click_at(page, 0.1, 0.7, double=True)
    # ... and a line counted right to left by clicking its two ends
    page.locator("#line-direction").select_option("right_to_left")
    page.locator("#line-draw").click()
    click_at(page, 0.7, 0.1)
    click_at(page, 0.7, 0.9)
    expect(page.locator("#zone-list li[data-id='zone-1']")).to_contain_text("4 corners")
    expect(page.locator(CANVAS)).to_have_attribute("data-lines", "1")
    shot(page, "zone-drawn")
    page.locator("#zones-save").click()
    # Then the page says so, and the API gives them back where they were drawn
    expect(page.locator("#zone-message")).to_have_text("saved 1 zones, 1 lines")
    with api(dashboard) as c:
        stored = c.get(f"/api/streams/{STREAM}/zones").json()
    assert [z["id"] for z in stored["zones"]] == ["zone-1"]
    assert np.allclose(stored["zones"][0]["polygon"], [[0.1, 0.4], [0.4, 0.4], [0.4, 0.7], [0.1, 0.7]],
                       atol=0.01)
    line = stored["lines"][0]
    assert line["id"] == "line-1" and line["direction"] == "right_to_left"
    assert np.allclose([line["a"], line["b"]], [[0.7, 0.1], [0.7, 0.9]], atol=0.01)

    # When a zone with an id the API refuses is drawn and saved
    page.locator("#shape-id").fill("Bad Id")
    page.locator("#zone-draw").click()
    for fx, fy in [(0.5, 0.2), (0.6, 0.2)]:
        click_at(page, fx, fy)
    click_at(page, 0.55, 0.3, double=True)
    page.locator("#zones-save").click()
    # Then the API's 422 message is shown and nothing changed
    expect(page.locator("#zone-message")).to_contain_text("id must match")
    expect(page.locator("#zone-message")).to_contain_text("'Bad Id'")
    expect(page.locator("#zone-message")).to_have_class("message error")
    shot(page, "zone-refused")
    with api(dashboard) as c:
        assert c.get(f"/api/streams/{STREAM}/zones").json() == stored

    # When the edits are reverted, the line is deleted and the set saved
    page.locator("#zones-revert").click()
    expect(page.locator("#zone-list li[data-id='Bad Id']")).to_have_count(0)
    page.locator("#zone-list li[data-id='line-1'] button").click()
    page.locator("#zones-save").click()
    # Then only the zone is left
    expect(page.locator("#zone-message")).to_have_text("saved 1 zones, 0 lines")
    with api(dashboard) as c:
        assert c.get(f"/api/streams/{STREAM}/zones").json() == {"zones": stored["zones"], "lines": []}
    expect(page.locator(CANVAS)).to_have_attribute("data-lines", "0")


def test_zone_events_are_listed_newest_first_and_counted_per_zone_and_line(
    page: Page, dashboard: DashboardServer, publisher: TrafficPublisher,
    kafka_settings: KafkaSettings, shot: Shot,
) -> None:
    # Given a stream with a zone and a line, its detail view open
    publisher.spec(STREAM)
    publisher.frame(STREAM, 0, "astronaut")
    publisher.flush()
    # (the dashboard reads the spec from the registry topic: zones are for streams it knows)
    page.goto(dashboard.url)
    expect(page.locator(TILE)).to_have_count(1)
    with api(dashboard) as c:
        assert c.put(f"/api/streams/{STREAM}/zones", json={"zones": [BENCH], "lines": [GATE]}
                     ).status_code == 200
    open_detail(page, dashboard)
    counters = page.locator("#zone-counters")
    expect(counters.locator("tr[data-id='bench'] td[data-key='enter']")).to_have_text("0")
    # When the tracker commits two people entering the bench zone, one leaving it after a
    # dwell, and one crossing the gate
    ev = TrackerTraffic.event
    tracker = TrackerTraffic(kafka_settings)
    tracker.frame(STREAM, 1, 0, [walking_person(0)],
                  [ev(STREAM, "enter", 7, "bench", 1), ev(STREAM, "enter", 8, "bench", 1)])
    tracker.frame(STREAM, 2, 0, [walking_person(1)], [ev(STREAM, "dwell", 7, "bench", 2)])
    tracker.frame(STREAM, 3, 0, [walking_person(2)],
                  [ev(STREAM, "leave", 7, "bench", 3),
                   ev(STREAM, "cross", 8, "gate", 3, "left_to_right", label="car")])
    tracker.close()
    # Then the list shows the five events, the newest first
    items = page.locator("#zone-events li.zone-event")
    expect(items).to_have_count(5)
    expect(items.first).to_contain_text("#8 car crossed gate left to right")
    expect(items.nth(1)).to_have_attribute("data-kind", "leave")
    expect(items.last).to_contain_text("#7 person entered bench")
    # ... and the counters per zone and line
    row = counters.locator("tr[data-id='bench']")
    expect(row.locator("td[data-key='enter']")).to_have_text("2")
    expect(row.locator("td[data-key='leave']")).to_have_text("1")
    expect(row.locator("td[data-key='dwell']")).to_have_text("1")
    gate = counters.locator("tr[data-id='gate']")
    expect(gate.locator("td[data-key='left_to_right']")).to_have_text("1")
    expect(gate.locator("td[data-key='right_to_left']")).to_have_text("0")
    expect(gate.locator("td[data-key='enter']")).to_have_text("\u2013")  # an en dash: not counted for a line
    shot(page, "zone-events")
    # When the page is reloaded / Then the list and counters come back from the dashboard
    page.reload()
    page.locator(TILE).click()
    expect(items).to_have_count(5)
    expect(row.locator("td[data-key='enter']")).to_have_text("2")
