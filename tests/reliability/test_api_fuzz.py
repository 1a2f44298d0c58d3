"""Schemathesis against the dashboard's own OpenAPI document, on the real broker.

Every operation gets valid and invalid requests generated from the spec; none may end in a
5xx, and no answer may carry the API token or a source URI's password. Event streams are
read only up to their first bytes (they never end by themselves). The default run is
bounded; ``FW_RELIABILITY_API_EXAMPLES=300 pytest -m reliability tests/reliability/test_api_fuzz.py``
is the long one.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from framewire.core.config import KafkaSettings
from framewire.dashboard.app import create_app
from framewire.dashboard.server import DashboardServer
from framewire.dashboard.settings import DashboardSettings
from support.dashboard import Det, TrafficPublisher

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("FW_RELIABILITY_API_EXAMPLES", "10"))
TOKEN = "api-token-" + uuid.uuid4().hex
PASSWORD = "rtsp-pw-" + uuid.uuid4().hex[:12]


def delete_prefix_topics(kafka: KafkaSettings) -> None:
    """The fuzzer creates streams (two topics each): remove them with the test."""
    from framewire.core.kafka import make_admin

    admin = make_admin(kafka)
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(kafka.topic_prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result(30)


@pytest.fixture(scope="module")
def dashboard(kafka_bootstrap: str) -> Iterator[DashboardServer]:
    # A stream with a frame, a result, a status and a password in its URI to read back.
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:10]}.")
    publisher = TrafficPublisher(kafka)
    publisher.create_topics("cam")
    frame = publisher.frame("cam", 0)
    publisher.flush()
    publisher.result("cam", frame, 0, [Det("cat", 0.9, (0.1, 0.1, 0.5, 0.5))])
    publisher.status("cam")
    publisher.spec("cam", source_uri=f"rtsp://admin:{PASSWORD}@cam.local/live")
    publisher.flush()
    server = DashboardServer(DashboardSettings(kafka=kafka, port=0, token=TOKEN,
                                               topic_refresh_s=0.5, heartbeat_s=1.0))
    server.start()
    deadline = time.monotonic() + 20
    while "cam" not in httpx.get(server.url + "api/streams").text:
        assert time.monotonic() < deadline, "the seeded stream never showed"
        time.sleep(0.2)
    yield server
    server.stop()
    delete_prefix_topics(kafka)


def operation_labels() -> list[str]:
    """"METHOD /path" of every documented operation (the spec does not need Kafka)."""
    spec = create_app(DashboardSettings(kafka=KafkaSettings()), with_kafka=False).openapi()
    return [f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops]


@pytest.fixture(scope="module")
def live_schema(dashboard: DashboardServer) -> BaseSchema:
    return schemathesis.openapi.from_url(dashboard.url + "openapi.json")


def call(case: schemathesis.Case, base_url: str) -> tuple[int, str]:
    """Send the case; return the status and the body (the first chunk of an event stream)."""
    kwargs = case.as_transport_kwargs(base_url=base_url,
                                      headers={"Authorization": f"Bearer {TOKEN}"})
    kwargs.pop("allow_redirects", None)
    body = b""
    with httpx.Client(timeout=15) as http, http.stream(**kwargs) as response:
        streaming = "text/event-stream" in response.headers.get("content-type", "")
        for chunk in response.iter_bytes():
            body += chunk
            if streaming:  # an event stream never ends: its first event is enough
                break
    return response.status_code, body.decode("utf-8", "replace")


@pytest.mark.parametrize("label", operation_labels())
def test_no_request_from_the_spec_gets_a_server_error(
    label: str, dashboard: DashboardServer, live_schema: BaseSchema
) -> None:
    # Given the dashboard with a seeded stream, and valid and invalid requests for one
    # operation generated from the spec it serves
    operation = live_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served spec"
    requests = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))
    base_url = dashboard.url.rstrip("/")
    seen: list[int] = []

    @given(case=requests)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def send(case: schemathesis.Case) -> None:
        # When each is sent (with the token, so writes are exercised too)
        status, body = call(case, base_url)
        seen.append(status)
        # Then the answer is not a 5xx, and carries neither the token nor the URI's password
        assert status < 500, f"{case.method} {case.formatted_path}: {status} {body[:500]}"
        assert TOKEN not in body and PASSWORD not in body

    send()
    assert seen, "no request was generated"
