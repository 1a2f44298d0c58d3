"""The ``framewire`` command.

Each subcommand lives with the code it runs; this module only maps names to the module that
registers them (imported lazily, so ``framewire kafka`` never imports OpenVINO).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from framewire.core.errors import FramewireError

log = logging.getLogger("framewire")

# name -> (module with ``add_arguments(parser)`` and ``run(args) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("framewire.up", "set up and run the whole pipeline locally with sample streams"),
    "kafka": ("framewire.broker.command", "run a local Apache Kafka broker and Kafka's tools"),
    "gateway": ("framewire.gateway.main", "ingest video sources and publish frames"),
    "inference": ("framewire.inference.main", "detect objects in frames (consumer group)"),
    "aggregator": ("framewire.aggregator.main", "windowed per-stream stats and alerts (faust)"),
    "tracker": ("framewire.tracker.main", "follow objects across frames and publish tracks"),
    "dashboard": ("framewire.dashboard.main", "web dashboard and pipeline API"),
    "models": ("framewire.models.command", "fetch, serve, encrypt and inspect models"),
    "samples": ("framewire.samples", "generate sample media from bundled photos"),
    "replay": ("framewire.replay.command", "re-run a past time range through a model"),
    "compare": ("framewire.replay.compare", "compare two result topics"),
    "tail": ("framewire.replay.tail", "decode a framewire topic to JSON lines"),
    "clip": ("framewire.clips.command", "cut an MP4 clip or a snapshot from Kafka history"),
    "bench": ("framewire.benchmark", "run the end-to-end macro-benchmark"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="framewire", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (env FW_LOG_LEVEL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if a in COMMANDS), None)
    for name, (module_name, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen command's module is imported: start-up stays fast and light.
        if name == wanted:
            module = importlib.import_module(module_name)
            module.add_arguments(sp)
            sp.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    from framewire.core.logs import setup_logging

    setup_logging(args.log_level)
    try:
        return int(args._run(args) or 0)
    except FramewireError as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
