"""A setting the broker refuses stops a service with the reason, instead of a warning loop.

Found by the crash test: a consumer session timeout below the broker's
``group.min.session.timeout.ms`` made a worker log "Invalid session timeout" every second
forever, never joining its group, never exiting.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from framewire.core.config import KafkaSettings
from reliability.procs import Service, free_port, kafka_env
from support.inference import create_streams

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize(("service", "env"), [
    ("gateway", {"FW_GATEWAY_SESSION_TIMEOUT_MS": "1500"}),
    ("inference", {"FW_INFERENCE_SESSION_TIMEOUT_MS": "2000", "FW_INFERENCE_HTTP_PORT": "-1",
                   "FW_INFERENCE_MODEL": "ssd-mobilenet-v2-oidv4"}),
])
def test_a_session_timeout_the_broker_refuses_is_a_clear_exit(
    kafka_settings: KafkaSettings, tmp_path: Path, service: str, env: dict[str, str]
) -> None:
    # Given a service whose consumer session timeout is below what the broker allows
    create_streams(kafka_settings, ["s"])
    extra = {"FW_GATEWAY_METRICS_PORT": str(free_port())}
    proc = Service(service, [service], {**kafka_env(kafka_settings), **extra, **env},
                   tmp_path / f"{service}.log").start()
    # When it starts
    started = time.monotonic()
    code = proc.wait(45)
    if code is None:
        proc.stop()
    # Then it exits by itself with status 2, soon, naming the setting to change
    assert code == 2, proc.log_text()[-1500:]
    assert time.monotonic() - started < 45
    assert "group.min.session.timeout.ms" in proc.log_text()
