"""The aggregator restarts and its tables (panes, progress, alert states) recover from their
changelog topics: the memory store starts empty, so everything it knows after a restart
came from Kafka."""

from __future__ import annotations

import time

import pytest

from support.aggregator import AggregatorProcess, JsonReader, prepare_streams, produce, result_bytes

pytestmark = pytest.mark.integration

PANE_MS = 2000


def test_tables_recover_from_changelog_after_restart(kafka_settings, tmp_path):
    # Given windows closed by event time only (idle time far away) and a silence rule
    topics = kafka_settings.topics
    prepare_streams(kafka_settings, ["yard"])
    rules = tmp_path / "alerts.rules"
    rules.write_text("quiet: silent for 2s\n")
    env = {"FW_AGGREGATOR_RULES_FILE": str(rules), "FW_AGGREGATOR_IDLE_S": "120"}
    now_ms = int(time.time() * 1000)
    t0 = now_ms - now_ms % PANE_MS - 10 * PANE_MS

    def results(first: int, count: int) -> list[tuple[str, str, bytes]]:
        return [
            (topics.results("yard"), "yard", result_bytes("yard", i, t0 + i * 100, 30, ["car"]))
            for i in range(first, first + count)
        ]

    stats, alerts = JsonReader(kafka_settings, topics.stats), JsonReader(kafka_settings, topics.alerts)
    first = AggregatorProcess(kafka_settings, tmp_path / "first.log", env).start()
    try:
        # When the first run sees pane 1 whole and half of pane 2, and the stream goes silent
        produce(kafka_settings, results(0, 30))
        stats.wait_for(lambda ms: any(m["window"]["start_ms"] == t0 for m in ms), timeout_s=20)
        alerts.wait_for(lambda ms: any(m["state"] == "firing" for m in ms), timeout_s=15)
        before = first.get("/stats/yard/").json()
    finally:
        assert first.stop() == 0
    second = AggregatorProcess(kafka_settings, tmp_path / "second.log", env).start()
    try:
        # Then the restarted app knows the half-filled pane and the published windows
        after = second.get("/stats/yard/").json()
        assert after["current"]["tumbling"]["frames"] == 10
        assert after["latest"] == before["latest"] and after["published_until_ms"] == t0 + PANE_MS
        assert [a["alert_id"] for a in second.get("/alerts/").json()["firing"]] == ["quiet/yard"]
        # When the rest of pane 2 and some of pane 3 arrive
        produce(kafka_settings, results(30, 20))
        end = t0 + 2 * PANE_MS
        stats.wait_for(lambda ms: any(m["window"]["end_ms"] == end for m in ms), timeout_s=20)
        alerts.wait_for(lambda ms: any(m["state"] == "cleared" for m in ms), timeout_s=15)
    finally:
        second.stop()
        stats.close()
        alerts.close()
    # Then pane 2 counts frames from both runs, and no window was published twice
    tumbling = [m for m in stats.messages if m["window"]["kind"] == "tumbling"]
    assert [(m["window"]["start_ms"] - t0, m["frames"]) for m in tumbling] == [(0, 20), (PANE_MS, 20)]
    # And the silence alert fired once (first run) and cleared once (second run)
    assert [m["state"] for m in alerts.messages] == ["firing", "cleared"]
