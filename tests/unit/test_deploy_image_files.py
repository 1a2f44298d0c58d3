"""What the images rely on: cached model files readable by the service user, and the model
server's probes and metrics answering without its token (like every other service's)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from framewire.models.cache import cached_path, fetch, write_atomically
from framewire.models.catalog import build_catalog
from framewire.models.server import ModelServer
from framewire.models.zoo import get_spec
from support.models import fetch_zoo

pytestmark = pytest.mark.unit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_cached_file_is_world_readable(tmp_path: Path) -> None:
    # Given a file written into the cache (mkstemp would make it 0600)
    target = tmp_path / "model-id" / "model.tflite"
    # When it is written atomically, then every user can read it (a root-built zoo, uid 10001)
    write_atomically(target, b"weights")
    assert mode(target) == 0o644
    assert target.read_bytes() == b"weights"


def test_an_old_0600_cache_file_is_widened_when_verified(tmp_path: Path) -> None:
    # Given a verified zoo file copied into a cache with the old 0600 mode
    spec = get_spec("blazeface-short")
    source = cached_path(spec, fetch_zoo())
    target = cached_path(spec, tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    target.chmod(0o600)
    # When the cache is asked for it, then it is found intact and made readable to all
    assert fetch(spec, tmp_path) == target
    assert mode(target) & 0o444 == 0o444


@pytest.fixture(scope="module")
def server_with_token() -> Iterator[ModelServer]:
    server = ModelServer(build_catalog(fetch_zoo(), None), token="t" * 24).start()
    yield server
    server.stop()


@pytest.mark.parametrize(("path", "status"), [("/healthz", 200), ("/readyz", 200), ("/metrics", 200),
                                               ("/models", 401)])
def test_model_server_probes_answer_without_the_token(server_with_token: ModelServer, path: str,
                                                      status: int) -> None:
    # Given a model server that wants a bearer token; when a probe path is asked without one
    reply = httpx.get(f"{server_with_token.base_url}{path}", timeout=10)
    # Then probes and metrics answer, and the model routes still refuse
    assert reply.status_code == status
    if path == "/metrics":
        assert "process_cpu_seconds_total" in reply.text or "python_info" in reply.text
    if path == "/readyz":
        assert reply.json()["status"] == "ready"


def test_model_server_advertises_its_public_url() -> None:
    # Given a server bound to every interface but reached by its service name
    server = ModelServer(build_catalog(fetch_zoo(), None), host="0.0.0.0", public_url="http://models:8500")
    try:
        entry = next(iter(server.catalog.values()))
        # Then the download URL it hands out names the public URL, not 0.0.0.0
        assert server.info(entry)["url"] == f"http://models:8500/files/{entry.model_id}"
        assert server.info_url == "http://models:8500/models"
    finally:
        server.httpd.server_close()
