"""IoU matching of two models' detections; the maths lives in ``framewire.core.agreement``
(shared with the model library's INT8 accuracy gate) and is re-exported here."""

from framewire.core.agreement import Agreement, ClassAgreement, FrameKey, compare, fold_case, match_frame

__all__ = ["Agreement", "ClassAgreement", "FrameKey", "compare", "fold_case", "match_frame"]
