"""Checks of framewire workloads against the code: env names, required settings, commands."""

from __future__ import annotations

import contextlib
import io
import itertools
from functools import cache

from deploycheck.envcontract import (
    SettingsEnv,
    direct_env_reads,
    settings_classes,
    settings_env,
)
from deploycheck.workloads import Workload


@cache
def all_settings() -> tuple[SettingsEnv, ...]:
    return tuple(settings_env(cls) for cls in settings_classes())


@cache
def known_env() -> frozenset[str]:
    """Every FW_* name some settings class or a direct ``os.environ`` read consumes."""
    names = {n for s in all_settings() for n in s.names}
    return frozenset(names | direct_env_reads())


def unknown_env(workload: Workload) -> list[str]:
    known = known_env()
    return [
        f"{workload.where}: {name} is read by no framewire settings class"
        for name in sorted(workload.env)
        if name.upper().startswith("FW_") and name.upper() not in known
    ]


def command_package(command: str) -> str:
    """The package whose settings a subcommand reads: framewire.gateway for ``gateway``."""
    from framewire.cli import COMMANDS

    module = COMMANDS[command][0]
    parts = module.split(".")
    return ".".join(parts[:2])


def settings_of(command: str) -> list[SettingsEnv]:
    """Settings classes of the command's package, with the classes they nest."""
    package = command_package(command)
    found = [s for s in all_settings() if s.cls.__module__.startswith(package)]
    nested = {n for s in found for n in s.nested}
    return found + [s for s in all_settings() if s.cls in nested]


def missing_required(workload: Workload) -> list[str]:
    command = workload.command
    if command is None:
        return []
    names = {n.upper() for n in workload.env}
    return [
        f"{workload.where}: {name} is required by {s.cls.__name__} but not set"
        for s in settings_of(command)
        for name in sorted(s.required)
        if name not in names
    ]


def bad_command(workload: Workload) -> list[str]:
    """The container's arguments must parse with the real ``framewire`` command line."""
    from framewire.cli import COMMANDS, build_parser

    argv = list(workload.args)
    if workload.command not in COMMANDS:
        return [f"{workload.where}: {argv} names no framewire command ({sorted(COMMANDS)})"]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser(argv).parse_args(argv)
    except ModuleNotFoundError as exc:
        return [f"{workload.where}: command {workload.command!r} is not implemented ({exc})"]
    except SystemExit:
        message = errors.getvalue().strip().splitlines()[-1:] or ["usage error"]
        return [f"{workload.where}: `framewire {' '.join(argv)}` is refused: {message[0]}"]
    return []


def port_problems(workload: Workload) -> list[str]:
    """Each named container port is one the service is told to listen on (env or --port)."""
    told = {int(v) for k, v in workload.env.items() if k.endswith("_PORT") and v and v.isdigit()}
    args = list(workload.args)
    told |= {int(b) for a, b in itertools.pairwise(args) if a == "--port" and b.isdigit()}
    return [
        f"{workload.where}: port {name}={port} is not set in any FW_*_PORT variable or --port"
        for name, port in sorted(workload.ports.items())
        if port not in told
    ]


def workload_problems(workloads: list[Workload]) -> list[str]:
    """Everything wrong with how these containers run framewire."""
    from framewire.cli import COMMANDS

    problems: list[str] = []
    for workload in workloads:
        problems += list(workload.problems)
        problems += bad_command(workload)
        if workload.command in COMMANDS:
            problems += missing_required(workload)
        problems += unknown_env(workload)
        problems += port_problems(workload)
    return problems
