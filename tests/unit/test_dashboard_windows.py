"""Aggregator windows in the dashboard without a broker: kept per (stream, kind), served."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from framewire.core.config import KafkaSettings
from framewire.dashboard import metrics
from framewire.dashboard.app import create_app
from framewire.dashboard.framestore import FrameStore
from framewire.dashboard.hub import ALL_STREAMS, Hub
from framewire.dashboard.settings import DashboardSettings
from framewire.dashboard.state import PipelineState
from framewire.dashboard.windowstats import StatsOutcome, WindowBoard
from framewire.dashboard.wire import Record, TopicKind
from framewire.v1.detection_pb2 import DetectionResult
from framewire.v1.stream_pb2 import StreamSpec

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000


def window(kind: str, start_ms: int, *, stream: str = "cam1", fps: float = 25.0,
           size_s: float = 10.0) -> dict[str, Any]:
    """A stats message in the documented format (docs/stats-format.md)."""
    return {
        "schema": "framewire.stats/1",
        "stream_id": stream,
        "window": {"kind": kind, "start_ms": start_ms, "end_ms": start_ms + int(size_s * 1000),
                   "size_s": size_s},
        "frames": int(fps * size_s),
        "fps": fps,
        "detections": {"car": 12, "person": 301},
        "latency_ms": {"count": 250, "p50": 41.2, "p95": 80.3, "p99": 97.9, "mean": 44.0,
                       "max": 101.0},
        "drops": {"stale": 5},
        "drops_total": 5,
        "emitted_ms": start_ms + int(size_s * 1000) + 2100,
    }


def stats_record(offset: int, value: object, key: str | None = "cam1") -> Record:
    return Record(TopicKind.STATS, "fw.stats", 0, offset, key, value, 1.0, None)


def outcome_count(outcome: StatsOutcome) -> float:
    return metrics.WINDOW_STATS.labels(outcome.value)._value.get()


def test_board_keeps_the_newest_window_of_each_kind() -> None:
    # Given a board with a tumbling and a hopping window of one stream (same key)
    board = WindowBoard()
    for msg in (window("tumbling", T0), window("hopping", T0 - 50_000, size_s=60)):
        assert board.offer(board.parse("cam1", msg)) is StatsOutcome.STORED  # type: ignore[arg-type]
    # When an older tumbling window is republished, and the hopping one again with new figures
    older = board.parse("cam1", window("tumbling", T0 - 10_000, fps=1.0))
    again = board.parse("cam1", window("hopping", T0 - 50_000, fps=7.5, size_s=60))
    assert older is not None and again is not None
    # Then the older one is refused, the same window's later message replaces the first
    assert board.offer(older) is StatsOutcome.SUPERSEDED
    assert board.offer(again) is StatsOutcome.STORED
    kept = board.for_stream("cam1")
    assert kept["tumbling"]["window"]["start_ms"] == T0 and kept["tumbling"]["fps"] == 25.0
    assert kept["hopping"]["fps"] == 7.5 and kept["hopping"]["window"]["size_s"] == 60
    assert kept["tumbling"]["schema"] == "framewire.stats/1"


def test_board_tells_non_stats_from_broken_stats() -> None:
    board = WindowBoard()
    # Given records that are not stats messages / Then parse says so without an error
    assert board.parse("cam1", {"raw": "0801", "bytes": 2}) is None
    assert board.parse("cam1", [1, 2]) is None
    # Given broken stats messages / Then the error names what is wrong
    broken = copy.deepcopy(window("tumbling", T0))
    broken["window"]["kind"] = "sliding"
    with pytest.raises(ValueError, match=r"window\.kind"):
        board.parse("cam1", broken)
    with pytest.raises(ValueError, match="latency_ms"):
        board.parse("cam1", {**window("tumbling", T0), "latency_ms": None})
    with pytest.raises(ValueError, match="key 'cam2' and stream_id 'cam1' disagree"):
        board.parse("cam2", window("tumbling", T0))


def test_board_is_bounded_by_streams() -> None:
    board = WindowBoard(max_streams=2)
    for stream in ("a", "b"):
        stats = board.parse(stream, window("tumbling", T0, stream=stream))
        assert stats is not None and board.offer(stats) is StatsOutcome.STORED
    extra = board.parse("c", window("tumbling", T0, stream="c"))
    assert extra is not None and board.offer(extra) is StatsOutcome.OVER_LIMIT
    assert board.streams() == ["a", "b"]


def test_state_serves_windows_in_stream_json_and_events_and_counts_the_rest() -> None:
    # Given a state with a summary client and a client of stream cam1
    hub = Hub(64)
    state = PipelineState(hub, FrameStore(4), history_s=30, clock=lambda: 100.0)
    summary, detail = hub.subscribe(ALL_STREAMS), hub.subscribe("cam1")
    invalid_before = outcome_count(StatsOutcome.INVALID)
    # When both kinds, a broken stats record and a foreign JSON record are applied
    state.apply([
        stats_record(0, window("tumbling", T0)),
        stats_record(1, window("hopping", T0 - 50_000, size_s=60)),
        stats_record(2, {**window("tumbling", T0), "fps": "fast"}),
        stats_record(3, {"custom": 1}, key="other"),
    ])
    # Then both kinds are in the stream's JSON, each announced once to both channels
    windows = state.stream_json("cam1")["windows"]
    assert windows["tumbling"]["window"]["kind"] == "tumbling"
    assert windows["hopping"]["window"]["size_s"] == 60
    assert [e.kind for e in detail._items] == ["window_stats", "window_stats"]
    assert [e.kind for e in summary._items] == ["window_stats", "window_stats", "aggregate",
                                                "aggregate"]
    # ... the broken one was counted, and only foreign records stay as raw aggregates
    assert outcome_count(StatsOutcome.INVALID) == invalid_before + 1
    assert set(state.snapshot()["aggregates"]) == {"cam1", "other"}


def test_deleting_a_stream_forgets_its_windows_and_ignores_late_ones() -> None:
    # Given a stream with a spec and a window
    state = PipelineState(Hub(16), FrameStore(4), history_s=30, clock=lambda: 100.0)
    spec = StreamSpec(stream_id="cam1", source_uri="file:///x.mp4")
    state.apply([
        Record(TopicKind.STREAMS, "fw.streams", 0, 0, "cam1", spec, 1.0, None),
        Record(TopicKind.RESULTS, "fw.results.cam1", 0, 0, "cam1",
               DetectionResult(stream_id="cam1"), 1.0, "cam1"),
        stats_record(0, window("tumbling", T0)),
    ])
    assert "cam1" in state.windows
    # When it is deleted and the aggregator publishes its last window afterwards
    state.apply([Record(TopicKind.STREAMS, "fw.streams", 0, 1, "cam1", None, 1.0, None),
                 stats_record(1, window("tumbling", T0 + 10_000))])
    # Then no window is kept for it
    assert "cam1" not in state.windows
    assert state.windows.for_stream("cam1") == {"tumbling": None, "hopping": None}


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(DashboardSettings(kafka=KafkaSettings()), with_kafka=False)
    with TestClient(app) as test_client:
        yield test_client


def test_stats_routes_are_documented_and_answer(client: TestClient) -> None:
    # Given the OpenAPI document / Then both stats routes and their schemas are described
    doc = client.get("/openapi.json").json()
    route = doc["paths"]["/api/streams/{stream_id}/stats"]["get"]
    schema = route["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/StreamWindows")
    assert "/api/stats" in doc["paths"]
    fields = doc["components"]["schemas"]["WindowStats"]["properties"]
    assert {"schema", "window", "fps", "detections", "latency_ms", "drops"} <= set(fields)
    # When a window is applied to the app's state
    state: PipelineState = client.app.state.ctx.state  # type: ignore[attr-defined]
    state.apply([stats_record(0, window("hopping", T0, size_s=60))])
    # Then the routes serve it, and unknown or invalid streams get clear errors
    body = client.get("/api/streams/cam1/stats").json()
    assert body["hopping"]["latency_ms"]["p95"] == 80.3 and body["tumbling"] is None
    assert client.get("/api/stats").json()["streams"]["cam1"]["hopping"]["fps"] == 25.0
    assert client.get("/api/streams/nope/stats").status_code == 404
    assert client.get("/api/streams/a.b/stats").status_code == 422
