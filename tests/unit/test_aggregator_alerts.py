"""Alert state machine: fire after holding for the rule's duration, clear after its clear time."""

import pytest

from framewire.aggregator.alerts import AlertState, AlertTransition, advance, force_clear
from framewire.aggregator.rules import parse_rules

pytestmark = pytest.mark.unit


def feed(rule, observations):
    """Run (holds, start_ms, end_ms) observations; return [(transition, at_ms, since_ms)]."""
    state, events = AlertState(), []
    for holds, start, end in observations:
        state, event = advance(rule, "cam1", state, holds, 1.0, (start, end))
        if event:
            events.append((event.transition, event.at_ms, event.since_ms))
    return state, events


def test_frame_rule_fires_once_held_for_its_duration_and_clears_at_once():
    # Given "count >= 3 for 5s" and frames every second, true from t=2 s to t=9 s
    (rule,) = parse_rules("crowd: count(person) >= 3 for 5s")
    frames = [(2 <= t <= 9, t * 1000, t * 1000) for t in range(15)]
    # When fed
    state, events = feed(rule, frames)
    # Then it fires at 7 s (5 s after 2 s) and clears at the first false frame (10 s)
    assert events == [
        (AlertTransition.FIRING, 7000, 2000),
        (AlertTransition.CLEARED, 10_000, 10_000),
    ]
    assert not state.firing


def test_interrupted_condition_restarts_the_clock():
    # Given "for 5s" true at 0..3 s, false at 4 s, true again from 5 s
    (rule,) = parse_rules("crowd: count(person) >= 3 for 5s")
    _, events = feed(rule, [(t != 4, t * 1000, t * 1000) for t in range(12)])
    # Then it fires only at 10 s, 5 s after the second run began
    assert events == [(AlertTransition.FIRING, 10_000, 5000)]


def test_clear_after_ignores_short_gaps():
    # Given "clear after 3s": firing, then false at 10-11 s (short gap), then false from 15 s
    (rule,) = parse_rules("crowd: count(person) >= 1 for 0s clear after 3s")
    frames = [(not (10 <= t <= 11 or t >= 15), t * 1000, t * 1000) for t in range(25)]
    _, events = feed(rule, frames)
    # Then it fires at 0 s and clears at 18 s only (3 s into the long gap)
    assert events == [(AlertTransition.FIRING, 0, 0), (AlertTransition.CLEARED, 18_000, 15_000)]


def test_window_rule_counts_whole_windows():
    # Given "fps < 5 for 20s" fed 10 s windows: bad windows [10,20) [20,30) [30,40), good after
    (rule,) = parse_rules("low: fps < 5 for 20s")
    windows = [(10 <= s < 40, s * 1000, (s + 10) * 1000) for s in range(0, 60, 10)]
    _, events = feed(rule, windows)
    # Then it fires at the end of the second bad window (30 s) and clears at the end of the
    # first good one (50 s)
    assert events == [(AlertTransition.FIRING, 30_000, 10_000), (AlertTransition.CLEARED, 50_000, 40_000)]


def test_force_clear_only_for_firing_alerts():
    # Given a firing and a quiet state, when forced clear, then only the firing one clears
    (rule,) = parse_rules("s: silent for 1s")
    firing = AlertState(firing=True, fired_ms=5000, value=None)
    event = force_clear(rule, "cam1", firing, 9000, "stream forgotten")
    assert event and event.transition is AlertTransition.CLEARED and event.fired_ms == 5000
    assert event.to_json()["reason"] == "stream forgotten"
    assert force_clear(rule, "cam1", AlertState(), 9000, "x") is None
