"""The aggregation engine: applies observations to per-stream state and says what to publish.

State lives in four mutable mappings of JSON-ready values (plain dicts in tests, faust
tables backed by changelog topics in the app), all keyed so that one stream's entries start
with its id. The engine never talks to Kafka: it returns the window stats and alert events
to publish and the reason a result was not counted, and the caller does the I/O.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from framewire.aggregator.alerts import (
    AlertEvent,
    AlertState,
    advance,
    force_clear,
    frame_value,
    window_value,
)
from framewire.aggregator.observations import DropSeen, Observation, ResultSeen, Tick, ZoneSeen
from framewire.aggregator.progress import StreamProgress, Timing
from framewire.aggregator.rules import WINDOW_RULE_KINDS, Rule, RuleKind
from framewire.aggregator.stats import WindowKind, WindowStats
from framewire.aggregator.windows import Pane, WindowLayout, merge_panes
from framewire.aggregator.zonecounts import ZoneTally

Store = MutableMapping[Any, Any]
Published = WindowStats | AlertEvent


class Rejection(StrEnum):
    """Why a result or drop was not counted in any window (it is counted in a metric)."""

    TOO_LATE = "too_late"  # its pane was already published and deleted
    CLOCK_SKEW = "clock_skew"  # its capture time is too far in the future
    DUPLICATE = "duplicate"  # a zone event already counted, delivered again


@dataclass
class Stores:
    """Where the engine keeps its state; each value is a JSON-ready dict."""

    panes: Store = field(default_factory=dict)  # "stream|pane_start_ms" -> Pane
    progress: Store = field(default_factory=dict)  # stream -> StreamProgress
    latest: Store = field(default_factory=dict)  # stream -> last published stats per kind
    alerts: Store = field(default_factory=dict)  # "rule|stream" -> AlertState


@dataclass(frozen=True)
class Outcome:
    published: tuple[Published, ...] = ()
    rejected: Rejection | None = None


def pane_key(stream_id: str, start_ms: int) -> str:
    return f"{stream_id}|{start_ms}"


def alert_key(rule: Rule, stream_id: str) -> str:
    return f"{rule.name}|{stream_id}"


class Aggregator:
    """Applies observations in order; one instance per worker, over that worker's stores."""

    def __init__(
        self,
        layout: WindowLayout,
        timing: Timing,
        rules: tuple[Rule, ...],
        stores: Stores,
        awake_since_s: float = 0.0,
    ) -> None:
        self.layout, self.timing, self.rules, self.stores = layout, timing, rules, stores
        # When this process started: idleness and silence only count time since then.
        self.awake_since_s = awake_since_s
        self._by_kind = {k: tuple(r for r in rules if r.kind is k) for k in RuleKind}

    def on_observation(self, obs: Observation, now_s: float) -> Outcome:
        """Called for every record of the internal topic, in partition order."""
        if isinstance(obs, Tick):
            return self.on_tick(obs)
        return self.on_event(obs, now_s)

    def on_event(self, obs: ResultSeen | DropSeen | ZoneSeen, now_s: float) -> Outcome:
        """A result, a drop or a zone event arrived at wall-clock ``now_s``."""
        stream, is_result = obs.stream_id, isinstance(obs, ResultSeen)
        progress = self._progress(stream)
        if progress is None:
            progress = StreamProgress.first(obs.event_ms, now_s, self.layout, has_results=is_result)
        elif is_result and not progress.has_results:
            progress = progress.restarted_by_result(obs.event_ms, now_s, self.layout)
        rejected = self._rejection(progress, obs.event_ms, now_s)
        if rejected is not None:
            if is_result:  # the stream is alive even if this result cannot be counted
                seen = replace(progress, last_arrival_s=now_s, last_result_s=now_s)
                self.stores.progress[stream] = seen.to_dict()
            return Outcome(rejected=rejected)
        if not self._count(obs, progress):
            return Outcome(rejected=Rejection.DUPLICATE)
        published: list[Published] = []
        if isinstance(obs, ResultSeen):
            published += self._frame_rules(obs)
            published += self._feed(RuleKind.SILENT, stream, False, None, _ms(now_s), _ms(now_s))
        if is_result:
            progress = progress.observed(obs.event_ms, now_s, self.layout)
        progress, closed = self._close_windows(stream, progress, now_s)
        self.stores.progress[stream] = progress.to_dict()
        return Outcome(tuple(published + closed))

    def on_tick(self, tick: Tick) -> Outcome:
        """Time passed: close due windows, evaluate silence, forget long-gone streams."""
        stream, now_s = tick.stream_id, tick.now_s
        progress = self._progress(stream)
        if progress is None:
            return Outcome()
        if now_s - progress.last_arrival_s >= self.timing.forget_s:
            return Outcome(self._forget(stream, progress, now_s))
        progress, published = self._close_windows(stream, progress, now_s)
        silent_since = _ms(max(progress.last_result_s, self.awake_since_s))
        published += self._feed(RuleKind.SILENT, stream, True, None, silent_since, _ms(now_s))
        if progress.is_idle(now_s, self.timing, self.awake_since_s):
            # An idle stream shows no objects: let per-frame alerts clear.
            at = progress.watermark_ms(now_s, self.timing, self.awake_since_s)
            published += self._feed(RuleKind.COUNT, stream, False, 0.0, at, at)
        self.stores.progress[stream] = progress.to_dict()
        return Outcome(tuple(published))

    def _rejection(self, progress: StreamProgress, event_ms: int, now_s: float) -> Rejection | None:
        if event_ms > _ms(now_s) + self.timing.max_skew_ms:
            return Rejection.CLOCK_SKEW
        if progress.is_late(event_ms, self.layout):
            return Rejection.TOO_LATE
        return None

    def _count(self, obs: ResultSeen | DropSeen | ZoneSeen, progress: StreamProgress) -> bool:
        """Add ``obs`` to its pane; False for a zone event counted already."""
        if isinstance(obs, ZoneSeen):
            return self._count_zone_event(obs, progress)
        self._update_pane(obs)
        return True

    def _update_pane(self, obs: ResultSeen | DropSeen) -> None:
        start = self.layout.pane_start(obs.event_ms)
        pane = self.pane(obs.stream_id, start)
        if isinstance(obs, ResultSeen):
            pane = pane.with_result(obs.counts, obs.latency_s)
        else:
            pane = pane.with_drop(obs.reason, obs.count)
        self.stores.panes[pane_key(obs.stream_id, start)] = pane.to_dict()

    def _count_zone_event(self, obs: ZoneSeen, progress: StreamProgress) -> bool:
        """Count a zone event in the pane of its capture time; False if that pane has counted
        it already. Its effect on occupancy goes to the first pane not yet published: an
        event too late for its own tumbling window still changes who is in the zone now."""
        stream, start = obs.stream_id, self.layout.pane_start(obs.event_ms)
        pane = self.pane(stream, start)
        if pane.zones.has_seen(obs.event_id):
            return False
        pane = replace(pane, zones=pane.zones.counted(obs.kind, obs.target, obs.direction, obs.event_id))
        open_start = max(start, progress.emitted_until_ms)
        if open_start != start:
            self.stores.panes[pane_key(stream, start)] = pane.to_dict()
            pane = self.pane(stream, open_start)
        pane = replace(pane, zones=pane.zones.occupied(obs.kind, obs.target))
        self.stores.panes[pane_key(stream, open_start)] = pane.to_dict()
        return True

    def _frame_rules(self, obs: ResultSeen) -> list[Published]:
        out: list[Published] = []
        for rule in self._applicable(RuleKind.COUNT, obs.stream_id):
            value = frame_value(rule, obs.counts)
            holds = rule.op.holds(value, rule.threshold)
            out += self._advance(rule, obs.stream_id, holds, value, obs.event_ms, obs.event_ms)
        return out

    def _close_windows(
        self, stream: str, progress: StreamProgress, now_s: float
    ) -> tuple[StreamProgress, list[Published]]:
        published: list[Published] = []
        for end in progress.due_ends(now_s, self.layout, self.timing, self.awake_since_s):
            tumbling = self.window(stream, WindowKind.TUMBLING, end, progress)
            published.append(tumbling)
            latest = {WindowKind.TUMBLING.value: tumbling.to_json()}
            if self.layout.is_hop_end(end):
                hopping = self.window(stream, WindowKind.HOPPING, end, progress)
                published.append(hopping)
                latest[WindowKind.HOPPING.value] = hopping.to_json()
            published += self._window_rules(tumbling)
            self.stores.latest[stream] = {**self.stores.latest.get(stream, {}), **latest}
            progress = replace(progress, emitted_until_ms=end)
        return self._expire(stream, progress), published

    def _window_rules(self, stats: WindowStats) -> list[Published]:
        out: list[Published] = []
        for kind in WINDOW_RULE_KINDS:
            for rule in self._applicable(kind, stats.stream_id):
                value = window_value(rule, stats)
                holds = value is not None and rule.op.holds(value, rule.threshold)
                out += self._advance(rule, stats.stream_id, holds, value, stats.start_ms, stats.end_ms)
        return out

    def _expire(self, stream: str, progress: StreamProgress) -> StreamProgress:
        expired = progress.expired_panes(self.layout)
        for start in expired:
            self.stores.panes.pop(pane_key(stream, start), None)
        if len(expired):
            progress = replace(progress, oldest_pane_ms=expired.stop)
        return progress

    def _forget(self, stream: str, progress: StreamProgress, now_s: float) -> tuple[Published, ...]:
        out = []
        for rule in self.rules:
            raw = self.stores.alerts.pop(alert_key(rule, stream), None)
            event = raw and force_clear(
                rule, stream, AlertState.from_dict(raw), _ms(now_s), "stream forgotten"
            )
            if event:
                out.append(event)
        end = progress.newest_pane_ms(self.layout) + self.layout.pane_ms
        for start in range(progress.oldest_pane_ms, end, self.layout.pane_ms):
            self.stores.panes.pop(pane_key(stream, start), None)
        self.stores.progress.pop(stream, None)
        self.stores.latest.pop(stream, None)
        return tuple(out)

    def _feed(
        self, kind: RuleKind, stream: str, holds: bool, value: float | None, start: int, end: int
    ) -> list[Published]:
        out: list[Published] = []
        for rule in self._applicable(kind, stream):
            out += self._advance(rule, stream, holds, value, start, end)
        return out

    def _advance(
        self, rule: Rule, stream: str, holds: bool, value: float | None, start: int, end: int
    ) -> list[Published]:
        key = alert_key(rule, stream)
        raw = self.stores.alerts.get(key)
        state = AlertState() if raw is None else AlertState.from_dict(raw)
        new_state, event = advance(rule, stream, state, holds, value, (start, end))
        if event or new_state.structure != state.structure:
            # Written only on change: a per-frame rule costs no write while nothing moves.
            self.stores.alerts[key] = new_state.to_dict()
        return [event] if event else []

    def _applicable(self, kind: RuleKind, stream: str) -> tuple[Rule, ...]:
        return tuple(r for r in self._by_kind[kind] if r.applies_to(stream))

    def _progress(self, stream: str) -> StreamProgress | None:
        raw = self.stores.progress.get(stream)
        return None if raw is None else StreamProgress.from_dict(raw)

    def pane(self, stream: str, start_ms: int) -> Pane:
        """The stored pane, or an empty one."""
        raw = self.stores.panes.get(pane_key(stream, start_ms))
        return Pane(start_ms) if raw is None else Pane.from_dict(raw)

    def window(
        self, stream: str, kind: WindowKind, end_ms: int, progress: StreamProgress | None = None
    ) -> WindowStats:
        """Stats of the tumbling or hopping window of ``stream`` ending at ``end_ms``;
        ``progress`` is the stream's, when the stored one is not current."""
        occupancy = self.occupancy(stream, end_ms, progress or self._progress(stream))
        if kind is WindowKind.TUMBLING:
            start = end_ms - self.layout.pane_ms
            return WindowStats(stream, kind, start, end_ms, self.pane(stream, start), occupancy)
        panes = (self.pane(stream, s) for s in self.layout.hop_panes(end_ms))
        start = end_ms - self.layout.hop_size_ms
        return WindowStats(stream, kind, start, end_ms, merge_panes(start, panes), occupancy)

    def occupancy(self, stream: str, end_ms: int, progress: StreamProgress | None) -> dict[str, int]:
        """Occupancy per zone at ``end_ms``: the last published tumbling window's, carried
        through the panes since (the gauge needs no store of its own). When that window lies
        ahead of where publication stands (a stream first known from zone events or drops
        starts again with its first result), every stored pane is folded from nobody inside."""
        last = self.stores.latest.get(stream, {}).get(WindowKind.TUMBLING.value)
        before: dict[str, int] = {}
        if progress is None:
            since = end_ms
        elif last is not None and int(last["window"]["end_ms"]) <= progress.emitted_until_ms:
            since = int(last["window"]["end_ms"])  # before emitted_until_ms after a gap
            before = {zone: int(z["occupancy"]) for zone, z in last.get("zones", {}).items()}
        else:
            since = progress.oldest_pane_ms
        tally = ZoneTally()
        for start in range(since, end_ms, self.layout.pane_ms):
            tally = tally.merge(self.pane(stream, start).zones)
        return tally.occupancy_after(before)

    def streams(self) -> list[str]:
        """Streams this worker holds state for (ticked by the app's timer)."""
        return sorted(self.stores.progress.keys())


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
