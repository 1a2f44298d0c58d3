"""The tracking stage's settings: a bad value is refused with a message naming it."""

from __future__ import annotations

import pytest

from framewire.core.config import load_settings
from framewire.core.errors import ConfigError
from framewire.tracker.settings import TrackerSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("env", "needle"), [
    ({"FW_TRACKER_LOW_SCORE": "0.8", "FW_TRACKER_HIGH_SCORE": "0.5"}, "above high_score"),
    ({"FW_TRACKER_TRACKER_ID": "a b"}, "tracker id"),
    ({"FW_TRACKER_START_FROM": "yesterday"}, "start_from"),
])
def test_refused_settings_say_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needle: str
) -> None:
    # Given a bad value in the environment
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Then loading the settings names what is wrong
    with pytest.raises(ConfigError, match=needle):
        load_settings(TrackerSettings)


def test_the_transactional_id_follows_group_and_tracker_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a tracker id from the environment, then it names the transactional id
    monkeypatch.setenv("FW_TRACKER_TRACKER_ID", "trk-7")
    s = load_settings(TrackerSettings)
    assert s.transactional_id == f"{s.kafka.topic_prefix}tracker.trk-7"
