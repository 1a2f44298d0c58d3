"""Agreement between two models' detections on the same frames (pure maths, no Kafka).

B is judged against A as reference: a B detection is a true positive when it matches an
unmatched A detection of the same label with IoU >= the threshold (greedy, by B's score).
Used by ``framewire compare`` (two result topics) and by the INT8 accuracy gate of
``framewire models quantize`` (f32 against INT8 on the same images).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from framewire.core.records import Detection

FrameKey = tuple[str, int, int]  # source topic, partition, offset


@dataclass
class ClassAgreement:
    count_a: int = 0
    count_b: int = 0
    matched: int = 0

    @property
    def precision(self) -> float | None:
        """Share of B's detections that A agrees with; None when B found none."""
        return self.matched / self.count_b if self.count_b else None

    @property
    def recall(self) -> float | None:
        """Share of A's detections that B found; None when A found none."""
        return self.matched / self.count_a if self.count_a else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall; None when neither side found anything."""
        total = self.count_a + self.count_b
        return 2 * self.matched / total if total else None


@dataclass
class Agreement:
    per_class: dict[str, ClassAgreement] = field(default_factory=dict)
    frames_compared: int = 0
    only_in_a: int = 0
    only_in_b: int = 0

    def total(self) -> ClassAgreement:
        total = ClassAgreement()
        for c in self.per_class.values():
            total.count_a += c.count_a
            total.count_b += c.count_b
            total.matched += c.matched
        return total


def match_frame(a: Sequence[Detection], b: Sequence[Detection], iou: float) -> Counter[str]:
    """Matched detections per label for one frame."""
    matched: Counter[str] = Counter()
    free = list(a)
    for det in sorted(b, key=lambda d: d.score, reverse=True):
        best, best_iou = None, iou
        for ref in free:
            if ref.label == det.label:
                overlap = ref.box.iou(det.box)
                if overlap >= best_iou:
                    best, best_iou = ref, overlap
        if best is not None:
            free.remove(best)
            matched[det.label] += 1
    return matched


def compare(
    a: dict[FrameKey, Sequence[Detection]],
    b: dict[FrameKey, Sequence[Detection]],
    iou: float = 0.5,
) -> Agreement:
    """Compare the frames both sides have; count the frames only one side has."""
    result = Agreement(only_in_a=len(a.keys() - b.keys()), only_in_b=len(b.keys() - a.keys()))
    for key in sorted(a.keys() & b.keys()):
        result.frames_compared += 1
        _add(result, (d.label for d in a[key]), "count_a")
        _add(result, (d.label for d in b[key]), "count_b")
        for label, n in match_frame(a[key], b[key], iou).items():
            result.per_class[label].matched += n
    return result


def _add(result: Agreement, labels: Iterable[str], attr: str) -> None:
    for label in labels:
        entry = result.per_class.setdefault(label, ClassAgreement())
        setattr(entry, attr, getattr(entry, attr) + 1)


def fold_case(results: dict[FrameKey, Sequence[Detection]]) -> dict[FrameKey, Sequence[Detection]]:
    """The same detections with lower-case labels, for models that spell a class
    differently (``Person`` in Open Images, ``person`` in COCO)."""
    return {k: [replace(d, label=d.label.casefold()) for d in v] for k, v in results.items()}
