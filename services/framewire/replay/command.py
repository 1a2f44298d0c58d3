"""``framewire replay --stream S --from T1 --to T2 [--model M] [--output TOPIC]``.

Re-runs the frames of ``[T1, T2)`` still on Kafka through a model, with the inference
service's own per-frame code and ``FW_INFERENCE_*`` model settings, into a result topic of
its own (default ``<prefix>results.<stream>.<model>-<version>``). A progress bar goes to
stderr, the summary to stdout. Running the same replay again writes nothing twice.
OpenVINO's THROUGHPUT hint is the default here (several requests in flight, faster for a
batch job than the live worker's LATENCY); the two give the same detections (tested).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from framewire.replay.run import ReplaySummary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", required=True, help="stream id whose frames to replay")
    parser.add_argument(
        "--from", dest="start", required=True, metavar="T1",
        help="first frame time, inclusive: ISO-8601 (2026-11-28T13:05:00Z; without a zone, "
        "local time) or epoch milliseconds",
    )
    parser.add_argument("--to", dest="end", required=True, metavar="T2",
                        help="end time, exclusive (same forms as --from)")
    parser.add_argument("--model", help="zoo model id (default FW_INFERENCE_MODEL, the live one)")
    parser.add_argument(
        "--output", help="result topic to write (default <prefix>results.<stream>.<model>-<version>)"
    )
    parser.add_argument(
        "--performance-hint", choices=["THROUGHPUT", "LATENCY"], default="THROUGHPUT",
        help="OpenVINO hint (default THROUGHPUT: a replay is a batch job; the live worker's "
        "default is LATENCY, and both give the same detections)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from framewire.core.config import load_settings
    from framewire.replay.run import ReplayRequest, run_replay
    from framewire.replay.settings import ReplaySettings
    from framewire.replay.window import TimeWindow, parse_time

    window = TimeWindow(parse_time(args.start, "--from"), parse_time(args.end, "--to"))
    settings = load_settings(ReplaySettings, performance_hint=args.performance_hint, **_model(args))
    request = ReplayRequest(args.stream, window, args.output)
    summary = run_replay(settings, request, show_progress=not args.no_progress)
    sys.stdout.write(format_summary(summary, window))
    return 0


def _model(args: argparse.Namespace) -> dict[str, str]:
    return {"model": args.model} if args.model else {}


def format_summary(s: ReplaySummary, window: object) -> str:
    """The lines printed when a replay has finished."""
    rejected = sum(s.rejected.values())
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s.rejected.items()))
    speed = "-" if s.speed is None else f"{s.speed:.1f}x real time"
    fps = s.results / s.seconds if s.seconds > 0 else 0.0
    lines = [
        f"stream   {s.stream}  {window}",
        f"model    {s.model_id} {s.model_version}",
        f"output   {s.output}",
        f"frames   {s.frames} in range ({s.recorded_seconds:.1f} s of video)",
        f"results  {s.results} written, {s.already} already in the output, "
        f"{rejected} rejected" + (f" ({reasons})" if reasons else "")
        + (f", {s.missing} offsets held no frame" if s.missing else ""),
        f"copies   {s.copies} frame(s) in the topic twice (same sequence and capture time), "
        "skipped",
        f"time     {s.seconds:.2f} s (+{s.setup_seconds:.2f} s set-up): {speed}, "
        f"{fps:.1f} frames/s",
    ]
    return "\n".join(lines) + "\n"
