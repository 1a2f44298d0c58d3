"""Docker, compose and HTTP helpers of the e2e tests (a real engine, no mocks)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from deploycheck.paths import COMPOSE_FILE, REPO

T = TypeVar("T")


def ensure_engine() -> None:
    """Install docker.io and start dockerd if needed (scripts/start_docker.sh)."""
    subprocess.run(["bash", str(REPO / "scripts" / "start_docker.sh")], check=True, timeout=600)


def build_images() -> dict[str, str]:
    """Every image, reused when built from the same inputs (scripts/build_images.py)."""
    sys.path.insert(0, str(REPO / "scripts"))
    import build_images as builder

    return builder.build_all()


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:6])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, every_s: float = 1.0) -> T:
    """Call ``probe`` until it returns something truthy; fail naming ``what`` after the bound."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # the service is not there yet; keep the reason for the failure
            last_error = exc
        time.sleep(every_s)
    raise AssertionError(f"{what} not within {timeout_s:.0f}s (last error: {last_error})")


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def http_json(url: str, method: str = "GET", body: Any = None, timeout: float = 10,
              headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read() or b"null")


def sse_events(url: str, timeout_s: float) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a Server-Sent Events stream until ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    with urllib.request.urlopen(url, timeout=timeout_s) as reply:
        event, data = "message", []
        for raw in reply:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                text = "\n".join(data)
                try:
                    yield event, json.loads(text)
                except ValueError:
                    yield event, text
                event, data = "message", []
            if time.monotonic() > deadline:
                return


def container_ip(container: str) -> str:
    out = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", container)
    return out.stdout.split()[0]


def logs(container: str, tail: int = 60) -> str:
    proc = docker("logs", "--tail", str(tail), container, check=False)
    return proc.stdout + proc.stderr


class Compose:
    """``docker compose`` on compose/compose.yaml as one project, with its own host ports."""

    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project = project
        self.env = env

    def __call__(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              env={**os.environ, **self.env})
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd[3:])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{self.diagnosis()}"
            )
        return proc

    def containers(self, service: str) -> list[str]:
        out = self("ps", "-q", service, check=False).stdout.split()
        return sorted(out)

    def diagnosis(self) -> str:
        """State and the last log lines of every container, for a failure message."""
        label = f"label=com.docker.compose.project={self.project}"
        ps = subprocess.run(["docker", "ps", "-a", "--filter", label, "--format", "{{.Names}} {{.Status}}"],
                            capture_output=True, text=True, check=False)
        parts = [ps.stdout]
        for line in ps.stdout.splitlines():
            name = line.split()[0]
            if "healthy" not in line or "unhealthy" in line:
                parts.append(f"--- {name}\n{logs(name, 25)}")
        return "\n".join(parts)


def docker_available() -> bool:
    return shutil.which("docker") is not None


def compose_file() -> Path:
    return COMPOSE_FILE
