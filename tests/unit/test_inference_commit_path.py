"""The commit path's pieces without Kafka: the commit interval, the age check at commit
time, and the long-lived runner of transactional calls with its deadline."""

from __future__ import annotations

import threading
import time

import pytest

from framewire.inference.batching import CommitBatch
from framewire.inference.freshness import EXPIRED_DETAIL, expire
from framewire.inference.records import (
    Coords,
    DropReason,
    FrameItem,
    Inbound,
    Processed,
    Timing,
)
from framewire.inference.txn import CallRunner, ProducerStuck

pytestmark = pytest.mark.unit

NOW = 100_000_000_000
MS = 1_000_000


def processed(stream: str, offset: int, age_ms: int, partition: int = 0) -> Processed:
    inbound = Inbound(Coords(f"fw.frames.{stream}", partition, offset), b"k", b"v", (), -1)
    item = FrameItem(inbound, stream, offset, NOW - age_ms * MS, 0, 0, b"")
    return Processed(item, (), "m", "1", Timing(0, 0, 0), 0, 0)


def test_a_batch_is_due_after_the_interval_or_at_the_frame_limit() -> None:
    batch: CommitBatch[str] = CommitBatch(interval_s=0.02, max_frames=10)
    assert not batch.due(0.0) and batch.wait_s(0.0, 0.5) == 0.5
    # Given one cycle of 3 frames held at t=1.000
    batch.add("a", 3, 1.000)
    # Then it waits for the interval, and the worker may block only until then
    assert not batch.due(1.010) and batch.wait_s(1.010, 0.5) == pytest.approx(0.010)
    assert batch.due(1.020)
    # And a batch reaching the frame limit is due at once
    batch.add("b", 7, 1.001)
    assert batch.due(1.001)
    assert batch.take() == ["a", "b"] and len(batch) == 0


def test_interval_zero_commits_every_cycle_at_once() -> None:
    batch: CommitBatch[str] = CommitBatch(interval_s=0.0, max_frames=32)
    batch.add("a", 1, 5.0)
    assert batch.due(5.0)


def test_results_older_than_their_streams_maximum_age_become_stale_drops() -> None:
    # Given results aged 100..700 ms on two streams, stream b allowing only 200 ms
    results = [processed("a", 0, 100), processed("a", 1, 600), processed("a", 2, 650),
               processed("b", 7, 150), processed("b", 8, 700)]
    ages = {"a": 500, "b": 200}
    # When they are checked at commit time
    fresh, drops = expire(results, NOW, ages.__getitem__)
    # Then only the fresh ones stay results; the others are drop ranges per partition
    assert [(p.frame.stream_id, p.frame.sequence) for p in fresh] == [("a", 0), ("b", 7)]
    assert [(d.stream_id, d.first_offset, d.last_offset) for d in drops] == [("a", 1, 2), ("b", 8, 8)]
    assert all(d.reason is DropReason.STALE and d.detail == EXPIRED_DETAIL for d in drops)


def test_drop_ranges_never_span_partitions() -> None:
    results = [processed("a", 4, 900, partition=0), processed("a", 5, 900, partition=1)]
    _, drops = expire(results, NOW, lambda s: 500)
    assert sorted((d.partition, d.first_offset, d.last_offset) for d in drops) == [(0, 4, 4), (1, 5, 5)]


def test_the_runner_uses_one_thread_for_every_call() -> None:
    runner = CallRunner("t-runner")
    names = {runner.run("call", 1.0, lambda: threading.current_thread().name) for _ in range(50)}
    assert names == {"t-runner"}
    assert [t.name for t in threading.enumerate()].count("t-runner") == 1
    runner.close()


def test_a_stuck_call_is_abandoned_and_the_next_call_runs_on_a_new_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from framewire.inference import txn

    monkeypatch.setattr(txn, "_STUCK_GRACE_S", 0.05)
    runner = CallRunner("t-stuck")
    release = threading.Event()
    # Given a call that does not return
    started = time.monotonic()
    with pytest.raises(ProducerStuck, match="did not return"):
        runner.run("hang", 0.1, release.wait, 10)
    assert time.monotonic() - started < 2.0
    # Then the next call completes at once, on another thread
    assert runner.run("next", 1.0, lambda: 42) == 42
    release.set()


def test_an_error_raised_by_the_call_reaches_the_caller() -> None:
    runner = CallRunner("t-error")

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        runner.run("fail", 1.0, fail)
    runner.close()
