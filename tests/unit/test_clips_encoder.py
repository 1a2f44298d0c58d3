"""MP4 writing and box drawing on real photos, verified by decoding the file again."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from framewire.clips.encoder import ClipWriteError, Mp4Writer
from framewire.clips.overlay import Drawn, draw
from support.replay import photo_jpegs

pytestmark = pytest.mark.unit


def decoded(path: Path) -> tuple[str, list[float], tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [float(f.time) for f in container.decode(stream)]
        return stream.codec_context.name, times, (stream.width, stream.height)


def test_a_clip_keeps_the_streams_own_timing_and_size(tmp_path: Path) -> None:
    # Given 45 photo frames at 15 fps with a 2 s pause after the 30th, 641x480 (odd width)
    images = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in photo_jpegs(45, 641, 480)]
    captures = [1_796_000_000_000 + round(i * 1000 / 15) + (2000 if i >= 30 else 0) for i in range(45)]
    # When they are written as a clip
    out = tmp_path / "clip.mp4"
    with Mp4Writer(out, 641, 480, fps_hint=15) as writer:
        for image, at in zip(images, captures, strict=True):
            writer.add(image, at)
    # Then decoding it again gives H.264, every frame, at its capture offset, even-sized
    codec, times, size = decoded(out)
    assert codec == "h264" and size == (640, 480)
    assert len(times) == 45
    expected = [(at - captures[0]) / 1000 for at in captures]
    assert max(abs(a - b) for a, b in zip(times, expected, strict=True)) < 0.002
    assert times[30] - times[29] == pytest.approx(2.0 + 1 / 15, abs=0.002)


def test_frames_stamped_in_the_same_millisecond_still_play_in_order(tmp_path: Path) -> None:
    image = np.full((240, 320, 3), 128, np.uint8)
    out = tmp_path / "same.mp4"
    with Mp4Writer(out, 320, 240, fps_hint=10) as writer:
        for at in (1000, 1000, 1000, 1100):
            writer.add(image, at)
    _, times, _ = decoded(out)
    assert len(times) == 4 and times == sorted(times) and len(set(times)) == 4


def test_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClipWriteError, match="cannot open"):
        Mp4Writer(tmp_path / "missing" / "clip.mp4", 320, 240, fps_hint=10)


def test_boxes_and_labels_are_drawn_where_the_normalised_box_says() -> None:
    # Given a real photo and one detection over its middle
    image = cv2.imdecode(np.frombuffer(photo_jpegs(1, 320, 240)[0], np.uint8), cv2.IMREAD_COLOR)
    before = image.copy()
    det = Drawn("person", 0.87, (0.25, 0.5, 0.75, 0.9))
    # When it is drawn
    draw(image, [det])
    # Then the box's left edge is green and the pixels well inside it are untouched
    assert tuple(image[200, 80]) == (60, 220, 60)
    assert np.array_equal(image[150:200, 100:220], before[150:200, 100:220])
    # And the label sits above the box
    assert not np.array_equal(image[100:120, 80:140], before[100:120, 80:140])
