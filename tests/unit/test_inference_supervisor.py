"""The warm supervisor: which worker deaths it restarts, how soon, and that a worker never
outlives it. Real forks, real signals."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from framewire.inference import supervisor
from framewire.inference.supervisor import describe, supervise

pytestmark = pytest.mark.unit


def _scripted(log: Path, ends: list[str]) -> Callable[[int], NoReturn]:
    """A worker that records each start and then ends as ``ends[restarts]`` says."""

    def serve(restarts: int) -> NoReturn:
        with log.open("a") as f:
            f.write(f"{restarts} {time.monotonic()}\n")
        how = ends[min(restarts, len(ends) - 1)]
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "sigterm-wait":
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            time.sleep(30)
        os._exit(int(how))

    return serve


def _starts(log: Path) -> list[tuple[int, float]]:
    return [(int(a), float(b)) for a, b in (line.split() for line in log.read_text().splitlines())]


def test_a_worker_killed_by_a_signal_is_forked_again_at_once(
    handlers_restored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker that is SIGKILLed in its first run and stops normally in its second
    monkeypatch.setattr(supervisor, "HEALTHY_RUN_S", 0.0)  # the first run counts as healthy
    log = tmp_path / "starts"
    # When it runs supervised
    code = supervise(_scripted(log, ["kill", "0"]))
    # Then it was started twice, the second time without delay, and the normal stop ends it
    starts = _starts(log)
    assert [r for r, _ in starts] == [0, 1]
    assert starts[1][1] - starts[0][1] < 0.5
    assert code == 0


def test_a_worker_its_group_fenced_is_forked_again_at_once(
    handlers_restored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker whose consumer group fences it in its first run (exit EXIT_REJOIN)
    from framewire.inference.main import EXIT_REJOIN

    monkeypatch.setattr(supervisor, "HEALTHY_RUN_S", 0.0)
    log = tmp_path / "starts"
    # When it runs supervised
    code = supervise(_scripted(log, [str(EXIT_REJOIN), "0"]))
    # Then a new worker is started at once, and its normal stop ends the supervisor
    starts = _starts(log)
    assert [r for r, _ in starts] == [0, 1]
    assert starts[1][1] - starts[0][1] < 0.5
    assert code == 0


@pytest.mark.parametrize("final", [0, 2])
def test_a_stopped_fenced_or_refused_worker_is_not_restarted(
    handlers_restored: None, tmp_path: Path, final: int
) -> None:
    # Given a worker that exits 0 (stopped) or 2 (refused settings, or fenced by another
    # worker with its id, which a restart would fence back)
    log = tmp_path / "starts"
    # When it runs supervised
    code = supervise(_scripted(log, [str(final)]))
    # Then the supervisor ends with that code after the one run
    assert code == final
    assert len(_starts(log)) == 1


def test_a_worker_that_keeps_dying_at_start_is_restarted_with_a_growing_delay(
    handlers_restored: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker that crashes (exit 1) three times right after starting, then stops
    monkeypatch.setattr(supervisor, "FIRST_BACKOFF_S", 0.2)
    log = tmp_path / "starts"
    # When it runs supervised
    code = supervise(_scripted(log, ["1", "1", "1", "0"]))
    # Then the delays between starts double: 0.2, 0.4, 0.8 s
    times = [t for _, t in _starts(log)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    for gap, delay in zip(gaps, (0.2, 0.4, 0.8), strict=True):
        assert delay <= gap < delay + 1.0
    assert code == 0


def test_sigterm_is_passed_to_the_worker_and_ends_the_supervisor(
    handlers_restored: None, tmp_path: Path
) -> None:
    # Given a supervised worker that stops when it gets SIGTERM
    log = tmp_path / "starts"
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    # When the supervisor gets SIGTERM (a rolling restart)
    started = time.monotonic()
    code = supervise(_scripted(log, ["sigterm-wait"]))
    # Then the worker got it, stopped, and was not started again
    assert code == 0
    assert len(_starts(log)) == 1
    assert time.monotonic() - started < 10


def test_the_worker_dies_with_its_supervisor(tmp_path: Path) -> None:
    # Given a supervisor process with a worker that would run for a minute
    script = textwrap.dedent(f"""
        import os, sys, time
        from framewire.inference.supervisor import supervise
        def serve(restarts):
            open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))
            time.sleep(60)
            os._exit(0)
        sys.exit(supervise(serve))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    pid_file = tmp_path / "pid"
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    # When the supervisor is SIGKILLed (what a container's kill does)
    proc.kill()
    proc.wait(10)
    # Then the worker is gone too, so no copy of it runs on under the same id
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie is dead, waiting to be reaped


def test_deaths_are_described_in_words() -> None:
    assert describe(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe(3) == "exited 3"
