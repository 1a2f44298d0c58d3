"""Clip jobs without a broker: bounded slots, progress, failures, expiry and the size bound."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from framewire.clips.make import ClipReport, ClipRequest, Progress
from framewire.clips.spans import ClipRange, ClipRangeError
from framewire.dashboard.clipjobs import ClipJobs, JobsFullError, JobState

pytestmark = pytest.mark.unit
T0 = 1_796_000_000_000


def request(stream: str = "cam1") -> ClipRequest:
    return ClipRequest(range=ClipRange(stream, T0, T0 + 10_000))


class FakeCutter:
    """Writes ``size`` bytes per clip once released; fails for stream 'bad'."""

    def __init__(self, size: int = 1000) -> None:
        self.size, self.release = size, threading.Event()

    def __call__(self, req: ClipRequest, out: Path, progress: Progress) -> ClipReport:
        progress("writing", 0.5)
        assert self.release.wait(10)
        if req.stream == "bad":
            raise ClipRangeError("no frames of stream bad are on Kafka", stream_id="bad")
        out.write_bytes(b"x" * self.size)
        assert req.range is not None
        return ClipReport(out, req.range, None, 150, 10.0, 320, 240, (), 0, self.size, 0.5, 0.4)


def wait_for(jobs: ClipJobs, job_id: str, state: JobState) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = jobs.get(job_id)
        if found is not None and found.state is state:
            return
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never became {state}: {jobs.get(job_id)}")


def test_jobs_beyond_running_and_queued_slots_are_refused(tmp_path: Path) -> None:
    # Given 1 running slot and 1 queued slot, both taken by jobs that have not finished
    cutter = FakeCutter()
    jobs = ClipJobs(cutter, tmp_path, running=1, queued=1)
    first, second = jobs.submit(request()), jobs.submit(request())
    # When a third is asked for
    # Then it is refused, saying how many are in flight
    with pytest.raises(JobsFullError, match="2 clip jobs"):
        jobs.submit(request())
    # And once they finish, the clips are there and new jobs are accepted again
    cutter.release.set()
    wait_for(jobs, first.id, JobState.DONE)
    wait_for(jobs, second.id, JobState.DONE)
    assert jobs.path_of(first.id).stat().st_size == 1000
    jobs.submit(request())
    jobs.close()


def test_a_failed_job_keeps_its_error(tmp_path: Path) -> None:
    cutter = FakeCutter()
    cutter.release.set()
    jobs = ClipJobs(cutter, tmp_path)
    job = jobs.submit(request("bad"))
    wait_for(jobs, job.id, JobState.FAILED)
    assert "no frames of stream bad" in (jobs.get(job.id).error or "")  # type: ignore[union-attr]
    jobs.close()


def test_clips_expire_and_the_oldest_go_when_the_folder_is_over_its_bound(tmp_path: Path) -> None:
    # Given a 2,500-byte bound and three finished 1,000-byte clips
    cutter = FakeCutter()
    cutter.release.set()
    jobs = ClipJobs(cutter, tmp_path, max_bytes=2500, ttl_s=60)
    ids = []
    for _ in range(3):
        ids.append(jobs.submit(request()).id)
        wait_for(jobs, ids[-1], JobState.DONE)
    # Then the oldest was deleted to stay within the bound, the others kept
    assert [jobs.get(i).state for i in ids] == [JobState.EXPIRED, JobState.DONE, JobState.DONE]  # type: ignore[union-attr]
    assert not jobs.path_of(ids[0]).exists() and jobs.path_of(ids[2]).exists()
    # And past the expiry every clip is deleted
    jobs.prune(now=time.time() + 61)
    assert all(not jobs.path_of(i).exists() for i in ids)
    assert {jobs.get(i).state for i in ids} == {JobState.EXPIRED}  # type: ignore[union-attr]
    jobs.close()


def test_clips_left_by_a_previous_process_are_removed_at_start(tmp_path: Path) -> None:
    (tmp_path / "0123456789abcdef.mp4").write_bytes(b"old")
    ClipJobs(FakeCutter(), tmp_path).close()
    assert not list(tmp_path.glob("*.mp4"))
