import os
import subprocess
import sys
from collections import Counter

import pytest

from framewire.gateway.reconcile import Plan, StopReason, plan_changes, slot_of
from framewire.gateway.sources.base import SourceOptions
from framewire.gateway.spec import InvalidStream, StreamConfig

pytestmark = pytest.mark.unit


def config(stream_id: str, fps: float = 10) -> StreamConfig:
    return StreamConfig(stream_id, f"/v/{stream_id}.mp4", fps, 0, 0, 80, True, SourceOptions())


def test_new_owned_streams_start_and_others_are_left_alone():
    # Given a registry of three streams of which this gateway owns two
    desired = {"a": config("a"), "b": config("b"), "c": config("c")}
    # When nothing runs yet
    plan = plan_changes(desired, lambda s: s != "b", {})
    # Then the two owned streams start
    assert plan == Plan(start=["a", "c"])


def test_deleted_moved_and_changed_streams():
    # Given three running streams
    running = {"a": config("a"), "b": config("b"), "c": config("c")}
    # When a is deleted, b's slot moved away and c's fps changed
    desired = {"b": config("b"), "c": config("c", fps=5), "d": InvalidStream("d", "bad")}
    plan = plan_changes(desired, lambda s: s != "b", running)
    # Then a stops as deleted, b as moved, c restarts and d starts (to report its error)
    assert plan.stop == [("a", StopReason.DELETED), ("b", StopReason.MOVED)]
    assert plan.restart == ["c"] and plan.start == ["d"]


def test_an_unchanged_registry_plans_nothing():
    # Given streams running exactly as desired
    running = {"a": config("a")}
    # When the plan is made again
    # Then it is empty
    assert not plan_changes(dict(running), lambda s: True, running)


def test_slots_are_the_same_in_every_process():
    # Given two processes with different string-hash seeds (as two gateways would have)
    code = "from framewire.gateway.reconcile import slot_of; print([slot_of(f'c{i}', 32) for i in range(50)])"
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    ]
    # When each computes the slots of the same streams
    # Then they agree with each other and with this process
    assert runs[0] == runs[1] == f"{[slot_of(f'c{i}', 32) for i in range(50)]}\n"


def test_slots_spread_streams_evenly():
    # Given many stream ids
    ids = [f"cam-{i}" for i in range(3200)]
    # When slots are computed for 32 partitions
    counts = Counter(slot_of(i, 32) for i in ids)
    # Then every slot is used and none gets more than twice its share
    assert len(counts) == 32
    assert max(counts.values()) < 2 * 100
