"""The seed's model-server protocol against real HTTP servers on localhost."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from framewire.cli import main as cli_main
from framewire.core.errors import ModelError
from framewire.models.catalog import build_catalog
from framewire.models.loader import load_from_server
from framewire.models.server import ModelServer
from support.models import fetch_zoo, photo_bgr

pytestmark = pytest.mark.unit

# A small model keeps compile time out of these tests.
MODEL = "blazeface-short"


@pytest.fixture(scope="module")
def zoo_cache() -> Path:
    return fetch_zoo()


@pytest.fixture(scope="module")
def zoo_server(zoo_cache: Path) -> Iterator[ModelServer]:
    server = ModelServer(build_catalog(zoo_cache, None)).start()
    yield server
    server.stop()


# path -> (status, headers, body, bytes actually sent or None for all)
Route = tuple[int, dict[str, str], bytes, int | None]


@pytest.fixture
def rogue_server() -> Iterator[Callable[[dict[str, Route]], str]]:
    """A server answering each path with whatever a test scripts, broken answers included."""
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[str, Route]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, headers, body, sent = routes.get(self.path, (404, {}, b"{}", None))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body[:sent] if sent is not None else body)
                self.close_connection = True

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def good_info(zoo_server: ModelServer, **changes: object) -> dict:
    info = httpx.get(f"{zoo_server.info_url}/{MODEL}").json()
    return {**info, **changes}


def test_good_server_loads_a_working_detector(zoo_server: ModelServer) -> None:
    # Given the zoo served by `framewire models serve`'s server
    # When a service loads a model the seed's way (INFER_MODEL_INFO_URL, INFER_MODEL_ID)
    detector = load_from_server(zoo_server.info_url, MODEL)
    # Then it is the real model: it finds the astronaut's face, with the served version
    assert [d.label for d in detector.detect(photo_bgr("astronaut"))] == ["face"]
    assert detector.info.version == good_info(zoo_server)["version"]


def test_info_documents_carry_seed_fields_and_ours(zoo_server: ModelServer) -> None:
    docs = httpx.get(zoo_server.info_url).json()
    assert {d["id"] for d in docs} == {"ssd-mobilenet-v2-oidv4", "ssdlite-person", MODEL}
    seed = {"id", "framework", "target", "url", "name", "version", "dtype", "encrypted"}
    ours = {"sha256", "format", "decoder", "labels", "input"}
    assert all(seed | ours <= d.keys() for d in docs)


def test_unknown_model_is_a_404_error(zoo_server: ModelServer) -> None:
    with pytest.raises(ModelError, match=r"no model 'nope' \(404"):
        load_from_server(zoo_server.info_url, "nope")


def scraped(base: str, sample: str) -> float:
    """The value of one sample (name and labels) in the server's /metrics, 0 when absent."""
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_probes_and_metrics_count_requests_bytes_and_errors(zoo_server: ModelServer) -> None:
    base = zoo_server.base_url
    sent = f'framewire_models_bytes_served_total{{model="{MODEL}"}}'
    files_ok = 'framewire_models_requests_total{route="files",status="200"}'
    missing = 'framewire_models_requests_total{route="models",status="404"}'
    before = {s: scraped(base, s) for s in (sent, files_ok, missing)}
    # Given a served zoo, probed like every service
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{base}/readyz").json() == {"status": "ready", "detail": "3 models"}
    # When a model file is downloaded and an unknown model asked for
    size = len(httpx.get(f"{base}/files/{MODEL}").content)
    assert httpx.get(f"{base}/models/nope").status_code == 404
    # Then /metrics counts the bytes sent for that model and the requests by route and status
    assert scraped(base, sent) - before[sent] == size > 0
    assert scraped(base, files_ok) - before[files_ok] == 1
    assert scraped(base, missing) - before[missing] == 1
    assert "# TYPE framewire_models_errors_total counter" in httpx.get(f"{base}/metrics").text


def test_malformed_json_is_refused(rogue_server: Callable) -> None:
    base = rogue_server({f"/models/{MODEL}": (200, {}, b"{not json", None)})
    with pytest.raises(ModelError, match="malformed JSON"):
        load_from_server(f"{base}/models", MODEL)


def test_missing_and_mistyped_fields_are_named(rogue_server: Callable) -> None:
    # Given an info document without url and dtype, and "encrypted" as a string
    doc = {
        "id": MODEL,
        "framework": "tflite",
        "target": "x",
        "name": MODEL,
        "version": "1",
        "encrypted": "no",
    }
    base = rogue_server({f"/models/{MODEL}": (200, {}, json.dumps(doc).encode(), None)})
    # When loading; then the error names each problem
    with pytest.raises(
        ModelError,
        match=r"missing fields \['url', 'dtype'\], wrong types "
        r"\['encrypted'\]",
    ):
        load_from_server(f"{base}/models", MODEL)


def test_wrong_sha256_refuses_the_model(zoo_server: ModelServer, rogue_server: Callable) -> None:
    # Given a server whose info gives a sha256 that is not the file's
    model = httpx.get(good_info(zoo_server)["url"]).content
    routes = {"/file": (200, {}, model, None)}
    base = rogue_server(routes)
    doc = good_info(zoo_server, url=f"{base}/file", sha256="0" * 64)
    routes[f"/models/{MODEL}"] = (200, {}, json.dumps(doc).encode(), None)
    # When loading; then the model is refused
    with pytest.raises(ModelError, match="sha256 mismatch"):
        load_from_server(f"{base}/models", MODEL)


def test_truncated_download_is_refused(zoo_server: ModelServer, rogue_server: Callable) -> None:
    # Given a server that announces the whole file but hangs up halfway through it
    model = httpx.get(good_info(zoo_server)["url"]).content
    routes = {"/file": (200, {}, model, len(model) // 2)}
    base = rogue_server(routes)
    doc = good_info(zoo_server, url=f"{base}/file")
    routes[f"/models/{MODEL}"] = (200, {}, json.dumps(doc).encode(), None)
    # When loading; then the download is reported truncated
    with pytest.raises(ModelError, match="truncated"):
        load_from_server(f"{base}/models", MODEL)


def test_info_without_sha256_is_refused_unless_allowed(
    zoo_server: ModelServer, rogue_server: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a seed-style server that sends no sha256, pointing at the real file
    doc = good_info(zoo_server)
    del doc["sha256"]
    base = rogue_server({f"/models/{MODEL}": (200, {}, json.dumps(doc).encode(), None)})
    # Then it is refused by default, and loads once the operator opts out of the check
    with pytest.raises(ModelError, match="no sha256"):
        load_from_server(f"{base}/models", MODEL)
    monkeypatch.setenv("FW_MODELS_REQUIRE_SHA256", "false")
    assert load_from_server(f"{base}/models", MODEL).info.model_id == MODEL


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unreachable"):
        load_from_server("http://127.0.0.1:9/models", MODEL)


def test_token_protected_server(zoo_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a server that wants a bearer token
    server = ModelServer(build_catalog(zoo_cache, None), token="s3cret-token").start()
    try:
        # Then a client without it is refused, and one with it is served
        with pytest.raises(ModelError, match="HTTP 401"):
            load_from_server(server.info_url, MODEL)
        monkeypatch.setenv("FW_MODELS_SERVER_TOKEN", "s3cret-token")
        assert load_from_server(server.info_url, MODEL).info.model_id == MODEL
    finally:
        server.stop()


def test_cli_exits_with_an_error_on_an_unknown_model() -> None:
    # Given the CLI; when asked about a model the zoo does not have; then it fails with 2
    assert cli_main(["models", "info", "no-such-model"]) == 2


def test_a_model_the_zoo_does_not_know_is_described_by_its_info(zoo_cache: Path, tmp_path: Path) -> None:
    # Given an operator's model under a new id, described fully by its sidecar info
    (tmp_path / "faces.tflite").write_bytes(
        (zoo_cache / MODEL / "face_detection_short_range.tflite").read_bytes()
    )
    info = {
        "id": "my-faces",
        "name": "my-faces",
        "version": "7",
        "framework": "tflite",
        "target": "object-detection",
        "dtype": "fp32",
        "encrypted": False,
        "file": "faces.tflite",
        "format": "tflite",
        "decoder": "blazeface",
        "labels": ["visage"],
        "score_threshold": 0.6,
        "input": {"width": 128, "height": 128, "scaling": "signed_unit"},
    }
    (tmp_path / "my-faces.json").write_text(json.dumps(info))
    server = ModelServer(build_catalog(zoo_cache, tmp_path, zoo=False)).start()
    try:
        # When a service loads it
        detector = load_from_server(server.info_url, "my-faces")
    finally:
        server.stop()
    # Then the served description is what it runs with
    assert (detector.info.version, detector.info.labels) == ("7", ("visage",))
    assert detector.info.score_threshold == 0.6
    assert [d.label for d in detector.detect(photo_bgr("astronaut"))] == ["visage"]


def test_a_model_the_zoo_does_not_know_needs_a_decoder(rogue_server: Callable) -> None:
    doc = {
        "id": "mystery",
        "framework": "onnx",
        "target": "x",
        "url": "/f",
        "name": "mystery",
        "version": "1",
        "dtype": "fp32",
        "encrypted": False,
        "sha256": "0" * 64,
    }
    base = rogue_server({"/models/mystery": (200, {}, json.dumps(doc).encode(), None)})
    with pytest.raises(ModelError, match="must give format, decoder, labels and input"):
        load_from_server(f"{base}/models", "mystery")
