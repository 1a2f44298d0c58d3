"""What one benchmark run does: its settings (per mode, overridable) and its phases.

``plan_from_args`` is called once by ``harness.run``; the phases of a run are built as it
goes, because the offered loads of the sweep are fractions of a capacity measured in it.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from cnap import CnapPlan

from framewire.core.errors import ConfigError
from framewire.core.topics import Topics
from framewire.samples import parse_size

SERVICES = ("gateway", "dashboard", "aggregator")
DEFAULT_MODEL = "ssd-mobilenet-v2-oidv4"
CNAP_MODEL = "ssdlite-person"
T = TypeVar("T")


class Mode(StrEnum):
    SHORT = "short"  # CI: seconds, checks the harness and that the numbers are sane
    FULL = "full"  # the documented run behind the published report


class PhaseKind(StrEnum):
    GATEWAY = "gateway"  # N streams from sample clips through ``framewire gateway``
    CAPACITY = "capacity"  # direct producer in closed loop: the most the pipeline sustains
    LOAD = "load"  # direct producer at a fraction of the measured capacity
    IDLE = "idle"  # no traffic at all: what the services burn doing nothing


@dataclass(frozen=True)
class ModeDefaults:
    streams: int
    size: str
    fps: float
    seconds: float
    loads: tuple[float, ...]
    workers: tuple[int, ...]
    ceiling_seconds: float
    idle_seconds: float


DEFAULTS = {
    Mode.SHORT: ModeDefaults(2, "320x240", 10.0, 3.0, (0.5, 2.0), (1,), 3.0, 2.0),
    Mode.FULL: ModeDefaults(4, "640x480", 15.0, 20.0, (0.25, 0.5, 1.0, 1.5, 2.0), (1, 2), 10.0, 10.0),
}


@dataclass(frozen=True)
class BenchPlan:
    """Everything a run needs to know before it starts; recorded verbatim in the report."""

    mode: Mode
    streams: int
    width: int
    height: int
    fps: float
    seconds: float
    loads: tuple[float, ...]
    workers: tuple[int, ...]
    model: str
    max_age_ms: int
    ceiling_seconds: float
    idle_seconds: float
    # Unanswered frames per stream in the capacity phase (closed loop).
    in_flight: int
    jpeg_quality: int
    without: frozenset[str]
    bootstrap: str
    topic_prefix: str
    out: Path = field(compare=False)

    @property
    def warmup_s(self) -> float:
        """Start of each phase left out of rates and percentiles (queues filling up)."""
        return min(2.0, 0.2 * self.seconds)

    @property
    def settle_s(self) -> float:
        """Quiet time after a phase: every frame of it is processed or dropped as stale."""
        return self.max_age_ms / 1000.0 + 1.5

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    def stream_ids(self) -> list[str]:
        return [f"bench-{i}" for i in range(self.streams)]

    def estimated_seconds(self) -> float:
        """Planned phase time, for the progress bar (start-ups come on top)."""
        per_phase = self.seconds + self.settle_s
        sweep = len(self.workers) * ((1 + len(self.loads)) * per_phase + 1.5 * self.idle_seconds)
        gateway = 0.0 if "gateway" in self.without else per_phase
        return 2 * self.ceiling_seconds + sweep + gateway

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode.value, "streams": self.streams, "width": self.width,
            "height": self.height, "fps_per_stream": self.fps, "seconds_per_phase": self.seconds,
            "warmup_s": round(self.warmup_s, 3), "settle_s": round(self.settle_s, 3),
            "loads": list(self.loads), "workers": list(self.workers), "model": self.model,
            "max_age_ms": self.max_age_ms, "ceiling_seconds": self.ceiling_seconds,
            "idle_seconds": self.idle_seconds, "in_flight_per_stream": self.in_flight,
            "jpeg_quality": self.jpeg_quality, "without": sorted(self.without),
            "bootstrap": self.bootstrap, "topic_prefix": self.topic_prefix,
        }


@dataclass(frozen=True)
class Phase:
    """One measured stretch of a run."""

    name: str
    kind: PhaseKind
    workers: int
    # Total frames per second offered over all streams (0 when idle or closed loop).
    offered_fps: float
    seconds: float
    # Fraction of the measured capacity (load phases only).
    load: float | None = None


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``framewire bench``; unset ones take the chosen mode's defaults."""
    parser.add_argument("--scenario", choices=("sweep", "cnap"), default="sweep",
                        help="sweep: load and worker sweep against the ceilings (default); cnap: "
                             "4 x 25 fps through the gateway with ssdlite-person in f32 and INT8, "
                             "plus a density sweep (see benchmarks/pipeline/cnap.py)")
    parser.add_argument("--short", action="store_true", help="CI mode: a few seconds per phase")
    parser.add_argument("--streams", type=int, help="streams (full 4, short 2)")
    parser.add_argument("--size", help="frame size WIDTHxHEIGHT (full 640x480, short 320x240)")
    parser.add_argument("--fps", type=float, help="per-stream fps of the gateway phase (15 / 10)")
    parser.add_argument("--seconds", type=float, help="length of each measured phase (20 / 3)")
    parser.add_argument("--loads", help="offered loads in %% of capacity (25,50,100,150,200 / 50,200)")
    parser.add_argument("--workers", help="inference worker counts to sweep (1,2 / 1)")
    parser.add_argument("--model", help=f"zoo model id (sweep {DEFAULT_MODEL}, cnap {CNAP_MODEL})")
    parser.add_argument("--max-age-ms", type=int, default=500, help="freshness budget of inference")
    parser.add_argument("--in-flight", type=int, default=12,
                        help="capacity phase: unanswered frames per stream (below the workers' "
                             "partition buffer, above a cycle)")
    parser.add_argument("--without", action="append", default=[], choices=SERVICES,
                        help="leave this service out (repeatable)")
    parser.add_argument("--topic-prefix", help="topic prefix (default: a new one per run)")
    parser.add_argument("--out", type=Path, help="output folder (default benchmarks/pipeline/runs/<stamp>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    cnap = parser.add_argument_group("cnap scenario")
    cnap.add_argument("--precisions", default="f32,int8",
                      help="precisions to run (FW_INFERENCE_PRECISION values), default f32,int8")
    cnap.add_argument("--density-streams", default="2,4,6,8,10,12,14,16",
                      help="stream counts of the density sweep, in order (empty: no sweep)")
    cnap.add_argument("--density-seconds", type=float, default=12.0,
                      help="measured seconds per density step")
    cnap.add_argument("--density-model", default=DEFAULT_MODEL, help="model of the density sweep")
    cnap.add_argument("--worker-env", action="append", default=[], metavar="FW_X=VALUE",
                      help="extra setting for the inference worker (repeatable), e.g. to "
                           "measure one lever: FW_INFERENCE_COMMIT_INTERVAL_MS=0")
    cnap.add_argument("--broker-warmup-s", type=float, default=60.0,
                      help="a frames-like load on the run's own broker before anything is "
                           "measured (its JVM compiles its hot paths in the first minutes)")
    cnap.add_argument("--shared-broker", action="store_true",
                      help="use FW_KAFKA_BOOTSTRAP instead of a broker of the run's own")


def plan_from_args(args: argparse.Namespace, runs_dir: Path) -> BenchPlan:
    """The run's plan; ConfigError naming the option when a value makes no sense."""
    mode = Mode.SHORT if args.short else Mode.FULL
    d = DEFAULTS[mode]
    width, height = parse_size(args.size or d.size)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    plan = BenchPlan(
        mode=mode, streams=_pick(args.streams, d.streams), width=width, height=height,
        fps=_pick(args.fps, d.fps), seconds=_pick(args.seconds, d.seconds),
        loads=_percentages(args.loads) if args.loads else d.loads,
        workers=_counts(args.workers) if args.workers else d.workers,
        model=args.model or DEFAULT_MODEL, max_age_ms=args.max_age_ms, ceiling_seconds=d.ceiling_seconds,
        idle_seconds=d.idle_seconds, in_flight=args.in_flight, jpeg_quality=80,
        without=frozenset(args.without),
        bootstrap=os.environ.get("FW_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        topic_prefix=args.topic_prefix or f"bench{stamp.replace('-', '')}{uuid.uuid4().hex[:4]}.",
        out=(args.out or runs_dir / f"{stamp}-{mode.value}").resolve(),
    )
    _check(plan)
    return plan


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value


def _percentages(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) / 100.0 for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--loads {text!r} must be percentages like 25,50,100") from None
    if not values or any(not 0 < v <= 10 for v in values):
        raise ConfigError(f"--loads {text!r}: each load must be within (0, 1000] %")
    return values


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--workers {text!r} must be worker counts like 1,2") from None
    if not values or any(not 1 <= v <= 8 for v in values):
        raise ConfigError(f"--workers {text!r}: each count must be within 1..8")
    return values


def _check(plan: BenchPlan) -> None:
    Topics(plan.topic_prefix)  # raises for an illegal prefix
    rules = [
        (1 <= plan.streams <= 32, f"--streams {plan.streams} must be within 1..32"),
        (0 < plan.fps <= 120, f"--fps {plan.fps} must be within (0, 120]"),
        (1.0 <= plan.seconds <= 3600, f"--seconds {plan.seconds} must be within [1, 3600]"),
        (50 <= plan.max_age_ms <= 60_000, f"--max-age-ms {plan.max_age_ms} must be within 50..60000"),
        (1 <= plan.in_flight <= 1000, f"--in-flight {plan.in_flight} must be within 1..1000"),
    ]
    for ok, message in rules:
        if not ok:
            raise ConfigError(message)


def cnap_plan_from_args(args: argparse.Namespace, runs_dir: Path) -> CnapPlan:
    """The cnap scenario's plan: 4 x 25 fps at 640x480 unless told otherwise."""
    width, height = parse_size(args.size or "640x480")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    env = {}
    for item in args.worker_env:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("FW_"):
            raise ConfigError(f"--worker-env {item!r} must look like FW_NAME=VALUE")
        env[key] = value
    density = _counts_any(args.density_streams) if args.density_streams.strip() else ()
    plan = CnapPlan(
        streams=_pick(args.streams, 4), fps=_pick(args.fps, 25.0), width=width, height=height,
        model=args.model or CNAP_MODEL,
        precisions=tuple(p.strip() for p in args.precisions.split(",") if p.strip()),
        seconds=_pick(args.seconds, 20.0), max_age_ms=args.max_age_ms,
        density_model=args.density_model, density_fps=15.0, density_streams=density,
        density_seconds=args.density_seconds, p99_limit_ms=150.0, delivered_min=0.95,
        ceiling_seconds=5.0, jpeg_quality=80, own_broker=not args.shared_broker, worker_env=env,
        broker_warmup_s=max(0.0, args.broker_warmup_s),
        bootstrap=os.environ.get("FW_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        topic_prefix=args.topic_prefix or f"cnap{stamp.replace('-', '')}{uuid.uuid4().hex[:4]}.",
        out=(args.out or runs_dir / f"{stamp}-cnap").resolve(),
    )
    Topics(plan.topic_prefix)
    if not 1 <= plan.streams <= 32 or not 0 < plan.fps <= 120 or not 1 <= plan.seconds <= 3600:
        raise ConfigError("--streams 1..32, --fps (0, 120], --seconds 1..3600")
    return plan


def _counts_any(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{text!r} must be stream counts like 2,4,6") from None
    if any(not 1 <= v <= 64 for v in values):
        raise ConfigError(f"{text!r}: each count must be within 1..64")
    return values
