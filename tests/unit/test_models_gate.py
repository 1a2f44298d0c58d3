"""The INT8 accuracy gate's logic, and how precision int8 is chosen (no model is run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from framewire.core.agreement import ClassAgreement
from framewire.core.errors import ModelError
from framewire.core.records import Box, Detection
from framewire.inference.settings import InferenceSettings
from framewire.models.engine import EngineOptions, Precision
from framewire.models.gate import QuantizationRefused, check, measure, summary
from framewire.models.loader import load_from_server
from framewire.models.quantized import read_entry
from framewire.models.zoo import get_spec

pytestmark = pytest.mark.unit


def det(label: str, x: float, score: float = 0.9) -> Detection:
    return Detection(0, label, score, Box(x, 0.1, x + 0.2, 0.5))


def test_identical_detections_agree_fully():
    # Given the same detections from both models on three images (one with none)
    frames = [[det("face", 0.1)], [det("face", 0.1), det("face", 0.6)], []]
    # When measured
    figures = measure(frames, frames)
    # Then every detection matches and F1 is 1
    assert (figures.images, figures.matched, figures.f32_detections, figures.int8_detections) == (3, 3, 3, 3)
    assert figures.f1 == 1.0
    assert figures.per_label == {"face": (3, 3, 3)}


def test_missed_extra_shifted_and_relabelled_detections_count_against_agreement():
    # Given f32 as reference and INT8 that
    #   image 0: finds the same box (match)
    #   image 1: misses f32's detection
    #   image 2: finds an extra box f32 lacks, and f32's box shifted too far (IoU 1/3)
    #   image 3: finds f32's box under another label
    f32 = [[det("Person", 0.1)], [det("Person", 0.1)], [det("Person", 0.1)], [det("Cat", 0.1)]]
    int8 = [[det("Person", 0.1)], [], [det("Person", 0.2), det("Person", 0.7)], [det("Dog", 0.1)]]
    # When measured at IoU 0.5
    figures = measure(f32, int8, iou=0.5)
    # Then only image 0 matches: precision 1/4, recall 1/4, F1 = 2 * 1 / (4 + 4)
    assert (figures.matched, figures.f32_detections, figures.int8_detections) == (1, 4, 4)
    assert figures.precision == 0.25 and figures.recall == 0.25
    assert figures.f1 == pytest.approx(0.25)
    assert figures.per_label == {"Person": (3, 3, 1), "Cat": (1, 0, 0), "Dog": (0, 1, 0)}
    # And a looser IoU lets the shifted box in (IoU 1/3 >= 0.3)
    assert measure(f32, int8, iou=0.3).matched == 2


def test_gate_passes_at_the_threshold_and_refuses_below_it():
    # Given 19 of 20 detections matched on both sides: F1 0.95
    f32 = [[det("face", 0.1)] for _ in range(20)]
    int8 = [[det("face", 0.1)] for _ in range(19)] + [[det("face", 0.7)]]
    figures = measure(f32, int8)
    assert figures.f1 == pytest.approx(0.95)
    # When checked at 0.95, it passes; at 0.96 it is refused, naming the figures and the way out
    check(figures, 0.95, "blazeface-short")
    with pytest.raises(QuantizationRefused) as refused:
        check(figures, 0.96, "blazeface-short")
    text = str(refused.value)
    assert "F1 0.950" in text and "0.960" in text and "not stored" in text and "--min-f1" in text
    assert "19 matched of 20 f32 and 20 INT8" in text
    assert isinstance(refused.value, ModelError)


def test_nothing_detected_cannot_be_judged():
    # Given images where neither model finds anything
    figures = measure([[], []], [[], []])
    # Then there is no F1 and even a threshold of 0 refuses
    assert figures.f1 is None
    with pytest.raises(QuantizationRefused, match="cannot be judged"):
        check(figures, 0.0, "ssdlite-person")
    assert "F1 -" in summary(figures)


def test_results_of_different_image_counts_are_a_programming_error():
    with pytest.raises(ValueError, match="2 f32 results but 1 int8"):
        measure([[], []], [[]])


def test_figures_round_trip_into_the_provenance_dict():
    figures = measure([[det("face", 0.1)]], [[det("face", 0.1), det("face", 0.6)]])
    doc = figures.as_dict()
    assert doc["f1"] == pytest.approx(2 / 3)
    assert doc["per_label"] == {"face": {"f32": 1, "int8": 2, "matched": 1}}


def test_class_agreement_f1_is_the_harmonic_mean():
    assert ClassAgreement(count_a=4, count_b=2, matched=2).f1 == pytest.approx(2 / 3)
    assert ClassAgreement().f1 is None


def test_int8_sets_no_openvino_precision_hint_while_f32_does():
    # INT8's float layers run at OpenVINO's default; an explicit f32 pins them
    int8 = EngineOptions.parse(device="CPU", performance_hint="latency", num_requests=None,
                               precision="INT8", cache_dir=None)
    f32 = EngineOptions.parse(device="CPU", performance_hint="latency", num_requests=None,
                              precision="f32", cache_dir=None)
    assert int8.precision is Precision.INT8
    assert "INFERENCE_PRECISION_HINT" not in int8.compile_config()
    assert f32.compile_config()["INFERENCE_PRECISION_HINT"] == "f32"


def test_inference_settings_take_int8_and_refuse_unknown_precisions(monkeypatch):
    monkeypatch.setenv("FW_INFERENCE_PRECISION", "INT8")
    assert InferenceSettings().precision == "int8"
    monkeypatch.setenv("FW_INFERENCE_PRECISION", "int4")
    with pytest.raises(ValidationError, match="int4"):
        InferenceSettings()


def test_int8_without_a_quantized_model_says_what_to_run(tmp_path: Path):
    with pytest.raises(ModelError, match="run `framewire models quantize ssdlite-person`"):
        read_entry(get_spec("ssdlite-person"), tmp_path)


def test_int8_from_a_model_server_is_refused_before_any_request():
    # The URL is never contacted: the refusal comes first
    with pytest.raises(ModelError, match="local model cache"):
        load_from_server("http://127.0.0.1:9/models", "ssdlite-person", precision="int8")


def test_the_inference_service_with_int8_and_no_quantized_model_refuses_to_start(tmp_path: Path):
    # Given FW_INFERENCE_PRECISION=int8 and a model cache without an INT8 entry
    from framewire.inference.modelwatch import load_model

    settings = InferenceSettings(model="ssdlite-person", precision="int8", model_cache_dir=str(tmp_path))
    # Then loading the worker's model fails with the command to run
    with pytest.raises(ModelError, match="run `framewire models quantize ssdlite-person` first"):
        load_model(settings)
