"""Two gateway processes share the streams: each served exactly once; a killed one's
streams move to the survivor."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from framewire.samples import make_samples
from framewire.v1.stream_pb2 import StreamStatus
from support.gateway import TopicReader, spec, wait_until, write_specs

pytestmark = pytest.mark.integration

STREAMS = [f"s{i}" for i in range(12)]
SESSION_TIMEOUT_MS = 6000


def start_gateway(kafka_settings, gateway_id: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "FW_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
        "FW_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "FW_GATEWAY_STATUS_INTERVAL_S": "0.5",
        "FW_GATEWAY_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
        "FW_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "framewire.cli", "gateway", "--id", gateway_id, "--metrics-port", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def servers(reader, since_ns: int) -> dict[str, set[str]]:
    """Which gateways reported each stream running since ``since_ns``."""
    out: dict[str, set[str]] = {s: set() for s in STREAMS}
    for stream_id in STREAMS:
        for status in list(reader.statuses.get(stream_id, [])):
            if status and status.updated_time_ns >= since_ns and status.state == StreamStatus.STATE_RUNNING:
                out[stream_id].add(status.gateway_id)
    return out


def current_owner(reader, stream_id):
    status = reader.last_status(stream_id)
    return status.gateway_id if status and status.state == StreamStatus.STATE_RUNNING else None


def test_streams_are_split_served_once_and_move_when_a_gateway_dies(kafka_settings, tmp_path):
    # Given twelve streams in the registry and two gateway processes
    folder = make_samples(tmp_path, width=160, height=120, fps=5, seconds=1.0, folder_frames=2)[-1]
    write_specs(kafka_settings, [spec(s, f"dir://{folder}?fps=5", fps=5) for s in STREAMS])
    reader = TopicReader(kafka_settings)
    gateways = {gid: start_gateway(kafka_settings, gid) for gid in ("gw-a", "gw-b")}
    try:
        # When both have joined and the assignment has settled
        assert wait_until(lambda: {current_owner(reader, s) for s in STREAMS} <= {"gw-a", "gw-b"}
                          and None not in {current_owner(reader, s) for s in STREAMS}, 30)
        time.sleep(1.0)
        window_start = time.time_ns()
        time.sleep(1.5)
        # Then over the next 1.5 s every stream was served by exactly one gateway
        served = servers(reader, window_start)
        assert all(len(ids) == 1 for ids in served.values()), served
        owners = Counter(next(iter(ids)) for ids in served.values())
        # And both gateways had a share (all twelve on one side: odds about 1 in 2000)
        assert set(owners) == {"gw-a", "gw-b"}, owners
        # When the gateway serving most streams is killed outright
        victim, _ = owners.most_common(1)[0]
        survivor = "gw-b" if victim == "gw-a" else "gw-a"
        gateways[victim].send_signal(signal.SIGKILL)
        gateways[victim].wait(10)
        killed = time.time_ns()
        # Then within the session timeout (plus start-up) every stream runs on the survivor
        moved = wait_until(lambda: all(current_owner(reader, s) == survivor for s in STREAMS),
                           SESSION_TIMEOUT_MS / 1000 + 12)
        assert moved, {s: current_owner(reader, s) for s in STREAMS}
        assert wait_until(lambda: all(any(f.capture_time_ns > killed for f in reader.snapshot(s))
                                      for s in STREAMS), 10)
    finally:
        for proc in gateways.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in gateways.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        reader.close()
    # And no frame number was ever published twice or out of order, across the move
    for stream_id in STREAMS:
        sequences = [f.sequence for f in reader.snapshot(stream_id)]
        assert sequences == sorted(set(sequences)), stream_id
    # And the survivor shut down cleanly on SIGTERM
    assert gateways[survivor].returncode == 0, gateways[survivor].stderr.read().decode()[-2000:]
