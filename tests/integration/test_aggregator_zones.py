"""Zone events on the real broker: written in transactions as the tracker writes them, counted
per window in fw.stats (aborted transactions unseen, a record delivered again counted once),
and zone rules firing and clearing on fw.alerts."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from framewire.core.codec import encode
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from framewire.v1.tracks_pb2 import ZoneEvent
from support.aggregator import AggregatorProcess, JsonReader, prepare_streams, produce, result_bytes, wait_for

pytestmark = pytest.mark.integration

PANE_MS = 2000  # FAST_WINDOWS: tumbling 2 s
RULES = """
full: occupancy(door) >= 2 for 2s severity critical
rush: line_crosses(gate, left_to_right) >= 2 for 0s
"""
KINDS = {"enter": ZoneEvent.ENTER, "leave": ZoneEvent.LEAVE, "cross": ZoneEvent.CROSS,
         "dwell": ZoneEvent.DWELL}


def event(t0: int, offset_ms: int, kind: str, target: str, track: int, direction: str = "") -> bytes:
    """A ZoneEvent as the tracker writes it, from the result at source offset ``offset_ms``."""
    return encode(ZoneEvent(
        stream_id="lobby", kind=KINDS[kind], track_id=track, zone_or_line=target, direction=direction,
        label="person", capture_time_ns=(t0 + offset_ms) * 1_000_000, source_topic="fw.results.lobby",
        source_partition=0, source_offset=offset_ms, tracker_id="tracker-1", event_time_ns=time.time_ns(),
    ))


def transaction(kafka: KafkaSettings, values: list[bytes], commit: bool) -> None:
    """Write ``values`` to the events topic in one transaction, then commit or abort it."""
    producer = make_producer(kafka, transactional_id=f"{kafka.topic_prefix}tracker-{uuid.uuid4().hex[:8]}")
    producer.init_transactions(30)
    producer.begin_transaction()
    for value in values:
        producer.produce(kafka.topics.events, key=b"lobby", value=value)
    producer.flush(30)
    if commit:
        producer.commit_transaction(30)
    else:
        producer.abort_transaction(30)


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"framewire_aggregator_{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match[1] for k, v in labels.items()):
            total += float(match[2])
    return total


def latest(messages: list[dict], kind: str = "tumbling") -> dict[int, dict]:
    return {m["window"]["start_ms"]: m for m in messages if m["window"]["kind"] == kind}


def test_zone_events_are_counted_per_window_and_zone_rules_fire(kafka_settings, tmp_path):
    # Given an aggregator with zone rules, closing windows by event time only
    topics = kafka_settings.topics
    prepare_streams(kafka_settings, ["lobby"])
    rules = tmp_path / "alerts.rules"
    rules.write_text(RULES)
    env = {"FW_AGGREGATOR_RULES_FILE": str(rules), "FW_AGGREGATOR_IDLE_S": "120"}
    aggregator = AggregatorProcess(kafka_settings, tmp_path / "aggregator.log", env).start()
    stats, alerts = JsonReader(kafka_settings, topics.stats), JsonReader(kafka_settings, topics.alerts)
    now_ms = int(time.time() * 1000)
    t0 = now_ms - now_ms % PANE_MS - 5 * PANE_MS
    try:
        # When an aborted transaction of events, a committed one, and a committed copy of
        # one of its events (a record delivered again) reach the events topic
        transaction(kafka_settings, [event(t0, 300, "enter", "door", 7)] * 3
                    + [event(t0, 900, "cross", "gate", 7, "left_to_right")], commit=False)
        committed = [
            event(t0, 200, "enter", "door", 1), event(t0, 400, "enter", "door", 2),
            event(t0, 600, "cross", "gate", 1, "left_to_right"),
            event(t0, 800, "cross", "gate", 2, "left_to_right"),
            event(t0, 1000, "dwell", "door", 1), event(t0, 2500, "leave", "door", 1),
            event(t0, 3000, "cross", "gate", 2, "right_to_left"),
        ]
        transaction(kafka_settings, committed, commit=True)
        transaction(kafka_settings, [committed[4]], commit=True)

        def all_read() -> bool:
            text = aggregator.metrics_text()
            return metric(text, "rejected_total", stream="lobby", reason="duplicate") >= 1

        wait_for(all_read, 30, "the zone events to be read", aggregator._alive)
        text = aggregator.metrics_text()
        # And results of the same 8 s follow, moving the stream's event time on
        values = [result_bytes("lobby", i, t0 + i * 100, 20, ["person"]) for i in range(80)]
        produce(kafka_settings, [(topics.results("lobby"), "lobby", v) for v in values])
        windows = stats.wait_for(lambda ms: all(t0 + k * PANE_MS in latest(ms) for k in range(3)), 30)
        seen = alerts.wait_for(lambda ms: len(ms) >= 4, timeout_s=20)
    finally:
        aggregator.stop()
        stats.close()
        alerts.close()
    # Then every committed event was counted once, the copy refused, the aborted ones unseen
    assert metric(text, "zone_events_total", stream="lobby") == 7
    assert metric(text, "rejected_total", stream="lobby", reason="duplicate") == 1
    # And each tumbling window holds its own events, occupancy at its end
    tumbling = latest(windows)
    first, second, third = (tumbling[t0 + k * PANE_MS] for k in range(3))
    assert first["zones"] == {"door": {"enters": 2, "leaves": 0, "dwells": 1, "occupancy": 2}}
    assert first["lines"] == {"gate": {"left_to_right": 2, "right_to_left": 0}}
    assert second["zones"] == {"door": {"enters": 0, "leaves": 1, "dwells": 0, "occupancy": 1}}
    assert second["lines"] == {"gate": {"left_to_right": 0, "right_to_left": 1}}
    assert (third["zones"]["door"]["occupancy"], "lines" in third) == (1, False)
    assert first["frames"] == 20 and first["detections"] == {"person": 20}
    # And both rules fired at the end of the first window and cleared at the end of the second
    transitions = sorted((a["rule"], a["state"], a["at_ms"] - t0, a["value"]) for a in seen)
    assert transitions == [
        ("full", "cleared", 4000, 1.0), ("full", "firing", 2000, 2.0),
        ("rush", "cleared", 4000, 0.0), ("rush", "firing", 2000, 2.0),
    ]
    full = next(a for a in seen if a["rule"] == "full" and a["state"] == "firing")
    described = (full["condition"], full["severity"], full["stream_id"])
    assert described == ("occupancy(door) >= 2", "critical", "lobby")
