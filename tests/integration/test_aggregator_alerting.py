"""Alerts on the real broker: a per-frame rule fires and clears at the right event times,
a silence rule fires after its duration and clears when results resume."""

from __future__ import annotations

import time

import pytest

from support.aggregator import AggregatorProcess, JsonReader, prepare_streams, produce, result_bytes

pytestmark = pytest.mark.integration

RULES = """
crowd: count(person) >= 3 for 1s severity critical
quiet: silent for 2s
"""


def transitions(messages: list[dict], rule: str) -> list[dict]:
    return [m for m in messages if m["rule"] == rule]


def test_alerts_fire_and_clear_at_the_right_times(kafka_settings, tmp_path):
    # Given rules "3 persons for 1 s" and "silent for 2 s"
    topics = kafka_settings.topics
    prepare_streams(kafka_settings, ["door"])
    rules = tmp_path / "alerts.rules"
    rules.write_text(RULES)
    env = {"FW_AGGREGATOR_RULES_FILE": str(rules)}
    aggregator = AggregatorProcess(kafka_settings, tmp_path / "aggregator.log", env).start()
    alerts = JsonReader(kafka_settings, topics.alerts)
    try:
        # When 4 s of results arrive, every 100 ms, with 3 persons from 1.0 s to 2.4 s
        now_ms = int(time.time() * 1000)
        t0 = now_ms - now_ms % 1000 - 5000
        values = [
            result_bytes("door", i, t0 + i * 100, 20, ["person"] * (3 if 10 <= i < 25 else 1))
            for i in range(40)
        ]
        produce(kafka_settings, [(topics.results("door"), "door", v) for v in values])
        # Then the crowd alert fires at 2.0 s (1 s after 1.0 s) and clears at 2.5 s
        seen = alerts.wait_for(lambda ms: len(transitions(ms, "crowd")) >= 2, timeout_s=20)
        fired, cleared = transitions(seen, "crowd")[:2]
        assert (fired["state"], fired["since_ms"] - t0, fired["at_ms"] - t0) == ("firing", 1000, 2000)
        assert (fired["severity"], fired["value"], fired["threshold"]) == ("critical", 3.0, 3.0)
        assert (cleared["state"], cleared["at_ms"] - t0, cleared["fired_ms"] - t0) == ("cleared", 2500, 2000)
        # And with no more results the silence alert fires 2 s after the last one arrived
        seen = alerts.wait_for(lambda ms: len(transitions(ms, "quiet")) >= 1, timeout_s=15)
        (silent,) = transitions(seen, "quiet")
        assert silent["state"] == "firing" and silent["alert_id"] == "quiet/door"
        assert 2000 <= silent["at_ms"] - silent["since_ms"] <= 2750  # ticks every 250 ms
        firing_now = aggregator.get("/alerts/").json()["firing"]
        assert [a["alert_id"] for a in firing_now] == ["quiet/door"]
        # When a result arrives again, then the silence alert clears
        resumed_ms = int(time.time() * 1000)
        produce(kafka_settings, [(topics.results("door"), "door", result_bytes("door", 99, resumed_ms, 20))])
        seen = alerts.wait_for(lambda ms: len(transitions(ms, "quiet")) >= 2, timeout_s=15)
        clear = transitions(seen, "quiet")[1]
        assert clear["state"] == "cleared" and clear["fired_ms"] == silent["at_ms"]
        assert resumed_ms <= clear["at_ms"] <= resumed_ms + 5000
        assert aggregator.get("/alerts/").json()["firing"] == []
    finally:
        aggregator.stop()
        alerts.close()
    # And nothing fired twice
    assert [m["state"] for m in transitions(alerts.messages, "crowd")] == ["firing", "cleared"]
