"""Alert state machine: a rule fires when its condition has held for its duration and
clears when the condition has been false for its ``clear after`` duration (default: at once).

Conditions are observed over intervals ``[start_ms, end_ms]``: a frame is an instant
(start = end), a tumbling window spans its pane. A rule ``for 30s`` fires at the end of the
observation that completes 30 s of continuous truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from framewire.aggregator.rules import ZONE_RULE_KINDS, Rule, RuleKind
from framewire.aggregator.stats import WindowStats
from framewire.aggregator.zonecounts import ZoneCounts
from framewire.core.statsformat import AlertMessage, message_json


class AlertTransition(StrEnum):
    FIRING = "firing"
    CLEARED = "cleared"


@dataclass(frozen=True)
class AlertState:
    """Where one rule stands for one stream."""

    firing: bool = False
    true_since_ms: int | None = None
    false_since_ms: int | None = None
    fired_ms: int | None = None
    value: float | None = None

    @property
    def structure(self) -> tuple[bool, int | None, int | None]:
        """The part that decides future transitions (``value`` is informative only)."""
        return self.firing, self.true_since_ms, self.false_since_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "firing": self.firing,
            "true_since_ms": self.true_since_ms,
            "false_since_ms": self.false_since_ms,
            "fired_ms": self.fired_ms,
            "value": self.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertState:
        return cls(
            bool(data.get("firing")),
            data.get("true_since_ms"),
            data.get("false_since_ms"),
            data.get("fired_ms"),
            data.get("value"),
        )


@dataclass(frozen=True)
class AlertEvent:
    """A rule started or stopped firing for a stream; published on the alerts topic."""

    rule: Rule
    stream_id: str
    transition: AlertTransition
    at_ms: int  # when the transition happened (event time for frames and windows)
    since_ms: int  # start of the run of truth (firing) or falsity (cleared) that caused it
    fired_ms: int  # when the alert fired
    value: float | None
    reason: str = ""

    def to_json(self, emitted_ms: int | None = None) -> dict[str, Any]:
        message = AlertMessage(
            alert_id=f"{self.rule.name}/{self.stream_id}",
            rule=self.rule.name,
            stream_id=self.stream_id,
            state=self.transition.value,
            severity=self.rule.severity.value,
            condition=self.rule.condition,
            for_s=self.rule.for_ms / 1000.0,
            value=self.value,
            threshold=None if self.rule.kind is RuleKind.SILENT else self.rule.threshold,
            since_ms=self.since_ms,
            fired_ms=self.fired_ms,
            at_ms=self.at_ms,
            reason=self.reason,
            emitted_ms=emitted_ms,
        )
        return message_json(message)

def advance(
    rule: Rule,
    stream_id: str,
    state: AlertState,
    holds: bool,
    value: float | None,
    span: tuple[int, int],
) -> tuple[AlertState, AlertEvent | None]:
    """Feed one observation of the rule's condition over ``span`` = (start_ms, end_ms)."""
    start_ms, end_ms = span
    if holds:
        since = start_ms if state.true_since_ms is None else state.true_since_ms
        state = replace(state, true_since_ms=since, false_since_ms=None, value=value)
        if not state.firing and end_ms - since >= rule.for_ms:
            event = AlertEvent(rule, stream_id, AlertTransition.FIRING, end_ms, since, end_ms, value)
            return replace(state, firing=True, fired_ms=end_ms), event
        return state, None
    if not state.firing:
        return AlertState(value=value), None
    since = start_ms if state.false_since_ms is None else state.false_since_ms
    state = replace(state, false_since_ms=since, true_since_ms=None, value=value)
    if end_ms - since >= rule.clear_ms:
        fired = state.fired_ms if state.fired_ms is not None else since
        event = AlertEvent(rule, stream_id, AlertTransition.CLEARED, end_ms, since, fired, value)
        return replace(state, firing=False, fired_ms=None), event
    return state, None


def force_clear(rule: Rule, stream_id: str, state: AlertState, at_ms: int, reason: str) -> AlertEvent | None:
    """A cleared event for a firing alert whose stream went away; None if not firing."""
    if not state.firing:
        return None
    fired = state.fired_ms if state.fired_ms is not None else at_ms
    return AlertEvent(rule, stream_id, AlertTransition.CLEARED, at_ms, at_ms, fired, state.value, reason)


def frame_value(rule: Rule, counts: Mapping[str, int]) -> float:
    """Detections of the rule's label in one frame (``*``: all detections)."""
    if rule.subject == "*":
        return float(sum(counts.values()))
    return float(sum(n for label, n in counts.items() if label.casefold() == rule.subject))


def window_value(rule: Rule, stats: WindowStats) -> float | None:
    """The windowed quantity a rule compares; None when the window has no such data."""
    if rule.kind is RuleKind.FPS:
        return stats.fps
    if rule.kind is RuleKind.LATENCY:
        return stats.latency_ms({"p50": 0.5, "p95": 0.95, "p99": 0.99}[rule.subject])
    if rule.kind is RuleKind.DROPS:
        drops = stats.totals.drops
        return float(sum(drops.values()) if rule.subject == "any" else drops.get(rule.subject, 0))
    if rule.kind in ZONE_RULE_KINDS or rule.kind is RuleKind.LINE_CROSSES:
        return float(zone_value(rule, stats))
    raise ValueError(f"rule {rule.name!r} ({rule.kind.value}) is not evaluated on windows")


def zone_value(rule: Rule, stats: WindowStats) -> int:
    """A zone rule's quantity over the window: 0 for a zone or line without events."""
    if rule.kind is RuleKind.OCCUPANCY:
        return stats.occupancy.get(rule.subject, 0)
    tally = stats.totals.zones
    if rule.kind is RuleKind.LINE_CROSSES:
        crossings = tally.lines.get(rule.subject, {})
        return crossings.get(rule.direction, 0) if rule.direction else sum(crossings.values())
    counts = tally.zones.get(rule.subject, ZoneCounts())
    return {RuleKind.ZONE_ENTERS: counts.enters, RuleKind.ZONE_LEAVES: counts.leaves,
            RuleKind.ZONE_DWELLS: counts.dwells}[rule.kind]
