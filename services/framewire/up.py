"""``framewire up``: the whole pipeline on one machine, for a first look and for demos.

Starts (or reuses) the local Kafka broker, makes sample clips from bundled photos, fetches
the model zoo, and runs one gateway (registering the samples as streams), one inference
worker, the tracker, the aggregator and the dashboard as child processes. Ctrl-C stops them
all. With ``--duration`` it stops by itself and reports how many results each stream got,
failing when a stream got none: the smoke test of the README's first command.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framewire.broker.local import LocalBroker
from framewire.broker.maven import cache_root
from framewire.core.errors import FramewireError
from framewire.core.signals import stop_on_signals

log = logging.getLogger(__name__)

SERVICES = ("gateway", "inference", "tracker", "aggregator", "dashboard")


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--streams", type=int, default=3, help="sample streams to run (1-4)")
    parser.add_argument("--fps", type=float, default=10.0, help="target fps of each sample stream")
    parser.add_argument("--port", type=int, default=8080, help="dashboard port")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="stop after this many seconds and report results per stream")
    parser.add_argument("--without", action="append", default=[], choices=SERVICES,
                        help="do not start this service (repeatable)")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.streams <= 4:
        raise FramewireError("--streams must be between 1 and 4")
    env = dict(os.environ)
    # A broker given by FW_KAFKA_BOOTSTRAP is used as it is; only without one is the
    # local broker started.
    if not env.get("FW_KAFKA_BOOTSTRAP"):
        env["FW_KAFKA_BOOTSTRAP"] = _start_broker()
    samples = _prepare_samples()[: args.streams]
    _fetch_models()
    streams = {f"sample-{i + 1}": path for i, path in enumerate(samples)}
    logs = cache_root() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = _start_children(args, env, streams, logs)
    stop = stop_on_signals()
    try:
        _announce(args, env, streams, logs, children)
        _supervise(children, stop, args.duration)
    finally:
        _stop_children(children)
    if args.duration:
        return _report(env, streams)
    return 0


def _start_broker() -> str:
    broker = LocalBroker.default()
    seconds = broker.start()
    how = "already running" if seconds == 0 else f"started in {seconds:.1f}s"
    sys.stdout.write(f"Kafka broker {how} at {broker.bootstrap}\n")
    return broker.bootstrap


def _prepare_samples() -> list[Path]:
    from framewire.samples import make_samples

    paths = make_samples(cache_root() / "samples")
    sys.stdout.write(f"sample media in {paths[0].parent}\n")
    return paths


def _fetch_models() -> None:
    proc = subprocess.run([sys.executable, "-m", "framewire.cli", "models", "fetch"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FramewireError(f"fetching the model zoo failed:\n{proc.stderr.strip()[-1500:]}")


def _commands(args: argparse.Namespace, streams: dict[str, Path]) -> dict[str, list[str]]:
    base = [sys.executable, "-m", "framewire.cli"]
    gateway = [*base, "gateway", "--fps", str(args.fps)]
    for stream_id, path in streams.items():
        gateway += ["--stream", f"{stream_id}={'dir://' + str(path) if path.is_dir() else path}"]
    commands = {
        "gateway": gateway,
        "inference": [*base, "inference"],
        "tracker": [*base, "tracker"],
        "aggregator": [*base, "aggregator"],
        "dashboard": [*base, "dashboard", "--port", str(args.port)],
    }
    return {name: cmd for name, cmd in commands.items() if name not in args.without}


def _start_children(
    args: argparse.Namespace, env: dict[str, str], streams: dict[str, Path], logs: Path
) -> list[Child]:
    children = []
    for name, cmd in _commands(args, streams).items():
        log_path = logs / f"{name}.log"
        with open(log_path, "wb") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                       stdin=subprocess.DEVNULL)
        children.append(Child(name, process, log_path))
    return children


def _announce(args: argparse.Namespace, env: dict[str, str], streams: dict[str, Path],
              logs: Path, children: list[Child]) -> None:
    if "dashboard" in args.without:
        return
    url = f"http://127.0.0.1:{args.port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _http_ok(url + "healthz"):
        if any(c.process.poll() is not None for c in children):
            return
        time.sleep(0.5)
    sys.stdout.write(
        f"\nframewire is running: {len(streams)} streams ({', '.join(streams)})\n"
        f"  dashboard  {url}\n  broker     {env['FW_KAFKA_BOOTSTRAP']}\n  logs       {logs}/\n"
        "Press Ctrl-C to stop.\n\n"
    )
    sys.stdout.flush()


def _http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _supervise(children: list[Child], stop: threading.Event, duration: float) -> None:
    """Wait for Ctrl-C, the duration, or a child's death (reported with its log's tail)."""
    deadline = time.monotonic() + duration if duration else None
    while not stop.wait(1.0):
        if deadline is not None and time.monotonic() >= deadline:
            return
        for child in children:
            if child.process.poll() is not None:
                tail = child.log_path.read_text(errors="replace").splitlines()[-20:]
                raise FramewireError(
                    f"{child.name} exited with {child.process.returncode}; last log lines:\n"
                    + "\n".join(tail)
                )


def _stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", child.name)
            child.process.kill()
            child.process.wait()


def _report(env: dict[str, str], streams: dict[str, Path]) -> int:
    """Count results per stream on Kafka; 1 if a stream has none."""
    from framewire.core.config import KafkaSettings
    from framewire.core.history import history_consumer

    settings = KafkaSettings(bootstrap=env["FW_KAFKA_BOOTSTRAP"],
                             topic_prefix=env.get("FW_KAFKA_TOPIC_PREFIX", "fw."))
    consumer = history_consumer(settings)
    counts, tracked = {}, {}
    try:
        for stream_id in streams:
            counts[stream_id] = _count(consumer, settings.topics.results(stream_id))
            tracked[stream_id] = _count(consumer, settings.topics.tracks(stream_id))
    finally:
        consumer.close()
    for stream_id, count in counts.items():
        sys.stdout.write(f"{stream_id}: {count} results on {settings.topics.results(stream_id)}, "
                         f"{tracked[stream_id]} tracked on {settings.topics.tracks(stream_id)}\n")
    return 0 if all(counts.values()) else 1


def _count(consumer: Any, topic: str) -> int:
    from framewire.core.history import UnknownTopicError, read_topic

    try:
        return sum(1 for _ in read_topic(consumer, topic))
    except UnknownTopicError:
        return 0
