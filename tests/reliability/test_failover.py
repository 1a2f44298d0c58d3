"""Failover of the inference group: how fast a dead or stopping worker's streams resume.

Two ``framewire inference`` processes (static members of a classic group, 6 s session
timeout) share two 15 fps streams. A worker is SIGKILLed and restarted at once, SIGKILLed
for good, or stopped with SIGTERM during a rolling restart; a poll()-based probe measures
from outside the time from the fault to the stream's first new committed result, and at
the end every frame offset is checked: one result or one drop record, never both, never
twice. The figures are printed (``pytest -s``) and kept in docs/reliability.md; only
bounds that catch a return to session-timeout failover are asserted. The 6-kill, 60 s run
is ``pytest -m "reliability and slow" tests/reliability/test_failover.py``.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from framewire.core.config import KafkaSettings
from framewire.inference.testing import FramePublisher, create_streams, jpeg_of, read_until_covered
from reliability.failover import SESSION_TIMEOUT_MS, Probe, account, machine, worker
from reliability.procs import Service, wait_until

pytestmark = pytest.mark.reliability

STREAMS = ["f0", "f1"]
FPS = 15
# A restarted static member must be back well before a session timeout would have moved
# its partitions; anything near 6 s means static membership stopped working.
RESTART_BOUND_S = 5.0
# Partitions of a worker that never returns move once its session times out.
GONE_BOUND_S = SESSION_TIMEOUT_MS / 1000 + 3.0
ASSIGNED = re.compile(r"assigned \S+frames\.")


class Run:
    """Streams, workers ``a`` and ``b`` and the probe of one test."""

    def __init__(self, kafka: KafkaSettings, tmp: Path, **env: str) -> None:
        create_streams(kafka, STREAMS)
        self.kafka, self.tmp, self.env = kafka, tmp, env
        self.workers: dict[str, Service] = {w: self.start(w) for w in ("a", "b")}
        photo = np.ascontiguousarray(skimage.data.astronaut()[::2, ::2, ::-1])
        h, w = photo.shape[:2]
        self.feed = FramePublisher(kafka, STREAMS, jpeg_of(photo), width=w, height=h, fps=FPS)
        self.probe = Probe(kafka, STREAMS)
        self.feed.start()

    def start(self, wid: str, log_name: str = "") -> Service:
        return worker(self.kafka, wid, self.tmp / f"{log_name or wid}.log", **self.env)

    def wait_assigned(self, wid: str, log_from: int, timeout_s: float) -> bool:
        """Whether the worker logged a partition assigned to it, past ``log_from`` (restarts
        append to the same log), within ``timeout_s``."""
        service = self.workers[wid]
        return wait_until(lambda: bool(ASSIGNED.search(service.log_text()[log_from:])), timeout_s)

    def resume_s(self, since_ns: int, timeout_s: float) -> float:
        """Time from ``since_ns`` until every stream has a new result (the victim's stream
        is the slowest); inf if one never does within ``timeout_s``."""
        found = [self.probe.wait_first_after(s, since_ns, timeout_s) for s in STREAMS]
        return max(f if f is not None else float("inf") for f in found)

    def finish(self) -> dict[str, object]:
        """Stop the feed, read everything back, stop the workers; per-stream accounting."""
        sent = self.feed.stop()
        results, drops = read_until_covered(self.kafka, sent, 60)
        self.probe.close()
        codes = {w: s.stop() for w, s in self.workers.items()}
        topics = self.kafka.topics
        per_stream = {
            s: account(n, [r.source_offset for r in results
                           if r.source_topic == topics.frames(s)],
                       [d for d in drops if d.topic == topics.frames(s)])
            for s, n in sent.items()
        }
        return {"codes": codes, "streams": per_stream}

    def close(self) -> None:
        if self.feed.running:
            self.feed.stop()
        self.probe.close()
        for s in self.workers.values():
            if s.alive():
                s.stop()


def check_accounting(outcome: dict[str, object]) -> None:
    for stream, acc in outcome["streams"].items():  # type: ignore[attr-defined]
        assert acc.duplicates == 0, f"{stream}: {acc}"
        assert acc.unaccounted == 0, f"{stream}: {acc}"
        assert acc.both == 0, f"{stream}: {acc}"


def summary(outcome: dict[str, object]) -> str:
    return " ".join(
        f"{s}: frames={a.frames} results={a.results} stale={a.stale} "
        f"stale_fraction={a.stale_fraction:.3f} dup={a.duplicates} unaccounted={a.unaccounted}"
        for s, a in outcome["streams"].items()  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize(("kills", "every_s"), [
    (2, 6.0), pytest.param(6, 10.0, marks=[pytest.mark.slow, pytest.mark.timeout(600)]),
])
def test_sigkilled_and_restarted_worker_resumes_its_stream(
    kafka_settings: KafkaSettings, tmp_path: Path, kills: int, every_s: float
) -> None:
    # Given two workers sharing two 15 fps streams, both being detected
    run = Run(kafka_settings, tmp_path)
    try:
        assert run.probe.wait_all_flowing(90), "streams never detected"
        time.sleep(2.0)  # (let the group settle)
        # When one worker is SIGKILLed and restarted at once every few seconds, in turn
        resumes = []
        for k in range(kills):
            victim = "ab"[k % 2]
            run.workers[victim].kill()
            killed_ns = time.time_ns()
            run.workers[victim] = run.start(victim)
            resumes.append(run.resume_s(killed_ns, 30))
            time.sleep(max(0.0, every_s - (time.time_ns() - killed_ns) / 1e9))
        outcome = run.finish()
    finally:
        run.close()
    print(f"RELIABILITY failover restart: kills={kills} every_s={every_s} "
          f"resume_s={[round(r, 2) for r in resumes]} {summary(outcome)} ({machine()})")
    # Then every frame has one result or one drop record, never both, never twice
    check_accounting(outcome)
    # And each restarted worker's stream came back without waiting for a session timeout
    assert max(resumes) < RESTART_BOUND_S, resumes
    assert outcome["codes"] == {"a": 0, "b": 0}, outcome["codes"]


def test_partitions_of_a_worker_gone_for_good_move_to_the_survivor(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given two workers sharing two streams
    run = Run(kafka_settings, tmp_path)
    try:
        assert run.probe.wait_all_flowing(90), "streams never detected"
        time.sleep(2.0)
        # When one of them is SIGKILLed and never comes back
        run.workers["a"].kill()
        killed_ns = time.time_ns()
        moved = run.resume_s(killed_ns, 30)
        time.sleep(2.0)
        del run.workers["a"]
        outcome = run.finish()
    finally:
        run.close()
    print(f"RELIABILITY failover gone: moved_s={moved:.2f} session_timeout_s="
          f"{SESSION_TIMEOUT_MS / 1000:.0f} {summary(outcome)} ({machine()})")
    # Then the survivor took its stream over once the session timed out
    check_accounting(outcome)
    assert moved < GONE_BOUND_S, moved
    assert outcome["codes"] == {"b": 0}, outcome["codes"]


def test_sigterm_in_a_rolling_restart_hands_over_without_stale_frames(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given two workers sharing two streams
    run = Run(kafka_settings, tmp_path)
    try:
        assert run.probe.wait_all_flowing(90), "streams never detected"
        time.sleep(2.0)
        # When each is stopped with SIGTERM and started again in turn, the next one only once
        # the restarted one has work again (a rolling restart)
        started_ns = time.time_ns()
        handovers, gaps, codes = [], [], []
        for victim in ("a", "b"):
            stopping_ns = time.time_ns()
            codes.append(run.workers[victim].stop())
            handovers.append(max(run.probe.wait_first_after(s, stopping_ns, 30, not_from=victim)
                                 or float("inf") for s in STREAMS))
            log_from = len(run.workers[victim].log_text())
            run.workers[victim] = run.start(victim)
            assert run.wait_assigned(victim, log_from, 120), f"{victim} got no partition back"
            time.sleep(3.0)
            gaps.append(max(run.probe.longest_gap(s, stopping_ns, time.time_ns()) for s in STREAMS))
        stale = {s: run.probe.stale_since(s, started_ns) for s in STREAMS}
        outcome = run.finish()
    finally:
        run.close()
    print(f"RELIABILITY failover sigterm: handover_s={[round(h, 2) for h in handovers]} "
          f"longest_result_gap_s={[round(g, 2) for g in gaps]} "
          f"stale_during_restart={stale} {summary(outcome)} ({machine()})")
    # Then every frame is accounted for, and the stopped workers exited cleanly
    check_accounting(outcome)
    assert codes == [0, 0], codes
    # And a survivor took each stopping worker's streams over without a session timeout
    assert max(handovers) < RESTART_BOUND_S, handovers


def test_a_restarted_worker_fences_its_zombie_which_then_commits_nothing(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # Given two workers sharing two streams
    run = Run(kafka_settings, tmp_path)
    try:
        assert run.probe.wait_all_flowing(90), "streams never detected"
        time.sleep(2.0)
        # When worker a freezes mid-flight (SIGSTOP) and a new process with its id starts
        zombie = run.workers["a"]
        zombie.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
        frozen_ns = time.time_ns()
        run.workers["a"] = run.start("a", log_name="a-replacement")
        resumed = run.resume_s(frozen_ns, 60)
        # and then the zombie wakes up
        zombie.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
        zombie_code = zombie.wait(30)
        outcome = run.finish()
    finally:
        run.close()
        if zombie.alive():
            zombie.kill()
    print(f"RELIABILITY failover zombie: replacement_resumed_s={resumed:.2f} "
          f"zombie_exit={zombie_code} {summary(outcome)} ({machine()})")
    # Then the zombie is fenced and stops with an error instead of committing
    assert zombie_code not in (None, 0), zombie_code
    assert "another worker took over" in zombie.log_text() or "fenced" in zombie.log_text().lower()
    # And no frame got two results, or a result and a drop record
    check_accounting(outcome)
    assert outcome["codes"] == {"a": 0, "b": 0}, outcome["codes"]
