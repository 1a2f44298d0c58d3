"""Starting and stopping the pipeline's services as child processes, as ``framewire up`` does.

Every service runs as ``python -m framewire.cli <service>`` with the run's broker and topic
prefix in its environment, logs to its own file, and listens on free ports on 127.0.0.1.
A service that dies or does not become ready fails the run with the tail of its log.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from framewire.core.errors import FramewireError

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    name: str  # unique, e.g. "inference-2"
    group: str  # what the report sums over, e.g. "inference"
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None
    started: float = field(default_factory=time.monotonic)

    def log_tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Launcher:
    """Owns the child services of one run; ``stop_all`` is always called at the end."""

    def __init__(self, bootstrap: str, topic_prefix: str, logs: Path) -> None:
        self._env = {**os.environ, "FW_KAFKA_BOOTSTRAP": bootstrap,
                     "FW_KAFKA_TOPIC_PREFIX": topic_prefix}
        self._logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.services: dict[str, Service] = {}

    def start(self, name: str, group: str, args: list[str], env: dict[str, str],
              port: int | None = None) -> Service:
        log_path = self._logs / f"{name}.log"
        command = [sys.executable, "-m", "framewire.cli", group, *args]
        with log_path.open("ab") as sink:
            process = subprocess.Popen(command, env={**self._env, **env}, stdout=sink,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        service = Service(name, group, process, log_path, port)
        self.services[name] = service
        log.info("started %s (pid %d)", name, process.pid)
        return service

    def wait_http(self, service: Service, path: str, timeout_s: float = 90.0) -> None:
        """Block until ``GET http://127.0.0.1:<port><path>`` answers 200."""
        url = f"http://127.0.0.1:{service.port}{path}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            if _http_ok(url):
                log.info("%s ready after %.1fs", service.name, time.monotonic() - service.started)
                return
            time.sleep(0.3)
        raise FramewireError(f"{service.name} was not ready at {url} within {timeout_s:.0f}s; "
                             f"last log lines:\n{service.log_tail()}")

    def check_alive(self) -> None:
        """Raise with the log's tail if a service exited on its own."""
        for service in self.services.values():
            code = service.process.poll()
            if code is not None:
                raise FramewireError(f"{service.name} exited with {code}; last log lines:\n"
                                     f"{service.log_tail()}")

    def pids(self) -> dict[str, list[int]]:
        """Running services' pids by group, for the resource sampler."""
        groups: dict[str, list[int]] = {}
        for service in list(self.services.values()):
            if service.process.poll() is None:
                groups.setdefault(service.group, []).append(service.process.pid)
        return groups

    def stop(self, names: list[str]) -> None:
        """SIGTERM (a graceful stop: workers commit in-flight work), then wait; kill if stuck."""
        chosen = [self.services.pop(n) for n in names if n in self.services]
        for service in chosen:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for service in chosen:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0fs; killing it", service.name, STOP_TIMEOUT_S)
                service.process.kill()
                service.process.wait()

    def stop_group(self, group: str) -> None:
        self.stop([n for n, s in self.services.items() if s.group == group])

    def stop_all(self) -> None:
        self.stop(list(self.services))


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
