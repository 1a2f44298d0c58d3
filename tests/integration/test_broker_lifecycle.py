"""A second local broker starts from the cached jars without Maven, serves, and stops."""

import os
import shutil
import socket
from pathlib import Path

import pytest

from framewire.broker.local import LocalBroker, port_in_use
from framewire.core.config import KafkaSettings
from framewire.core.kafka import check_reachable

pytestmark = pytest.mark.integration


def _free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000 and not port_in_use(port + 1):
            return port
    raise RuntimeError("no free port pair")


def test_cached_broker_starts_without_maven_and_stops(tmp_path, monkeypatch, kafka_bootstrap):
    # Given the jars already cached (the session broker resolved them) and no mvn on PATH
    java_dir = Path(shutil.which("java") or "/usr/bin/java").resolve().parent
    monkeypatch.setenv("PATH", f"{java_dir}{os.pathsep}/usr/bin/nonexistent")
    port = _free_port_pair()
    broker = LocalBroker(tmp_path, port=port, controller_port=port + 1, heap="256m")
    try:
        # When it is started on fresh storage
        seconds = broker.start()
        # Then it formats, serves clients, and reports its start-up time
        assert seconds > 0
        assert broker.running()
        check_reachable(KafkaSettings(bootstrap=broker.bootstrap), timeout_s=10)
        assert (tmp_path / "data" / "meta.properties").exists()
    finally:
        # And it stops cleanly on SIGTERM, freeing its port
        assert broker.stop(timeout_s=30) is True
    assert not broker.running()
    assert not port_in_use(port)
