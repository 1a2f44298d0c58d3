"""The classic group protocol against KIP-848's consumer protocol, on the real broker.

Kafka 4.x brokers speak both. Under the consumer protocol the broker owns the session
timeout (``group.consumer.session.timeout.ms``, at least 45 s on a default broker) and the
heartbeat interval (5 s), so a worker refuses to start with a shorter session than the
broker allows; the comparison runs on a private broker whose limits allow 6 s and 1 s. The
figures (``pytest -s -m "reliability and slow" tests/reliability/test_group_protocols.py``)
are in docs/reliability.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException

from framewire.broker.local import LocalBroker
from framewire.core.config import KafkaSettings
from framewire.core.kafka import make_producer
from reliability.failover import (
    MODEL,
    SESSION_TIMEOUT_MS,
    STREAMS,
    Run,
    check_accounting,
    machine,
    summary,
)
from reliability.procs import Service, free_port, kafka_env
from support.inference import create_streams

pytestmark = pytest.mark.reliability

# Broker limits that let a consumer-protocol group use the same 6 s session as classic.
SHORT_SESSIONS = {
    "group.consumer.min.session.timeout.ms": "2000",
    "group.consumer.min.heartbeat.interval.ms": "250",
}


def test_the_consumer_protocol_refuses_a_session_shorter_than_the_broker_allows(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given a worker on the consumer protocol with a 6 s session, and a default broker
    create_streams(kafka_settings, ["s"])
    env = {**kafka_env(kafka_settings), "FW_INFERENCE_GROUP_PROTOCOL": "consumer",
           "FW_INFERENCE_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
           "FW_INFERENCE_HTTP_PORT": "-1", "FW_INFERENCE_MODEL": MODEL}
    proc = Service("inference", ["inference"], env, tmp_path / "inference.log").start()
    # When it starts
    code = proc.wait(60)
    if code is None:
        proc.stop()
    # Then it exits with status 2 naming the broker setting to change
    assert code == 2, proc.log_text()[-1500:]
    assert "group.consumer.min.session.timeout.ms" in proc.log_text()


def _first_assigned(run: Run, since_ns: int) -> float:
    """Seconds to the first partition either worker logged as newly assigned after a kill."""
    found = [run.wait_assigned_after(w, since_ns, 30) for w in ("a", "b")]
    return min((f for f in found if f is not None), default=float("inf"))


@pytest.fixture(scope="module")
def short_session_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = LocalBroker(tmp_path_factory.mktemp("kip848") / "broker", port=free_port(),
                         controller_port=free_port(), heap="384m", extra_config=SHORT_SESSIONS)
    broker.start()
    try:
        _wait_for_transactions(broker.bootstrap)
        yield broker.bootstrap
    finally:
        broker.stop()


def _wait_for_transactions(bootstrap: str, timeout_s: float = 120.0) -> None:
    """A fresh broker creates its transaction log on first use; wait until it serves."""
    deadline = time.monotonic() + timeout_s
    while True:
        producer = make_producer(KafkaSettings(bootstrap=bootstrap), transactional_id="warm-up")
        try:
            producer.init_transactions(10)
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("protocol", "static"), [
    ("classic", "true"), ("consumer", "true"), ("consumer", "false"),
])
def test_failover_under_each_group_protocol(
    short_session_broker: str, tmp_path: Path, protocol: str, static: str
) -> None:
    # Given two workers on the given protocol sharing two streams
    kafka = KafkaSettings(bootstrap=short_session_broker, topic_prefix=f"p{time.time_ns()}.")
    run = Run(kafka, tmp_path, FW_INFERENCE_GROUP_PROTOCOL=protocol,
              FW_INFERENCE_STATIC_MEMBERSHIP=static)
    figures: dict[str, float] = {}
    try:
        assert run.probe.wait_all_flowing(120), "streams never detected"
        time.sleep(3.0)
        # When a is SIGKILLed and restarted at once
        run.workers["a"].kill()
        killed_ns = time.time_ns()
        run.workers["a"] = run.start("a", log_name="a-restarted")
        figures["restart_kill_to_result_s"] = run.resume_s(killed_ns, 60)
        figures["restart_kill_to_assigned_s"] = _first_assigned(run, killed_ns)
        time.sleep(8.0)
        # and b is stopped with SIGTERM and started again
        stopping_ns = time.time_ns()
        run.workers["b"].stop()
        figures["sigterm_to_survivor_assigned_s"] = run.wait_assigned_after("a", stopping_ns, 60) \
            or float("inf")
        figures["sigterm_to_survivor_result_s"] = max(
            run.probe.wait_first_after(s, stopping_ns, 60, not_from="b") or float("inf")
            for s in STREAMS)
        run.workers["b"] = run.start("b", log_name="b-restarted")
        time.sleep(10.0)
        # and then a is SIGKILLed for good
        figures["restarted_a_alive"] = float(run.workers["a"].alive())
        run.workers["a"].kill()
        killed_ns = time.time_ns()
        figures["gone_kill_to_result_s"] = run.resume_s(killed_ns, 90)
        figures["gone_kill_to_assigned_s"] = run.wait_assigned_after("b", killed_ns, 30) \
            or float("inf")
        del run.workers["a"]
        outcome = run.finish()
    finally:
        run.close()
    print(f"RELIABILITY protocol={protocol} static={static} "
          + " ".join(f"{k}={v:.2f}" for k, v in figures.items())
          + f" {summary(outcome)} ({machine()})")
    # Then, whatever the protocol, every frame is accounted for exactly once
    check_accounting(outcome)
