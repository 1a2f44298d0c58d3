"""``framewire bench``: the end-to-end macro-benchmark.

The harness is not part of the installed package: it lives in the repository's
``benchmarks/pipeline/`` folder, found next to the package's source. This module only
locates it, lets it declare its options and runs it; from an installation that is not a
source checkout it explains what is missing instead.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path
from types import ModuleType

import framewire
from framewire.core.errors import ConfigError

HARNESS = Path("pipeline") / "harness.py"


def benchmarks_dir() -> Path:
    """``<repo>/benchmarks`` for a source checkout (``services/framewire/__init__.py``)."""
    return Path(framewire.__file__).resolve().parents[2] / "benchmarks"


def load_harness(bench_dir: Path) -> ModuleType:
    """Import the harness from ``bench_dir``; ConfigError when it is not there."""
    script = bench_dir / HARNESS
    if not script.is_file():
        raise ConfigError(
            f"framewire bench needs the benchmark harness at {script}, which does not exist: "
            f"framewire is installed from {Path(framewire.__file__).resolve().parent}, not from a "
            "source checkout. Clone the framewire repository, `pip install -e .` in it and run "
            "`framewire bench` again (or run `python benchmarks/pipeline/harness.py` there)."
        )
    folder = str(script.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the harness's modules import each other by name
    return importlib.import_module(script.stem)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        harness = load_harness(benchmarks_dir())
    except ConfigError:
        # Take every word, options included, as a positional so that ``run`` gets to explain
        # what is missing instead of argparse rejecting options it was never told about.
        parser.prefix_chars = "\0"
        parser.add_argument("harness_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        return
    harness.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    harness = load_harness(benchmarks_dir())
    interrupt_on_sigterm()
    return int(harness.run(args))


def interrupt_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so the run stops the broker and services it
    started (a killed run left its private broker running)."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
