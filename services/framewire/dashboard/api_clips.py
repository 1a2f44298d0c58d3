"""Clip and snapshot routes: ask for a clip (a background job), follow it, download it; the
best frame of an alert as JPEG. Same auth as the rest of the API: asking is a write, the
rest are reads.

    POST /api/clips                 {stream, from_ms, to_ms} or {event, pre_s, post_s}; boxes
    GET  /api/clips                 every remembered job, newest first
    GET  /api/clips/{id}            one job: state, progress, error, the clip's facts
    GET  /api/clips/{id}/file       the MP4 (``?download=1``: as an attachment)
    GET  /api/snapshot?event=ID     the event's best frame, its box drawn
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field, model_validator

from framewire.clips.make import ClipRequest, Snapshot
from framewire.clips.spans import ClipRange, ClipRangeError, EventRef, UnknownEventError
from framewire.core.errors import ConfigError, FramewireError
from framewire.core.history import UnknownTopicError
from framewire.dashboard.clipjobs import ClipJob, ClipJobs, JobsFullError, JobState
from framewire.dashboard.context import Context, Ctx
from framewire.dashboard.security import Auth

SNAPSHOT_KEEP_S = 60.0
SNAPSHOTS_KEPT = 64


class ClipBody(BaseModel):
    """A time range of a stream, or an alert firing with pre- and post-roll."""

    stream: str | None = Field(default=None, description="with from_ms and to_ms")
    from_ms: int | None = Field(default=None, description="first capture time, epoch ms, inclusive")
    to_ms: int | None = Field(default=None, description="end capture time, epoch ms, exclusive")
    event: str | None = Field(default=None, description="<rule>/<stream>[@<fired_ms>]")
    pre_s: float = Field(default=5.0, ge=0, le=300)
    post_s: float = Field(default=10.0, ge=0, le=60)
    boxes: bool = Field(default=True, description="burn detection boxes and labels in")

    @model_validator(mode="after")
    def _one_kind(self) -> ClipBody:
        ranged = (self.stream, self.from_ms, self.to_ms)
        if self.event is None and None in ranged:
            raise ValueError("give stream, from_ms and to_ms, or event")
        if self.event is not None and any(v is not None for v in ranged):
            raise ValueError("give either stream/from_ms/to_ms or event, not both")
        return self

    def request(self) -> ClipRequest:
        """The clip request; ConfigError (400) for an id, order or length that is refused."""
        if self.event is not None:
            return ClipRequest(event=EventRef.parse(self.event), pre_ms=round(self.pre_s * 1000),
                               post_ms=round(self.post_s * 1000), boxes=self.boxes)
        assert self.stream is not None and self.from_ms is not None and self.to_ms is not None
        return ClipRequest(range=ClipRange(self.stream, self.from_ms, self.to_ms), boxes=self.boxes)


def job_json(job: ClipJob) -> dict[str, object]:
    """A job as the API shows it; the clip's facts once it is done."""
    request, report = job.request, job.report
    body: dict[str, object] = {
        "id": job.id, "state": job.state, "progress": job.progress, "error": job.error,
        "stream": request.stream, "event": str(request.event) if request.event else None,
        "created_ms": round(job.created_s * 1000),
    }
    if report is not None:
        body.update({
            "from_ms": report.range.start_ms, "to_ms": report.range.end_ms, "frames": report.frames,
            "duration_s": round(report.duration_s, 3), "width": report.width, "height": report.height,
            "size_bytes": report.size_bytes, "speed": round(report.speed, 2),
            "gaps": [{"from_ms": g.start_ms, "to_ms": g.end_ms} for g in report.gaps],
        })
        if job.state is JobState.DONE:
            body["url"] = f"/api/clips/{job.id}/file"
    return body


def _jobs(ctx: Context) -> ClipJobs:
    if ctx.clips is None:
        raise HTTPException(503, "clip jobs are not running yet")
    return ctx.clips


def clips_router(auth: Auth) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["clips"])
    read, write = [Depends(auth.read)], [Depends(auth.write)]

    @router.post("/clips", status_code=202, dependencies=write, summary="Ask for a clip")
    async def ask(body: ClipBody, ctx: Ctx) -> dict[str, object]:
        try:
            return job_json(_jobs(ctx).submit(body.request()))
        except ConfigError as exc:
            raise HTTPException(400, str(exc)) from None
        except JobsFullError as exc:
            raise HTTPException(429, str(exc), headers={"Retry-After": "5"}) from None

    @router.get("/clips", dependencies=read, summary="Clip jobs, newest first")
    async def jobs(ctx: Ctx) -> dict[str, object]:
        return {"clips": [job_json(j) for j in _jobs(ctx).all()]}

    @router.get("/clips/{job_id}", dependencies=read, summary="One clip job")
    async def job(job_id: str, ctx: Ctx) -> dict[str, object]:
        return job_json(_known(ctx, job_id))

    @router.get("/clips/{job_id}/file", dependencies=read, response_class=FileResponse,
                responses={200: {"content": {"video/mp4": {}}}}, summary="The clip, H.264 MP4")
    async def clip_file(job_id: str, ctx: Ctx, download: bool = False) -> FileResponse:
        found = _known(ctx, job_id)
        if found.state is JobState.EXPIRED:
            raise HTTPException(410, f"clip {job_id} expired and was deleted; ask for it again")
        if found.state is not JobState.DONE:
            why = f": {found.error}" if found.error else ""
            raise HTTPException(409, f"clip {job_id} is {found.state}{why}")
        path = _jobs(ctx).path_of(job_id)
        if not path.exists():  # deleted by the size bound or expiry since the state was read
            raise HTTPException(410, f"clip {job_id} expired and was deleted; ask for it again")
        name = f"{found.request.stream}-{job_id}.mp4"
        return FileResponse(path, media_type="video/mp4", filename=name,
                            content_disposition_type="attachment" if download else "inline")

    # Each alert in the page asks for its event's snapshot, and the firing and cleared items
    # of one event ask for the same one: recent answers are kept a minute.
    recent: dict[str, tuple[float, bytes]] = {}
    pending: dict[str, asyncio.Future[Snapshot]] = {}

    async def _make(ctx: Context, ref: EventRef) -> Snapshot:
        from framewire.clips.make import make_snapshot

        async with ctx.replays:
            return await asyncio.to_thread(make_snapshot, ctx.settings.kafka, ref)

    @router.get("/snapshot", dependencies=read, response_class=Response,
                responses={200: {"content": {"image/jpeg": {}}}}, summary="An event's best frame")
    async def snapshot(ctx: Ctx, event: str = Query(description="<rule>/<stream>[@<fired_ms>]")) -> Response:
        kept = recent.get(event)
        if kept is not None and time.monotonic() - kept[0] < SNAPSHOT_KEEP_S:
            return _jpeg(kept[1])
        try:
            ref = EventRef.parse(event)
            # Both items of one event ask at once: the second waits for the first's answer
            # instead of reading the same span from Kafka again.
            making = pending.get(event)
            if making is None:
                making = pending[event] = asyncio.ensure_future(_make(ctx, ref))
                making.add_done_callback(lambda _: pending.pop(event, None))
            shot = await asyncio.shield(making)
        except ConfigError as exc:
            raise HTTPException(400, str(exc)) from None
        except (UnknownEventError, UnknownTopicError, ClipRangeError) as exc:
            raise HTTPException(404, str(exc)) from None
        except FramewireError as exc:
            raise HTTPException(503, str(exc)) from None
        if len(recent) >= SNAPSHOTS_KEPT:
            recent.pop(min(recent, key=lambda k: recent[k][0]))
        recent[event] = (time.monotonic(), shot.jpeg)
        return _jpeg(shot.jpeg)

    return router


def _jpeg(data: bytes) -> Response:
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


def _known(ctx: Context, job_id: str) -> ClipJob:
    found = _jobs(ctx).get(job_id)
    if found is None:
        raise HTTPException(404, f"no clip job {job_id!r}")
    return found
