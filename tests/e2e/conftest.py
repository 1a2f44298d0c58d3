"""Fixtures of the e2e suite: a Docker engine (installed and started when missing) and every
image built without a registry, once per session (reused across runs by content hash)."""

from __future__ import annotations

import os
import time

import pytest

from e2e import dockerkit


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Image builds happen in the first test's set-up: far beyond the default 300 s timeout.
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """FW_IMAGE, KAFKA_IMAGE, PROMETHEUS_IMAGE, PYTHON_IMAGE, DEBIAN_IMAGE."""
    started = time.monotonic()
    dockerkit.ensure_engine()
    built = dockerkit.build_images()
    print(f"\nimages ready in {time.monotonic() - started:.0f}s: {built}")
    return built


@pytest.fixture(scope="session")
def kafka_host() -> str:
    """Host the test process reaches published container ports on."""
    return os.environ.get("FW_E2E_HOST", "127.0.0.1")
