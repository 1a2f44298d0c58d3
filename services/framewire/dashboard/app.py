"""The dashboard's ASGI app: pipeline API, SSE, frames, metrics and the page.

``create_app(settings)`` is called by ``framewire dashboard``, by ``framewire up`` and by the
tests. Its lifespan starts the one Kafka consumer of the process (``Feed``) and the
summary ticker; ``with_kafka=False`` builds the same app without touching Kafka (writes
then answer 503), for tests of validation, auth and CORS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from framewire.core.errors import FramewireError

if TYPE_CHECKING:
    from framewire.clips.make import ClipReport, ClipRequest, Progress
from framewire.dashboard import metrics
from framewire.dashboard.api_clips import clips_router
from framewire.dashboard.api_events import events_router
from framewire.dashboard.api_frames import frames_router
from framewire.dashboard.api_stats import stats_router
from framewire.dashboard.api_streams import health_router, streams_router
from framewire.dashboard.api_zones import zones_router
from framewire.dashboard.catalog import ModelCatalog
from framewire.dashboard.clipjobs import ClipJobs
from framewire.dashboard.context import Context
from framewire.dashboard.feed import Feed
from framewire.dashboard.framestore import FrameStore
from framewire.dashboard.hub import Hub
from framewire.dashboard.security import Auth, SecurityHeaders, add_cors
from framewire.dashboard.settings import DashboardSettings
from framewire.dashboard.state import PipelineState
from framewire.dashboard.watch import FrameDemand
from framewire.dashboard.writer import SpecWriter

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
# How long start-up waits for the consumer's first assignment before serving anyway.
FEED_READY_WAIT_S = 15.0


def build_context(settings: DashboardSettings) -> Context:
    hub = Hub(settings.client_queue_size, on_drop=lambda ep, n: metrics.CLIENT_DROPS.labels(ep).inc(n))
    state = PipelineState(hub, FrameStore(settings.frames_per_stream), settings.history_s)
    demand = FrameDemand(hub, settings.frames_linger_s) if settings.frames_on_demand else None
    return Context(settings, hub, state, ModelCatalog(), demand)


@contextlib.asynccontextmanager
async def run_pipeline_view(app: FastAPI, with_kafka: bool) -> AsyncIterator[None]:
    """Lifespan: Kafka writer and consumer (when enabled) and the summary ticker."""
    ctx: Context = app.state.ctx
    ctx.loop = asyncio.get_running_loop()
    if with_kafka:
        await start_kafka(ctx)
    ticker = asyncio.create_task(tick_forever(ctx), name="dashboard-summaries")
    clips_dir, own_dir = clip_folder(ctx.settings)
    ctx.clips = ClipJobs(
        lambda request, out, progress: cut_clip(ctx.settings, request, out, progress), clips_dir,
        running=ctx.settings.clips_running, queued=ctx.settings.clips_queued,
        max_bytes=ctx.settings.clips_max_mb * 2**20, ttl_s=ctx.settings.clips_ttl_s,
    )
    try:
        yield
    finally:
        ctx.clips.close()
        if own_dir:
            shutil.rmtree(clips_dir, ignore_errors=True)
        ctx.hub.close()
        ticker.cancel()
        if ctx.feed is not None:
            await asyncio.to_thread(ctx.feed.stop)
        if ctx.writer is not None:
            await asyncio.to_thread(ctx.writer.close)


def cut_clip(settings: DashboardSettings, request: ClipRequest, out: Path, progress: Progress) -> ClipReport:
    """Run by a clip job's worker thread; PyAV is imported on the first clip only."""
    from framewire.clips.make import make_clip

    return make_clip(settings.kafka, request, out, progress)


def clip_folder(settings: DashboardSettings) -> tuple[Path, bool]:
    """The clip folder and whether it is this process's own (a temporary one, removed at exit)."""
    if settings.clips_dir is not None:
        return settings.clips_dir, False
    return Path(tempfile.mkdtemp(prefix="framewire-clips-")), True


async def start_kafka(ctx: Context) -> None:
    settings = ctx.settings
    ctx.writer = SpecWriter(settings.kafka)
    try:
        await asyncio.to_thread(ctx.writer.ensure_fixed_topics)
    except FramewireError as exc:
        log.warning("could not ensure the shared topics (will read them once they exist): %s", exc)
    ctx.feed = Feed(
        settings.kafka, asyncio.get_running_loop(), ctx.state.apply,
        refresh_s=settings.topic_refresh_s, frames_backlog=settings.frames_per_stream,
    )
    if ctx.demand is not None:
        ctx.feed.want_frames(ctx.demand.wanted)
        ctx.demand.listener = ctx.feed.want_frames
    ctx.feed.start()
    if not await asyncio.to_thread(ctx.feed.ready.wait, FEED_READY_WAIT_S):
        log.warning("Kafka consumer not reading after %.0fs; serving anyway", FEED_READY_WAIT_S)


async def tick_forever(ctx: Context) -> None:
    while True:
        await asyncio.sleep(ctx.settings.summary_interval_s)
        ctx.state.tick()
        if ctx.demand is not None:
            ctx.demand.update()  # ends lingers of streams nobody watches any more


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field, without echoing the input (it may hold credentials)."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    message = "; ".join(f"{'.'.join(p['loc'][1:]) or p['loc'][0]}: {p['msg']}" for p in problems)
    return JSONResponse({"detail": problems, "message": message}, status_code=422)


def create_app(settings: DashboardSettings, *, with_kafka: bool = True) -> FastAPI:
    """Build the dashboard app; nothing connects to Kafka until the app starts."""
    auth = Auth(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with run_pipeline_view(app, with_kafka):
            yield

    app = FastAPI(
        title="framewire dashboard and pipeline API",
        version="1",
        lifespan=lifespan,
        docs_url=None if settings.auth_all else "/docs",
        redoc_url=None,
        openapi_url=None if settings.auth_all else "/openapi.json",
    )
    app.state.ctx = build_context(settings)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.include_router(health_router())
    app.include_router(streams_router(auth))
    app.include_router(zones_router(auth))
    app.include_router(events_router(auth))
    app.include_router(frames_router(auth))
    app.include_router(stats_router(auth))
    app.include_router(clips_router(auth))
    add_page_and_metrics(app, auth, settings)
    add_cors(app, settings)
    app.add_middleware(SecurityHeaders)
    return app


def add_page_and_metrics(app: FastAPI, auth: Auth, settings: DashboardSettings) -> None:
    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(auth.read)])
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if settings.auth_all:
        # The schema is still available, to holders of the token.
        @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(auth.read)])
        async def openapi() -> dict[str, Any]:
            return app.openapi()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
