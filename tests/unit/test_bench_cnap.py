"""The cnap benchmark's plan and report logic on given figures (no broker, no model)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from framewire.core.errors import ConfigError

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "pipeline"
if str(HARNESS) not in sys.path:
    sys.path.insert(0, str(HARNESS))

import cnap  # noqa: E402
import cnap_report  # noqa: E402
import plan  # noqa: E402

pytestmark = pytest.mark.unit


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    plan.add_plan_arguments(parser)
    return parser.parse_args(["--scenario", "cnap", *argv])


def test_the_cnap_defaults_are_the_scenario(tmp_path: Path) -> None:
    p = plan.cnap_plan_from_args(parse(), tmp_path)
    assert (p.streams, p.fps, p.width, p.height) == (4, 25.0, 640, 480)
    assert p.model == "ssdlite-person" and p.precisions == ("f32", "int8")
    assert p.density_model == "ssd-mobilenet-v2-oidv4" and p.density_fps == 15.0
    assert p.density_streams[0] == 2 and p.own_broker
    assert len(p.stream_ids()) == max(p.streams, *p.density_streams)


def test_no_density_sweep_is_a_plan_too(tmp_path: Path) -> None:
    # Given --density-streams "" (the documented way to skip the sweep)
    p = plan.cnap_plan_from_args(parse("--density-streams", ""), tmp_path)
    # When its streams are named; then only the cnap phase's streams exist
    assert p.density_streams == () or list(p.density_streams) == []
    assert p.stream_ids() == [f"cnap-{i}" for i in range(p.streams)]


def test_a_worker_setting_must_be_an_fw_variable(tmp_path: Path) -> None:
    p = plan.cnap_plan_from_args(parse("--worker-env", "FW_INFERENCE_COMMIT_INTERVAL_MS=0"), tmp_path)
    assert p.worker_env == {"FW_INFERENCE_COMMIT_INTERVAL_MS": "0"}
    with pytest.raises(ConfigError, match="FW_NAME=VALUE"):
        plan.cnap_plan_from_args(parse("--worker-env", "PATH=/tmp"), tmp_path)


def test_worker_counters_are_read_from_the_metrics_text() -> None:
    text = "\n".join([
        "# HELP framewire_inference_transactions_total Transactions by outcome",
        'framewire_inference_transactions_total{outcome="committed"} 120.0',
        'framewire_inference_drops_total{stream="a",reason="stale"} 7.0',
        'framewire_inference_drops_total{stream="b",reason="stale"} 3.0',
        'framewire_inference_drops_total{stream="b",reason="stride"} 5.0',
        'framewire_inference_engine_mode{mode="throughput"} 1.0',
    ])
    counters = cnap._parse_counters(text)
    assert counters["transactions"] == 120.0 and counters["stale_drops"] == 10.0
    assert counters["mode_throughput"] == 1.0


def phase(precision: str, fps: float, p99: float, delivered: float, plumbing: float) -> dict:
    return {"kind": "cnap", "model": "ssdlite-person", "precision": precision,
            "throughput_fps": fps, "offered_fps": 100.0, "delivered": delivered,
            "latency_result_ms": {"p50": p99 / 2, "p99": p99}, "max_age_ms": p99 + 10,
            "fairness": 0.995, "cpu_ms_per_result_total": 20.0, "measure_s": 20.0,
            "cpu_ms_per_result": {"inference": 10.0}, "cpu_pct": {"inference": 90.0},
            "plumbing_over_inference": plumbing, "worker": {"transactions": 400.0}}


def results(*phases: dict) -> dict:
    return {"phases": list(phases), "plan": {"max_age_ms": 500, "density_fps": 15.0},
            "ceilings": [{"model_id": "ssdlite-person", "asked": "int8", "precision": "int8",
                          "requests": 2, "raw_fps": 120.0, "loop_fps": 90.0}]}


def test_goals_are_judged_on_the_int8_run() -> None:
    r = results(phase("f32", 40.0, 400.0, 0.4, 0.9), phase("int8", 80.0, 120.0, 0.8, 0.35))
    text = cnap_report.goals(r)
    assert "cnap INT8 results/s >= 75: met" in text
    assert "cnap INT8 p99 <= 150 ms: met" in text
    assert "(f32): 0.90 (**missed**)" in text and "(int8): 0.35 (met)" in text


def test_a_missing_int8_run_is_reported_not_judged() -> None:
    assert "not measured" in cnap_report.goals(results(phase("f32", 40.0, 400.0, 0.4, 0.9)))


def test_the_capacity_ratio_uses_the_same_model_and_precision() -> None:
    r = results(phase("int8", 81.0, 120.0, 0.81, 0.3))
    table = cnap_report.cnap_table(r)
    assert "| results/s ÷ async loop | 0.90 |" in table


def test_density_reports_the_most_streams_within_goal() -> None:
    steps = [{"kind": "density", "model": "m", "precision": "int8", "streams": n,
              "within_goal": ok} for n, ok in ((2, True), (4, True), (6, False))]
    assert cnap_report.density_reached({"phases": steps}) == {"m int8": 4}
