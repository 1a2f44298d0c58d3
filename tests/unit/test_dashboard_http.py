"""The dashboard's HTTP surface without a broker: validation, auth, CORS, settings, models."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from framewire.core.config import KafkaSettings, load_settings
from framewire.core.errors import ConfigError
from framewire.dashboard.app import create_app
from framewire.dashboard.catalog import ModelCatalog
from framewire.dashboard.settings import DashboardSettings

pytestmark = pytest.mark.unit

TOKEN = "s3cret-token-0123456789"
GOOD = {"stream_id": "cam-1", "source_uri": "rtsp://user:hunter2pw@cam.local/live"}


def client_for(**settings: object) -> Iterator[TestClient]:
    app = create_app(DashboardSettings(kafka=KafkaSettings(), **settings), with_kafka=False)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def open_client() -> Iterator[TestClient]:
    yield from client_for()


@pytest.fixture
def token_client() -> Iterator[TestClient]:
    yield from client_for(token=TOKEN)


@pytest.fixture
def locked_client() -> Iterator[TestClient]:
    yield from client_for(token=TOKEN, auth_all=True)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**GOOD, "stream_id": "a.b"}, "stream_id", "may only contain"),
        ({**GOOD, "stream_id": "x" * 65}, "stream_id", "at most 64"),
        ({**GOOD, "source_uri": "ftp://h/x"}, "source_uri", "scheme 'ftp' is not supported"),
        ({**GOOD, "source_uri": ""}, "source_uri", "at least 1"),
        ({**GOOD, "target_fps": -1}, "target_fps", "greater than or equal to 0"),
        ({**GOOD, "jpeg_quality": 101}, "jpeg_quality", "less than or equal to 100"),
        ({**GOOD, "colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"source_uri": "/dev/video0"}, "stream_id", "Field required"),
    ],
)
def test_invalid_stream_bodies_get_422_naming_the_field(
    open_client: TestClient, body: dict[str, object], field: str, words: str
) -> None:
    # Given an invalid body / When it is posted
    response = open_client.post("/api/streams", json=body)
    # Then 422 names the field and says what is wrong
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(d["loc"][-1] == field and words in d["msg"] for d in detail), detail
    assert field in response.json()["message"]


def test_validation_errors_never_echo_credentials(open_client: TestClient) -> None:
    # Given a body whose URI carries a password and another field is wrong
    body = {**GOOD, "source_uri": "ftp://user:hunter2pw@h/x", "width": -5}
    # When posted / Then the reply does not contain the password
    response = open_client.post("/api/streams", json=body)
    assert response.status_code == 422
    assert "hunter2pw" not in response.text


def test_invalid_path_ids_and_unknown_streams(open_client: TestClient) -> None:
    assert open_client.get("/api/streams/bad.id").status_code == 422
    response = open_client.get("/api/streams/nope")
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    assert open_client.delete("/api/streams/nope").status_code == 404
    assert open_client.patch("/api/streams/nope", json={"enabled": False}).status_code == 404
    assert open_client.get("/api/streams/nope/events", headers={"Last-Event-ID": "x"}).status_code == 400


def test_without_kafka_a_valid_write_is_503_not_silent(open_client: TestClient) -> None:
    response = open_client.post("/api/streams", json=GOOD)
    assert response.status_code == 503 and "Kafka" in response.json()["detail"]


def test_no_token_configured_means_open_api(open_client: TestClient) -> None:
    assert open_client.get("/api/streams").status_code == 200
    assert open_client.get("/metrics").status_code == 200


def test_token_guards_writes_only(token_client: TestClient) -> None:
    # Given a token / When writing without it, with a wrong one, with the right one
    missing = token_client.post("/api/streams", json=GOOD)
    wrong = token_client.post("/api/streams", json=GOOD, headers={"Authorization": "Bearer nope"})
    right = token_client.post("/api/streams", json=GOOD,
                              headers={"Authorization": f"Bearer {TOKEN}"})
    # Then 401 with a Bearer challenge, 401, and past auth (503: no Kafka in this test)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    assert right.status_code == 503
    # And reads stay open
    assert token_client.get("/api/streams").status_code == 200
    assert token_client.delete("/api/streams/cam-1").status_code == 401


def test_auth_all_guards_reads_but_not_page_or_probes(locked_client: TestClient) -> None:
    for path in ("/api/streams", "/api/models", "/api/events", "/metrics", "/openapi.json",
                 "/api/streams/cam/frames/latest"):
        assert locked_client.get(path).status_code == 401, path
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert locked_client.get("/api/streams", headers=ok).status_code == 200
    assert locked_client.get("/openapi.json", headers=ok).status_code == 200
    for path in ("/", "/static/app.js", "/healthz"):
        assert locked_client.get(path).status_code == 200, path


def test_cors_is_off_by_default(open_client: TestClient) -> None:
    # Given no allow-list / When another origin asks / Then no CORS header is granted
    response = open_client.get("/api/streams", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    preflight = open_client.options(
        "/api/streams",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allow_list_admits_only_listed_origins() -> None:
    for client in client_for(cors_origins=["https://ops.example"]):
        good = client.options(
            "/api/streams",
            headers={"Origin": "https://ops.example", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization"},
        )
        assert good.status_code == 200
        assert good.headers["access-control-allow-origin"] == "https://ops.example"
        bad = client.get("/api/streams", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_page_is_served_with_security_headers(open_client: TestClient) -> None:
    response = open_client.get("/")
    assert response.status_code == 200 and "<canvas" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_the_pipeline_api(open_client: TestClient) -> None:
    paths = open_client.get("/openapi.json").json()["paths"]
    for path in ("/api/streams", "/api/streams/{stream_id}", "/api/streams/{stream_id}/status",
                 "/api/models", "/api/events", "/api/streams/{stream_id}/events", "/readyz"):
        assert path in paths, path
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/streams/{stream_id}"])


def test_readiness_fails_clearly_without_a_consumer(open_client: TestClient) -> None:
    response = open_client.get("/readyz")
    assert response.status_code == 503
    assert "consumer" in response.json()["problems"][0]
    assert open_client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"token": "short"}, "at least 16"),
        ({"auth_all": True}, "needs FW_DASHBOARD_TOKEN"),
        ({"cors_origins": "ops.example"}, "must start with http"),
        ({"port": 70000}, "port"),
    ],
)
def test_bad_settings_are_config_errors(overrides: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings(DashboardSettings, **overrides)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FW_DASHBOARD_CORS_ORIGINS", "https://a.example, http://localhost:3000")
    monkeypatch.setenv("FW_DASHBOARD_TOKEN", TOKEN)
    monkeypatch.setenv("FW_DASHBOARD_PORT", "9000")
    settings = DashboardSettings()
    assert settings.cors_origins == ["https://a.example", "http://localhost:3000"]
    assert settings.port == 9000 and TOKEN not in repr(settings)


def test_missing_model_zoo_degrades_with_a_message() -> None:
    listing = ModelCatalog("framewire.models.no_such_zoo").listing()
    assert listing["available"] is False and listing["models"] == []
    assert "not installed" in listing["message"]
    assert ModelCatalog("framewire.models.no_such_zoo").model_ids() is None


def test_unknown_model_is_refused_when_the_zoo_can_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a zoo that knows one model

    from fastapi.testclient import TestClient

    from framewire.core.config import KafkaSettings
    from framewire.dashboard.app import create_app
    from framewire.dashboard.catalog import ModelCatalog
    from framewire.dashboard.settings import DashboardSettings

    zoo = types.ModuleType("fake_zoo")
    zoo.list_models = lambda: [{"model_id": "ssd-small", "key_file": "/secret/k.bin"}]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_zoo", zoo)
    app = create_app(DashboardSettings(kafka=KafkaSettings()), with_kafka=False)
    app.state.ctx.catalog = ModelCatalog("fake_zoo")
    with TestClient(app) as client:
        # When a stream names another model / Then 422 lists the known ones
        body = {"stream_id": "cam", "source_uri": "/dev/video0", "model": "yolo-huge"}
        response = client.post("/api/streams", json=body)
        assert response.status_code == 422 and "available: ssd-small" in response.json()["detail"]
        # And the model list never shows key material
        assert client.get("/api/models").json()["models"] == [{"model_id": "ssd-small"}]
