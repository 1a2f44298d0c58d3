"""Read-only views of the engine's state, for the web view (no I/O, no faust)."""

from __future__ import annotations

from typing import Any

from framewire.aggregator.alerts import AlertState
from framewire.aggregator.engine import Aggregator
from framewire.aggregator.progress import StreamProgress
from framewire.aggregator.stats import WindowKind


def stream_snapshot(engine: Aggregator, stream_id: str) -> dict[str, Any] | None:
    """Last published windows plus the windows still filling, or None for an unknown stream."""
    raw = engine.stores.progress.get(stream_id)
    if raw is None:
        return None
    progress = StreamProgress.from_dict(raw)
    end = progress.newest_pane_ms(engine.layout) + engine.layout.pane_ms
    current = {
        kind.value: {**engine.window(stream_id, kind, end).to_json(), "partial": True} for kind in WindowKind
    }
    return {
        "stream_id": stream_id,
        "latest": engine.stores.latest.get(stream_id, {}),
        "current": current,
        "newest_capture_ms": progress.max_event_ms,
        "published_until_ms": progress.emitted_until_ms,
        "last_result_s": progress.last_result_s,
    }


def firing_alerts(engine: Aggregator) -> list[dict[str, Any]]:
    """Every alert firing now on this worker, as {rule, stream_id, severity, since...}."""
    rules = {rule.name: rule for rule in engine.rules}
    out = []
    for key, raw in list(engine.stores.alerts.items()):
        name, _, stream_id = str(key).partition("|")
        state = AlertState.from_dict(raw)
        rule = rules.get(name)
        if rule is None or not state.firing:
            continue
        out.append(
            {
                "alert_id": f"{name}/{stream_id}",
                "rule": name,
                "stream_id": stream_id,
                "severity": rule.severity.value,
                "condition": rule.condition,
                "fired_ms": state.fired_ms,
                "value": state.value,
            }
        )
    return sorted(out, key=lambda a: (a["stream_id"], a["rule"]))


def rules_json(engine: Aggregator) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "condition": r.condition,
            "for_s": r.for_ms / 1000,
            "clear_after_s": r.clear_ms / 1000,
            "streams": list(r.streams),
            "severity": r.severity.value,
        }
        for r in engine.rules
    ]
