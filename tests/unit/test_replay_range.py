"""Replay planning without a broker: times, offset ranges, retention, output names, summary."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from framewire.core.errors import ConfigError
from framewire.core.topics import Topics
from framewire.replay.command import format_summary
from framewire.replay.run import ReplaySummary
from framewire.replay.window import (
    PartitionState,
    ReplayRangeError,
    TimeWindow,
    check_output_topic,
    default_output_topic,
    format_time,
    parse_time,
    plan_ranges,
)

pytestmark = pytest.mark.unit

T0 = int(datetime(2026, 11, 28, 12, 36, 38, tzinfo=UTC).timestamp()) * 1000


def state(low: int = 0, high: int = 100, start: int = 10, end: int = 20, first_ts: int = T0,
          last_ts: int = T0 + 99_000, partition: int = 0) -> PartitionState:
    return PartitionState(partition, low, high, start, end, first_ts, last_ts)


def window(start_s: float, end_s: float) -> TimeWindow:
    return TimeWindow(T0 + int(start_s * 1000), T0 + int(end_s * 1000))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T12:36:38Z", T0),
        ("2026-11-28T13:36:38.250+01:00", T0 + 250),
        (str(T0 + 7), T0 + 7),
        (" 2026-11-28T12:36:38.000Z ", T0),
    ],
)
def test_times_parse_from_iso_8601_and_epoch_milliseconds(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_a_time_without_zone_is_local_time_like_kafkas_tools() -> None:
    # Given a time without a zone
    local = datetime(2026, 11, 28, 12, 36, 38).astimezone()
    # Then it is read in the machine's time zone
    assert parse_time("2026-11-28T12:36:38") == int(local.timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "says"),
    [("1795874198", "epoch seconds"), ("yesterday", "neither an ISO-8601"), ("", "neither")],
)
def test_bad_times_are_refused_with_the_accepted_forms(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_time(text, "--from")


def test_format_time_reads_back() -> None:
    assert format_time(T0 + 5) == "2026-11-28T12:36:38.005Z"
    assert parse_time(format_time(T0 + 5)) == T0 + 5


def test_a_window_must_start_before_it_ends() -> None:
    with pytest.raises(ConfigError, match="must be before --to"):
        window(5, 5)


def test_plan_takes_the_offsets_found_for_the_window() -> None:
    # Given a partition whose window starts at offset 10 and ends before offset 20
    # When planned
    ranges = plan_ranges("cam", "fw.frames.cam", window(10, 20), [state()])
    # Then offsets 10..19 are replayed
    assert [(r.partition, r.start, r.end, r.count) for r in ranges] == [(0, 10, 20, 10)]


def test_a_window_reaching_past_the_newest_frame_ends_at_the_high_watermark() -> None:
    # Given no frame at or after the window's end (the broker answers -1)
    ranges = plan_ranges("cam", "fw.frames.cam", window(90, 500), [state(start=90, end=-1)])
    # Then the range ends at the partition's end
    assert [(r.start, r.end) for r in ranges] == [(90, 100)]


def test_partitions_without_frames_in_the_window_are_left_out() -> None:
    states = [state(), state(partition=1, start=-1, end=-1), state(partition=2, low=5, high=5)]
    ranges = plan_ranges("cam", "fw.frames.cam", window(10, 20), states)
    assert [r.partition for r in ranges] == [0]


def test_a_window_starting_before_what_retention_kept_names_the_earliest_frame() -> None:
    # Given a partition whose first 40 frames were removed; the oldest left is at T0+40s
    expired = state(low=40, start=40, end=60, first_ts=T0 + 40_000)
    # When a window starting at T0+10s is planned
    # Then it is refused, naming the earliest available frame's time
    with pytest.raises(ReplayRangeError, match=r"earliest available frame is at 2026-11-28T12:37:18\.000Z"):
        plan_ranges("cam", "fw.frames.cam", window(10, 50), [expired])


def test_a_window_inside_what_retention_kept_is_fine() -> None:
    kept = state(low=40, start=45, end=60, first_ts=T0 + 40_000)
    ranges = plan_ranges("cam", "fw.frames.cam", window(45, 60), [kept])
    assert [(r.start, r.end) for r in ranges] == [(45, 60)]


def test_a_window_before_a_stream_began_is_not_a_retention_problem() -> None:
    # Given nothing was ever removed (log start 0) and the window starts before frame 0
    ranges = plan_ranges("cam", "fw.frames.cam", window(-30, 5), [state(start=0, end=5)])
    assert [(r.start, r.end) for r in ranges] == [(0, 5)]


def test_a_window_holding_no_frame_names_the_span_on_kafka() -> None:
    # Given a window after the newest frame
    late = state(start=-1, end=-1)
    with pytest.raises(ReplayRangeError, match=r"span 2026-11-28T12:36:38\.000Z \.\. 2026-11-28T12:38:17"):
        plan_ranges("cam", "fw.frames.cam", window(200, 300), [late])


def test_a_stream_with_no_stored_frame_says_so() -> None:
    with pytest.raises(ReplayRangeError, match="no frames of stream cam are on Kafka"):
        plan_ranges("cam", "fw.frames.cam", window(0, 1), [state(low=7, high=7)])


def test_default_output_is_versioned_and_kafka_legal() -> None:
    name = default_output_topic(Topics("fw."), "cam-1", "ssd-mobilenet-v2-oidv4", "0.4.1+d0a5255b")
    assert name == "fw.results.cam-1.ssd-mobilenet-v2-oidv4-0.4.1-d0a5255b"
    long = default_output_topic(Topics("fw."), "c" * 64, "m" * 200, "1 2/3")
    assert len(long) == 249 and check_output_topic(long, Topics("fw.")) == long


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("bad name", "not a legal Kafka topic"),
        ("x" * 250, "not a legal Kafka topic"),
        ("..", "not a legal Kafka topic"),
        ("fw.results.cam", "live framewire topic"),
        ("fw.frames.cam.copy", "live framewire topic"),
        ("fw.dlq", "live framewire topic"),
    ],
)
def test_outputs_that_are_illegal_or_live_are_refused(name: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        check_output_topic(name, Topics("fw."))


def test_summary_reports_counts_reasons_and_speed() -> None:
    # Given a replay of 450 frames (30 s of video) that took 2.5 s, 2 frames rejected
    summary = ReplaySummary(
        stream="cam", model_id="m", model_version="1", output="fw.results.cam.m-1", frames=450,
        results=440, already=8, rejected={"corrupt_jpeg": 2}, missing=0, seconds=2.5, setup_seconds=1.0,
        recorded_seconds=30.0,
    )
    # When formatted
    text = format_summary(summary, window(0, 30))
    # Then speed, throughput and every frame's fate are printed
    assert summary.speed == pytest.approx(12.0)
    assert "12.0x real time, 176.0 frames/s" in text
    assert "440 written, 8 already in the output, 2 rejected (corrupt_jpeg: 2)" in text
    assert "450 in range (30.0 s of video)" in text and "held no frame" not in text
    # And offsets that delivered nothing are reported, not hidden
    gaps = format_summary(dataclasses.replace(summary, results=437, missing=3), window(0, 30))
    assert "2 rejected (corrupt_jpeg: 2), 3 offsets held no frame" in gaps
