"""Where a newly assigned stream resumes, and what an aborted transaction rolls back to."""

from __future__ import annotations

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

from framewire.core.config import KafkaSettings
from framewire.core.records import Box, Detection
from framewire.tracker.assignment import Owned, _resume
from framewire.tracker.settings import StartFrom, TrackerSettings
from framewire.tracker.tracking import StreamTracker, TrackerConfig

pytestmark = pytest.mark.unit

CONFIG = TrackerConfig()
SETTINGS = TrackerSettings(kafka=KafkaSettings(bootstrap="127.0.0.1:1"), tracker_id="t")


def walked(frames: int) -> StreamTracker:
    t = StreamTracker("cam", CONFIG)
    for f in range(frames):
        t.update([Detection(1, "Person", 0.9, Box(0.1 + 0.01 * f, 0.1, 0.3 + 0.01 * f, 0.5))],
                 (f + 1) * 1_000_000)
    return t


def test_a_state_that_agrees_with_the_offsets_resumes_its_tracks() -> None:
    # Given the state committed with offset 12
    state = walked(12).to_state(12)
    # When the stream is taken over with the group at 12
    owned = _resume("cam", state, 12, SETTINGS, CONFIG)
    # Then it resumes there with the same tracks and the next id
    assert owned.position == 12 and owned.committed_position == 12
    assert owned.tracker.next_track_id == 2 and [t.track_id for t in owned.tracker.tracks] == [1]


def test_offsets_moved_away_from_the_state_resume_there_without_tracks_and_new_ids() -> None:
    # Given a state at 12 but the group's offsets moved back to 3 (to track a range again)
    state = walked(12).to_state(12)
    owned = _resume("cam", state, 3, SETTINGS, CONFIG)
    # Then the stream resumes at 3 with no live track, and ids never repeat
    assert owned.position == 3 and owned.tracker.tracks == ()
    assert owned.tracker.next_track_id == 2


@pytest.mark.parametrize(("start", "position"), [(StartFrom.LATEST, OFFSET_END),
                                                 (StartFrom.EARLIEST, OFFSET_BEGINNING)])
def test_a_stream_never_tracked_starts_where_the_settings_say(start: StartFrom, position: int) -> None:
    settings = SETTINGS.model_copy(update={"start_from": start})
    owned = _resume("cam", None, None, settings, CONFIG)
    assert owned.position == position and owned.tracker.next_track_id == 1


def test_an_abort_rolls_the_tracker_back_to_what_was_committed() -> None:
    # Given a stream committed at offset 5, then moved on by an uncommitted batch
    owned = Owned("cam", walked(5), 5)
    owned.mark_committed()
    for f in range(5, 9):
        owned.tracker.update([Detection(1, "Person", 0.9, Box(0.5, 0.5, 0.7, 0.9))], (f + 1) * 1_000_000)
    owned.position = 9
    # When the transaction is aborted
    owned.roll_back(CONFIG)
    # Then offset and tracker are those of the commit
    assert owned.position == 5
    assert owned.tracker.to_state(5) == walked(5).to_state(5)


def test_an_abort_before_the_first_commit_returns_to_the_first_result_read() -> None:
    owned = Owned("cam", StreamTracker("cam", CONFIG), OFFSET_BEGINNING)
    owned.note_first(40)
    owned.position = 47
    owned.roll_back(CONFIG)
    assert owned.position == 40 and owned.tracker.next_track_id == 1
