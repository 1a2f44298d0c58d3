"""Runs the cnap scenario end to end and writes results.json and report.md (see cnap.py)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from cnap import CnapPlan, CnapRun
from cnap_report import machine_line, render
from machine import fw_environment, machine_facts, software_versions
from progress import Progress
from report import write_json
from tqdm.contrib.logging import logging_redirect_tqdm
from workload import prepare_workload

from framewire.broker.maven import cache_root


def run_cnap(args: argparse.Namespace, plan: CnapPlan, repo: Path) -> int:
    """Called by ``harness.run`` for ``--scenario cnap``; 0 when the run completed."""
    plan.out.mkdir(parents=True, exist_ok=True)
    started, wall0, load0 = time.gmtime(), time.monotonic(), os.getloadavg()[0]
    facts = machine_facts()
    sys.stdout.write(f"framewire bench --scenario cnap: {facts['cpu_model']}, flags "
                     f"{facts['cpu_flags']}, load average {load0:.2f}; output {plan.out}\n")
    workload = prepare_workload(cache_root() / "bench-media", plan.stream_ids(), width=plan.width,
                                height=plan.height, fps=plan.fps, quality=plan.jpeg_quality)
    density = len(plan.density_streams) * (plan.density_seconds + 8)
    steps = len(plan.precisions) * (plan.seconds + 15 + density)
    progress = Progress(steps + 4 * plan.ceiling_seconds * len(plan.precisions),
                        enabled=not args.no_progress)
    run = CnapRun(plan, workload, progress)
    try:
        with logging_redirect_tqdm():
            run.execute()
    finally:
        progress.close()
        results = {
            "command": "framewire bench " + shlex.join(_argv()),
            "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", started),
            "duration_s": time.monotonic() - wall0,
            "load_average": {"start": load0, "end": os.getloadavg()[0]},
            "plan": plan.as_dict(), "machine": facts, "versions": software_versions(repo),
            "environment": fw_environment(), "ceilings": run.ceilings,
            "unavailable": run.unavailable, "phases": run.phases,
        }
        write_json(results, plan.out / "results.json")
        report = render(results)
        (plan.out / "report.md").write_text(report)
    sys.stdout.write(f"\n{machine_line(results)}\n\n{report}\nreport: {plan.out / 'report.md'}\n")
    return 0


def _argv() -> list[str]:
    argv = sys.argv[1:]
    return argv[argv.index("bench") + 1:] if "bench" in argv else argv
