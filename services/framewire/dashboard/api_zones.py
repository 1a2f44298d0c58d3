"""Zones and counting lines of a stream: read and replace them as one set.

    GET /api/streams/{id}/zones   {"zones": [...], "lines": [...]}
    PUT /api/streams/{id}/zones   the same shape; validated, then written into the stream's
                                  spec on the registry topic (PUT and PATCH of the stream keep
                                  them)
    GET /api/streams/{id}/tracking  the last tracks (with trails), recent zone and line events
                                  (newest first) and the counters per zone or line

Validation is ``core.zones``': a self-intersecting polygon, a point outside [0, 1], too many
vertices, zones or lines, duplicate ids or an unknown key get a 422 that names the item.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from framewire.core.errors import ConfigError
from framewire.core.zones import (
    MAX_LINES,
    MAX_ZONES,
    check_distinct_ids,
    parse_lines,
    parse_zones,
)
from framewire.core.zonewire import geometry_json, set_geometry
from framewire.dashboard.api_streams import known_stream, write_spec
from framewire.dashboard.context import Context, Ctx
from framewire.dashboard.security import Auth
from framewire.v1.stream_pb2 import StreamSpec


class Geometry(BaseModel):
    """A stream's zones and lines; each item is checked by ``core.zones``."""

    model_config = ConfigDict(extra="forbid")
    zones: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_ZONES,
                                        description='[{"id", "polygon": [[x, y], ...], "dwell_s"?}]')
    lines: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_LINES,
                                        description='[{"id", "a": [x, y], "b": [x, y], "direction"?}]')


def zones_router(auth: Auth) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["zones"])
    read, write = [Depends(auth.read)], [Depends(auth.write)]

    @router.get("/streams/{stream_id}/zones", dependencies=read, summary="A stream's zones and lines")
    async def get_zones(stream_id: str, ctx: Ctx) -> dict[str, Any]:
        return geometry_json(_spec(ctx, stream_id))

    @router.put("/streams/{stream_id}/zones", dependencies=write,
                summary="Replace a stream's zones and lines")
    async def put_zones(stream_id: str, body: Geometry, ctx: Ctx) -> dict[str, Any]:
        current = _spec(ctx, stream_id)
        try:
            zones = parse_zones(body.zones, stream_id=current.stream_id)
            lines = parse_lines(body.lines, stream_id=current.stream_id)
            check_distinct_ids(zones, lines, stream_id=current.stream_id)
        except ConfigError as exc:
            raise HTTPException(422, exc.message) from None
        spec = StreamSpec()
        spec.CopyFrom(current)
        set_geometry(spec, zones, lines)
        await write_spec(ctx, current.stream_id, spec, "zones")
        return geometry_json(spec)

    @router.get("/streams/{stream_id}/tracking", dependencies=read,
                summary="A stream's last tracks, recent zone and line events, and counters")
    async def get_tracking(stream_id: str, ctx: Ctx) -> dict[str, Any]:
        return ctx.state.tracking.for_stream(known_stream(ctx, stream_id))

    return router


def _spec(ctx: Context, stream_id: str) -> StreamSpec:
    stream_id = known_stream(ctx, stream_id)
    spec = ctx.state.specs.get(stream_id)
    if spec is None:  # seen on Kafka but not in the registry: nothing to attach zones to
        raise HTTPException(404, f"stream {stream_id!r} is not in the stream registry")
    return spec
