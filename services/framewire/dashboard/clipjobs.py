"""Clip jobs: bounded background cutting of clips, kept in a size-bounded folder with expiry.

The dashboard's clip routes submit requests here. At most ``running`` clips are cut at once
(worker threads: cutting is Kafka reads and libx264, both outside the event loop) and at
most ``queued`` more wait; beyond that a request is refused (HTTP 429), never queued without
bound. Finished files are deleted when older than ``ttl_s``, and the oldest go first when
the folder passes ``max_bytes``. No FastAPI here.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from framewire.clips.make import ClipReport, ClipRequest, Progress
from framewire.core.errors import FramewireError

log = logging.getLogger(__name__)
MakeClip = Callable[[ClipRequest, Path, Progress], ClipReport]


class JobState(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"  # for the post-roll to be captured
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # done, then deleted by expiry or the size bound


class JobsFullError(FramewireError):
    """As many clip jobs as allowed are running or waiting."""


@dataclass(frozen=True)
class ClipJob:
    """A snapshot of one job, as the API shows it."""

    id: str
    request: ClipRequest
    created_s: float
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    error: str | None = None
    report: ClipReport | None = None

    @property
    def active(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.WAITING, JobState.RUNNING)


class ClipJobs:
    """Submitted jobs by id; ``close`` stops the workers (called at shutdown)."""

    def __init__(self, make: MakeClip, directory: Path, *, running: int = 2, queued: int = 8,
                 max_bytes: int = 512 * 2**20, ttl_s: float = 3600.0, keep_jobs: int = 200) -> None:
        self._make, self._dir = make, directory
        self._limit, self._max_bytes, self._ttl_s, self._keep = running + queued, max_bytes, ttl_s, keep_jobs
        self._jobs: dict[str, ClipJob] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=running, thread_name_prefix="clip")
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.mp4"):  # files of a previous process: their jobs are gone
            stale.unlink(missing_ok=True)

    def submit(self, request: ClipRequest) -> ClipJob:
        """Queue a clip; JobsFullError when the running and waiting slots are all taken."""
        with self._lock:
            if sum(job.active for job in self._jobs.values()) >= self._limit:
                raise JobsFullError(f"{self._limit} clip jobs are already running or queued; try again "
                                    "when one has finished", stream_id=request.stream)
            job = ClipJob(uuid.uuid4().hex[:16], request, time.time())
            self._jobs[job.id] = job
            self._forget_old_jobs()
        self._pool.submit(self._run, job.id)
        return job

    def get(self, job_id: str) -> ClipJob | None:
        self.prune()
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[ClipJob]:
        """Every remembered job, newest first."""
        self.prune()
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_s, reverse=True)

    def path_of(self, job_id: str) -> Path:
        return self._dir / f"{job_id}.mp4"

    def prune(self, now: float | None = None) -> None:
        """Expire finished clips past ``ttl_s``, then the oldest while over ``max_bytes``."""
        now = time.time() if now is None else now
        with self._lock:
            done = sorted((j for j in self._jobs.values() if j.state is JobState.DONE),
                          key=lambda j: j.created_s)
            total = sum(j.report.size_bytes for j in done if j.report is not None)
            for job in done:
                too_old = now - job.created_s > self._ttl_s
                if too_old or total > self._max_bytes:
                    total -= job.report.size_bytes if job.report is not None else 0
                    self.path_of(job.id).unlink(missing_ok=True)
                    self._jobs[job.id] = replace(job, state=JobState.EXPIRED)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str) -> None:
        self._update(job_id, state=JobState.RUNNING)

        def progress(stage: str, fraction: float) -> None:
            state = JobState.WAITING if stage == "waiting" else JobState.RUNNING
            self._update(job_id, state=state, progress=round(min(max(fraction, 0.0), 1.0), 3))

        job = self._jobs[job_id]
        try:
            report = self._make(job.request, self.path_of(job_id), progress)
        except FramewireError as exc:
            log.info("clip job %s failed: %s", job_id, exc)
            self._update(job_id, state=JobState.FAILED, error=str(exc))
            return
        except Exception as exc:  # a bug must not leave the job running forever
            log.exception("clip job %s failed", job_id)
            self._update(job_id, state=JobState.FAILED, error=f"internal error: {exc}")
            return
        self._update(job_id, state=JobState.DONE, progress=1.0, report=report)
        self.prune()

    def _update(self, job_id: str, **changes: object) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = replace(job, **changes)  # type: ignore[arg-type]

    def _forget_old_jobs(self) -> None:
        finished = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.created_s)
        for job in finished[: max(0, len(self._jobs) - self._keep)]:
            self.path_of(job.id).unlink(missing_ok=True)
            del self._jobs[job.id]
