"""The aggregator on the real broker: windows of a generated result stream, the DLQ, and
result topics created while it runs."""

from __future__ import annotations

import time

import numpy as np
import pytest
from confluent_kafka import Consumer

from framewire.core.codec import DeadLetter, decode
from framewire.core.kafka import consumer_config
from support.aggregator import (
    AggregatorProcess,
    JsonReader,
    drop_bytes,
    prepare_streams,
    produce,
    result_bytes,
    wait_for,
)

pytestmark = pytest.mark.integration

PANE_MS = 2000  # FAST_WINDOWS: tumbling 2 s, hopping 6 s every 2 s


def generated(stream: str, t0: int) -> tuple[list[dict], list[bytes]]:
    """75 results over three panes: latency 5..104 ms, i % 3 persons, a car every 10th."""
    frames, values = [], []
    for i in range(75):
        frame = {
            "capture": t0 + i * 80,
            "latency": 5 + (i * 37) % 100,
            "labels": ["person"] * (i % 3) + (["car"] if i % 10 == 0 else []),
        }
        frames.append(frame)
        values.append(result_bytes(stream, i, frame["capture"], frame["latency"], frame["labels"]))
    return frames, values


def latest_windows(messages: list[dict], kind: str) -> dict[int, dict]:
    """Last message per window start: a window may be published again, the last one wins."""
    return {m["window"]["start_ms"]: m for m in messages if m["window"]["kind"] == kind}


def test_windows_match_a_generated_result_stream(kafka_settings, tmp_path):
    # Given 6 s of results captured some seconds ago, and two drop records
    topics = kafka_settings.topics
    prepare_streams(kafka_settings, ["cam"])
    now_ms = int(time.time() * 1000)
    t0 = now_ms - now_ms % PANE_MS - 5 * PANE_MS
    frames, values = generated("cam", t0)
    drops = [drop_bytes("cam", t0 + 500, "REASON_STALE", 4), drop_bytes("cam", t0 + 2500, "REASON_STRIDE", 2)]
    produce(kafka_settings, [(topics.results("cam"), "cam", v) for v in values])
    produce(kafka_settings, [(topics.drops, "cam", v) for v in drops])
    reader = JsonReader(kafka_settings, topics.stats)
    aggregator = AggregatorProcess(kafka_settings, tmp_path / "aggregator.log").start()
    try:
        # When the aggregator has closed the three tumbling windows
        def three_closed(messages):
            windows = latest_windows(messages, "tumbling")
            # The hopping window closes in the same step; wait for it too, not just the panes.
            hopping_done = (t0 + 3 * PANE_MS - 6000) in latest_windows(messages, "hopping")
            return hopping_done and all(
                windows.get(t0 + k * PANE_MS, {}).get("frames") == 25 for k in range(3)
            )

        messages = reader.wait_for(three_closed, timeout_s=30)
        snapshot = aggregator.get("/stats/cam/").json()
    finally:
        aggregator.stop()
        reader.close()
    # Then each tumbling window holds exactly its frames, detections, latency and drops
    tumbling = latest_windows(messages, "tumbling")
    for k in range(3):
        window = tumbling[t0 + k * PANE_MS]
        mine = frames[k * 25 : (k + 1) * 25]
        assert window["stream_id"] == "cam" and window["window"]["end_ms"] == t0 + (k + 1) * PANE_MS
        assert window["fps"] == pytest.approx(12.5)
        assert window["detections"] == {
            "car": sum(f["labels"].count("car") for f in mine),
            "person": sum(f["labels"].count("person") for f in mine),
        }
        latencies = [f["latency"] for f in mine]
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
            exact = np.percentile(latencies, q, method="inverted_cdf")
            assert window["latency_ms"][name] == pytest.approx(exact, rel=0.011)
        assert window["latency_ms"]["max"] == pytest.approx(max(latencies), rel=1e-6)
    assert tumbling[t0]["drops"] == {"stale": 4}
    assert tumbling[t0 + PANE_MS]["drops"] == {"stride": 2}
    assert tumbling[t0 + 2 * PANE_MS]["drops_total"] == 0
    # And the hopping window ending with the third pane covers all three
    hopping = latest_windows(messages, "hopping")[t0 + 3 * PANE_MS - 6000]
    assert hopping["frames"] == 75 and hopping["drops_total"] == 6
    assert hopping["fps"] == pytest.approx(12.5)
    # And the web view serves the same last windows
    assert snapshot["latest"]["tumbling"]["window"]["start_ms"] >= t0 + 2 * PANE_MS


def test_malformed_results_go_to_the_dlq_and_new_streams_are_picked_up(kafka_settings, tmp_path):
    # Given a running aggregator with one stream topic
    topics = kafka_settings.topics
    prepare_streams(kafka_settings, ["bad"])
    aggregator = AggregatorProcess(kafka_settings, tmp_path / "aggregator.log").start()
    reader = JsonReader(kafka_settings, topics.stats)
    try:
        # When malformed records arrive: garbage, a stream mismatch, no capture time
        now_ms = int(time.time() * 1000)
        bad = [
            b"\x08\x96\x01garbage\xff",
            result_bytes("other", 1, now_ms, 10),
            result_bytes("bad", 2, 0, 10),
        ]
        produce(kafka_settings, [(topics.results("bad"), "bad", v) for v in bad])
        # And then a new stream's topic is created and gets good results
        prepare_streams(kafka_settings, ["late"])
        good = [result_bytes("late", i, now_ms + i * 100, 20, ["person"]) for i in range(20)]
        produce(kafka_settings, [(topics.results("late"), "late", v) for v in good])
        # Then the new stream's windows are published (the app kept running)
        reader.wait_for(
            lambda ms: (
                sum(
                    m["frames"]
                    for m in latest_windows([m for m in ms if m["stream_id"] == "late"], "tumbling").values()
                )
                == 20
            ),
            timeout_s=90,
        )
        metrics = aggregator.metrics_text()
    finally:
        aggregator.stop()
        reader.close()
    # And each malformed record is in the DLQ with its coordinates and a reason
    letters = read_dead_letters(kafka_settings, expected=3)
    assert [(d.original_topic, d.original_offset) for d in letters] == [
        (topics.results("bad"), n) for n in range(3)
    ]
    assert [d.error_kind for d in letters] == ["decode_error", "invalid_message", "invalid_message"]
    assert "another stream's topic" in letters[1].error_message
    assert "capture time" in letters[2].error_message
    assert letters[0].original_value == bad[0] and letters[0].service == "aggregator"
    assert 'framewire_aggregator_dead_letters_total{kind="invalid_message"} 2.0' in metrics


def read_dead_letters(kafka_settings, expected: int) -> list[DeadLetter]:
    conf = consumer_config(kafka_settings, f"dlq-{time.time_ns()}", **{"auto.offset.reset": "earliest"})
    consumer = Consumer(conf)
    consumer.subscribe([kafka_settings.topics.dlq])
    letters: list[DeadLetter] = []

    def enough() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            letters.append(decode(DeadLetter, msg.value()))
        return len(letters) >= expected

    try:
        wait_for(enough, 20, f"{expected} dead letters")
    finally:
        consumer.close()
    return sorted(letters, key=lambda d: d.original_offset)
