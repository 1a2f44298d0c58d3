"""The README's first command, ``framewire up``, runs the pipeline end to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_up_runs_every_service_and_each_stream_gets_results(kafka_settings):
    # Given the test broker and a topic prefix of our own
    env = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
           "FW_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
           "FW_GATEWAY_METRICS_PORT": str(_free_port()),
           "FW_INFERENCE_HTTP_PORT": str(_free_port()),
           "FW_TRACKER_HTTP_PORT": str(_free_port()),
           "FW_AGGREGATOR_WEB_PORT": str(_free_port())}
    # When the pipeline runs for a while with two sample streams
    proc = subprocess.run(
        [sys.executable, "-m", "framewire.cli", "up", "--streams", "2", "--duration", "30",
         "--port", str(_free_port())],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    # Then it announced the dashboard, stopped cleanly, and both streams have results
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dashboard  http://127.0.0.1:" in proc.stdout
    lines = [ln for ln in proc.stdout.splitlines() if " results on " in ln]
    assert len(lines) == 2
    assert all(int(ln.split()[1]) > 0 for ln in lines), lines
    # And the tracker followed the objects of both
    assert all(int(ln.split(", ")[1].split()[0]) > 0 for ln in lines), lines
