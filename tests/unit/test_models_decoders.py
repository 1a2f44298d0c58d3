"""Decoders on synthetic tensors whose right answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framewire.core.errors import ModelError
from framewire.core.records import Box
from framewire.models.decoders import DecoderContext, make_decoder
from framewire.models.nms import batched_nms, iou_one_to_many

pytestmark = pytest.mark.unit

LABELS = ("background", "person", "car")
CTX = DecoderContext(labels=LABELS, input_width=640, input_height=480)


def corners(box: Box) -> tuple[float, ...]:
    return (box.xmin, box.ymin, box.xmax, box.ymax)


def test_detection_output_reads_rows_until_the_terminator() -> None:
    # Given a [1, 1, N, 7] table: two kept rows, one under threshold, then a terminator
    # row and a stale row after it that must be ignored
    rows = [
        [0, 2, 0.6, 0.5, 0.5, 0.9, 0.8],
        [0, 1, 0.9, 0.1, 0.2, 0.3, 0.6],
        [0, 1, 0.2, 0.0, 0.0, 0.1, 0.1],
        [-1, 0, 0, 0, 0, 0, 0],
        [0, 2, 0.99, 0.0, 0.0, 1.0, 1.0],
    ]
    table = np.array(rows, np.float32)[None, None]
    decoder = make_decoder("detection_output", CTX, {})
    # When decoded at threshold 0.5
    found = decoder.decode({"output": table}, 0.5)
    # Then the two rows above threshold come back, best first, with their labels
    assert [(d.label, round(d.score, 2)) for d in found] == [("person", 0.9), ("car", 0.6)]
    assert corners(found[0].box) == pytest.approx((0.1, 0.2, 0.3, 0.6), abs=1e-5)


def test_detection_output_label_offset_and_bad_shape() -> None:
    # Given a model whose label column counts background as 0
    decoder = make_decoder("detection_output", DecoderContext(("person",), 300, 300), {"label_offset": 1})
    table = np.array([[[[0, 1, 0.8, 0.1, 0.1, 0.2, 0.2]]]], np.float32)
    # When decoded; then label 1 is the first label
    assert [d.label for d in decoder.decode({"output": table}, 0.5)] == ["person"]
    # And a tensor of the wrong shape is refused clearly
    with pytest.raises(ModelError, match=r"\[1, 1, N, 7\]"):
        decoder.decode({"output": np.zeros((1, 5, 6), np.float32)}, 0.5)


def yolo_tensor(columns: list[list[float]]) -> np.ndarray:
    """Columns of (cx, cy, w, h, score per class) -> [1, 4 + C, N]."""
    return np.array(columns, np.float32).T[None]


def test_yolo_thresholds_suppresses_per_class_and_normalises() -> None:
    # Given four candidates in 640x480 input pixels, classes (background, person, car):
    #   A person 0.9 at (100..200, 100..300); B person 0.8 overlapping A heavily;
    #   C car 0.7 at the same place as A (another class: kept); D car 0.3 (under threshold)
    columns = [
        [150, 200, 100, 200, 0.0, 0.9, 0.1],
        [155, 205, 100, 200, 0.0, 0.8, 0.0],
        [150, 200, 100, 200, 0.0, 0.1, 0.7],
        [500, 400, 50, 50, 0.0, 0.0, 0.3],
    ]
    decoder = make_decoder("yolo", CTX, {})
    # When decoded at threshold 0.5
    found = decoder.decode({"output": yolo_tensor(columns)}, 0.5)
    # Then A and C remain, boxes normalised by the input size
    assert [(d.label, round(d.score, 2)) for d in found] == [("person", 0.9), ("car", 0.7)]
    assert corners(found[0].box) == pytest.approx((100 / 640, 100 / 480, 200 / 640, 300 / 480), abs=1e-5)
    assert found[0].box == found[1].box


def test_yolo_transposed_export_gives_the_same_answer() -> None:
    # Given the same candidate laid out [1, N, 4 + C]
    column = [320, 240, 64, 48, 0.0, 0.0, 0.95]
    decoder = make_decoder("yolo", CTX, {"transposed": True})
    found = decoder.decode({"output": np.array([[column]], np.float32)}, 0.5)
    # Then it decodes to the car in the middle of the frame
    assert [d.label for d in found] == ["car"]
    assert corners(found[0].box) == pytest.approx((0.45, 0.45, 0.55, 0.55), abs=1e-5)


def test_yolo_with_nothing_above_threshold_finds_nothing() -> None:
    columns = [[10, 10, 5, 5, 0.1, 0.2, 0.3]]
    assert make_decoder("yolo", CTX, {}).decode({"output": yolo_tensor(columns)}, 0.5) == []


def test_ssd_anchor_generator_makes_1917_anchors_like_tf() -> None:
    # Given the OIDv4 SSD's anchor settings on a 300x300 input
    decoder = make_decoder("ssd_anchors", DecoderContext(("a", "b"), 300, 300), {})
    # Then there are 19*19*3 + (10*10 + 5*5 + 3*3 + 2*2 + 1) * 6 anchors
    assert decoder.num_anchors == 1917  # type: ignore[attr-defined]


def test_ssd_zero_encoding_decodes_to_the_anchor_itself() -> None:
    # Given all-zero box encodings and one confident logit: anchor 0 (the lowest layer's
    # first cell, scale 0.1, aspect 1, centre (0.5/19, 0.5/19)), class column 2 = label "b"
    decoder = make_decoder("ssd_anchors", DecoderContext(("a", "b"), 300, 300), {})
    encodings = np.zeros((1, 1917, 4), np.float32)
    logits = np.full((1, 1917, 3), -10.0, np.float32)
    logits[0, 0, 2] = 3.0
    outputs = {"raw_outputs/box_encodings": encodings, "raw_outputs/class_predictions": logits}
    # When decoded
    found = decoder.decode(outputs, 0.4)
    # Then one "b" detection with sigmoid(3) as its score, boxed as the anchor (clipped at 0)
    assert [d.label for d in found] == ["b"]
    assert found[0].score == pytest.approx(1 / (1 + np.exp(-3.0)), rel=1e-5)
    c = 0.5 / 19
    assert corners(found[0].box) == pytest.approx((0, 0, c + 0.05, c + 0.05), abs=1e-5)


def test_blazeface_anchor_grid_and_pixel_offsets() -> None:
    # Given a BlazeFace decoder on 128x128 input
    decoder = make_decoder("blazeface", DecoderContext(("face",), 128, 128), {})
    assert decoder.num_anchors == 896  # type: ignore[attr-defined]
    # And one confident anchor: index 512 is the first of the 8x8 grid, centre (1/16, 1/16),
    # regressed +16 px in x with a 32x32 px box
    raw = np.zeros((1, 896, 16), np.float32)
    raw[0, 512, :4] = [16, 0, 32, 32]
    logits = np.full((1, 896, 1), -20.0, np.float32)
    logits[0, 512, 0] = 5.0
    # When decoded
    found = decoder.decode({"regressors": raw, "classificators": logits}, 0.5)
    # Then the face is at centre (1/16 + 1/8, 1/16), 1/4 wide
    assert len(found) == 1
    assert corners(found[0].box) == pytest.approx((0.0625, 0.0, 0.3125, 0.1875), abs=1e-5)


def test_tf_od_api_honours_num_detections_and_class_offset() -> None:
    # Given 3 slots of which the graph says 2 are valid (the third is stale)
    decoder = make_decoder("tf_od_api", DecoderContext(("person", "car"), 300, 300), {})
    outputs = {
        "detection_boxes": np.array(
            [[[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 0.2, 0.2], [0.3, 0.3, 0.4, 0.4]]], np.float32
        ),
        "detection_scores": np.array([[0.9, 0.6, 0.95]], np.float32),
        "detection_classes": np.array([[1.0, 2.0, 1.0]], np.float32),
        "num_detections": np.array([2.0], np.float32),
    }
    # When decoded
    found = decoder.decode(outputs, 0.5)
    # Then boxes come back as x-first, classes shifted past background
    assert [(d.label, round(d.score, 2)) for d in found] == [("person", 0.9), ("car", 0.6)]
    assert corners(found[0].box) == pytest.approx((0.2, 0.1, 0.6, 0.5), abs=1e-5)


def test_unknown_decoder_and_option_are_refused() -> None:
    with pytest.raises(ModelError, match="unknown decoder 'nope'"):
        make_decoder("nope", CTX, {})
    with pytest.raises(ModelError, match=r"unknown options \['iou'\]"):
        make_decoder("yolo", CTX, {"iou": 0.5})


def test_missing_output_is_a_clear_error() -> None:
    decoder = make_decoder("blazeface", DecoderContext(("face",), 128, 128), {})
    with pytest.raises(ModelError, match="'regressors' missing"):
        decoder.decode({}, 0.5)


box_strategy = st.tuples(
    st.floats(0, 0.8), st.floats(0, 0.8), st.floats(0.05, 0.2), st.floats(0.05, 0.2)
).map(lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(box_strategy, st.floats(0.01, 1.0), st.integers(0, 2)), min_size=1, max_size=30))
def test_batched_nms_leaves_no_same_class_overlap(items: list) -> None:
    # Given random boxes with scores and classes
    boxes = np.array([b for b, _, _ in items], np.float64)
    scores = np.array([s for _, s, _ in items])
    classes = np.array([c for _, _, c in items])
    # When suppressed at IoU 0.45
    keep = batched_nms(boxes, scores, classes, 0.45)
    # Then kept boxes of one class overlap at most 0.45, and the best box always survives
    assert int(np.argmax(scores)) in keep
    for i in keep:
        same = [j for j in keep if j != i and classes[j] == classes[i]]
        if same:
            assert iou_one_to_many(boxes[i], boxes[same]).max() <= 0.45 + 1e-9
