"""Server-sent events: every stream's summary, and one stream's detections with resume.

``GET /api/events`` starts with a ``snapshot`` of every stream, then streams results of all
streams, status changes and once-a-second summaries. Its state is rebuilt by the snapshot
on every (re)connect, so it does not replay. ``GET /api/streams/{id}/events`` carries that
stream's results with ``id: <partition>:<offset>`` of its results topic; reconnecting with
``Last-Event-ID`` replays exactly the results after it from Kafka, then joins the live feed
with no gap and no duplicate (see ``resume_then_live``). Both send heartbeats, end when the
client goes away, and read from the client's own bounded queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, HTTPException
from sse_starlette import EventSourceResponse

from framewire.core.errors import FramewireError
from framewire.dashboard import metrics
from framewire.dashboard.api_streams import checked_id
from framewire.dashboard.context import Context, Ctx
from framewire.dashboard.hub import ALL_STREAMS, ClientQueue, Event
from framewire.dashboard.replay import read_results
from framewire.dashboard.security import Auth
from framewire.dashboard.wire import result_json


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """``"<partition>:<offset>"`` -> (partition, offset); None for no header; 400 if malformed."""
    if value is None or value == "":
        return None
    partition, sep, offset = value.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise HTTPException(400, "Last-Event-ID must look like '<partition>:<offset>'")
    return int(partition), int(offset)


async def live(ctx: Context, queue: ClientQueue, after: int = -1) -> AsyncIterator[bytes]:
    """The client's queue as SSE bytes; skips offsets <= ``after`` and reports lost events."""
    while (event := await queue.get()) is not None:
        lost = queue.take_dropped()
        if lost:
            yield Event.make("gap", {"reason": "slow_client", "lost_events": lost}).wire
        if event.offset is not None and event.offset <= after and event.kind == "result":
            continue
        if event.kafka_time_s is not None:
            metrics.KAFKA_TO_SSE.observe(max(0.0, time.time() - event.kafka_time_s))
        yield event.wire


async def resume_then_live(
    ctx: Context, queue: ClientQueue, stream_id: str, last: tuple[int, int] | None
) -> AsyncIterator[bytes]:
    """Replay results after ``last`` up to what the live feed had published, then go live.

    The queue is subscribed before the live position ``upto`` is read, so every result
    after ``upto`` reaches the queue and every one up to it is replayed; live events at or
    below ``upto`` are skipped. Hence no gap and no duplicate.
    """
    topic = ctx.settings.kafka.topics.results(stream_id)
    yield Event.make("hello", ctx.state.stream_json(stream_id, history=True)).wire
    if last is None:
        async for chunk in live(ctx, queue):
            yield chunk
        return
    partition, after = last
    upto = ctx.state.position(topic, partition)
    if upto is not None and upto > after:
        first = max(after + 1, upto - ctx.settings.resume_max_events + 1)
        async for chunk in replay(ctx, topic, partition, after, first, upto):
            yield chunk
        after = upto
    metrics.RESUMES.labels("ok").inc()
    async for chunk in live(ctx, queue, after):
        yield chunk


async def replay(
    ctx: Context, topic: str, partition: int, after: int, first: int, upto: int
) -> AsyncIterator[bytes]:
    async with ctx.replays:
        try:
            found = await asyncio.to_thread(
                read_results, ctx.settings.kafka, topic, partition, first, upto
            )
        except FramewireError as exc:
            metrics.RESUMES.labels("failed").inc()
            yield Event.make("gap", {"reason": "replay_failed", "detail": exc.message}).wire
            return
    start = max(first, found.log_start)
    if start > after + 1:
        gap = {"reason": "not_retained", "lost_events": start - after - 1}
        yield Event.make("gap", gap).wire
    for offset, result in found.records:
        payload = result_json(result, topic, partition, offset)
        yield Event.make("result", payload, event_id=f"{partition}:{offset}", offset=offset).wire


def events_router(auth: Auth) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["events"], dependencies=[Depends(auth.read)])

    def respond(ctx: Context, body: AsyncIterator[bytes]) -> EventSourceResponse:
        return EventSourceResponse(
            body, ping=ctx.settings.heartbeat_s, send_timeout=ctx.settings.send_timeout_s
        )

    @router.get(
        "/events",
        summary="All streams: snapshot, results, status and summaries (SSE)",
        response_class=EventSourceResponse,
    )
    async def all_events(ctx: Ctx) -> EventSourceResponse:
        async def body() -> AsyncIterator[bytes]:
            queue = ctx.hub.subscribe(ALL_STREAMS)
            with tracked(ctx, queue, "summary"):
                yield Event.make("snapshot", ctx.state.snapshot()).wire
                async for chunk in live(ctx, queue):
                    yield chunk

        return respond(ctx, body())

    @router.get(
        "/streams/{stream_id}/events",
        summary="One stream's results (SSE); resumes after Last-Event-ID '<partition>:<offset>'",
        response_class=EventSourceResponse,
    )
    async def stream_events(
        stream_id: str,
        ctx: Ctx,
        last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
    ) -> EventSourceResponse:
        stream_id = checked_id(stream_id)
        last = parse_event_id(last_event_id)

        async def body() -> AsyncIterator[bytes]:
            # Subscribed before resume_then_live reads the live position: see its docstring.
            queue = ctx.hub.subscribe(stream_id)
            with tracked(ctx, queue, "stream"):
                async for chunk in resume_then_live(ctx, queue, stream_id, last):
                    yield chunk

        return respond(ctx, body())

    return router


class tracked:
    """Counts the client while connected and always unsubscribes it (disconnect, error)."""

    def __init__(self, ctx: Context, queue: ClientQueue, endpoint: str) -> None:
        self.ctx, self.queue, self.endpoint = ctx, queue, endpoint

    def __enter__(self) -> None:
        metrics.SSE_CLIENTS.labels(self.endpoint).inc()

    def __exit__(self, *exc: object) -> None:
        self.ctx.hub.unsubscribe(self.queue)
        metrics.SSE_CLIENTS.labels(self.endpoint).dec()
