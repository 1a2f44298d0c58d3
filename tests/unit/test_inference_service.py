"""Settings, the command line, health endpoints and model switching (no broker)."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator

import httpx
import pytest

from framewire.core.errors import ConfigError
from framewire.core.probes import ProbeServer
from framewire.inference.health import Health
from framewire.inference.main import add_arguments, settings_from
from framewire.inference.metrics import InferenceMetrics
from framewire.inference.modelwatch import ModelWatcher
from framewire.inference.settings import FreshnessPolicy, InferenceSettings
from framewire.models.perframe.slot import ModelSlot
from support.inference import TinyDetector

pytestmark = pytest.mark.unit


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_settings_come_from_env_and_name_the_transaction(monkeypatch) -> None:
    # Given the environment of a pod
    monkeypatch.setenv("FW_INFERENCE_WORKER_ID", "inference-2")
    monkeypatch.setenv("FW_INFERENCE_FRESHNESS", "stride")
    monkeypatch.setenv("FW_INFERENCE_MAX_AGE_MS", "250")
    monkeypatch.setenv("FW_KAFKA_TOPIC_PREFIX", "prod.")
    # When settings are built
    s = settings_from(parse())
    # Then they hold the values, and group and transactional id derive from prefix and worker
    assert (s.freshness, s.max_age_ms, s.kafka.topic_prefix) == (FreshnessPolicy.STRIDE, 250,
                                                                 "prod.")
    assert s.group == "prod.inference"
    assert s.transactional_id == "prod.inference.inference-2"


def test_command_line_overrides_the_environment(monkeypatch) -> None:
    # Given an env value and a different command-line value
    monkeypatch.setenv("FW_INFERENCE_MAX_AGE_MS", "250")
    # When both are given / Then the command line wins
    s = settings_from(parse("--max-age-ms", "900", "--freshness", "none", "--worker-id", "w9"))
    assert (s.max_age_ms, s.freshness, s.worker_id) == (900, FreshnessPolicy.NONE, "w9")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [(["--worker-id", "bad id!"], "worker_id"), (["--max-age-ms", "0"], "max_age_ms"),
     (["--stride", "0"], "stride")],
)
def test_bad_settings_give_a_clear_config_error(argv, needle) -> None:
    # Given an illegal value / When settings are built / Then a ConfigError names the field
    with pytest.raises(ConfigError, match=needle):
        settings_from(parse(*argv))


def test_bad_freshness_is_refused_by_the_command_line() -> None:
    # Given an unknown policy / When parsed / Then argparse refuses it
    with pytest.raises(SystemExit):
        parse("--freshness", "sometimes")


def test_default_worker_id_is_stable_and_legal() -> None:
    # Given no worker id / When built twice / Then it is the same legal host-derived id
    a, b = InferenceSettings(), InferenceSettings()
    assert a.worker_id == b.worker_id and a.transactional_id == b.transactional_id


@pytest.fixture
def served() -> Iterator[tuple[Health, InferenceMetrics, str]]:
    health, metrics = Health(stall_after_s=60), InferenceMetrics()
    server = ProbeServer("127.0.0.1", 0, live=health.live_check, ready=health.ready_check,
                         registry=metrics.registry)
    server.start()
    yield health, metrics, f"http://127.0.0.1:{server.port}"
    server.stop()


def test_readiness_follows_the_worker_and_metrics_are_exposed(served) -> None:
    health, metrics, base = served
    # Given a worker still starting
    assert httpx.get(base + "/readyz").status_code == 503
    # When it reports ready and has counted a drop
    health.set_ready(True)
    metrics.drops.labels("cam1", "stale").inc(4)
    # Then readiness and liveness answer 200 and the metric is scraped with its labels
    assert httpx.get(base + "/readyz").status_code == 200
    assert httpx.get(base + "/healthz").status_code == 200
    text = httpx.get(base + "/metrics").text
    assert 'framewire_inference_drops_total{reason="stale",stream="cam1"} 4.0' in text


def test_liveness_fails_when_the_loop_stalls() -> None:
    # Given a health whose loop last turned longer ago than allowed
    health = Health(stall_after_s=0.01)
    threading.Event().wait(0.05)
    # Then it is not alive; a beat makes it alive again
    assert not health.alive
    health.beat()
    assert health.alive


def test_revoked_partition_lag_series_are_removed() -> None:
    # Given lag gauges for a partition
    m = InferenceMetrics()
    m.lag_messages.labels("fw.frames.a", "0").set(5)
    # When forgotten (twice is fine) / Then the series is gone
    m.forget_partition("fw.frames.a", 0)
    m.forget_partition("fw.frames.a", 0)
    assert m.registry.get_sample_value(
        "framewire_inference_consumer_lag_messages", {"topic": "fw.frames.a", "partition": "0"}
    ) is None


def test_watcher_switches_only_when_the_server_offers_another_version() -> None:
    # Given a slot running v1 and a server offering v1, then v2
    slot = ModelSlot(TinyDetector(version="v1"))
    offered = ["v1"]
    switched: list[str] = []
    watcher = ModelWatcher(
        slot, 3600, probe=lambda: offered[0], load=lambda: TinyDetector(version=offered[0]),
        on_switch=lambda d: switched.append(d.info.version), where="http://u:p@models/",
    )
    # When checked with the same version / Then nothing changes
    assert not watcher.check() and slot.version == "v1"
    # When the server offers v2 / Then it is loaded and installed, and the switch reported
    offered[0] = "v2"
    assert watcher.check()
    assert slot.version == "v2" and switched == ["v2"]


def test_stream_specs_set_and_clear_per_stream_max_ages() -> None:
    from framewire.core.codec import encode
    from framewire.inference.streamspecs import StreamAges
    from framewire.v1.stream_pb2 import StreamSpec

    # Given the default of 500 ms
    ages = StreamAges(500)
    # When specs arrive: one with its own age, one with 0, one unreadable
    ages.apply(b"slow", encode(StreamSpec(stream_id="slow", max_age_ms=4000)))
    ages.apply(b"plain", encode(StreamSpec(stream_id="plain", max_age_ms=0)))
    ages.apply(b"junk", b"\xff\xff\xff")
    # Then only the first overrides the default
    assert (ages.max_age_ms("slow"), ages.max_age_ms("plain"), ages.max_age_ms("junk")) == (
        4000, 500, 500)
    assert ages.overrides() == {"slow": 4000}
    # And a tombstone (the stream deleted) brings the default back
    ages.apply(b"slow", None)
    assert ages.max_age_ms("slow") == 500 and ages.max_age_ms(None) == 500
