"""Clip ranges, event look-up and gap finding without a broker."""

from __future__ import annotations

import pytest

from framewire.clips.reading import plan_frames
from framewire.clips.spans import (
    ClipRange,
    ClipRangeError,
    EventRef,
    UnknownEventError,
    event_id,
    find_event,
    find_gaps,
    parse_duration_ms,
)
from framewire.core.errors import ConfigError, InvalidStreamIdError
from framewire.core.statsformat import AlertMessage
from framewire.replay.window import PartitionState, format_time

pytestmark = pytest.mark.unit

T0 = 1_796_000_000_000


def alert(state: str, fired_ms: int, since_ms: int, at_ms: int, stream: str = "cam1") -> AlertMessage:
    return AlertMessage(alert_id=f"crowd/{stream}", rule="crowd", stream_id=stream, state=state,
                        severity="warning", condition="count(person) >= 3", for_s=2.0, value=4.0,
                        threshold=3.0, since_ms=since_ms, fired_ms=fired_ms, at_ms=at_ms)


def test_to_before_from_is_refused_with_both_times() -> None:
    # When --to is before --from
    with pytest.raises(ConfigError) as exc:
        ClipRange("cam1", T0, T0 - 1000)
    # Then the error names both, in the form --from accepts
    assert format_time(T0) in str(exc.value) and format_time(T0 - 1000) in str(exc.value)


def test_an_unknown_stream_id_shape_and_an_overlong_clip_are_refused() -> None:
    with pytest.raises(InvalidStreamIdError):
        ClipRange("no such/stream", T0, T0 + 1000)
    with pytest.raises(ConfigError, match="at most 15 minutes"):
        ClipRange("cam1", T0, T0 + 16 * 60_000)


def test_a_range_in_the_future_is_refused_but_a_short_post_roll_is_waited_for() -> None:
    # Given now = T0
    # Then a range starting after now is an error naming now
    with pytest.raises(ClipRangeError, match="starts in the future"):
        ClipRange("cam1", T0 + 1000, T0 + 5000).check_not_future(T0)
    # And one ending more than a minute from now too
    with pytest.raises(ClipRangeError, match="ends more than 60 s"):
        ClipRange("cam1", T0 - 1000, T0 + 61_000).check_not_future(T0)
    # But a range ending 10 s from now (an event's post-roll) is accepted
    ClipRange("cam1", T0 - 5000, T0 + 10_000).check_not_future(T0)


@pytest.mark.parametrize(("text", "ms"), [("5s", 5000), ("500ms", 500), ("2m", 120_000), ("1.5", 1500)])
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text, "--pre") == ms


def test_a_bad_duration_names_the_option() -> None:
    with pytest.raises(ConfigError, match="--post 'soon'"):
        parse_duration_ms("soon", "--post")


def test_event_ids_round_trip_and_bad_ones_say_the_form() -> None:
    ref = EventRef.parse("crowd/cam1@1796000000000")
    assert (ref.rule, ref.stream, ref.fired_ms) == ("crowd", "cam1", 1796000000000)
    assert str(ref) == "crowd/cam1@1796000000000"
    assert EventRef.parse("crowd/cam1").fired_ms is None
    assert event_id(alert("firing", T0, T0 - 2000, T0)) == f"crowd/cam1@{T0}"
    for bad in ("crowd", "crowd/cam1@soon", "/cam1"):
        with pytest.raises(ConfigError, match="<rule>/<stream>"):
            EventRef.parse(bad)


def test_an_event_spans_from_pre_roll_before_its_start_to_post_roll_after_it_cleared() -> None:
    # Given two firings of the same alert, the first one cleared
    alerts = [alert("firing", T0, T0 - 2000, T0), alert("cleared", T0, T0 + 3000, T0 + 6000),
              alert("firing", T0 + 60_000, T0 + 58_000, T0 + 60_000)]
    # When the first is asked for by its id
    event = find_event(EventRef.parse(f"crowd/cam1@{T0}"), alerts)
    # Then its clip runs from 5 s before the condition began to 10 s after it cleared
    clip = event.clip_range(5000, 10_000)
    assert (clip.start_ms, clip.end_ms) == (T0 - 7000, T0 + 16_000)
    # And without a time, the latest firing (not cleared yet: ends at firing time) is meant
    latest = find_event(EventRef.parse("crowd/cam1"), alerts)
    assert (latest.fired_ms, latest.cleared_ms, latest.end_ms) == (T0 + 60_000, None, T0 + 60_000)


def test_an_unknown_event_is_an_error_naming_it() -> None:
    with pytest.raises(UnknownEventError, match="no alert crowd/cam2"):
        find_event(EventRef.parse("crowd/cam2"), [alert("firing", T0, T0, T0)])


def test_gaps_are_found_inside_and_at_the_edges_of_the_range() -> None:
    # Given frames at 10 fps with 3 s missing, and the range starting 2 s before the first
    clip = ClipRange("cam1", T0, T0 + 10_000)
    captures = [T0 + 2000 + i * 100 for i in range(20)] + [T0 + 7000 + i * 100 for i in range(30)]
    gaps = find_gaps(clip, captures)
    # Then the missing head and the hole are listed, and nothing else
    assert [(g.start_ms - T0, g.end_ms - T0) for g in gaps] == [(0, 2000), (3900, 7000)]


def state(low: int, high: int, start: int, end: int, first_ts: int, last_ts: int) -> PartitionState:
    return PartitionState(0, low, high, start, end, first_ts, last_ts)


def test_a_range_past_retention_names_the_oldest_available_time() -> None:
    # Given frames from T0 on (older ones expired: the log starts at offset 500)
    states = [state(500, 900, 500, 500, T0, T0 + 40_000)]
    # When a range ending before T0 is asked for
    with pytest.raises(ClipRangeError) as exc:
        plan_frames(ClipRange("cam1", T0 - 20_000, T0 - 10_000), states, "fw.frames.cam1")
    # Then the error says retention and names the oldest frame's time
    assert "retention" in str(exc.value) and format_time(T0) in str(exc.value)


def test_a_range_partly_past_retention_is_cut_from_the_oldest_frame() -> None:
    states = [state(500, 900, 500, 700, T0, T0 + 40_000)]
    plan = plan_frames(ClipRange("cam1", T0 - 5000, T0 + 20_000), states, "fw.frames.cam1")
    assert [(r.start, r.end) for r in plan.ranges] == [(500, 700)] and plan.oldest_ms == T0


def test_a_range_after_the_newest_frame_names_the_stored_span() -> None:
    states = [state(0, 900, -1, -1, T0, T0 + 40_000)]
    with pytest.raises(ClipRangeError, match="frames on Kafka span"):
        plan_frames(ClipRange("cam1", T0 + 50_000, T0 + 55_000), states, "fw.frames.cam1")
