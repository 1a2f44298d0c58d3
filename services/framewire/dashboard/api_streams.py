"""Pipeline API: create, update, list and delete streams; status, models, health.

A write publishes a ``StreamSpec`` to the compacted streams topic (a delete publishes a
tombstone); gateways act on it. Inputs are validated here so a bad request gets a 4xx that
says what to fix, and credentials inside source URIs never appear in a response.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.responses import JSONResponse

from framewire.core.errors import ConfigError, FramewireError, InvalidStreamIdError
from framewire.core.media import check_local_media
from framewire.core.topics import validate_stream_id
from framewire.dashboard import metrics
from framewire.dashboard.context import Context, Ctx
from framewire.dashboard.schemas import StreamCreate, StreamFields, StreamPatch, to_spec
from framewire.dashboard.security import Auth
from framewire.v1.stream_pb2 import StreamSpec

# How recently the consumer must have read topic metadata for the dashboard to be ready.
READY_STALENESS_FACTOR = 3


def checked_id(stream_id: str) -> str:
    """Path parameter check shared by every per-stream route."""
    try:
        return validate_stream_id(stream_id)
    except InvalidStreamIdError as exc:
        raise HTTPException(422, exc.message) from None


def known_stream(ctx: Context, stream_id: str) -> str:
    stream_id = checked_id(stream_id)
    if stream_id not in ctx.state.visible_streams():
        raise HTTPException(404, f"no stream {stream_id!r}")
    return stream_id


def check_media(ctx: Context, source_uri: str) -> None:
    """Refuse a file or folder outside the media roots before it reaches any gateway."""
    try:
        check_local_media(source_uri, ctx.settings.media_roots)
    except ConfigError as exc:
        raise HTTPException(422, exc.message) from None


async def write_spec(ctx: Context, stream_id: str, spec: StreamSpec | None, action: str) -> None:
    if spec is not None:
        check_media(ctx, spec.source_uri)
    if ctx.writer is None:
        raise HTTPException(503, "this dashboard has no Kafka writer")
    try:
        await asyncio.to_thread(ctx.writer.write, stream_id, spec)
    except FramewireError as exc:
        raise HTTPException(503, f"the stream could not be saved: {exc.message}") from None
    metrics.STREAM_WRITES.labels(action).inc()
    ctx.state.remember_spec(stream_id, spec)
    if ctx.feed is not None:
        ctx.feed.request_refresh()


def check_model(ctx: Context, model: str) -> None:
    known = ctx.catalog.model_ids()
    if model and known is not None and model not in known:
        raise HTTPException(
            422, f"unknown model {model!r}; available: {', '.join(sorted(known)) or 'none'}"
        )


def streams_router(auth: Auth) -> APIRouter:
    """Routes under /api; reads need the token only with auth_all, writes whenever one is set."""
    router = APIRouter(prefix="/api", tags=["streams"])
    read, write = [Depends(auth.read)], [Depends(auth.write)]

    @router.get("/streams", dependencies=read, summary="List streams with status")
    async def list_streams(ctx: Ctx) -> dict[str, Any]:
        return {"streams": [ctx.state.stream_json(s) for s in ctx.state.visible_streams()]}

    @router.post("/streams", status_code=201, dependencies=write, summary="Create a stream")
    async def create_stream(
        body: StreamCreate, ctx: Ctx
    ) -> dict[str, Any]:
        if body.stream_id in ctx.state.specs:
            raise HTTPException(409, f"stream {body.stream_id!r} already exists; use PUT or PATCH")
        check_model(ctx, body.model)
        await write_spec(ctx, body.stream_id, to_spec(body.stream_id, body), "create")
        return ctx.state.stream_json(body.stream_id)

    @router.get("/streams/{stream_id}", dependencies=read, summary="One stream")
    async def get_stream(stream_id: str, ctx: Ctx) -> dict[str, Any]:
        return ctx.state.stream_json(known_stream(ctx, stream_id))

    @router.put("/streams/{stream_id}", dependencies=write, summary="Replace a stream's spec")
    async def replace_stream(
        stream_id: str, body: StreamFields, ctx: Ctx
    ) -> dict[str, Any]:
        stream_id = checked_id(stream_id)
        if stream_id not in ctx.state.specs:
            raise HTTPException(404, f"no stream {stream_id!r}; create it with POST /api/streams")
        check_model(ctx, body.model)
        spec = to_spec(stream_id, body)
        # Zones and lines are set through their own route; replacing the rest keeps them.
        spec.zones.extend(ctx.state.specs[stream_id].zones)
        spec.lines.extend(ctx.state.specs[stream_id].lines)
        await write_spec(ctx, stream_id, spec, "update")
        return ctx.state.stream_json(stream_id)

    @router.patch("/streams/{stream_id}", dependencies=write, summary="Change some fields")
    async def patch_stream(
        stream_id: str, body: StreamPatch, ctx: Ctx
    ) -> dict[str, Any]:
        stream_id = checked_id(stream_id)
        current = ctx.state.specs.get(stream_id)
        if current is None:
            raise HTTPException(404, f"no stream {stream_id!r}; create it with POST /api/streams")
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        check_model(ctx, changes.get("model", ""))
        spec = StreamSpec()
        spec.CopyFrom(current)
        for name, value in changes.items():
            setattr(spec, name, value)
        await write_spec(ctx, stream_id, spec, "update")
        return ctx.state.stream_json(stream_id)

    @router.delete("/streams/{stream_id}", status_code=204, dependencies=write,
                   summary="Delete a stream (tombstone)")
    async def delete_stream(stream_id: str, ctx: Ctx) -> Response:
        stream_id = known_stream(ctx, stream_id)
        await write_spec(ctx, stream_id, None, "delete")
        return Response(status_code=204)

    @router.get("/streams/{stream_id}/status", dependencies=read,
                summary="fps in/out, latency percentiles, drops, state and history")
    async def stream_status(stream_id: str, ctx: Ctx) -> dict[str, Any]:
        return ctx.state.stream_json(known_stream(ctx, stream_id), history=True)

    @router.get("/models", dependencies=read, summary="Models the pipeline can run")
    async def list_models(ctx: Ctx) -> dict[str, Any]:
        return await asyncio.to_thread(ctx.catalog.listing)

    return router


def health_router() -> APIRouter:
    """Liveness and readiness probes; open even with auth_all (they reveal nothing)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is serving")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Kafka is reachable and the consumer is reading")
    async def readyz(ctx: Ctx) -> JSONResponse:
        feed = ctx.feed
        limit = READY_STALENESS_FACTOR * ctx.settings.topic_refresh_s + 5
        problems = []
        if feed is None or not feed.ready.is_set():
            problems.append("the Kafka consumer has not started reading yet")
        elif time.monotonic() - feed.last_metadata_ok > limit:
            problems.append(f"no answer from Kafka at {ctx.settings.kafka.bootstrap} for {limit:.0f}s")
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready", "streams": len(ctx.state.visible_streams())})

    return router
