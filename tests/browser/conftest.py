"""Playwright with Debian's chromium against a dashboard on the real broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from framewire.core.config import KafkaSettings
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.dashboard import TrafficPublisher

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def dashboard_settings(kafka: KafkaSettings, **extra: object) -> DashboardSettings:
    fields: dict[str, object] = {"port": 0, "topic_refresh_s": 0.5, "summary_interval_s": 0.5}
    return DashboardSettings(kafka=kafka, **{**fields, **extra})


# Module scope: sync Playwright keeps an event loop running in this thread while it is
# open, which would break asyncio.run() in any test collected after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-final.png"))
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def publisher(kafka_settings: KafkaSettings) -> TrafficPublisher:
    return TrafficPublisher(kafka_settings)


@pytest.fixture
def dashboard(kafka_settings: KafkaSettings, publisher: TrafficPublisher) -> Iterator[DashboardServer]:
    publisher.create_topics("cat-cam")
    server = DashboardServer(dashboard_settings(kafka_settings))
    server.start()
    yield server
    server.stop()


def save_screenshot(page: Page, name: str) -> Path:
    """Save a screenshot as a test artefact and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    return save_screenshot


@pytest.fixture
def make_settings(kafka_settings: KafkaSettings) -> Callable[..., DashboardSettings]:
    """Settings of a test dashboard on this test's topics; keyword arguments override."""
    return lambda **extra: dashboard_settings(kafka_settings, **extra)
