"""Window layout, panes and window stats: pure arithmetic."""

import pytest

from framewire.aggregator.stats import STATS_SCHEMA, WindowKind, WindowStats
from framewire.aggregator.windows import Pane, WindowLayout, merge_panes
from framewire.core.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("pane", "size", "step", "message"),
    [
        (0, 60_000, 10_000, "tumbling window must be positive"),
        (10_000, 65_000, 10_000, "hopping size .* multiple"),
        (10_000, 60_000, 15_000, "hopping step .* multiple"),
        (10_000, 10_000, 20_000, "at least its step"),
    ],
)
def test_inconsistent_layout_is_refused(pane, size, step, message):
    # Given sizes that cannot be built from panes, when the layout is made, then it says why
    with pytest.raises(ConfigError, match=message):
        WindowLayout(pane, size, step)


def test_panes_are_epoch_aligned_and_hopping_windows_cover_whole_panes():
    # Given the default layout (10 s tumbling, 1 min hopping by 10 s)
    layout = WindowLayout()
    # Then instants map to the pane starting at the previous multiple of 10 s
    assert layout.pane_start(1_700_000_012_345) == 1_700_000_010_000
    assert layout.pane_start(1_700_000_010_000) == 1_700_000_010_000
    # And the hopping window ending at E is the six panes before E
    assert list(layout.hop_panes(120_000)) == [60_000, 70_000, 80_000, 90_000, 100_000, 110_000]
    assert layout.is_hop_end(120_000) and not WindowLayout(10_000, 60_000, 20_000).is_hop_end(130_000)


def test_pane_accumulates_results_and_drops_and_round_trips():
    # Given a pane with two results and a drop
    pane = Pane(10_000).with_result({"person": 2}, 0.05).with_result({"person": 1, "car": 1}, 0.15)
    pane = pane.with_drop("stale", 3).with_drop("stale", 2)
    # Then counts add up, and the stored form reads back equal
    assert (pane.frames, dict(pane.detections), dict(pane.drops)) == (
        2,
        {"person": 3, "car": 1},
        {"stale": 5},
    )
    assert Pane.from_dict(pane.to_dict()) == pane


def test_merge_of_no_panes_is_an_empty_window_at_the_requested_start():
    # Given nothing, when merged, then it is empty and starts where asked
    assert merge_panes(50_000, []) == Pane(50_000)


def test_window_stats_json_has_documented_fields():
    # Given 10 results over a 10 s window with latencies 10..100 ms and 4 drops
    pane = Pane(0)
    for i in range(1, 11):
        pane = pane.with_result({"person": 1}, i / 100)
    stats = WindowStats("cam1", WindowKind.TUMBLING, 0, 10_000, pane.with_drop("stride", 4))
    # When rendered
    doc = stats.to_json(emitted_ms=12_000)
    # Then it carries the stream, window bounds, fps, counts, percentiles in ms, drops
    assert doc["schema"] == STATS_SCHEMA and doc["stream_id"] == "cam1"
    assert doc["window"] == {"kind": "tumbling", "start_ms": 0, "end_ms": 10_000, "size_s": 10.0}
    assert (doc["frames"], doc["fps"], doc["detections"]) == (10, 1.0, {"person": 10})
    assert doc["latency_ms"]["p50"] == pytest.approx(50, rel=0.01)
    assert doc["latency_ms"]["p95"] == pytest.approx(100, rel=0.01)
    assert doc["latency_ms"]["max"] == pytest.approx(100)
    assert (doc["drops"], doc["drops_total"], doc["emitted_ms"]) == ({"stride": 4}, 4, 12_000)


def test_empty_window_reports_zero_fps_and_no_latency():
    # Given an empty window, then fps is 0 and percentiles are null
    doc = WindowStats("s", WindowKind.HOPPING, 0, 60_000, Pane(0)).to_json()
    assert doc["fps"] == 0.0 and doc["latency_ms"]["p99"] is None and doc["latency_ms"]["count"] == 0
