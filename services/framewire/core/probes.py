"""The probes every service answers: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` (liveness) is 200 while the process does its work and 503 when it is stuck, so an
orchestrator restarts it; ``/readyz`` (readiness) is 200 once it can serve and 503 while it
starts, catches up or stops; ``/metrics`` is the Prometheus exposition of a registry. The two
checks answer JSON in the dashboard's shape: ``{"status": "ok"|"ready", "detail": ...}``, or
``{"status": "not ok"|"not ready", "problems": [...]}`` with 503.

The gateway, inference and aggregator serve them with ``serve_probes``; the model server routes
them through ``probe_reply`` beside its own routes; the dashboard (FastAPI) has the same three
routes in its app.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

PROBE_PATHS = ("/healthz", "/readyz", "/metrics")

# A check answers (ok, reason); reason is shown in the probe's body.
Check = Callable[[], tuple[bool, str]]


def always_ok() -> tuple[bool, str]:
    """The check of a process that is alive and ready as long as it answers at all."""
    return True, "ok"


def probe_reply(
    path: str, live: Check, ready: Check, registry: CollectorRegistry
) -> tuple[int, bytes, str] | None:
    """(status, body, content type) for a probe path, None for any other path.

    Called by an HTTP handler before its own routes.
    """
    path = path.split("?", 1)[0]
    if path == "/metrics":
        return 200, generate_latest(registry), CONTENT_TYPE_LATEST
    check = {"/healthz": live, "/readyz": ready}.get(path)
    if check is None:
        return None
    try:
        ok, reason = check()
    except Exception as exc:  # a failing check is an answer, not a crashed handler
        ok, reason = False, f"check failed: {exc}"
    word = {"/healthz": ("ok", "not ok"), "/readyz": ("ready", "not ready")}[path][0 if ok else 1]
    body: dict[str, object] = {"status": word}
    body.update({"detail": reason} if ok else {"problems": [reason]})
    return (200 if ok else 503), json.dumps(body).encode(), "application/json"


class ProbeServer:
    """The three probes on their own port, served from a daemon thread.

    ``port`` is the bound port (0 picks a free one).
    """

    def __init__(self, host: str, port: int, *, live: Check = always_ok, ready: Check = always_ok,
                 registry: CollectorRegistry = REGISTRY, name: str = "fw-probes") -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(live, ready, registry))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> ProbeServer:
        self._thread.start()
        log.info("probes on port %s (%s)", self.port, " ".join(PROBE_PATHS))
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_probes(port: int, host: str = "0.0.0.0", *, live: Check = always_ok,
                 ready: Check = always_ok, registry: CollectorRegistry = REGISTRY) -> ProbeServer | None:
    """Start the probe server; called once from a service's ``main()``. ``port <= 0``: none."""
    if port <= 0:
        return None
    return ProbeServer(host, port, live=live, ready=ready, registry=registry).start()


def _handler(live: Check, ready: Check, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = probe_reply(self.path, live, ready, registry)
            status, body, ctype = reply or (404, b"not found: try /healthz, /readyz or /metrics\n",
                                            "text/plain")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: no access log
            log.debug("http %s %s", self.command, self.path)

    return Handler
