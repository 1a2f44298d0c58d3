"""``framewire inference``: run one worker of the inference consumer group.

Options override the ``FW_INFERENCE_*`` environment. SIGTERM and SIGINT stop the worker
gracefully: in-flight cycles are finished and committed, then it leaves the group.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from prometheus_client import REGISTRY

from framewire.core.config import load_settings, options_given
from framewire.core.energy import register_energy_metrics
from framewire.core.errors import FramewireError
from framewire.core.signals import stop_on_signals
from framewire.inference.service import run_worker
from framewire.inference.settings import FreshnessPolicy, InferenceSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker-id", help="stable worker id (env FW_INFERENCE_WORKER_ID)")
    parser.add_argument("--model", help="zoo model id (env FW_INFERENCE_MODEL)")
    parser.add_argument("--model-server-url", help="model server info URL")
    parser.add_argument(
        "--freshness", choices=[p.value for p in FreshnessPolicy],
        help="what to do with frames older than --max-age-ms",
    )
    parser.add_argument("--max-age-ms", type=int, help="maximum frame age (default 500)")
    parser.add_argument("--stride", type=int, help="k for --freshness stride")
    parser.add_argument("--http-port", type=int, help="health and metrics port (-1: off)")


def settings_from(args: argparse.Namespace) -> InferenceSettings:
    """Environment settings with the command line's options on top; ConfigError if invalid."""
    names = ("worker_id", "model", "model_server_url", "freshness", "max_age_ms", "stride",
             "http_port")
    return load_settings(InferenceSettings, **options_given(args, names))


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    stop = stop_on_signals()
    # One process, one worker: its metrics join the default registry, beside the process
    # and energy collectors.
    register_energy_metrics("inference")
    try:
        run_worker(settings, stop, registry=REGISTRY)
    except FramewireError as exc:
        logging.getLogger("framewire").error("%s", exc)
        exit_without_finalizing(2)
    exit_without_finalizing(0)
    return 0


def exit_without_finalizing(code: int) -> None:
    """End the worker process once its Kafka clients are closed and its logs written.

    Interpreter finalization is skipped on purpose: a worker stopping within a second or
    two of starting (a refused setting, a SIGTERM during start-up) can still have OpenVINO
    compiling its throughput copy on another thread, and tearing the runtime down under it
    aborted the process ("terminate called without an active exception", exit -6) instead
    of exiting with the intended code.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
