"""Fixtures of the integration tests that need more than the shared broker."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from framewire.broker.local import LocalBroker
from support.broker import start_private_broker


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A private broker (own ports and data) a test may kill: the shared one never is."""
    broker = start_private_broker(tmp_path / "broker", "to stop and restart")
    yield broker
    broker.kill()  # nothing in it is needed afterwards
