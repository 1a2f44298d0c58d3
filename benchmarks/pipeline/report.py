"""The goals, the JSON results and the Markdown report a person reads.

``evaluate_goals`` and ``write_report`` are called once at the end of a run with the
``results`` dict that ``harness`` also writes verbatim as results.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PIPELINE_SERVICES = ("inference", "gateway", "dashboard", "aggregator")
LATENCY_GOAL_MS = 50.0
THROUGHPUT_GOAL = 0.90
FAIRNESS_GOAL = 0.98
IDLE_CPU_GOAL_PCT = 1.0
# The monolith is one process running one loop; N workers are N processes: only the
# 1-worker figure compares like with like.
THROUGHPUT_LABEL = "pipeline throughput / monolith (worker processes vs one loop)"


def find_phase(phases: list[dict[str, Any]], kind: str, workers: int,
               load: float | None = None) -> dict[str, Any] | None:
    for p in phases:
        if p["kind"] == kind and p["workers"] == workers and (load is None or p["load"] == load):
            return p
    return None


def _p99(phase: dict[str, Any] | None, key: str = "latency_result_ms") -> float | None:
    return None if phase is None else phase[key]["p99"]


def idle_cpu(phase: dict[str, Any] | None) -> float | None:
    """CPU % of the busiest pipeline service while idle (harness and broker excluded)."""
    if phase is None:
        return None
    shares = [v for k, v in phase["cpu_pct"].items() if k in PIPELINE_SERVICES]
    return max(shares) if shares else None


def _goal(name: str, target: str, value: float | None, ok: bool | None, unit: str,
          note: str | None = None) -> dict[str, Any]:
    goal = {"goal": name, "target": target, "value": value, "met": ok, "unit": unit}
    if note:
        goal["note"] = note
    return goal


def evaluate_goals(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The issue's goals, per worker count; ``met`` is None when the phase was not run."""
    phases, plan = results["phases"], results["plan"]
    monolith = results["ceilings"]["monolith_fps"]
    budget = float(plan["max_age_ms"])
    out: dict[str, list[dict[str, Any]]] = {}
    for workers in plan["workers"]:
        capacity = results["capacity_fps"].get(str(workers))
        ratio = capacity / monolith if capacity is not None else None
        half = _p99(find_phase(phases, "load", workers, 0.5))
        over = find_phase(phases, "load", workers, 2.0)
        fair = None if over is None else over["fairness"]
        idle = idle_cpu(find_phase(phases, "idle", workers))
        out[str(workers)] = [
            _goal(THROUGHPUT_LABEL, f">= {THROUGHPUT_GOAL}", ratio,
                  _at_least(ratio, THROUGHPUT_GOAL), "x",
                  None if workers == 1 else f"{workers} processes vs 1 loop: not like for like"),
            _goal("p99 capture->result at 50% load", f"<= {LATENCY_GOAL_MS:.0f} ms", half,
                  _at_most(half, LATENCY_GOAL_MS), "ms"),
            _goal("p99 capture->result at 200% load", f"<= {budget:.0f} ms (freshness budget)",
                  _p99(over), _at_most(_p99(over), budget), "ms"),
            _goal("fairness (Jain) at 200% load", f">= {FAIRNESS_GOAL}", fair,
                  _at_least(fair, FAIRNESS_GOAL), ""),
            _goal("idle CPU of the busiest service", f"< {IDLE_CPU_GOAL_PCT:.0f} % of a core", idle,
                  None if idle is None else idle < IDLE_CPU_GOAL_PCT, "%"),
        ]
    return out


def _at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


def write_json(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{(' ' + unit) if unit else ''}"


def verdict(ok: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[ok]
