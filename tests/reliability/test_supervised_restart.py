"""A supervised worker (``framewire inference --supervise``) killed by a signal: its warm
supervisor forks it again at once, and its stream resumes.

The same two workers and streams as test_failover.py, but the SIGKILL goes to the worker
process under each supervisor, as the OOM killer's or a crash in native code would, and
nothing outside restarts anything. The figures are printed beside the cold restart's
(``pytest -s``); the 6-kill, 60 s run is ``pytest -m "reliability and slow"``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from framewire.core.config import KafkaSettings
from reliability.failover import Run, check_accounting, machine, summary
from reliability.procs import wait_until

pytestmark = pytest.mark.reliability


def worker_under(supervisor_pid: int) -> int | None:
    """The supervisor's worker process, or None between two of them."""
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text().split()
    return int(children[0]) if children else None


@pytest.mark.parametrize(("kills", "every_s"), [
    (2, 6.0), pytest.param(6, 10.0, marks=[pytest.mark.slow, pytest.mark.timeout(600)]),
])
def test_a_supervised_worker_killed_is_forked_again_and_resumes_its_stream(
    kafka_settings: KafkaSettings, tmp_path: Path, kills: int, every_s: float
) -> None:
    # Given two supervised workers sharing two 15 fps streams, both being detected
    run = Run(kafka_settings, tmp_path, FW_INFERENCE_SUPERVISE="true")
    try:
        assert run.probe.wait_all_flowing(90), "streams never detected"
        time.sleep(2.0)  # (let the group settle)
        warmed_up = run.mark()
        # When the worker process under one supervisor is SIGKILLed every few seconds, in turn
        resumes, replaced = [], []
        for k in range(kills):
            supervisor = run.workers["ab"[k % 2]]
            killed = worker_under(supervisor.pid)
            assert killed is not None, "no worker under the supervisor"
            os.kill(killed, signal.SIGKILL)
            killed_ns = time.time_ns()
            resumes.append(run.resume_s(killed_ns, 60))
            replaced.append(wait_until(
                lambda s=supervisor, old=killed: worker_under(s.pid) not in (None, old), 30))
            time.sleep(max(0.0, every_s - (time.time_ns() - killed_ns) / 1e9))
        stale = run.stale_fractions(warmed_up)
        logs = {w: s.log_text() for w, s in run.workers.items()}
        outcome = run.finish()
    finally:
        run.close()
    print(f"RELIABILITY failover supervised: kills={kills} every_s={every_s} "
          f"kill_to_result_s={[round(r, 2) for r in resumes]} stale_fraction_after_warmup={stale} "
          f"{summary(outcome)} ({machine()})")
    # Then each supervisor started a new worker after each kill, and every stream came back
    assert all(replaced), replaced
    restarts = sum(text.count("killed by SIGKILL") for text in logs.values())
    assert restarts == kills, restarts
    assert max(resumes) < float("inf"), resumes
    # And every frame has one result or one drop record, never both, never twice
    check_accounting(outcome)
    # And each supervisor, stopped with SIGTERM, stopped its worker and exited cleanly
    assert outcome["codes"] == {"a": 0, "b": 0}, outcome["codes"]
