"""Cost of running a blocking transactional call with a deadline: a thread started per call
(the former way) against the publisher's one long-lived runner thread (``CallRunner``).

A transaction makes two such calls (send offsets, commit), so the difference times two is
what each transaction saves on the worker. Prints the CPU model, flags and load average.

Usage: python benchmarks/bench_txn_calls.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "pipeline"))
from machine import cpu_flags, machine_facts

from framewire.inference.txn import CallRunner


def thread_per_call(calls: int) -> None:
    for _ in range(calls):
        outcome: dict[str, int] = {}
        thread = threading.Thread(target=outcome.setdefault, args=("v", 1), daemon=True)
        thread.start()
        thread.join(4.0)


def runner(calls: int) -> None:
    r = CallRunner("bench-runner")
    for _ in range(calls):
        r.run("noop", 3.0, int)
    r.close()


def measure(step: object, calls: int) -> tuple[float, float]:
    """(wall µs, CPU µs of this process) per call."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    step(calls)  # type: ignore[operator]
    return ((time.perf_counter() - wall0) / calls * 1e6, (time.process_time() - cpu0) / calls * 1e6)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    facts = machine_facts()
    print(f"{facts['cpu_model']}, flags {cpu_flags()}, load average {os.getloadavg()[0]:.2f}")
    for name, step in (("thread per call", thread_per_call), ("one runner thread", runner)):
        wall, cpu = measure(step, args.calls)
        print(f"{name:18s}: {wall:7.1f} µs wall, {cpu:7.1f} µs CPU per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
