"""The engine over plain dicts: windows, percentiles, drops, alerts and restarts,
checked against a generated result stream whose answers are computed independently."""

import copy
import json

import numpy as np
import pytest

from framewire.aggregator.alerts import AlertEvent, AlertTransition
from framewire.aggregator.engine import Aggregator, Rejection, Stores
from framewire.aggregator.observations import DropSeen, ResultSeen, Tick
from framewire.aggregator.progress import Timing
from framewire.aggregator.rules import parse_rules
from framewire.aggregator.stats import WindowKind, WindowStats
from framewire.aggregator.windows import WindowLayout
from support.aggregator import feed

pytestmark = pytest.mark.unit

T0 = 1_700_000_000_000  # a multiple of 10 s, in ms
FPS = 25


def generated_stream(seconds=30):
    """(observation, arrival_s) for FPS results per second plus a few drops."""
    out = []
    for i in range(seconds * FPS):
        event = T0 + i * 1000 // FPS
        latency = ((i * 37) % 100 + 1) / 1000  # 1..100 ms, spread over the stream
        out.append((ResultSeen("cam1", event, latency, {"person": i % 4}), event / 1000 + latency))
    out.append((DropSeen("cam1", T0 + 3000, "stale", 5), T0 / 1000 + 3.1))
    out.append((DropSeen("cam1", T0 + 15_000, "backpressure", 2), T0 / 1000 + 15.1))
    return sorted(out, key=lambda pair: pair[1])


def ticks(start_s, stop_s, step_s=1.0, stream="cam1"):
    return [(Tick(stream, t), t) for t in np.arange(start_s, stop_s, step_s)]


def make(rules="", timing=None):
    return Aggregator(WindowLayout(), timing or Timing(), parse_rules(rules), Stores())


def stats_of(published, kind):
    return [p for p in published if isinstance(p, WindowStats) and p.kind is kind]


def test_tumbling_windows_match_the_generated_stream():
    # Given a 30 s stream at 25 fps with known latencies, detections and drops
    engine = make()
    stream = generated_stream()
    # When it is applied, then time passes until the stream is idle
    published, rejected = feed(engine, stream + ticks(T0 / 1000 + 31, T0 / 1000 + 40))
    tumbling = stats_of(published, WindowKind.TUMBLING)
    # Then the three tumbling windows came out in order with exact counts
    assert [w.start_ms - T0 for w in tumbling[:3]] == [0, 10_000, 20_000]
    assert rejected == []
    for window in tumbling[:3]:
        mine = [
            o
            for o, _ in stream
            if isinstance(o, ResultSeen) and window.start_ms <= o.event_ms < window.end_ms
        ]
        assert window.totals.frames == 250 and window.fps == FPS
        assert window.totals.detections["person"] == sum(o.counts["person"] for o in mine)
        for q in (0.5, 0.95, 0.99):
            exact = np.percentile([o.latency_s * 1000 for o in mine], q * 100, method="inverted_cdf")
            assert window.latency_ms(q) == pytest.approx(exact, rel=0.01)
    assert dict(tumbling[0].totals.drops) == {"stale": 5}
    assert dict(tumbling[1].totals.drops) == {"backpressure": 2}
    assert tumbling[2].drops_total == 0


def test_windows_close_by_event_time_then_by_wall_clock_when_idle():
    # Given the generated stream without ticks
    engine = make()
    published, _ = feed(engine, generated_stream())
    # Then windows closed by event time: [0,10) and [10,20) are out, [20,30) is not yet
    assert [w.end_ms - T0 for w in stats_of(published, WindowKind.TUMBLING)] == [10_000, 20_000]
    # When ticks arrive before the idle time (5 s), nothing more closes
    early, _ = feed(engine, ticks(T0 / 1000 + 30.2, T0 / 1000 + 35))
    assert stats_of(early, WindowKind.TUMBLING) == []
    # When the stream has been idle long enough, the wall clock closes the rest
    late, _ = feed(engine, ticks(T0 / 1000 + 35.2, T0 / 1000 + 36))
    assert [w.end_ms - T0 for w in stats_of(late, WindowKind.TUMBLING)] == [30_000]


def test_hopping_windows_merge_six_panes_and_stop_after_one_empty_window():
    # Given the stream and two minutes of ticks
    engine = make()
    published, _ = feed(engine, generated_stream() + ticks(T0 / 1000 + 31, T0 / 1000 + 150, 5))
    hopping = stats_of(published, WindowKind.HOPPING)
    # Then one hopping window per 10 s end, each the sum of the panes it covers
    frames = {w.end_ms - T0: w.totals.frames for w in hopping}
    assert frames[10_000] == 250 and frames[30_000] == 750 and frames[60_000] == 750
    assert frames[70_000] == 500 and frames[80_000] == 250 and frames[90_000] == 0
    assert hopping[0].fps == pytest.approx(250 / 60)
    # And emission stopped after the first empty hopping window
    assert max(frames) == 90_000
    # And only the panes a future window could need are stored
    assert len(engine.stores.panes) <= 7


def test_late_and_future_results_are_rejected_with_a_reason():
    # Given a stream whose windows were published long ago
    engine = make()
    feed(engine, generated_stream() + ticks(T0 / 1000 + 31, T0 / 1000 + 150, 5))
    now = T0 / 1000 + 150
    # When a result from its first seconds arrives, then it is too late
    late = engine.on_observation(ResultSeen("cam1", T0 + 5000, 0.01, {}), now)
    # When a result claims to be captured 10 minutes from now, then it is clock skew
    future = engine.on_observation(ResultSeen("cam1", int((now + 600) * 1000), 0.01, {}), now)
    assert (late.rejected, future.rejected) == (Rejection.TOO_LATE, Rejection.CLOCK_SKEW)


def test_stream_returning_after_a_gap_skips_the_empty_windows():
    # Given a stream that stopped and comes back ten minutes later
    engine = make()
    feed(engine, generated_stream() + ticks(T0 / 1000 + 31, T0 / 1000 + 150, 5))
    back = T0 + 600_000
    observations = [
        (ResultSeen("cam1", back + i * 40, 0.01, {}), back / 1000 + i * 0.04 + 0.01) for i in range(500)
    ]
    # When it sends 20 s of results
    published, _ = feed(engine, observations)
    # Then windows resume where it came back, not from the gap
    ends = [w.end_ms for w in stats_of(published, WindowKind.TUMBLING)]
    assert ends == [back + 10_000]


def test_count_rule_fires_and_clears_at_event_times():
    # Given "person >= 3 for 1s" and a stream where every 4th frame has 3 persons
    engine = make("crowd: count(person) >= 3 for 1s")
    frames = []
    for i in range(100):  # 25 fps; persons >= 3 only from frame 50 to 79
        event = T0 + i * 40
        frames.append((ResultSeen("cam1", event, 0.01, {"Person": 3 if 50 <= i < 80 else 1}), event / 1000))
    published, _ = feed(engine, frames)
    events = [(e.transition, e.at_ms - T0) for e in published if isinstance(e, AlertEvent)]
    # Then it fires 1 s after frame 50 (2.0 s -> 3.0 s) and clears at frame 80 (3.2 s)
    assert events == [(AlertTransition.FIRING, 3000), (AlertTransition.CLEARED, 3200)]


def test_silence_fires_after_its_duration_and_clears_on_the_next_result():
    # Given "silent for 3s"
    engine = make("quiet: silent for 3s")
    start = T0 / 1000
    feed(engine, [(ResultSeen("cam1", T0, 0.01, {}), start)])
    # When ticks come every 0.5 s, then it fires at 3 s and not before
    fired, _ = feed(engine, ticks(start + 0.5, start + 4.0, 0.5))
    alerts = [e for e in fired if isinstance(e, AlertEvent)]
    assert [(a.transition, a.at_ms - T0) for a in alerts] == [(AlertTransition.FIRING, 3000)]
    # When a result arrives, then it clears
    cleared = engine.on_observation(ResultSeen("cam1", T0 + 4500, 0.01, {}), start + 4.5)
    assert [(a.transition, a.at_ms - T0) for a in cleared.published if isinstance(a, AlertEvent)] == [
        (AlertTransition.CLEARED, 4500)
    ]


def test_window_rules_evaluate_on_each_closed_window():
    # Given rules on fps, latency and drops
    engine = make("low: fps < 30 for 10s\nslow: latency_p95 > 90ms for 20s\nstale: drops(stale) >= 5 for 0s")
    published, _ = feed(engine, generated_stream() + ticks(T0 / 1000 + 31, T0 / 1000 + 60, 1))
    firing = {(e.rule.name, e.transition, e.at_ms - T0) for e in published if isinstance(e, AlertEvent)}
    # Then fps < 30 fired at the end of the first window, latency p95 (~96 ms) after two
    # windows, stale drops with the first window and cleared with the second
    assert (("low", AlertTransition.FIRING, 10_000)) in firing
    assert (("slow", AlertTransition.FIRING, 20_000)) in firing
    assert (("stale", AlertTransition.FIRING, 10_000)) in firing
    assert (("stale", AlertTransition.CLEARED, 20_000)) in firing
    # And the empty window after the stream stopped cleared the latency rule (no data)
    assert (("slow", AlertTransition.CLEARED, 40_000)) in firing


def test_forgotten_stream_clears_its_alerts_and_state():
    # Given a silent stream whose silence alert fired
    engine = make("quiet: silent for 3s", Timing(forget_s=60))
    start = T0 / 1000
    feed(engine, [(ResultSeen("cam1", T0, 0.01, {}), start), *ticks(start + 1, start + 10)])
    # When it has been gone for the forget time
    outcome = engine.on_observation(Tick("cam1", start + 60), start + 60)
    # Then its alert clears with a reason and every store is empty
    (event,) = outcome.published
    assert event.transition is AlertTransition.CLEARED and event.reason == "stream forgotten"
    assert (engine.stores.panes, engine.stores.progress, engine.stores.alerts) == ({}, {}, {})


def test_restart_from_stored_state_gives_the_same_output():
    # Given the same observations processed in one go, and split by a restart
    rules = "crowd: count(person) >= 3 for 1s\nlow: fps < 30 for 10s\nquiet: silent for 2s"
    observations = generated_stream() + ticks(T0 / 1000 + 31, T0 / 1000 + 120, 1)
    whole, _ = feed(make(rules), observations)
    first = make(rules)
    head, _ = feed(first, observations[:400])
    # When the stores are recovered (serialised as a changelog would) into a new engine
    recovered = Stores(*(json.loads(json.dumps(copy.deepcopy(s))) for s in vars(first.stores).values()))
    second = Aggregator(WindowLayout(), Timing(), parse_rules(rules), recovered)
    tail, _ = feed(second, observations[400:])
    # Then the published stats and alerts are identical
    assert [p.to_json() for p in head + tail] == [p.to_json() for p in whole]


def test_drops_read_ahead_of_results_do_not_make_results_late():
    # Given a catch-up where the drops topic is read minutes ahead of the results
    engine = make()
    start = T0 / 1000
    engine.on_observation(DropSeen("cam1", T0 + 300_000, "stale", 4), start + 301)
    # When the results of the earlier minutes arrive afterwards
    _, rejected = feed(engine, [o for o in generated_stream() if isinstance(o[0], ResultSeen)])
    # Then none is rejected, and the drop waits in its own pane
    assert rejected == []
    assert engine.pane("cam1", T0 + 300_000).drops == {"stale": 4}


def test_after_a_restart_silence_and_idleness_count_from_the_restart():
    # Given a stream last heard of 100 s before the aggregator restarted
    rules = parse_rules("quiet: silent for 30s")
    first = Aggregator(WindowLayout(), Timing(), rules, Stores())
    first.on_observation(ResultSeen("cam1", T0, 0.01, {}), T0 / 1000)
    restarted_at = T0 / 1000 + 100
    engine = Aggregator(WindowLayout(), Timing(), rules, first.stores, awake_since_s=restarted_at)
    # When ticks come during the first 29 s after the restart, then nothing fires
    early, _ = feed(engine, ticks(restarted_at, restarted_at + 29))
    assert not [e for e in early if isinstance(e, AlertEvent)]
    # And it fires 30 s after the restart if still nothing came
    late, _ = feed(engine, ticks(restarted_at + 30, restarted_at + 31))
    assert [e.transition for e in late if isinstance(e, AlertEvent)] == [AlertTransition.FIRING]
