"""``framewire models serve``: the seed's model-server protocol over HTTP(S).

Routes: ``GET /models`` (all info documents), ``GET /models/{id}`` (one, the seed's
``INFER_MODEL_INFO_URL/{INFER_MODEL_ID}``), ``GET /files/{id}`` (the bytes), and the probes every
service has (``core.probes``): ``GET /healthz``, ``/readyz`` (a non-empty catalog) and ``/metrics``
(the process's Prometheus registry: requests by route and status, bytes served, errors). With a
token configured every route but the probes wants ``Authorization: Bearer <token>``. At most
``max_concurrent`` requests run at once; the rest get 503.
"""

from __future__ import annotations

import hmac
import json
import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from prometheus_client import REGISTRY, Counter

from framewire.core.metrics import metric_name
from framewire.core.probes import always_ok, probe_reply
from framewire.models.catalog import CatalogEntry

log = logging.getLogger(__name__)

REQUESTS = Counter(
    metric_name("models", "requests_total"), "Requests answered, by route and status", ["route", "status"]
)
BYTES_SERVED = Counter(metric_name("models", "bytes_served_total"), "Model file bytes sent", ["model"])
ERRORS = Counter(
    metric_name("models", "errors_total"), "Requests that failed while being answered", ["route"]
)


class ModelServer:
    """Serves a catalog; ``start`` runs it on a background thread (tests, ``serve`` CLI)."""

    def __init__(
        self,
        catalog: dict[str, CatalogEntry],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        public_url: str | None = None,
        tls: ssl.SSLContext | None = None,
        max_concurrent: int = 8,
    ) -> None:
        self.catalog = catalog
        self.token = token
        self.slots = threading.BoundedSemaphore(max_concurrent)
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.model_server = self  # type: ignore[attr-defined]
        scheme = "https" if tls else "http"
        self.base_url = public_url or f"{scheme}://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def info_url(self) -> str:
        """What clients set as INFER_MODEL_INFO_URL."""
        return f"{self.base_url}/models"

    def info(self, entry: CatalogEntry) -> dict[str, Any]:
        return {**entry.info, "url": f"{self.base_url}/files/{entry.model_id}"}

    def ready(self) -> tuple[bool, str]:
        """The ``/readyz`` answer: ready while the catalog offers at least one model."""
        return bool(self.catalog), f"{len(self.catalog)} models"

    def start(self) -> ModelServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="model-server", kwargs={"poll_interval": 0.5}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server_version = "framewire-models"

    @property
    def app(self) -> ModelServer:
        return self.server.model_server  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        route = self._route_label()
        try:
            self._answer()
        except Exception:
            ERRORS.labels(route).inc()
            raise

    def _route_label(self) -> str:
        # Bounded label values: the first path segment of known routes, else "other".
        first = self.path.split("?", 1)[0].strip("/").split("/", 1)[0]
        return first if first in {"models", "files", "healthz", "readyz", "metrics"} else "other"

    def send_response(self, code: int, message: str | None = None) -> None:
        REQUESTS.labels(self._route_label(), str(code)).inc()
        super().send_response(code, message)

    def _answer(self) -> None:
        # Probes and metrics answer without the token, like every other service's.
        probe = probe_reply(self.path, always_ok, self.app.ready, REGISTRY)
        if probe is not None:
            return self._send(*probe)
        if not self._authorised():
            return self._json(401, {"error": "missing or wrong bearer token"})
        if not self.app.slots.acquire(blocking=False):
            return self._json(503, {"error": "busy, retry later"})
        try:
            self._route()
        finally:
            self.app.slots.release()

    def _authorised(self) -> bool:
        if not self.app.token:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.app.token}".encode())

    def _route(self) -> None:
        parts = [unquote(p) for p in self.path.split("?", 1)[0].strip("/").split("/")]
        if parts == ["models"]:
            return self._json(200, [self.app.info(e) for e in self.app.catalog.values()])
        entry = self.app.catalog.get(parts[1]) if len(parts) == 2 else None
        if entry is None or parts[0] not in {"models", "files"}:
            return self._json(404, {"error": f"no such model or route: {self.path}"})
        if parts[0] == "models":
            return self._json(200, self.app.info(entry))
        self._file(entry)

    def _file(self, entry: CatalogEntry) -> None:
        path = entry.path
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        sent = BYTES_SERVED.labels(entry.model_id)
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                self.wfile.write(chunk)
                sent.inc(len(chunk))

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
