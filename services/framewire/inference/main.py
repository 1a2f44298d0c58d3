"""``framewire inference``: run one worker of the inference consumer group.

Options override the ``FW_INFERENCE_*`` environment. SIGTERM and SIGINT stop the worker
gracefully: in-flight cycles are finished and committed, then it leaves the group. With
``--supervise`` the worker runs as a child forked from a warm supervisor, which starts it
again at once when it is killed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import NoReturn

from prometheus_client import REGISTRY, Gauge

from framewire.core.config import load_settings, options_given
from framewire.core.energy import register_energy_metrics
from framewire.core.errors import FramewireError, MembershipLostError
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
    parser.add_argument(
        "--catch-up-ms", type=int,
        help="--freshness latest: a backlog cleared within this much is processed in order (default 200)",
    )
    parser.add_argument("--http-port", type=int, help="health and metrics port (-1: off)")
    parser.add_argument(
        "--supervise", action="store_true", default=None,
        help="fork the worker from a warm supervisor that restarts it when killed",
    )


def settings_from(args: argparse.Namespace) -> InferenceSettings:
    """Environment settings with the command line's options on top; ConfigError if invalid."""
    names = ("worker_id", "model", "model_server_url", "freshness", "max_age_ms", "stride",
             "catch_up_ms", "http_port", "supervise")
    return load_settings(InferenceSettings, **options_given(args, names))


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if settings.supervise:
        from framewire.inference.supervisor import supervise

        return supervise(lambda restarts: serve(settings, restarts))
    serve(settings, 0)


# Exit status of a worker the group fenced: restart it (the supervisor ends only on 0 and 2).
EXIT_REJOIN = 3


def serve(settings: InferenceSettings, restarts: int) -> NoReturn:
    """Run the worker in this process until it stops, then end the process; called by
    ``run``, or in the child a supervisor forked (``restarts`` times before this one)."""
    stop = stop_on_signals()
    # One process, one worker: its metrics join the default registry, beside the process
    # and energy collectors.
    register_energy_metrics("inference")
    Gauge("framewire_inference_supervisor_restarts",
          "Times the supervisor has started this worker again after it was killed",
          registry=REGISTRY).set(restarts)
    try:
        run_worker(settings, stop, registry=REGISTRY)
    except MembershipLostError as exc:
        # Not final: a new worker process joins the group again (the supervisor forks one
        # at once; unsupervised, the container's restart policy starts one).
        logging.getLogger("framewire").error("%s; exiting for a restart", exc)
        exit_without_finalizing(EXIT_REJOIN)
    except FramewireError as exc:
        logging.getLogger("framewire").error("%s", exc)
        exit_without_finalizing(2)
    exit_without_finalizing(0)


def exit_without_finalizing(code: int) -> NoReturn:
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
