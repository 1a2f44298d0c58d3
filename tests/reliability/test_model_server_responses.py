"""A model server that misbehaves: malformed, oversized, endless and slow answers.

Each must end in a ModelError within a bounded time and bounded memory, never a hang or a
crash; the bearer token sent to the server never appears in the error. (Wrong sha256,
truncation and missing fields are covered with the models' own tests.)
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from framewire.core.errors import ModelError
from framewire.models.loader import load_from_server

pytestmark = pytest.mark.reliability

MODEL = "blazeface-short"
TOKEN = "model-server-token-0123456789"
HTTP_TIMEOUT_S = 1.0


def info_doc(url: str, **changes: object) -> bytes:
    doc = {"id": MODEL, "name": MODEL, "version": "1", "framework": "tflite", "target": "x",
           "dtype": "fp32", "encrypted": False, "url": url, "sha256": "0" * 64, **changes}
    return json.dumps(doc).encode()


# A route answers a request by writing to the socket file itself (status line included).
Route = Callable[[BaseHTTPRequestHandler], None]


@pytest.fixture
def rogue() -> Iterator[Callable[[dict[str, Route]], str]]:
    servers: list[ThreadingHTTPServer] = []
    stopping = threading.Event()

    def start(routes: dict[str, Route]) -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                route = routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                with contextlib.suppress(OSError):  # the client gave up, as it should
                    route(self)
                self.close_connection = True

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        httpd.stopping = stopping  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    stopping.set()
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def headers(handler: BaseHTTPRequestHandler, length: int | None, kind: str = "application/json") -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", kind)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()


def trickle(body: bytes, every_s: float) -> Route:
    """Sends one byte at a time, each well within the per-read timeout."""
    def route(h: BaseHTTPRequestHandler) -> None:
        headers(h, len(body))
        for i in range(len(body)):
            if h.server.stopping.is_set():  # type: ignore[attr-defined]
                return
            h.wfile.write(body[i:i + 1])
            h.wfile.flush()
            time.sleep(every_s)
    return route


def endless(prefix: bytes, chunk: bytes) -> Route:
    """An answer without a length that never ends."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(prefix)
        while not h.server.stopping.is_set():  # type: ignore[attr-defined]
            h.wfile.write(chunk)
    return route


def fixed(body: bytes, length: int | None = None, kind: str = "application/json") -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        headers(h, len(body) if length is None else length, kind)
        h.wfile.write(body)
    return route


def silent() -> Route:
    """Accepts the request and never answers."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.server.stopping.wait(30)  # type: ignore[attr-defined]
    return route


@pytest.fixture(autouse=True)
def client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_MODELS_HTTP_TIMEOUT_S", str(HTTP_TIMEOUT_S))
    monkeypatch.setenv("FW_MODELS_SERVER_TOKEN", TOKEN)
    monkeypatch.setenv("FW_MODELS_MAX_DOWNLOAD_MB", "2")


def load_fails(base: str, within_s: float) -> str:
    """Load from ``base``; return the ModelError's text, checking it came in time."""
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        load_from_server(f"{base}/models", MODEL)
    elapsed = time.monotonic() - started
    assert elapsed < within_s, f"took {elapsed:.1f}s: {info.value}"
    assert TOKEN not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(("body", "words"), [
    (b"", "malformed JSON"),
    (b"\xff\xfe\x00garbage", "malformed JSON"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'"just a string"', "not a JSON object"),
    (b"{" * 100_000, "malformed JSON"),
    (b"[" * 100_000, "malformed JSON"),
    (json.dumps({"id": 5}).encode(), "missing fields"),
])
def test_malformed_info_documents_are_named(rogue: Callable, body: bytes, words: str) -> None:
    # Given a server answering the info request with garbage of one kind
    base = rogue({f"/models/{MODEL}": fixed(body)})
    # When a service loads the model, then the error says what was wrong
    assert words in load_fails(base, 10)


def test_an_oversized_info_document_is_refused_without_reading_it_all(rogue: Callable) -> None:
    # Given a server whose info answer never ends
    base = rogue({f"/models/{MODEL}": endless(b'{"labels": [', b'"x", ' * 10_000)})
    # When a service loads the model; then it stops reading and says the answer is too big
    assert "too large" in load_fails(base, 10)


def test_a_model_larger_than_announced_or_allowed_is_refused(rogue: Callable) -> None:
    # Given info pointing at a file with no length that never ends (limit: 2 MB)
    routes: dict[str, Route] = {"/file": endless(b"", b"\0" * 65536)}
    base = rogue(routes)
    routes[f"/models/{MODEL}"] = fixed(info_doc(f"{base}/file"))
    # When loading; then the download is cut at the limit
    assert "too large" in load_fails(base, 10)
    # And a file announcing more than the limit is refused before its bytes are read
    routes["/file"] = fixed(b"", length=50 * 1024 * 1024, kind="application/octet-stream")
    assert "over the" in load_fails(base, 10)


def test_a_server_closing_each_connection_after_one_answer_still_serves_the_model(
        rogue: Callable) -> None:
    # Given a server that answers the info request, lingers, then closes that connection
    # without reading anything more (one request per connection), and whose file is too big
    def info_then_linger(h: BaseHTTPRequestHandler) -> None:
        fixed(info_doc(f"{base}/file"))(h)
        h.wfile.flush()
        time.sleep(0.5)  # a pooled connection looks alive now: a client would reuse it
    routes: dict[str, Route] = {"/file": fixed(b"", length=50 * 1024 * 1024,
                                               kind="application/octet-stream")}
    base = rogue(routes)
    routes[f"/models/{MODEL}"] = info_then_linger
    # When loading; then the download goes out on a connection of its own and meets the
    # size check (a reused connection would end in "disconnected" instead)
    assert "over the" in load_fails(base, 10)


def test_a_silent_server_times_out(rogue: Callable) -> None:
    # Given a server that accepts the request and never answers
    base = rogue({f"/models/{MODEL}": silent()})
    # When loading; then the per-read timeout ends it
    assert "unreachable" in load_fails(base, HTTP_TIMEOUT_S + 5)


def test_a_trickling_server_cannot_hold_a_service_forever(rogue: Callable) -> None:
    # Given a server sending its info one byte every 0.2 s (each read is in time, the whole
    # answer would take minutes)
    base = rogue({f"/models/{MODEL}": trickle(info_doc("/file") + b" " * 1000, 0.2)})
    # When loading; then it gives up after the overall time limit, saying so
    assert "too slow" in load_fails(base, 3 * HTTP_TIMEOUT_S + 5)


def test_a_trickling_download_is_abandoned_too(rogue: Callable,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a download limit of 2 s and a file served one byte every 0.2 s
    monkeypatch.setenv("FW_MODELS_DOWNLOAD_TIMEOUT_S", "2")
    routes: dict[str, Route] = {"/file": trickle(b"\0" * 5000, 0.2)}
    base = rogue(routes)
    routes[f"/models/{MODEL}"] = fixed(info_doc(f"{base}/file"))
    # When loading; then the download is abandoned at the limit
    assert "too slow" in load_fails(base, 3 + 5)


def test_a_server_that_hangs_up_mid_answer_is_an_error(rogue: Callable) -> None:
    # Given a server that announces a body and closes the connection before sending it
    def hang_up(h: BaseHTTPRequestHandler) -> None:
        headers(h, 5000)
        h.wfile.write(b'{"id": ')
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
    base = rogue({f"/models/{MODEL}": hang_up})
    # When loading; then the error says so
    load_fails(base, 10)
