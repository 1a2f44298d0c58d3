"""Liveness, readiness and /metrics over a small HTTP server.

``/healthz`` answers 200 while the worker loop has turned recently (it blocks at most
``poll_timeout`` per turn, so a stuck loop shows); ``/readyz`` answers 200 once the model is
loaded and the consumer has joined its group, and 503 while starting or stopping.
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)


class Health:
    """State the worker reports and the HTTP handler reads."""

    def __init__(self, stall_after_s: float) -> None:
        self._stall_after_s = stall_after_s
        self._beat = time.monotonic()
        self.ready = False
        self.reason = "starting"

    def beat(self) -> None:
        """Called by the worker loop on every turn."""
        self._beat = time.monotonic()

    def set_ready(self, ready: bool, reason: str = "") -> None:
        self.ready, self.reason = ready, reason

    @property
    def alive(self) -> bool:
        return time.monotonic() - self._beat < self._stall_after_s


class HealthServer:
    """Serves one worker's health and registry; ``port`` is the bound port (0 picks one)."""

    def __init__(self, health: Health, registry: CollectorRegistry, host: str, port: int) -> None:
        handler = _make_handler(health, registry)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fw-inference-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("health and metrics on port %s (/healthz /readyz /metrics)", self.port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _make_handler(health: Health, registry: CollectorRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                ok = health.alive
                self._reply(200 if ok else 503, b"ok\n" if ok else b"worker loop stalled\n")
            elif self.path == "/readyz":
                ok = health.ready
                self._reply(200 if ok else 503, (health.reason or "ready").encode() + b"\n")
            elif self.path == "/metrics":
                self._reply(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            else:
                self._reply(404, b"not found: try /healthz, /readyz or /metrics\n")

        def _reply(self, code: int, body: bytes, ctype: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet access log
            log.debug("http %s %s", self.command, self.path)

    return Handler
