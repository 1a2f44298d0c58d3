"""JPEG frames for the page, addressed by Kafka coordinates (see ``framestore`` for why).

``/frames/<partition>:<offset>`` is what a detection event points at: immutable, cacheable.
``/frames/latest`` serves streams that have frames but no detections (inference not running).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response

from framewire.dashboard.api_streams import checked_id
from framewire.dashboard.context import Context, Ctx
from framewire.dashboard.framestore import StoredFrame
from framewire.dashboard.replay import read_frame
from framewire.dashboard.security import Auth

# How long a request waits for a frame its detection already announced.
FRAME_WAIT_S = 1.0
# How often a request for the newest frame of a stream just starting to be read looks again.
LATEST_POLL_S = 0.05


def jpeg_response(frame: StoredFrame, cache: str) -> Response:
    headers = {
        "Cache-Control": cache,
        "X-Frame-Coordinates": f"{frame.partition}:{frame.offset}",
        "X-Frame-Sequence": str(frame.sequence),
    }
    return Response(frame.jpeg, media_type="image/jpeg", headers=headers)


def parse_coords(coords: str) -> tuple[int, int]:
    partition, sep, offset = coords.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise HTTPException(422, "frame coordinates must look like '<partition>:<offset>'")
    return int(partition), int(offset)


async def from_kafka(ctx: Context, stream_id: str, partition: int, offset: int) -> StoredFrame:
    topic = ctx.settings.kafka.topics.frames(stream_id)
    async with ctx.replays:
        frame = await asyncio.to_thread(read_frame, ctx.settings.kafka, topic, partition, offset)
    if frame is None:
        raise HTTPException(404, f"no frame at {topic}[{partition}]@{offset}")
    return StoredFrame(stream_id, partition, offset, frame.sequence, frame.width, frame.height,
                       frame.capture_time_ns, frame.data)


async def newest(ctx: Context, stream_id: str) -> StoredFrame | None:
    """The newest frame in memory; a stream nobody watched yet has none, so its frames
    are asked for and the first one waited for (briefly)."""
    store = ctx.state.frames
    if ctx.demand is not None:
        ctx.demand.touch(stream_id)
    deadline = time.monotonic() + FRAME_WAIT_S
    while (frame := store.latest(stream_id)) is None and time.monotonic() < deadline:
        await asyncio.sleep(LATEST_POLL_S)
    return frame


def frames_router(auth: Auth) -> APIRouter:
    router = APIRouter(prefix="/api/streams", tags=["frames"], dependencies=[Depends(auth.read)])
    jpeg: dict[int | str, dict[str, Any]] = {
        200: {"content": {"image/jpeg": {}}, "description": "the JPEG as published"}
    }

    @router.get("/{stream_id}/frames/latest", responses=jpeg, response_class=Response,
                summary="The newest frame the dashboard has seen")
    async def latest_frame(stream_id: str, ctx: Ctx) -> Response:
        stream_id = checked_id(stream_id)
        frame = await newest(ctx, stream_id)
        if frame is None:
            raise HTTPException(404, f"no frame of stream {stream_id!r} yet")
        return jpeg_response(frame, "no-store")

    @router.get("/{stream_id}/frames/{coords}", responses=jpeg, response_class=Response,
                summary="The frame at '<partition>:<offset>' of the stream's frames topic")
    async def frame_at(stream_id: str, coords: str, ctx: Ctx) -> Response:
        stream_id = checked_id(stream_id)
        partition, offset = parse_coords(coords)
        if ctx.demand is not None:
            ctx.demand.touch(stream_id)
        store = ctx.state.frames
        oldest = store.oldest_offset(stream_id, partition)
        if oldest is not None and offset < oldest:
            frame = await from_kafka(ctx, stream_id, partition, offset)
        else:
            found = await store.wait_for(stream_id, partition, offset, FRAME_WAIT_S)
            frame = found or await from_kafka(ctx, stream_id, partition, offset)
        return jpeg_response(frame, "private, max-age=3600, immutable")

    return router
