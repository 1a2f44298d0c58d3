"""Security on the real broker: every service over SASL_SSL through settings alone, wrong
credentials a clear error, token and CORS on the running dashboard, and a grep proving no
secret reaches logs, metrics, API answers or published messages.

The secure broker (``secure_kafka``) listens with SCRAM-SHA-512 over TLS signed by a CA the
test session made. Secrets planted: the SASL password, the dashboard's API token, a
model-decryption key, a key-broker token and a model-server token in the environment, and
the passwords of two cameras (an MJPEG camera that works, an RTSP camera that does not
answer).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_admin, make_consumer
from reliability.procs import Service, free_port, wait_until
from support.dashboard import sample_jpeg
from support.gateway import MjpegServer, spec, write_specs

pytestmark = pytest.mark.reliability

MODEL = "ssd-mobilenet-v2-oidv4"
TOKEN = "api-" + secrets.token_hex(16)
MODELS_KEY = secrets.token_hex(32)
MODELS_SERVER_TOKEN = "ms-" + secrets.token_hex(12)
KEY_BROKER_TOKEN = "kb-" + secrets.token_hex(12)
CAMERA_PASSWORD = "cam-" + secrets.token_hex(8)
RTSP_PASSWORD = "rtsp-" + secrets.token_hex(8)
# Liveness bound for the four services to start over SASL_SSL and show a result and a stats
# window: about 60 s on a quiet 2-core machine, over 90 s at load average 10-20.
FLOWING_BOUND_S = 180
ORIGIN = "https://ops.example.com"


def settings_of(env: dict[str, str]) -> KafkaSettings:
    """The secure listener's settings, built from the same variables the services get."""
    return KafkaSettings(
        bootstrap=env["FW_KAFKA_BOOTSTRAP"], security_protocol=env["FW_KAFKA_SECURITY_PROTOCOL"],
        sasl_mechanism=env["FW_KAFKA_SASL_MECHANISM"], sasl_username=env["FW_KAFKA_SASL_USERNAME"],
        sasl_password=env["FW_KAFKA_SASL_PASSWORD"], ssl_ca_location=env["FW_KAFKA_SSL_CA_LOCATION"],
        topic_prefix=env["FW_KAFKA_TOPIC_PREFIX"],
    )


def service_envs(kafka_env: dict[str, str], tmp_path: Path) -> dict[str, dict[str, str]]:
    """Each service's environment: the secure FW_KAFKA_* plus its own settings."""
    shared = {**kafka_env, "FW_MODELS_KEY": MODELS_KEY, "FW_MODELS_SERVER_TOKEN": MODELS_SERVER_TOKEN,
              "FW_MODELS_KEY_BROKER_TOKEN": KEY_BROKER_TOKEN, "FW_KAFKA_CONNECT_TIMEOUT_S": "5"}
    return {
        "gateway": {**shared, "FW_GATEWAY_ASSIGNMENT": "all", "FW_GATEWAY_STATUS_INTERVAL_S": "0.5",
                    "FW_GATEWAY_METRICS_PORT": str(free_port())},
        "inference": {**shared, "FW_INFERENCE_MODEL": MODEL, "FW_INFERENCE_HTTP_PORT": str(free_port()),
                      "FW_INFERENCE_METADATA_REFRESH_MS": "1000"},
        "aggregator": {**shared, "FW_AGGREGATOR_METRICS_PORT": str(free_port()),
                       "FW_AGGREGATOR_WEB_PORT": "0", "FW_AGGREGATOR_DATA_DIR": str(tmp_path / "agg"),
                       "FW_AGGREGATOR_TUMBLING_S": "2", "FW_AGGREGATOR_HOPPING_S": "4",
                       "FW_AGGREGATOR_HOPPING_STEP_S": "2", "FW_AGGREGATOR_DISCOVER_S": "1"},
        "dashboard": {**shared, "FW_DASHBOARD_PORT": str(free_port()), "FW_DASHBOARD_TOKEN": TOKEN,
                      "FW_DASHBOARD_CORS_ORIGINS": ORIGIN, "FW_DASHBOARD_TOPIC_REFRESH_S": "0.5"},
    }


def metrics_urls(envs: dict[str, dict[str, str]]) -> dict[str, str]:
    return {
        "gateway": f"http://127.0.0.1:{envs['gateway']['FW_GATEWAY_METRICS_PORT']}/metrics",
        "inference": f"http://127.0.0.1:{envs['inference']['FW_INFERENCE_HTTP_PORT']}/metrics",
        "aggregator": f"http://127.0.0.1:{envs['aggregator']['FW_AGGREGATOR_METRICS_PORT']}/metrics",
        "dashboard": f"http://127.0.0.1:{envs['dashboard']['FW_DASHBOARD_PORT']}/metrics",
    }


def topic_bytes(kafka: KafkaSettings, skip: set[str]) -> dict[str, bytes]:
    """Every record (keys, values, headers) of the test's topics, read to their ends."""
    metadata = make_admin(kafka).list_topics(timeout=10)
    tps = [TopicPartition(name, p, OFFSET_BEGINNING) for name, t in metadata.topics.items()
           if name.startswith(kafka.topic_prefix) and name not in skip for p in t.partitions]
    consumer = make_consumer(kafka, f"{kafka.topic_prefix}grep", **{
        "isolation.level": "read_uncommitted", "enable.partition.eof": True})
    consumer.assign(tps)
    out: dict[str, list[bytes]] = {tp.topic: [] for tp in tps}
    pending = {(tp.topic, tp.partition) for tp in tps}
    deadline = time.monotonic() + 30
    try:
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                error = msg.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    pending.discard((msg.topic(), msg.partition()))
                elif error is None:
                    out[msg.topic()] += [msg.key() or b"", msg.value() or b""]
                    out[msg.topic()] += [v or b"" for _, v in msg.headers() or []]
    finally:
        consumer.close()
    assert not pending, f"not read to the end: {sorted(pending)[:5]}"
    return {name: b"".join(chunks) for name, chunks in out.items()}


@pytest.fixture
def camera() -> Iterator[MjpegServer]:
    with MjpegServer([sample_jpeg("coffee")[0]], fps=5, user="viewer", password=CAMERA_PASSWORD) as cam:
        yield cam


@pytest.fixture
def pipeline(secure_env: dict[str, str], tmp_path: Path,
             camera: MjpegServer) -> Iterator[tuple[dict[str, Service], dict[str, dict[str, str]]]]:
    envs = service_envs(secure_env, tmp_path)
    kafka = settings_of(secure_env)
    dead_rtsp = f"rtsp://admin:{RTSP_PASSWORD}@127.0.0.1:{free_port()}/cam"
    write_specs(kafka, [spec("cam", camera.url, fps=5), spec("door", dead_rtsp, fps=5)])
    services = {name: Service(name, [name], env, tmp_path / f"{name}.log").start()
                for name, env in envs.items()}
    yield services, envs
    for service in services.values():
        service.stop()


def test_every_service_runs_over_sasl_ssl_and_no_secret_leaks(
    pipeline: tuple[dict[str, Service], dict[str, dict[str, str]]], secure_env: dict[str, str]
) -> None:
    services, envs = pipeline
    kafka = settings_of(secure_env)
    dashboard = f"http://127.0.0.1:{envs['dashboard']['FW_DASHBOARD_PORT']}"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    # Given the four services started with FW_KAFKA_* naming the SASL_SSL listener only
    # When the camera's frames have gone through gateway, inference and aggregator
    seen: dict[str, object] = {}

    def flowing() -> bool:
        try:
            cam = httpx.get(f"{dashboard}/api/streams/cam", timeout=2).json()
            stats = httpx.get(f"{dashboard}/api/stats", timeout=2).json()
        except (httpx.HTTPError, ValueError) as exc:
            seen["error"] = repr(exc)
            return False
        seen.update(results_seen=cam.get("live", {}).get("results_seen", 0),
                    stats_streams=sorted(stats.get("streams", {})))
        return cam.get("live", {}).get("results_seen", 0) > 0 and bool(stats.get("streams", {}).get("cam"))
    started = time.monotonic()
    if not wait_until(flowing, FLOWING_BOUND_S):
        pytest.fail(f"no results and stats for cam in {FLOWING_BOUND_S} s (last seen: {seen})\n"
                    + "\n".join(s.log_digest() for s in services.values()), pytrace=False)
    flowing_after_s = time.monotonic() - started
    assert all(s.alive() for s in services.values())
    # Then the API guards writes with the token, and CORS admits only the listed origin
    body = {"stream_id": "new-cam", "source_uri": f"rtsp://u:{RTSP_PASSWORD}@10.0.0.9/x"}
    answers = [
        httpx.post(f"{dashboard}/api/streams", json=body),
        httpx.post(f"{dashboard}/api/streams", json=body, headers={"Authorization": "Bearer nope" * 3}),
        httpx.post(f"{dashboard}/api/streams", json={**body, "width": -1}, headers=bearer),
        httpx.post(f"{dashboard}/api/streams", json={**body, "source_uri": "ftp://a:b@c/d"}, headers=bearer),
        httpx.get(f"{dashboard}/api/streams/cam", headers=bearer),
        httpx.get(f"{dashboard}/api/streams/door/status", headers=bearer),
    ]
    assert [a.status_code for a in answers] == [401, 401, 422, 422, 200, 200]
    created = httpx.post(f"{dashboard}/api/streams", json=body, headers=bearer)
    assert created.status_code == 201, created.text
    allowed = cors_preflight(dashboard, ORIGIN)
    refused = cors_preflight(dashboard, "https://evil.example.net")
    assert allowed.headers.get("access-control-allow-origin") == ORIGIN
    assert "access-control-allow-origin" not in refused.headers
    # And the RTSP camera's failure is reported, without its password
    assert wait_until(lambda: "door" in httpx.get(f"{dashboard}/api/streams").text, 10)
    # And no secret appears in any log, metrics page, API answer or published message
    metrics = {n: httpx.get(url, headers=bearer, timeout=5).text for n, url in metrics_urls(envs).items()}
    assert all(metrics.values())
    texts: dict[str, str | bytes] = {
        **{f"log {n}": s.log_text() for n, s in services.items()},
        **{f"metrics {n}": m for n, m in metrics.items()},
        **{f"answer {i}": a.text for i, a in enumerate([*answers, created, allowed, refused])},
        **topic_bytes(kafka, skip={kafka.topics.streams}),
    }
    assert any(n.endswith(".frames.cam") for n in texts) and len(texts[f"{kafka.topic_prefix}frames.cam"]) > 0
    leaks = find_secrets(texts, {
        "SASL password": secure_env["FW_KAFKA_SASL_PASSWORD"], "API token": TOKEN,
        "model key": MODELS_KEY, "model server token": MODELS_SERVER_TOKEN,
        "key broker token": KEY_BROKER_TOKEN,
        "camera password": CAMERA_PASSWORD, "RTSP password": RTSP_PASSWORD,
        "camera basic auth": base64.b64encode(f"viewer:{CAMERA_PASSWORD}".encode()).decode(),
    })
    print(f"RELIABILITY security: pipeline over SASL_SSL in {flowing_after_s:.1f}s; grep over "
          f"{len(texts)} logs/pages/answers/topics, {sum(len(t) for t in texts.values())} bytes; "
          f"leaks={len(leaks)}")
    assert not leaks, leaks


def cors_preflight(base: str, origin: str) -> httpx.Response:
    return httpx.options(f"{base}/api/streams", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})


def find_secrets(texts: dict[str, Any], planted: dict[str, str]) -> list[str]:
    """Which planted secret appears where."""
    found = []
    for where, text in texts.items():
        blob = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        found += [f"{what} in {where}" for what, secret in planted.items() if secret.encode() in blob]
    return found


@pytest.mark.parametrize("wrong", ["password", pytest.param("ca", marks=pytest.mark.slow)])
def test_wrong_credentials_stop_every_service_with_a_clear_error(
    secure_env: dict[str, str], tmp_path: Path, wrong: str
) -> None:
    # Given every service configured with a wrong password (or a CA that did not sign the
    # broker's certificate)
    bad = dict(secure_env)
    if wrong == "password":
        bad["FW_KAFKA_SASL_PASSWORD"] = "wrong-" + secrets.token_hex(8)
    else:
        from framewire.broker.secure import write_tls_material

        bad["FW_KAFKA_SSL_CA_LOCATION"] = str(write_tls_material(tmp_path / "other-ca")[0])
    envs = service_envs(bad, tmp_path)
    # When they start
    started = time.monotonic()
    services = {n: Service(n, [n], env, tmp_path / f"{n}.log").start() for n, env in envs.items()}
    codes = {n: s.wait(40) for n, s in services.items()}
    elapsed = time.monotonic() - started
    for s in services.values():
        s.stop()
    # Then each exits with status 2 within seconds, naming the failure, not the password
    assert codes == dict.fromkeys(envs, 2), {n: s.log_text()[-600:] for n, s in services.items()}
    assert elapsed < 40
    words = "authentication" if wrong == "password" else "ssl"
    for name, service in services.items():
        log = service.log_text()
        assert words in log.lower(), (name, log[-600:])
        assert bad["FW_KAFKA_SASL_PASSWORD"] not in log
