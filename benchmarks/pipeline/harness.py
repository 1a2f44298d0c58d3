"""The end-to-end macro-benchmark: ``framewire bench`` (or ``python benchmarks/pipeline/harness.py``).

Runs the whole pipeline on the local broker with N generated streams, measures the two
reference ceilings and the pipeline side by side in one run, sweeps offered load and the
number of inference workers, and writes results.json, report.md and PNG plots into the
output folder. ``--short`` is CI's mode (seconds); the default is the full mode.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script: the sibling modules import each other
    sys.path.insert(0, str(HERE))

from machine import fw_environment, machine_facts, software_versions  # noqa: E402
from plan import BenchPlan, add_plan_arguments, cnap_plan_from_args, plan_from_args  # noqa: E402
from plots import write_plots  # noqa: E402
from progress import Progress  # noqa: E402
from report import evaluate_goals, write_json  # noqa: E402
from report_md import render, run_line, summary_table  # noqa: E402
from runner import BenchRun  # noqa: E402
from tqdm.contrib.logging import logging_redirect_tqdm  # noqa: E402
from workload import prepare_workload  # noqa: E402

from framewire.broker.maven import cache_root  # noqa: E402

log = logging.getLogger(__name__)

REPO = HERE.parents[1]
RUNS = HERE / "runs"
# Routine INFO lines of these would scroll the progress bar away.
CHATTY = ("httpx", "framewire.core.admin", "framewire.models", "launch")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Called by ``framewire bench`` (through ``framewire.benchmark``) to declare its options."""
    add_plan_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark once; 0 when it completed (goals are reported, not enforced)."""
    if not (getattr(args, "log_level", None) or os.environ.get("FW_LOG_LEVEL")):
        for name in CHATTY:
            logging.getLogger(name).setLevel(logging.WARNING)
    if getattr(args, "scenario", "sweep") == "cnap":
        from cnap_run import run_cnap

        return run_cnap(args, cnap_plan_from_args(args, RUNS), REPO)
    plan = plan_from_args(args, RUNS)
    plan.out.mkdir(parents=True, exist_ok=True)
    started, wall0, load0 = time.gmtime(), time.monotonic(), os.getloadavg()[0]
    sys.stdout.write(f"framewire bench ({plan.mode.value}): {plan.streams} streams, "
                     f"{plan.width}x{plan.height}, topic prefix {plan.topic_prefix}, output {plan.out}\n")
    workload = prepare_workload(cache_root() / "bench-media", plan.stream_ids(), width=plan.width,
                                height=plan.height, fps=plan.fps, quality=plan.jpeg_quality)
    progress = Progress(plan.estimated_seconds(), enabled=not args.no_progress)
    try:
        with logging_redirect_tqdm():  # log lines above the bar, not through it
            bench = BenchRun(plan, workload, progress)
            ceilings, phases = bench.execute()
    finally:
        progress.close()
    results = assemble(plan, workload.mean_jpeg_bytes, ceilings, phases, started, wall0, load0)
    results["capacity_fps"] = {str(p["workers"]): p["throughput_fps"] for p in phases
                               if p["kind"] == "capacity"}
    results["observers"] = bench.observer_stats
    results["goals"] = evaluate_goals(results)
    write_json(results, plan.out / "results.json")
    plots = write_plots(results, plan.out)
    (plan.out / "report.md").write_text(render(results, plots))
    sys.stdout.write(f"\n{run_line(results)}\n\n{summary_table(results)}\n\n"
                     f"report: {plan.out / 'report.md'}\n")
    return 0


def assemble(plan: BenchPlan, mean_jpeg: float, ceilings: dict[str, Any],
             phases: list[dict[str, Any]], started: time.struct_time, wall0: float,
             load0: float) -> dict[str, Any]:
    return {
        "command": "framewire bench " + shlex.join(_bench_argv()),
        "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", started),
        "duration_s": time.monotonic() - wall0,
        "load_average": {"start": load0, "end": os.getloadavg()[0]},
        "plan": plan.as_dict(),
        "machine": machine_facts(),
        "versions": software_versions(REPO),
        "environment": fw_environment(),
        "workload": {"mean_jpeg_bytes": mean_jpeg},
        "ceilings": ceilings,
        "phases": phases,
    }


def _bench_argv() -> list[str]:
    """This run's options as typed after ``bench`` (or after the script's name)."""
    argv = sys.argv[1:]
    return argv[argv.index("bench") + 1:] if "bench" in argv else argv


def main() -> int:
    from framewire.cli import main as cli_main

    return cli_main(["bench", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
