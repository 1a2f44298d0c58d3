"""Pacing on the real broker: published frame rates match the target over 5 s."""

import pytest

from framewire.gateway.settings import AssignmentMode, GatewaySettings
from framewire.gateway.testing import GatewayThread, TopicReader, spec, wait_until, write_specs
from framewire.samples import make_samples

pytestmark = pytest.mark.integration

WINDOW_S = 5.0


def rate_over_window(frames, window_s: float) -> float:
    """Frames per second by capture time over ``window_s``, skipping the first second."""
    start = frames[0].capture_time_ns + 1_000_000_000
    end = start + int(window_s * 1e9)
    return sum(start <= f.capture_time_ns < end for f in frames) / window_s


def test_published_rates_match_the_targets_within_ten_percent(kafka_settings, tmp_path):
    # Given a 30 fps clip served as four streams asking for 7.5, 10, 15 fps and its own rate
    clip = make_samples(tmp_path, width=320, height=240, fps=30, seconds=2.0,
                        names=("chelsea",))[0]
    targets = {"f7": 7.5, "f10": 10.0, "f15": 15.0, "native": 0.0}
    write_specs(kafka_settings, [spec(s, str(clip), fps=fps) for s, fps in targets.items()])
    settings = GatewaySettings(kafka=kafka_settings, assignment=AssignmentMode.ALL, metrics_port=0)
    reader = TopicReader(kafka_settings)
    # When the gateway runs long enough for a 5 s window after a 1 s start
    with GatewayThread(settings):
        done = wait_until(
            lambda: all(len(reader.snapshot(s)) >= (fps or 30) * (WINDOW_S + 1.5)
                        for s, fps in targets.items()), 15)
    reader.close()
    assert done, {s: len(reader.snapshot(s)) for s in targets}
    # Then each stream's rate over those 5 s is its target (30 for native) within 10%
    for stream_id, fps in targets.items():
        expected = fps or 30.0
        measured = rate_over_window(reader.snapshot(stream_id), WINDOW_S)
        assert measured == pytest.approx(expected, rel=0.10), (stream_id, measured)
