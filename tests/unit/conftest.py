"""Fixtures shared by unit tests."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


@pytest.fixture
def handlers_restored() -> Iterator[None]:
    """Puts back the SIGINT and SIGTERM handlers a test installed in this process."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
