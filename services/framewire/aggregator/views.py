"""faust web view: stats, alerts and readiness over HTTP (JSON).

GET /stats/            last published windows of every stream on this worker
GET /stats/{stream}/   last published and still-filling windows of one stream
GET /alerts/           alerts firing now, and the loaded rules
GET /ready/            200 once tables are recovered and partitions assigned, else 503

The same readiness is ``/readyz`` on the metrics port, with ``/healthz`` and ``/metrics``
(``core.probes``): the probes the chart and compose use.
"""

from __future__ import annotations

from typing import Any

from framewire.aggregator.app import Runtime
from framewire.aggregator.queries import firing_alerts, rules_json, stream_snapshot


def register_views(runtime: Runtime) -> None:
    """Add the pages to the app; called once before the worker starts."""
    app, engine = runtime.app, runtime.engine

    @app.page("/stats/")
    async def stats_index(self: Any, request: Any) -> Any:
        latest = {s: engine.stores.latest.get(s, {}) for s in engine.streams()}
        return self.json({"streams": latest})

    @app.page("/stats/{stream}/")
    async def stream_stats(self: Any, request: Any, stream: str) -> Any:
        snapshot = stream_snapshot(engine, stream)
        if snapshot is None:
            return self.json({"error": f"no stats for stream {stream!r} here"}, status=404)
        return self.json(snapshot)

    @app.page("/alerts/")
    async def alerts(self: Any, request: Any) -> Any:
        return self.json({"firing": firing_alerts(engine), "rules": rules_json(engine)})

    @app.page("/ready/")
    async def ready(self: Any, request: Any) -> Any:
        ok, reason = readiness(runtime)
        body = {"ready": ok, "recovered": reason != "recovering tables", "reason": reason}
        return self.json(body, status=200 if ok else 503)


def readiness(runtime: Runtime) -> tuple[bool, str]:
    """Ready once tables are recovered and partitions assigned; read by both readiness probes."""
    app = runtime.app
    if not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
        return False, "recovering tables"
    if app.rebalancing:
        return False, "rebalancing"
    if not app.consumer.assignment():
        return False, "no partitions assigned"
    return True, "ready"
