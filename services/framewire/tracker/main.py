"""``framewire tracker``: follow the objects of every stream's results and publish tracks."""

from __future__ import annotations

import argparse
import logging

from prometheus_client import REGISTRY

from framewire.core.config import load_settings, options_given
from framewire.core.errors import FramewireError
from framewire.core.signals import stop_on_signals
from framewire.tracker.service import run_stage
from framewire.tracker.settings import StartFrom, TrackerSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracker-id", help="stable instance id (env FW_TRACKER_TRACKER_ID)")
    parser.add_argument("--start-from", choices=[s.value for s in StartFrom],
                        help="where a stream never tracked before starts (default latest)")
    parser.add_argument("--http-port", type=int, help="health and metrics port (-1: off)")


def settings_from(args: argparse.Namespace) -> TrackerSettings:
    """Environment settings with the command line's options on top; ConfigError if invalid."""
    names = ("tracker_id", "start_from", "http_port")
    return load_settings(TrackerSettings, **options_given(args, names))


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    stop = stop_on_signals()
    try:
        run_stage(settings, stop, registry=REGISTRY)
    except FramewireError as exc:
        logging.getLogger("framewire").error("%s", exc)
        return 2
    return 0
