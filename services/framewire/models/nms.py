"""Non-maximum suppression in numpy, on boxes as rows of (xmin, ymin, xmax, ymax).

Called by decoders after thresholding, so inputs are small (tens to hundreds of boxes).
"""

from __future__ import annotations

import numpy as np


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box with each row of ``boxes``."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = max(0.0, float(box[2] - box[0])) * max(0.0, float(box[3] - box[1]))
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_out: int = 100) -> list[int]:
    """Indices kept by greedy NMS, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_out:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[best], boxes[rest]) <= iou_threshold]
    return keep


def batched_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    iou_threshold: float,
    max_out: int = 100,
) -> list[int]:
    """Per-class NMS: boxes of different classes never suppress each other."""
    keep: list[int] = []
    for cls in np.unique(classes):
        idx = np.flatnonzero(classes == cls)
        keep.extend(int(idx[i]) for i in nms(boxes[idx], scores[idx], iou_threshold, max_out))
    keep.sort(key=lambda i: -float(scores[i]))
    return keep[:max_out]


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_out: int = 100
) -> list[tuple[np.ndarray, float]]:
    """MediaPipe-style blending: each kept box is the score-weighted mean of its cluster.

    Returns (box, score) pairs; the score is the cluster's best.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[np.ndarray, float]] = []
    while order.size and len(out) < max_out:
        overlaps = iou_one_to_many(boxes[order[0]], boxes[order])
        cluster, order = order[overlaps > iou_threshold], order[overlaps <= iou_threshold]
        weights = scores[cluster][:, None]
        blended = (boxes[cluster] * weights).sum(axis=0) / weights.sum()
        out.append((blended, float(scores[cluster[0]])))
    return out
