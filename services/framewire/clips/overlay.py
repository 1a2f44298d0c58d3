"""Detection boxes and labels burnt into a frame; pure image code (OpenCV), no Kafka.

Called per frame by ``clips.make`` when a clip asks for boxes, and once for a snapshot.
Boxes arrive normalised to [0, 1] as in ``framewire.v1.Box``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_GREEN = (60, 220, 60)
_HIGHLIGHT = (40, 40, 250)


@dataclass(frozen=True)
class Drawn:
    """One detection as drawn: label, score, box (xmin, ymin, xmax, ymax) in [0, 1]."""

    label: str
    score: float
    box: tuple[float, float, float, float]
    track_id: int | None = None


def draw(image: np.ndarray, detections: list[Drawn], highlight: Drawn | None = None) -> np.ndarray:
    """``image`` (BGR, modified in place and returned) with every box and its label."""
    height, width = image.shape[:2]
    thickness = max(1, round(min(width, height) / 240))
    for det in detections:
        colour = _HIGHLIGHT if det == highlight else _GREEN
        x0, y0 = int(det.box[0] * width), int(det.box[1] * height)
        x1, y1 = int(det.box[2] * width), int(det.box[3] * height)
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, thickness)
        text = f"{det.label} {det.score:.2f}" + (f" #{det.track_id}" if det.track_id is not None else "")
        scale = 0.4 * thickness
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, y0 - th - base - 2)
        cv2.rectangle(image, (x0, top), (x0 + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(image, text, (x0 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    return image
