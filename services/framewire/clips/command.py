"""``framewire clip``: an MP4 clip (or, with ``--snapshot``, the best JPEG) from Kafka history.

    framewire clip STREAM --from T1 --to T2 -o out.mp4 [--boxes]
    framewire clip --event crowd/cam1@1700000008000 --pre 5s --post 10s -o out.mp4
    framewire clip --event crowd/cam1 --snapshot -o best.jpg

Times are ISO-8601 (no zone: local time) or epoch milliseconds, as for ``framewire replay``.
The summary goes to stdout, gaps in the range are listed; errors say what is on Kafka.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from framewire.core.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stream", nargs="?", help="stream id (with --from/--to)")
    parser.add_argument("--from", dest="start", metavar="T1", help="first capture time, inclusive")
    parser.add_argument("--to", dest="end", metavar="T2", help="end capture time, exclusive")
    parser.add_argument("--event", help="an alert firing: <rule>/<stream>[@<fired epoch ms>] "
                        "(without @: its latest firing)")
    parser.add_argument("--pre", default="5s", help="with --event: seconds before the condition began (5s)")
    parser.add_argument("--post", default="10s", help="with --event: seconds after it ended or fired (10s)")
    parser.add_argument("--boxes", action="store_true", help="burn detection boxes and labels in")
    parser.add_argument("--snapshot", action="store_true", help="with --event: write the best frame as JPEG")
    parser.add_argument("-o", "--output", required=True, type=Path, help="file to write (.mp4, or .jpg)")


def run(args: argparse.Namespace) -> int:
    from framewire.clips.make import make_clip, make_snapshot
    from framewire.core.config import KafkaSettings, load_settings

    kafka = load_settings(KafkaSettings)
    assert isinstance(kafka, KafkaSettings)
    request = build_request(args)
    _check_output(args.output)
    if args.snapshot:
        assert request.event is not None
        shot = make_snapshot(kafka, request.event)
        args.output.write_bytes(shot.jpeg)
        best = "no detection" if shot.best is None else f"{shot.best.label} {shot.best.score:.2f}"
        sys.stdout.write(f"snapshot {args.output}: frame {shot.sequence} at {shot.capture_ms} ({best})\n")
        return 0
    report = make_clip(kafka, request, args.output)
    sys.stdout.write(format_report(report))
    return 0


def build_request(args: argparse.Namespace) -> ClipRequest:
    """The request the options describe; ConfigError naming the misuse otherwise."""
    from framewire.clips.make import ClipRequest
    from framewire.clips.spans import ClipRange, EventRef, parse_duration_ms
    from framewire.replay.window import parse_time

    if args.event:
        if args.stream or args.start or args.end:
            raise ConfigError("give either STREAM --from --to, or --event, not both")
        return ClipRequest(event=EventRef.parse(args.event), pre_ms=parse_duration_ms(args.pre, "--pre"),
                           post_ms=parse_duration_ms(args.post, "--post"), boxes=args.boxes)
    if args.snapshot:
        raise ConfigError("--snapshot needs --event (the best frame of an alert)")
    if not (args.stream and args.start and args.end):
        raise ConfigError("give STREAM --from T1 --to T2, or --event ID")
    clip = ClipRange(args.stream, parse_time(args.start, "--from"), parse_time(args.end, "--to"))
    return ClipRequest(range=clip, boxes=args.boxes)


def _check_output(path: Path) -> None:
    if not path.parent.is_dir():
        raise ConfigError(f"-o {path}: directory {path.parent} does not exist")


def format_report(report: ClipReport) -> str:
    """The lines printed when a clip is written."""
    lines = [
        f"clip     {report.path} ({report.size_bytes / 1e6:.2f} MB, H.264 MP4)",
        f"range    {report.range}" + (f"  (event {report.event.ref})" if report.event else ""),
        f"video    {report.frames} frames, {report.duration_s:.2f} s, {report.width}x{report.height}"
        + (f", boxes on {report.frames_with_boxes} frames" if report.frames_with_boxes else ""),
        f"made in  {report.seconds:.2f} s ({report.speed:.1f}x real time), {report.cpu_seconds:.2f} s CPU",
    ]
    lines += [f"gap      {gap}" for gap in report.gaps] or ["gaps     none"]
    return "\n".join(lines) + "\n"


if TYPE_CHECKING:  # without importing PyAV for ``--help``
    from framewire.clips.make import ClipReport, ClipRequest
