"""Dashboard building blocks without a broker: hub fan-out, rolling views, frames, wire JSON."""

from __future__ import annotations

import asyncio

import pytest

from framewire.core.topics import Topics
from framewire.dashboard.framestore import FrameStore, StoredFrame
from framewire.dashboard.hub import ALL_STREAMS, Event, Hub
from framewire.dashboard.state import PipelineState
from framewire.dashboard.views import StreamView, percentile
from framewire.dashboard.wire import (
    Baseline,
    Record,
    TopicKind,
    classify,
    decode_json_or_text,
    result_json,
    scrub_text,
)
from framewire.v1.detection_pb2 import Box, Detection, DetectionResult
from framewire.v1.frame_pb2 import Frame
from framewire.v1.stream_pb2 import StreamSpec

pytestmark = pytest.mark.unit


def ev(offset: int) -> Event:
    return Event.make("result", {"n": offset}, event_id=f"0:{offset}", offset=offset)


def test_event_wire_format_is_sse() -> None:
    # Given an event with an id / When encoded / Then it is one SSE block
    wire = ev(7).wire.decode()
    assert wire == 'event: result\nid: 0:7\ndata: {"n":7}\n\n'


def test_slow_client_loses_only_its_own_oldest_events() -> None:
    # Given a hub with queues of 4 and two clients of the same stream
    drops: list[tuple[str, int]] = []
    hub = Hub(4, on_drop=lambda endpoint, n: drops.append((endpoint, n)))
    slow, fast = hub.subscribe("cam"), hub.subscribe("cam")

    async def scenario() -> list[int]:
        got = []
        for offset in range(10):
            hub.publish("cam", ev(offset))
            event = await fast.get()  # the fast client keeps up
            assert event is not None
            got.append(event.offset)
        return got

    # When ten events are published and only one client reads
    fast_offsets = asyncio.run(scenario())
    # Then the fast client got all ten, the slow one keeps the newest four and counts six lost
    assert fast_offsets == list(range(10))
    assert [e.offset for e in list(slow._items)] == [6, 7, 8, 9]
    assert slow.take_dropped() == 6 and slow.take_dropped() == 0
    assert drops == [("stream", 1)] * 6


def test_channels_are_separate_and_unsubscribe_is_idempotent() -> None:
    # Given a summary client and a client of another stream
    hub = Hub(8)
    summary, other = hub.subscribe(ALL_STREAMS), hub.subscribe("other")
    # When an event is published to stream "cam"
    delivered = hub.publish("cam", ev(1))
    # Then nobody got it; unsubscribing twice is harmless
    assert delivered == 0 and len(summary) == 0 and len(other) == 0
    hub.unsubscribe(other)
    hub.unsubscribe(other)
    assert hub.client_count() == 1


def test_close_wakes_waiting_clients() -> None:
    # Given a client waiting for an event
    hub = Hub(8)
    queue = hub.subscribe("cam")

    async def scenario() -> object:
        waiter = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        hub.close()  # When the dashboard shuts down
        return await asyncio.wait_for(waiter, 1)

    # Then the wait ends with None, and later subscribers are closed at once
    assert asyncio.run(scenario()) is None
    assert hub.subscribe("cam").closed


def test_percentile_is_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None


def test_stream_view_rates_latency_and_classes() -> None:
    # Given 5 complete seconds with 15 frames and 10 results each, latency 10..19 ms
    view = StreamView("cam", history_s=30)
    for second in range(100, 105):
        for i in range(15):
            view.note_frame(second + i / 15, 0, second * 100 + i)
        for i in range(10):
            view.note_result(second + i / 10, 10.0 + i, ["cat"] if i % 2 else ["cat", "dog"])
    view.note_drop("stale", 3)
    # When summarised during the next second
    summary = view.summary(105.5)
    # Then rates are per second and percentiles come from the observed latencies
    assert summary["fps_in"] == 15.0 and summary["fps_out"] == 10.0
    assert summary["latency_ms"]["p50"] == 14.0 and summary["latency_ms"]["p99"] == 19.0
    assert summary["classes"] == {"cat": 50, "dog": 25}
    assert summary["drops"] == {"total": 3, "by_reason": {"stale": 3}}
    assert summary["last_frame"] == "0:10414"
    assert [p["t"] for p in view.history(105.5)] == [100, 101, 102, 103, 104]
    assert view.last_point(105.5) == {"t": 104, "fps_out": 10, "p50": 14.0, "p99": 19.0}


def test_stream_view_memory_is_bounded_by_history() -> None:
    view = StreamView("cam", history_s=10)
    for second in range(1000):
        view.note_result(float(second), 1.0, [])
    assert len(view.history(2000.0)) == 10


def frame(offset: int) -> StoredFrame:
    return StoredFrame("cam", 0, offset, offset, 4, 3, 0, b"jpeg%d" % offset)


def test_frame_store_keeps_the_newest_frames() -> None:
    store = FrameStore(per_stream=3)
    for offset in range(5):
        store.put(frame(offset))
    assert store.get("cam", 0, 1) is None
    assert store.get("cam", 0, 4) == frame(4)
    assert store.latest("cam") == frame(4)
    assert store.oldest_offset("cam", 0) == 2


def test_frame_store_waits_for_a_frame_announced_by_its_result() -> None:
    # Given a request for offset 9 before the frame arrived
    store = FrameStore(per_stream=3)

    async def scenario() -> tuple[object, object]:
        waiting = asyncio.create_task(store.wait_for("cam", 0, 9, 2.0))
        await asyncio.sleep(0.01)
        store.put(frame(9))  # When it arrives
        missing = await store.wait_for("cam", 0, 99, 0.05)
        return await waiting, missing

    found, missing = asyncio.run(scenario())
    # Then the waiting request gets it; one that never arrives times out with None
    assert found == frame(9) and missing is None


def test_classify_topics() -> None:
    topics = Topics("fw.")
    assert classify(topics, "fw.frames.cam-1") == (TopicKind.FRAMES, "cam-1")
    assert classify(topics, "fw.results.cam-1") == (TopicKind.RESULTS, "cam-1")
    assert classify(topics, "fw.streams") == (TopicKind.STREAMS, None)
    assert classify(topics, "fw.results.cam.replay") is None
    assert classify(topics, "other.frames.cam") is None


def test_result_json_carries_boxes_frame_and_latency() -> None:
    result = DetectionResult(
        stream_id="cam", source_partition=0, source_offset=41, capture_time_ns=1_000_000_000,
        result_time_ns=1_025_000_000, image_width=640, image_height=480,
        detections=[Detection(label="cat", score=0.875, box=Box(xmin=0.1, ymin=0.2, xmax=0.5,
                                                                 ymax=0.9))],
    )
    out = result_json(result, "fw.results.cam", 0, 7)
    assert out["id"] == "0:7" and out["frame"] == "0:41" and out["latency_ms"] == 25.0
    assert out["detections"][0]["label"] == "cat"
    assert out["detections"][0]["box"] == pytest.approx([0.1, 0.2, 0.5, 0.9], abs=1e-6)


def test_aggregator_payloads_json_or_preview() -> None:
    assert decode_json_or_text(b'{"fps": 3}') == {"fps": 3}
    assert decode_json_or_text(b"\x08\x01\xff") == {"raw": "0801ff", "bytes": 3}
    assert decode_json_or_text(None) is None


def record(kind: TopicKind, offset: int, message: object, *, stream: str | None = "cam",
           key: str | None = "cam", topic: str = "fw.results.cam") -> Record:
    return Record(kind, topic, 0, offset, key, message, 1.0, stream)


def test_state_tracks_positions_specs_and_ignores_late_results_of_deleted_streams() -> None:
    # Given a state with one summary client
    hub = Hub(64)
    state = PipelineState(hub, FrameStore(4), history_s=30, clock=lambda: 100.0)
    summary = hub.subscribe(ALL_STREAMS)
    result = DetectionResult(stream_id="cam", detections=[Detection(label="cat")])
    # When the consumer's baseline, a spec and a result are applied
    state.apply([
        Baseline("fw.results.cam", 0, 41),
        record(TopicKind.STREAMS, 0, StreamSpec(stream_id="cam", source_uri="rtsp://u:p@h/x"),
               stream=None, topic="fw.streams"),
        record(TopicKind.RESULTS, 42, result),
    ])
    # Then the position moved, the stream is visible with a redacted URI, events went out
    assert state.position("fw.results.cam", 0) == 42
    assert state.visible_streams() == ["cam"]
    assert state.stream_json("cam")["spec"]["source_uri"] == "rtsp://***@h/x"
    assert [e.kind for e in list(summary._items)] == ["stream", "result"]
    # When the stream is tombstoned and a late result arrives
    state.apply([record(TopicKind.STREAMS, 1, None, stream=None, topic="fw.streams"),
                 record(TopicKind.RESULTS, 43, result)])
    # Then it stays gone, and the page was told once
    assert state.visible_streams() == []
    assert [e.kind for e in list(summary._items)][-1] == "stream_deleted"
    assert state.position("fw.results.cam", 0) == 43


def test_a_frame_read_twice_is_stored_once() -> None:
    # Given a state, and a frames topic holding frame 33, 34, then copies of both, then 35
    state = PipelineState(Hub(16), FrameStore(8), history_s=30, clock=lambda: 100.0)
    frames = [Frame(stream_id="cam", sequence=seq, capture_time_ns=1_000 + seq, data=b"j")
              for seq in (33, 34, 33, 34, 35)]
    # When the records are applied
    state.apply([record(TopicKind.FRAMES, offset, f, topic="fw.frames.cam")
                 for offset, f in enumerate(frames)])
    # Then the copies at offsets 2 and 3 are not stored, the newest frame is 35, and the
    # position still passed every record
    assert state.frames.get("cam", 0, 2) is None and state.frames.get("cam", 0, 3) is None
    assert state.frames.get("cam", 0, 1) is not None
    latest = state.frames.latest("cam")
    assert latest is not None and latest.sequence == 35
    assert state.recent_frames.duplicates == 2
    assert state.position("fw.frames.cam", 0) == 4


def test_credentials_inside_free_text_are_scrubbed() -> None:
    reason = "cannot open rtsp://admin:hunter2pw@10.0.0.5/live: timeout"
    assert scrub_text(reason) == "cannot open rtsp://***@10.0.0.5/live: timeout"
    assert scrub_text("rtsp://u:p@h/x?token=abc") == "rtsp://***@h/x?token=***"
