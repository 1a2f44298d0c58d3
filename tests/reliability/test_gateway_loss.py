"""Gateways lost in turn: each time one is SIGKILLed its streams move to the other, and the
killed one, restarted, takes a share back before the next loss.

Extends the integration test of two gateways (one kill) to repeated losses of either
gateway, measuring how long each move takes and how long each stream went without a
frame. No frame number may be published twice or out of order across the moves. CI loses
one gateway and brings it back; the slow run loses six in turn:
``pytest -m "reliability and slow" tests/reliability/test_gateway_loss.py``.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from framewire.core.config import KafkaSettings
from framewire.samples import make_samples
from framewire.v1.stream_pb2 import StreamStatus
from reliability.procs import Service, free_port, kafka_env, wait_until
from support.gateway import TopicReader, spec, write_specs

pytestmark = pytest.mark.reliability

STREAMS = [f"g{i}" for i in range(6)]
SESSION_TIMEOUT_MS = 6000
FPS = 5


def gateway(kafka: KafkaSettings, gateway_id: str, log: Path) -> Service:
    env = {**kafka_env(kafka), "FW_GATEWAY_ID": gateway_id, "FW_GATEWAY_STATUS_INTERVAL_S": "0.5",
           "FW_GATEWAY_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
           "FW_GATEWAY_METRICS_PORT": str(free_port())}
    return Service(f"gateway-{gateway_id}", ["gateway"], env, log).start()


def owners(reader: TopicReader) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for stream in STREAMS:
        status = reader.last_status(stream)
        running = status is not None and status.state == StreamStatus.STATE_RUNNING
        out[stream] = status.gateway_id if running and status else None
    return out


def longest_gap_s(reader: TopicReader, stream: str, since_ns: int) -> float:
    times = sorted(f.capture_time_ns for f in reader.snapshot(stream) if f.capture_time_ns > since_ns)
    return max(((b - a) / 1e9 for a, b in itertools.pairwise(times)), default=0.0)


@pytest.mark.parametrize("losses", [1, pytest.param(6, marks=[pytest.mark.slow, pytest.mark.timeout(600)])])
def test_streams_survive_gateways_lost_in_turn(kafka_settings: KafkaSettings, tmp_path: Path,
                                                losses: int) -> None:
    # Given six streams shared by two gateway processes
    folder = make_samples(tmp_path, width=160, height=120, fps=FPS, seconds=1.0, folder_frames=3)[-1]
    write_specs(kafka_settings, [spec(s, f"dir://{folder}?fps={FPS}", fps=FPS) for s in STREAMS])
    reader = TopicReader(kafka_settings)
    gateways = {gid: gateway(kafka_settings, gid, tmp_path / f"{gid}.log") for gid in ("a", "b")}
    moves: list[float] = []
    gaps: list[float] = []
    try:
        def shared() -> bool:
            current = owners(reader)
            return None not in current.values() and set(current.values()) == {"a", "b"}
        assert wait_until(shared, 40), owners(reader)
        for loss in range(losses):
            # When one of them is killed outright
            victim = "ab"[loss % 2]
            survivor = "ba"[loss % 2]
            gateways[victim].kill()
            killed_ns, killed = time.time_ns(), time.monotonic()
            # Then all its streams run on the other within the session timeout plus start-up
            moved = wait_until(lambda s=survivor: set(owners(reader).values()) == {s}, 30)
            assert moved, (loss, owners(reader))
            assert wait_until(lambda k=killed_ns: all(any(f.capture_time_ns > k for f in reader.snapshot(s))
                                                      for s in STREAMS), 10)
            moves.append(time.monotonic() - killed)
            gaps.append(max(longest_gap_s(reader, s, killed_ns - 2_000_000_000) for s in STREAMS))
            # And once restarted, the lost gateway takes a share back
            gateways[victim] = gateway(kafka_settings, victim, tmp_path / f"{victim}.log")
            assert wait_until(shared, 40), (loss, owners(reader))
    finally:
        codes = {gid: g.stop() for gid, g in gateways.items()}
        reader.close()
    # And no stream ever published a frame number twice or out of order
    for stream in STREAMS:
        sequences = [f.sequence for f in reader.snapshot(stream)]
        assert sequences == sorted(set(sequences)), stream
    assert codes == {"a": 0, "b": 0}, codes
    limit = SESSION_TIMEOUT_MS / 1000 + 12
    print(f"RELIABILITY gateway loss: losses={losses} move_s={[round(m, 1) for m in moves]} "
          f"longest_frame_gap_s={[round(g, 1) for g in gaps]} duplicates=0")
    assert all(m < limit for m in moves), moves
