"""The local broker's start waits while the broker makes progress, and no longer.

A stand-in process plays the broker: it writes log lines like one loading its partitions.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from framewire.broker.local import READY_LINE, LocalBroker
from framewire.core.errors import BrokerError
from support.gateway import free_port

pytestmark = pytest.mark.unit


def _standin(broker: LocalBroker, script: str) -> subprocess.Popen[bytes]:
    out = open(broker.log_file, "ab")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    out.close()
    broker.pid_file.write_text(str(proc.pid))
    return proc


LOADING = """
import socket, sys, time
for i in range({lines}):
    print(f"INFO Loading log fw.frames.cam-{{i}}-0", flush=True)
    time.sleep({every})
{after}
"""

SERVES = f"""
s = socket.socket(); s.bind(("127.0.0.1", {{port}})); s.listen()
print("INFO [KafkaRaftServer nodeId=1] {READY_LINE} (kafka.server.KafkaRaftServer)", flush=True)
time.sleep(30)
"""


def test_a_broker_that_keeps_loading_is_waited_for_past_the_stall_limit(tmp_path):
    # Given a broker that loads its logs for 2 s, writing a line every 0.1 s, then serves
    port = free_port()
    broker = LocalBroker(tmp_path, port=port, controller_port=port + 1)
    proc = _standin(broker, LOADING.format(lines=20, every=0.1, after=SERVES.format(port=port)))
    try:
        # When start waits with a stall limit of 0.7 s, shorter than the whole load
        started = time.monotonic()
        broker._wait_ready(proc, started, stall_s=0.7, ceiling_s=30)
        # Then it returned once the broker served, after more than the stall limit
        assert time.monotonic() - started > 1.5
        assert proc.poll() is None
    finally:
        proc.kill()


def test_a_broker_whose_log_goes_silent_is_stopped_with_the_reason(tmp_path):
    # Given a broker that writes two lines and then hangs without serving
    port = free_port()
    broker = LocalBroker(tmp_path, port=port, controller_port=port + 1)
    proc = _standin(broker, LOADING.format(lines=2, every=0.05, after="time.sleep(60)"))
    # When start waits with a stall limit of 0.5 s
    with pytest.raises(BrokerError, match=r"not ready after \d+s \(its log silent for 0.5s\)") as info:
        broker._wait_ready(proc, time.monotonic(), stall_s=0.5, ceiling_s=30)
    # Then the error shows the log's last lines and the hung broker was stopped
    assert "Loading log fw.frames.cam-1-0" in str(info.value)
    assert proc.wait(timeout=10) is not None
    assert not broker.pid_file.exists()


def test_a_broker_still_loading_at_the_ceiling_is_given_up(tmp_path):
    # Given a broker that never stops loading
    port = free_port()
    broker = LocalBroker(tmp_path, port=port, controller_port=port + 1)
    proc = _standin(broker, LOADING.format(lines=10_000, every=0.05, after=""))
    # When start waits with a ceiling of 1 s
    with pytest.raises(BrokerError, match=r"the ceiling reached"):
        broker._wait_ready(proc, time.monotonic(), stall_s=5, ceiling_s=1)
    # Then it was stopped
    assert proc.wait(timeout=10) is not None


def test_the_default_broker_lives_where_fw_kafka_home_says(tmp_path, monkeypatch):
    # Given FW_KAFKA_HOME and FW_KAFKA_PORT
    monkeypatch.setenv("FW_KAFKA_HOME", str(tmp_path / "b"))
    monkeypatch.setenv("FW_KAFKA_PORT", "29500")
    # When the developer's broker is described
    broker = LocalBroker.default()
    # Then it uses that directory and those ports
    assert broker.home == tmp_path / "b"
    assert (broker.port, broker.controller_port) == (29500, 29501)
    assert f"log.dirs={tmp_path / 'b' / 'data'}" in broker.config_text()
