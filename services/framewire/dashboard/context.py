"""The per-app objects every route needs, kept on ``app.state.ctx``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from framewire.dashboard.catalog import ModelCatalog
from framewire.dashboard.clipjobs import ClipJobs
from framewire.dashboard.feed import Feed
from framewire.dashboard.hub import Hub
from framewire.dashboard.settings import DashboardSettings
from framewire.dashboard.state import PipelineState
from framewire.dashboard.watch import FrameDemand
from framewire.dashboard.writer import SpecWriter

# Short-lived Kafka reads (resumes, old frames) allowed at once per process.
MAX_CONCURRENT_REPLAYS = 4


@dataclass
class Context:
    settings: DashboardSettings
    hub: Hub
    state: PipelineState
    catalog: ModelCatalog
    # Which streams' frames are read (None: every stream's, FW_DASHBOARD_FRAMES_ON_DEMAND off).
    demand: FrameDemand | None = None
    feed: Feed | None = None
    # The loop serving the app, set at start-up (other threads hand work to it).
    loop: asyncio.AbstractEventLoop | None = None
    writer: SpecWriter | None = None
    # Clip jobs, from start-up to shutdown.
    clips: ClipJobs | None = None
    replays: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_REPLAYS)
    )


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


# Route parameter type: ``ctx: Ctx`` gives a handler the app's Context.
Ctx = Annotated[Context, Depends(get_context)]
