"""What the broker's CPU goes on at the cnap load, and what client fetch settings save.

Starts a broker of its own (``LocalBroker`` on free ports, so its CPU is this run's alone),
produces ``--streams`` topics x ``--fps`` records of ``--kib`` KiB each (a frames-like
load, idempotent producer as the gateway configures it) and runs ``--consumers``
read_committed consumers over all topics, each polling as a service does. Each variant
runs for ``--seconds``; the broker's CPU comes from /proc. Printed per variant: broker CPU %
of a core, CPU ms per record produced, and the fetch requests the consumers sent per second
(from librdkafka's statistics), with the CPU model, flags and load average.

    python benchmarks/bench_broker_fetch.py --streams 4 --fps 25 --kib 30 --consumers 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "pipeline"))

from brokerwarm import consume, create_topics, produce  # noqa: E402
from launch import free_port  # noqa: E402
from machine import machine_facts  # noqa: E402
from procstat import tree_cpu_seconds  # noqa: E402

from framewire.broker.local import LocalBroker  # noqa: E402
from framewire.core.config import KafkaSettings  # noqa: E402

VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (producer overrides, consumer overrides)
    "client defaults": ({}, {}),
    "consumers wait 20 ms for 256 KiB": ({}, {"fetch.wait.max.ms": 20, "fetch.min.bytes": 262_144}),
    "consumers wait 100 ms for 1 MiB": ({}, {"fetch.wait.max.ms": 100, "fetch.min.bytes": 1_048_576}),
    "producer linger 20 ms": ({"linger.ms": 20}, {}),
    "both (linger 20, wait 20/256 KiB)": (
        {"linger.ms": 20}, {"fetch.wait.max.ms": 20, "fetch.min.bytes": 262_144}),
    "no consumers": ({}, {"_none": True}),
}


def machine_line() -> str:
    facts = machine_facts()
    load = ", ".join(f"{x:.2f}" for x in facts["load_average"])  # type: ignore[attr-defined]
    return (f"{facts['cpu_model']} ({facts['cpus_usable']} usable CPUs), flags "
            f"{facts['cpu_flags']}; load average {load}")


def run_variant(bootstrap: str, broker_pid: int, args: argparse.Namespace, name: str,
                prod_extra: dict[str, Any], cons_extra: dict[str, Any]) -> dict[str, Any]:
    settings = KafkaSettings(bootstrap=bootstrap)
    topics = [f"fw.frames.fetch-{time.time_ns()}-{i}" for i in range(args.streams)]
    create_topics(settings, topics)
    stop, sent = threading.Event(), [0]
    consumers = 0 if cons_extra.get("_none") else args.consumers
    fetches = [0.0] * consumers

    def stats_of(index: int) -> Any:
        def on_stats(raw: str) -> None:
            stats = json.loads(raw)
            fetches[index] = sum(float(b.get("req", {}).get("Fetch", 0))
                                 for b in stats.get("brokers", {}).values())
        return on_stats

    threads = [threading.Thread(target=consume, args=(settings, topics, cons_extra, stop,
                                                      stats_of(i)), daemon=True)
               for i in range(consumers)]
    threads.append(threading.Thread(target=produce, args=(
        settings, topics, args.fps, os.urandom(args.kib * 1024), prod_extra, stop, sent),
        daemon=True))
    for t in threads:
        t.start()
    time.sleep(args.warmup)
    cpu0, sent0, fetch0, t0 = tree_cpu_seconds(broker_pid), sent[0], sum(fetches), time.monotonic()
    time.sleep(args.seconds)
    cpu1, sent1, fetch1, t1 = tree_cpu_seconds(broker_pid), sent[0], sum(fetches), time.monotonic()
    stop.set()
    for t in threads:
        t.join(15)
    wall, records = t1 - t0, max(1, sent1 - sent0)
    return {"variant": name, "broker_cpu_pct": 100 * (cpu1 - cpu0) / wall,
            "broker_cpu_ms_per_record": 1000 * (cpu1 - cpu0) / records,
            "records_per_s": records / wall, "fetches_per_s": (fetch1 - fetch0) / wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--kib", type=int, default=30)
    parser.add_argument("--consumers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each variant's window")
    args = parser.parse_args()
    sys.stdout.write(machine_line() + "\n")
    with tempfile.TemporaryDirectory(prefix="fw-bench-fetch-") as home:
        broker = LocalBroker(Path(home), port=free_port(), controller_port=free_port())
        broker.start()
        try:
            pid = broker.pid()
            assert pid is not None
            # A just-started JVM compiles its hot paths for the first minute or two and
            # would make whichever variant runs first look expensive: warm it up, then run
            # every variant, then the defaults again to show the drift.
            run_variant(broker.bootstrap, pid, args, "warm-up", {}, {})
            rows = []
            order = [*VARIANTS.items(), ("client defaults (again)", VARIANTS["client defaults"])]
            for name, (p, c) in order:
                rows.append(run_variant(broker.bootstrap, pid, args, name, p, c))
                sys.stdout.write(json.dumps(rows[-1]) + "\n")
                sys.stdout.flush()
        finally:
            broker.stop()
    sys.stdout.write(f"{args.streams} topics x {args.fps:g}/s x {args.kib} KiB, "
                     f"{args.consumers} read_committed consumers, {args.seconds:g} s each\n")
    sys.stdout.write("| variant | broker CPU % of a core | broker CPU ms/record | records/s | "
                     "consumer fetch requests/s |\n|---|---|---|---|---|\n")
    for r in rows:
        sys.stdout.write(f"| {r['variant']} | {r['broker_cpu_pct']:.1f} | "
                         f"{r['broker_cpu_ms_per_record']:.2f} | {r['records_per_s']:.1f} | "
                         f"{r['fetches_per_s']:.1f} |\n")
    sys.stdout.write(machine_line() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
