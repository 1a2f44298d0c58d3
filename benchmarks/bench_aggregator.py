"""Aggregator throughput, measured side by side in one run:

1. the engine alone (window maths, alert rules; tables are plain dicts),
2. the engine with every state write JSON-encoded, as faust does for its changelog,
3. the whole ``framewire aggregator`` process on the broker: results produced to Kafka until
   its /metrics counts them all (skipped with --no-broker),

plus joules per result from RAPL where readable ("not available" otherwise).

    python benchmarks/bench_aggregator.py [--results 20000] [--streams 4] [--no-broker]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import uuid
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import kitpath  # noqa: F401  (puts tests/ on sys.path for the kits)

from framewire.aggregator.engine import Aggregator, Stores
from framewire.aggregator.observations import ResultSeen, Tick
from framewire.aggregator.progress import Timing
from framewire.aggregator.rules import parse_rules
from framewire.aggregator.windows import WindowLayout
from framewire.core.energy import EnergyMeter, joules_per_frame, rapl_status

RULES = """
crowd: count(person) >= 3 for 5s
low: fps < 5 for 20s
slow: latency_p95 > 250ms for 30s
quiet: silent for 30s
"""


class JsonStore(MutableMapping[Any, Any]):
    """A dict that stores JSON text, paying the serialisation cost a changelog write pays."""

    def __init__(self) -> None:
        self.data: dict[Any, str] = {}

    def __getitem__(self, key: Any) -> Any:
        return json.loads(self.data[key])

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[key] = json.dumps(value)

    def __delitem__(self, key: Any) -> None:
        del self.data[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def observations(n: int, streams: int) -> list[tuple[ResultSeen | Tick, float]]:
    """``n`` results at 25 fps per stream over the streams, a tick per stream every second."""
    t0, out = 1_700_000_000.0, []
    for i in range(n):
        stream, frame = f"cam{i % streams}", i // streams
        capture = t0 + frame * 0.04
        counts = {"person": frame % 5, "car": frame % 2}
        out.append(
            (ResultSeen(stream, int(capture * 1000), 0.02 + (frame % 50) / 1000, counts), capture + 0.05)
        )
        if frame % 25 == 0 and i % streams == 0:
            out += [(Tick(f"cam{s}", capture), capture) for s in range(streams)]
    return out


def run_engine(obs: list, stores: Stores) -> float:
    engine = Aggregator(WindowLayout(), Timing(), parse_rules(RULES), stores)
    started = time.perf_counter()
    for item, now in obs:
        engine.on_observation(item, now)
    return time.perf_counter() - started


def run_broker(n: int, streams: int) -> float:
    from framewire.core.config import KafkaSettings
    from support.aggregator import (
        AggregatorProcess,
        prepare_streams,
        produce,
        result_bytes,
        wait_for,
    )

    kafka = KafkaSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    names = [f"cam{s}" for s in range(streams)]
    prepare_streams(kafka, names)
    log = Path(tempfile.mkdtemp()) / "aggregator.log"
    aggregator = AggregatorProcess(kafka, log, {"FW_AGGREGATOR_TICK_S": "1"}).start()
    try:
        base = int(time.time() * 1000) - n // streams * 40
        records = [
            (
                kafka.topics.results(names[i % streams]),
                names[i % streams],
                result_bytes(names[i % streams], i, base + (i // streams) * 40, 20, ["person"] * (i % 3)),
            )
            for i in range(n)
        ]
        started = time.perf_counter()
        produce(kafka, records)
        wait_for(lambda: counted(aggregator.metrics_text()) >= n, 600, f"{n} results counted")
        return time.perf_counter() - started
    finally:
        aggregator.stop()


def counted(metrics: str) -> float:
    return sum(
        float(v) for v in re.findall(r"^framewire_aggregator_results_total\{[^}]*\} (\S+)$", metrics, re.M)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--no-broker", action="store_true")
    args = parser.parse_args()
    obs = observations(args.results, args.streams)
    meter = EnergyMeter()
    plain = run_engine(obs, Stores())
    meter.sample()
    engine_joules = sum(meter.process_j.values())
    encoded = run_engine(obs, Stores(JsonStore(), JsonStore(), JsonStore(), JsonStore()))
    n = args.results
    print(f"results: {n} over {args.streams} streams (25 fps each), rules: {len(parse_rules(RULES))}")
    print(f"engine, dict tables:        {n / plain:10.0f} results/s  ({plain * 1e6 / n:.1f} us/result)")
    print(
        f"engine, JSON-encoded state: {n / encoded:10.0f} results/s  ({encoded * 1e6 / n:.1f} us/result)"
        f"  ratio {encoded / plain:.2f}x the dict time"
    )
    if not args.no_broker:
        e2e = run_broker(n, args.streams)
        print(
            f"aggregator process on Kafka:{n / e2e:10.0f} results/s  (produce to counted: {e2e:.1f} s)"
            f"  ratio {e2e / encoded:.1f}x the JSON-encoded engine time"
        )
    status = rapl_status()
    per_result = joules_per_frame(engine_joules, n) if meter.available else None
    energy = f"{per_result * 1000:.3f} mJ/result (engine run)" if per_result is not None else "not available"
    print(f"energy (RAPL): {energy}; {status}")


if __name__ == "__main__":
    main()
