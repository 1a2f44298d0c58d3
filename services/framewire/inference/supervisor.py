"""``framewire inference --supervise``: keep one worker process running, forked warm.

A worker started from scratch spends about a second importing numpy, OpenCV, OpenVINO,
pydantic and the Kafka client before it loads its model and joins the group, and its
streams go stale meanwhile. Under supervision this process imports all of that once and
forks the worker from itself, again at once when the worker is killed (the OOM killer, a
crash in native code): the new worker starts at its model load, under the same worker
id, so it fences its predecessor's transaction and takes the partitions back.

The supervisor starts no thread and no Kafka or OpenVINO client before forking: those
are not safe to copy into a child. It restarts only a worker killed by a signal or
ending in an unexpected exit code (3: fenced by its consumer group, which a new process
joins again); exit 0 (stopped) and 2 (refused settings, or fenced by a worker with the
same transactional id, which must not be fenced back) end the supervisor with them.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import NoReturn

log = logging.getLogger(__name__)

# Imported before forking, so a restarted worker does not import them again (the model
# load imports the loader, and with it OpenVINO, lazily; decoders come from DECODERS).
WARM_MODULES = ("numpy", "cv2", "confluent_kafka", "prometheus_client",
                "framewire.inference.service", "framewire.models.loader")
FINAL_EXIT_CODES = frozenset({0, 2})
# A worker that ran this long before dying is restarted at once; sooner deaths back off,
# doubling up to MAX_BACKOFF_S, so a worker that cannot start does not spin.
HEALTHY_RUN_S = 10.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
_PR_SET_PDEATHSIG = 1


def supervise(serve: Callable[[int], NoReturn]) -> int:
    """Run ``serve(restarts)`` in a forked child until it ends for good; return its exit code.

    Called by ``framewire inference`` when supervision is on, with settings already
    validated. SIGTERM and SIGINT are passed on to the worker, which stops gracefully.
    """
    _import_warm()
    stopping: list[int] = []
    child = 0

    def forward(signum: int, _frame: object) -> None:
        stopping.append(signum)
        if child:
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    restarts, backoff = 0, FIRST_BACKOFF_S
    while True:
        started = time.monotonic()
        child = _fork(serve, restarts)
        code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])  # retried across signals
        pid, child = child, 0
        if stopping or code in FINAL_EXIT_CODES:
            return max(code, 0)
        ran_s = time.monotonic() - started
        if ran_s >= HEALTHY_RUN_S:
            delay, backoff = 0.0, FIRST_BACKOFF_S
        else:
            delay, backoff = backoff, min(MAX_BACKOFF_S, backoff * 2)
        log.warning("worker process %d %s after %.1f s; starting it again in %.1f s",
                    pid, describe(code), ran_s, delay)
        if delay and _sleep_unless_stopped(delay, stopping):
            return 0
        restarts += 1


def _import_warm() -> None:
    from framewire.models.decoders import DECODERS

    for name in (*WARM_MODULES, *(target.partition(":")[0] for target in DECODERS.values())):
        importlib.import_module(name)


def describe(code: int) -> str:
    """``os.waitstatus_to_exitcode`` result as words: 'killed by SIGKILL', 'exited 1'."""
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited {code}"


def _fork(serve: Callable[[int], NoReturn], restarts: int) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        log.info("worker process %d started%s", pid, f" (restart {restarts})" if restarts else "")
        return pid
    try:
        _die_with(parent)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        serve(restarts)
    finally:  # serve never returns; an exception escaping it still must not reach our loop
        os._exit(1)


def _die_with(parent: int) -> None:
    """The worker is killed when the supervisor dies (a container's SIGKILL reaches only
    the supervisor), so no worker outlives it under the same transactional id."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the supervisor died before the line above
        os._exit(1)


def _sleep_unless_stopped(delay_s: float, stopping: list[int]) -> bool:
    deadline = time.monotonic() + delay_s
    while not stopping and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))
    return bool(stopping)
