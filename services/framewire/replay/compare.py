"""``framewire compare A B``: how far model B agrees with model A on the same frames.

Both topics hold DetectionResults; frames are matched by their source coordinates
(topic, partition, offset), so a replay and the live run line up exactly. The result of a
frame copy (the same frame written twice to its topic) is skipped and counted. Prints a table of
per-class counts and IoU-matched precision/recall of B against A, optionally a PNG plot.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from framewire.core.agreement import Agreement, FrameKey, compare, fold_case
from framewire.core.config import KafkaSettings
from framewire.core.records import Box, Detection
from framewire.replay.wire import message_type
from framewire.v1.detection_pb2 import DetectionResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic_a", help="reference result topic")
    parser.add_argument("topic_b", help="result topic judged against A")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU needed for a match (default 0.5)")
    parser.add_argument("--plot", default=None, help="write a PNG bar chart here")
    parser.add_argument(
        "--ignore-case", action="store_true",
        help="match labels regardless of case (Person in one model, person in another)",
    )


class ResultsByFrame:
    """Results of one topic keyed by their frame's coordinates (the last one wins), minus
    the results of a frame copy: a frame in its topic twice (same sequence and capture
    time, ``core/dedup.py``) is one frame, compared once, at its first offset. Pure logic;
    ``add`` is called per result in topic order."""

    def __init__(self) -> None:
        self.frames: dict[FrameKey, Sequence[Detection]] = {}
        self.copies = 0
        self._first: dict[tuple[str, int, int, int], int] = {}

    def add(self, result: DetectionResult) -> None:
        identity = (result.source_topic, result.source_partition, result.frame_sequence,
                    result.capture_time_ns)
        first = self._first.setdefault(identity, result.source_offset)
        if first != result.source_offset:
            self.copies += 1
            return
        self.frames[(result.source_topic, result.source_partition, result.source_offset)] = [
            Detection(d.class_id, d.label, d.score, Box(d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax))
            for d in result.detections
        ]


def load_results(settings: KafkaSettings, topic: str) -> ResultsByFrame:
    """Every result on ``topic``, by frame."""
    from framewire.core.codec import decode
    from framewire.core.history import history_consumer, read_topic

    consumer = history_consumer(settings)
    out = ResultsByFrame()
    try:
        for msg in read_topic(consumer, topic):
            out.add(decode(DetectionResult, msg.value(), topic=topic, partition=msg.partition(),
                           offset=msg.offset()))
    finally:
        consumer.close()
    return out


def format_table(agreement: Agreement, name_a: str, name_b: str) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    rows = [
        f"frames compared: {agreement.frames_compared} (only in A: {agreement.only_in_a}, "
        f"only in B: {agreement.only_in_b})",
        f"A = {name_a}",
        f"B = {name_b}",
        "",
        f"{'class':<20} {'A':>7} {'B':>7} {'matched':>8} {'precision':>10} {'recall':>8}",
    ]
    items = [*sorted(agreement.per_class.items()), ("TOTAL", agreement.total())]
    for label, c in items:
        rows.append(
            f"{label:<20} {c.count_a:>7} {c.count_b:>7} {c.matched:>8} "
            f"{pct(c.precision):>10} {pct(c.recall):>8}"
        )
    return "\n".join(rows) + "\n"


def copies_line(copies_a: int, copies_b: int) -> str:
    """Results of frame copies left out, printed after the table."""
    return (f"frame copies skipped (a frame in its topic twice, compared once): "
            f"A {copies_a}, B {copies_b}\n")


def plot(agreement: Agreement, path: str) -> None:
    try:
        import matplotlib
    except ImportError:
        from framewire.core.errors import ConfigError

        raise ConfigError("--plot needs matplotlib (pip install 'framewire[test]' or matplotlib)") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(agreement.per_class)
    xs = range(len(labels))
    fig, ax = plt.subplots(figsize=(max(6, len(labels) * 0.8), 4))
    ax.bar([x - 0.2 for x in xs], [agreement.per_class[k].count_a for k in labels], 0.4, label="A")
    ax.bar([x + 0.2 for x in xs], [agreement.per_class[k].count_b for k in labels], 0.4, label="B")
    ax.set_xticks(list(xs), labels, rotation=30, ha="right")
    ax.set_ylabel("detections")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from framewire.core.config import load_settings

    if not 0 < args.iou <= 1:
        sys.stderr.write("error: --iou must be in (0, 1]\n")
        return 2
    settings = load_settings(KafkaSettings)
    for topic in (args.topic_a, args.topic_b):
        try:
            kind = message_type(topic, settings.topic_prefix)
        except ValueError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        if kind is not DetectionResult:
            sys.stderr.write(f"error: {topic} holds no results (compare reads results topics)\n")
            return 2
    loaded_a, loaded_b = load_results(settings, args.topic_a), load_results(settings, args.topic_b)
    a, b = loaded_a.frames, loaded_b.frames
    if args.ignore_case:
        a, b = fold_case(a), fold_case(b)
    agreement = compare(a, b, args.iou)
    sys.stdout.write(format_table(agreement, args.topic_a, args.topic_b))
    sys.stdout.write(copies_line(loaded_a.copies, loaded_b.copies))
    if args.plot:
        plot(agreement, args.plot)
        sys.stdout.write(f"plot written to {args.plot}\n")
    return 0
