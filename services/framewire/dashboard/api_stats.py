"""Aggregator window statistics over HTTP: the newest tumbling and hopping window per stream.

The same windows reach the page in the ``snapshot`` (each stream's ``windows``) and as
``window_stats`` events; these routes serve scripts and anything that polls.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from framewire.dashboard.api_streams import checked_id
from framewire.dashboard.context import Ctx
from framewire.dashboard.security import Auth
from framewire.dashboard.windowstats import AllWindows, StreamWindows


def stats_router(auth: Auth) -> APIRouter:
    """Routes under /api; need the token only with auth_all (they are reads)."""
    router = APIRouter(prefix="/api", tags=["stats"], dependencies=[Depends(auth.read)])

    @router.get(
        "/stats",
        response_model=AllWindows,
        summary="Newest aggregator windows of every stream",
    )
    async def all_stats(ctx: Ctx) -> AllWindows:
        board = ctx.state.windows
        return AllWindows(streams={s: board.windows_of(s) for s in board.streams()})

    @router.get(
        "/streams/{stream_id}/stats",
        response_model=StreamWindows,
        summary="Newest tumbling (10 s) and hopping (1 min) aggregator windows of a stream",
        description="fps, detections per class, capture-to-result latency percentiles and "
        "drops by reason, as the aggregator published them (docs/stats-format.md); a kind "
        "is null until its first window closed. 404 for a stream the dashboard does not know.",
    )
    async def stream_stats(stream_id: str, ctx: Ctx) -> StreamWindows:
        stream_id = checked_id(stream_id)
        state = ctx.state
        if stream_id not in state.windows and stream_id not in state.visible_streams():
            raise HTTPException(404, f"no stream {stream_id!r}")
        return state.windows.windows_of(stream_id)

    return router
