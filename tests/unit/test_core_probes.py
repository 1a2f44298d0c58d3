"""The probe server every non-FastAPI service uses: /healthz, /readyz, /metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from framewire.core.metrics import metric_name
from framewire.core.probes import ProbeServer, serve_probes

pytestmark = pytest.mark.unit


class Flags:
    def __init__(self) -> None:
        self.live, self.ready = True, False

    def live_check(self) -> tuple[bool, str]:
        return self.live, "ok" if self.live else "loop stalled"

    def ready_check(self) -> tuple[bool, str]:
        return self.ready, "ready" if self.ready else "recovering tables"


@pytest.fixture
def served() -> Iterator[tuple[Flags, CollectorRegistry, str]]:
    flags, registry = Flags(), CollectorRegistry()
    server = ProbeServer("127.0.0.1", 0, live=flags.live_check, ready=flags.ready_check,
                         registry=registry).start()
    yield flags, registry, f"http://127.0.0.1:{server.port}"
    server.stop()


def test_readiness_and_liveness_follow_their_checks(served) -> None:
    flags, _, base = served
    # Given a live process still starting: live, not ready, saying why
    assert httpx.get(base + "/healthz").json() == {"status": "ok", "detail": "ok"}
    starting = httpx.get(base + "/readyz")
    assert starting.status_code == 503
    assert starting.json() == {"status": "not ready", "problems": ["recovering tables"]}
    # When it becomes ready, then its loop stalls
    flags.ready = True
    assert httpx.get(base + "/readyz").status_code == 200
    flags.live = False
    # Then liveness fails with the reason
    stalled = httpx.get(base + "/healthz")
    assert (stalled.status_code, stalled.json()["problems"]) == (503, ["loop stalled"])


def test_metrics_expose_the_given_registry_and_other_paths_are_404(served) -> None:
    _, registry, base = served
    # Given a counter named by the shared helper in the served registry
    counter = Counter(metric_name("gateway", "probe_test_total"), "test", ["stream"], registry=registry)
    counter.labels("a").inc(2)
    # When scraped
    text = httpx.get(base + "/metrics").text
    # Then the full name is framewire_<service>_<name>, and unknown paths are 404
    assert 'framewire_gateway_probe_test_total{stream="a"} 2.0' in text
    assert httpx.get(base + "/ready/").status_code == 404


def test_a_check_that_raises_is_an_unready_answer() -> None:
    # Given a readiness check that raises
    def broken() -> tuple[bool, str]:
        raise RuntimeError("consumer not built")

    server = serve_probes(0, "127.0.0.1")
    assert server is None  # port 0 from settings means "no server"
    probes = ProbeServer("127.0.0.1", 0, ready=broken, registry=CollectorRegistry()).start()
    try:
        # When asked / Then it answers 503 naming the failure instead of dropping the connection
        answer = httpx.get(f"http://127.0.0.1:{probes.port}/readyz")
        assert answer.status_code == 503 and "consumer not built" in answer.json()["problems"][0]
    finally:
        probes.stop()
