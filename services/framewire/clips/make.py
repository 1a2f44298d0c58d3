"""Cutting a clip or a snapshot: range -> frames from Kafka -> (boxes) -> MP4 or JPEG.

``make_clip`` and ``make_snapshot`` are called by ``framewire clip`` and by the dashboard's
clip jobs (in a worker thread). A clip is written to a temporary name beside ``out`` and
renamed when complete, so a half-written file is never served.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from framewire.clips.overlay import Drawn, draw
from framewire.clips.reading import ClipFrame, ClipSource, FrameKey
from framewire.clips.spans import ClipRange, ClipRangeError, Event, EventRef, Gap, find_event, find_gaps
from framewire.core.config import KafkaSettings

# stage ("waiting", "reading", "writing") and the fraction of it done, in [0, 1]
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ClipRequest:
    """A time range, or an event with pre- and post-roll; ``boxes`` burns detections in."""

    range: ClipRange | None = None
    event: EventRef | None = None
    pre_ms: int = 5000
    post_ms: int = 10000
    boxes: bool = False

    def __post_init__(self) -> None:
        if (self.range is None) == (self.event is None):
            raise ValueError("a clip request names either a range or an event")

    @property
    def stream(self) -> str:
        return self.range.stream if self.range is not None else self.event.stream  # type: ignore[union-attr]


@dataclass(frozen=True)
class ClipReport:
    """What was written; ``gaps`` are the stretches of the range with no frame."""

    path: Path
    range: ClipRange
    event: Event | None
    frames: int
    duration_s: float
    width: int
    height: int
    gaps: tuple[Gap, ...]
    frames_with_boxes: int
    size_bytes: int
    seconds: float
    cpu_seconds: float

    @property
    def speed(self) -> float:
        """Seconds of video made per second of wall time."""
        return self.duration_s / self.seconds if self.seconds > 0 else 0.0


def _ignore(stage: str, fraction: float) -> None:
    return None


def resolve(source: ClipSource, request: ClipRequest) -> tuple[ClipRange, Event | None]:
    if request.range is not None:
        return request.range, None
    assert request.event is not None
    event = find_event(request.event, source.alerts())
    return event.clip_range(request.pre_ms, request.post_ms), event


def make_clip(kafka: KafkaSettings, request: ClipRequest, out: Path,
              progress: Progress = _ignore) -> ClipReport:
    started, cpu0 = time.monotonic(), _cpu_s()
    source = ClipSource(kafka, request.stream)
    try:
        clip, event = resolve(source, request)
        clip.check_not_future(int(time.time() * 1000))
        source.wait_for_end(clip, lambda s: progress("waiting", 0.0))
        plan = source.plan(clip)
        boxes = source.results(clip) if request.boxes else {}
        tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
        try:
            written = _write(source.frames(plan, clip), boxes, tmp, clip, plan.count / clip.seconds, progress)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        source.close()
    frames, captures, size, with_boxes = written
    if frames == 0:
        raise ClipRangeError(f"no readable frame of {clip} on Kafka", stream_id=clip.stream)
    return ClipReport(out, clip, event, frames, _duration_s(captures), size[0], size[1],
                      tuple(find_gaps(clip, captures, _gap_ms(captures))), with_boxes,
                      out.stat().st_size, time.monotonic() - started, _cpu_s() - cpu0)


def _write(frames: Iterable[ClipFrame], boxes: dict[FrameKey, list[Drawn]], tmp: Path,
           clip: ClipRange, fps: float, progress: Progress) -> tuple[int, list[int], tuple[int, int], int]:
    from framewire.clips.encoder import Mp4Writer  # PyAV loads on the first clip, not at import

    writer: Mp4Writer | None = None
    captures: list[int] = []
    with_boxes = 0
    try:
        for frame in frames:
            image = _decode(frame)
            if image is None:
                continue
            found = boxes.get(frame.key)
            if found:
                draw(image, found)
                with_boxes += 1
            if writer is None:
                writer = Mp4Writer(tmp, image.shape[1], image.shape[0], fps)
            writer.add(image, frame.capture_ms)
            captures.append(frame.capture_ms)
            if len(captures) % 25 == 0:
                progress("writing", (frame.capture_ms - clip.start_ms) / (clip.end_ms - clip.start_ms))
    finally:
        if writer is not None:
            writer.close()
    size = (writer.width, writer.height) if writer is not None else (0, 0)
    return len(captures), captures, size, with_boxes


@dataclass(frozen=True)
class Snapshot:
    """The best frame of an event as JPEG, with the detection it was chosen for."""

    jpeg: bytes
    event: Event
    sequence: int
    capture_ms: int
    best: Drawn | None


def make_snapshot(kafka: KafkaSettings, ref: EventRef) -> Snapshot:
    """The frame of the event's span with the highest-scoring detection, its boxes drawn
    (the chosen one highlighted); the frame at firing time when nothing was detected."""
    source = ClipSource(kafka, ref.stream)
    try:
        event = find_event(ref, source.alerts())
        span = ClipRange(ref.stream, event.since_ms, max(event.end_ms, event.since_ms) + 1)
        plan = source.plan(span)
        results = source.results(span)
        chosen, best = _best_frame(list(source.frames(plan, span)), results, event)
    finally:
        source.close()
    image = _decode(chosen)
    if image is None:
        raise ClipRangeError(f"the best frame of {ref} cannot be decoded", stream_id=ref.stream)
    draw(image, results.get(chosen.key, []), highlight=best)
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return Snapshot(encoded.tobytes(), event, chosen.sequence, chosen.capture_ms, best)


def _best_frame(frames: list[ClipFrame], results: dict[FrameKey, list[Drawn]],
                event: Event) -> tuple[ClipFrame, Drawn | None]:
    if not frames:
        raise ClipRangeError(f"no frame of event {event.ref} is on Kafka", stream_id=event.ref.stream)
    scored = [(max(results[f.key], key=lambda d: d.score), f) for f in frames if results.get(f.key)]
    if scored:
        best, frame = max(scored, key=lambda pair: pair[0].score)
        return frame, best
    return min(frames, key=lambda f: abs(f.capture_ms - event.fired_ms)), None


def _decode(frame: ClipFrame) -> np.ndarray | None:
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


def _duration_s(captures: list[int]) -> float:
    """Capture span plus one frame interval: what a player shows."""
    if len(captures) < 2:
        return 0.0
    return (captures[-1] - captures[0] + statistics.median(np.diff(captures).tolist())) / 1000


def _gap_ms(captures: list[int]) -> int:
    """A gap is at least 1 s, and at least 3 frame intervals of this stream."""
    if len(captures) < 2:
        return 1000
    return max(1000, int(3 * statistics.median(np.diff(captures).tolist())))


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
