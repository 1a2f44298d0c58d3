"""Services as real processes for the reliability suite: start, signal, measure, read logs.

Every service is started the way an operator starts it (``framewire <service>``) with its
settings in the environment only, its stderr captured to a file for the secret grep.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from framewire.core.config import KafkaSettings

# Environment variables a test must not inherit from the developer's shell.
_INHERITED_PREFIXES = ("FW_",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kafka_env(kafka: KafkaSettings) -> dict[str, str]:
    """FW_KAFKA_* for a plaintext test broker and the test's own topic prefix."""
    return {"FW_KAFKA_BOOTSTRAP": kafka.bootstrap, "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix}


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while not (ok := predicate()) and time.monotonic() < deadline:
        time.sleep(step_s)
    return ok


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Service:
    """One ``framewire <command>`` process; stderr goes to ``log_path``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.args, self.log_path = name, args, log_path
        base = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
        self.env = {**base, "FW_LOG_LEVEL": "INFO", **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "framewire.cli", *self.args], env=self.env,
                stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_mib(self) -> float:
        return rss_mib(self.pid) if self.alive() else 0.0

    def kill(self) -> None:
        """SIGKILL: no chance to flush, commit or leave the group."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not stop in time. Returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)

    def wait(self, timeout_s: float) -> int | None:
        """The exit code once it exits by itself within ``timeout_s``, else None."""
        assert self.process is not None
        try:
            return int(self.process.wait(timeout_s))
        except subprocess.TimeoutExpired:
            return None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_digest(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the log without client-library connection chatter
        (librdkafka's ``%N|`` lines, aiokafka's), for a failure message."""
        kept = [line for line in self.log_text().splitlines()
                if not line.startswith("%") and " aiokafka" not in line]
        code = None if self.process is None else self.process.poll()
        head = f"  {self.name}: " + ("running" if code is None else f"EXITED with status {code}")
        return "\n".join([head, *(f"  {self.name}| {line[:300]}" for line in kept[-lines:])])

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.stop()
