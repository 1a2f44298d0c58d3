"""Running the dashboard app under uvicorn: in the foreground or on a background thread.

``serve`` is what ``framewire dashboard`` runs. ``DashboardServer`` runs it on a thread and
is used by ``framewire up`` (next to the other services), by the tests and the benchmark.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time

import uvicorn
from fastapi import FastAPI

from framewire.core.errors import ConfigError
from framewire.dashboard.app import create_app
from framewire.dashboard.context import Context
from framewire.dashboard.settings import DashboardSettings

log = logging.getLogger(__name__)

# Open connections get this long to finish when the server stops (SSE streams end at once).
GRACEFUL_SHUTDOWN_S = 3


def uvicorn_config(app: FastAPI, settings: DashboardSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, lifespan="on",
    )


def bound_url(server: uvicorn.Server, host: str) -> str:
    port = server.servers[0].sockets[0].getsockname()[1] if server.servers else 0
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}/"


def serve(settings: DashboardSettings) -> None:
    """Run until interrupted; prints the page's URL once it is listening."""
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            sys.stdout.write(f"framewire dashboard: {bound_url(server, settings.host)}\n")
            sys.stdout.flush()
        await task

    asyncio.run(main())
    if not server.started:
        raise ConfigError(f"the dashboard could not listen on {settings.host}:{settings.port}")


class DashboardServer:
    """The dashboard on a background thread: ``start()`` returns its URL, ``stop()`` ends it."""

    def __init__(self, settings: DashboardSettings, *, with_kafka: bool = True) -> None:
        self.settings = settings
        self.app = create_app(settings, with_kafka=with_kafka)
        self._server = uvicorn.Server(uvicorn_config(self.app, settings))
        self._thread = threading.Thread(target=self._server.run, name="dashboard", daemon=True)
        self.url = ""

    @property
    def context(self) -> Context:
        ctx: Context = self.app.state.ctx
        return ctx

    def start(self, timeout_s: float = 30.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(
                    f"the dashboard did not start on {self.settings.host}:{self.settings.port}"
                )
            time.sleep(0.05)
        self.url = bound_url(self._server, self.settings.host)
        log.info("dashboard on %s", self.url)
        return self.url

    def stop(self, timeout_s: float = 15.0) -> None:
        """End open event streams first (else uvicorn waits for them), then the server."""
        loop = self.context.loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self.context.hub.close)
        self._server.should_exit = True
        self._thread.join(timeout_s)

