"""``docker compose up`` on a real Docker engine, with images built here: detections for every
sample stream (API and SSE), tracks for every sample stream, scaling, a worker killed under
load, a restart keeping the stream registry, and Prometheus scraping everything with its
rules loaded."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from e2e import dockerkit, topics
from e2e.dockerkit import Compose, http_get, http_json, wait_for
from framewire.v1.tracks_pb2 import TrackedResult

pytestmark = pytest.mark.e2e

SAMPLES = ["astronaut", "chelsea", "coffee"]
PREFIX = "fw."
# Added through the API before the restart: the registry on the Kafka volume must keep it.
EXTRA = {"stream_id": "extra", "source_uri": "/opt/framewire/samples/chelsea-640x480-15fps-120f.mp4",
         "target_fps": 5, "loop": True}
UP_TIMEOUT_S = 420


class Stack:
    def __init__(self, compose: Compose, ports: dict[str, int]) -> None:
        self.compose = compose
        self.ports = ports

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.ports['FW_DASHBOARD_HOST_PORT']}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.ports['FW_PROMETHEUS_HOST_PORT']}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['FW_KAFKA_HOST_PORT']}"

    def up(self, *extra: str) -> None:
        """``up -d --wait``. A service that exits on its first start (a broker still loading
        its coordinators on a busy machine) fails --wait although its restart policy brings
        it back: then every container must become healthy within the same bound, and the
        restarts are reported."""
        started = time.monotonic()
        args = ("up", "-d", "--no-build", "--wait", "--wait-timeout", str(UP_TIMEOUT_S), *extra)
        proc = self.compose(*args, timeout=UP_TIMEOUT_S + 60, check=False)
        if proc.returncode == 0:
            return
        left = max(60.0, UP_TIMEOUT_S - (time.monotonic() - started))
        wait_for(f"every container healthy after: {proc.stderr.strip().splitlines()[-1:]}",
                 self.all_healthy, left, every_s=3)
        print(f"\nup --wait failed but the stack recovered; restarts: {self.restarts()}")

    def all_healthy(self) -> bool:
        ids = self.compose("ps", "-a", "-q", check=False).stdout.split()
        states = dockerkit.docker("inspect", "-f", "{{.State.Health.Status}}", *ids).stdout.split()
        return bool(ids) and all(s == "healthy" for s in states)

    def restarts(self) -> dict[str, int]:
        ids = self.compose("ps", "-a", "-q", check=False).stdout.split()
        out = dockerkit.docker("inspect", "-f", "{{.Name}} {{.RestartCount}}", *ids).stdout.split("\n")
        return {n.strip("/"): int(c) for n, c in (line.split() for line in out if line.strip())}

    def live(self) -> dict[str, dict]:
        return {s["stream_id"]: s for s in http_json(f"{self.dashboard}/api/streams")["streams"]}


@pytest.fixture(scope="module")
def stack(images: dict[str, str]) -> Iterator[Stack]:
    ports = {k: dockerkit.free_port() for k in
             ("FW_KAFKA_HOST_PORT", "FW_DASHBOARD_HOST_PORT", "FW_PROMETHEUS_HOST_PORT")}
    env = {k: images[k] for k in ("FW_IMAGE", "KAFKA_IMAGE", "PROMETHEUS_IMAGE")}
    # The test checks that frames flow and add up, not latency: on a shared 2-core runner the
    # 500 ms freshness budget would skip nearly every frame as stale.
    env["FW_INFERENCE_MAX_AGE_MS"] = "10000"
    env.update({k: str(v) for k, v in ports.items()})
    compose = Compose("framewire-e2e", env)
    compose("down", "-v", "--remove-orphans", check=False)
    stack = Stack(compose, ports)
    started = time.monotonic()
    stack.up()
    print(f"\ncompose up --wait: {time.monotonic() - started:.0f}s")
    try:
        yield stack
    finally:
        compose("down", "-v", "--remove-orphans", check=False, timeout=180)


def detections_per_stream(stack: Stack, timeout_s: float) -> dict[str, int]:
    """Per sample stream, results counted by the dashboard once each has had some."""
    seen: dict[str, float] = {}

    def all_flowing() -> dict[str, float] | None:
        live = stack.live()
        seen.update({s: live[s]["live"]["fps_out"] for s in SAMPLES if live.get(s, {}).get("live", {})
                     .get("fps_out")})
        return dict(seen) if len(seen) == len(SAMPLES) else None

    try:
        return wait_for("results for every sample stream on the dashboard API", all_flowing, timeout_s)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; had results: {sorted(seen)}\n{stack.compose.diagnosis()}") from None


def test_results_flow_for_every_sample_stream_through_the_api_and_sse(stack: Stack) -> None:
    # Given the stack up and healthy
    # When the dashboard's API is read, then every sample stream shows results coming in
    rates = detections_per_stream(stack, 240)
    assert set(rates) == set(SAMPLES)
    # And each stream's SSE feed delivers results with detections of the sample's photo
    for stream in SAMPLES:
        seen = []
        for event, data in dockerkit.sse_events(f"{stack.dashboard}/api/streams/{stream}/events", 120):
            if event == "result" and data["detections"]:
                seen.append(data)
                break
        assert seen, f"{stream}: no result with detections over SSE"
        assert {d["stream_id"] for d in seen} == {stream}
        assert all(d["frame_topic"] == f"{PREFIX}frames.{stream}" for d in seen)


def test_the_tracker_publishes_tracked_results_for_every_sample_stream(stack: Stack) -> None:
    # Given results flowing for every sample stream (the test above waited for them)
    wanted = [f"{PREFIX}tracks.{s}" for s in SAMPLES]

    def tracked() -> list[TrackedResult] | None:
        # Read from the host through the EXTERNAL listener, committed transactions only
        records = topics.read_topics(stack.bootstrap, wanted, timeout_s=30)
        out = [TrackedResult.FromString(value) for _, _, _, value in records]
        streams = {r.stream_id for r in out if r.tracks}
        return out if streams >= set(SAMPLES) else None

    # When the tracks topics are read, then each stream has tracked results with tracks in them
    try:
        out = wait_for("tracked results with tracks on fw.tracks.<stream> for every sample stream",
                       tracked, 120, every_s=3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.compose.diagnosis()}") from None
    # And each one comes from its stream's results topic, by the one tracker, whose id is its
    # container's host name (so a restarted container keeps its transactional id)
    assert {r.source_topic for r in out} == {f"{PREFIX}results.{s}" for s in SAMPLES}
    assert all(r.source_topic == f"{PREFIX}results.{r.stream_id}" for r in out)
    (container,) = stack.compose.containers("tracker")
    hostname = dockerkit.docker("inspect", "-f", "{{.Config.Hostname}}", container).stdout.strip()
    assert {r.tracker_id for r in out} == {hostname}
    # And an id names one object of one class within its stream (ids start at 1)
    labels: dict[tuple[str, int], set[str]] = {}
    for r in out:
        for track in r.tracks:
            labels.setdefault((r.stream_id, track.track_id), set()).add(track.label)
    assert labels and all(track_id >= 1 for _, track_id in labels)
    assert all(len(names) == 1 for names in labels.values()), labels


def test_the_dashboard_container_cuts_a_playable_clip_of_the_last_seconds(
    stack: Stack, tmp_path: Path,
) -> None:
    # Given a sample stream flowing (its frames on Kafka)
    detections_per_stream(stack, 240)
    # When the API is asked for a clip of 6 s that ended 2 s ago
    now = int(time.time() * 1000)
    job = http_json(f"{stack.dashboard}/api/clips", method="POST",
                    body={"stream": "coffee", "from_ms": now - 8000, "to_ms": now - 2000})

    def finished() -> dict | None:
        state = http_json(f"{stack.dashboard}/api/clips/{job['id']}")
        return state if state["state"] in ("done", "failed") else None

    done = wait_for("the clip job", finished, 90)
    # Then it was cut inside the container (PyAV, libx264, the read-only root's /tmp) and
    # the download decodes as H.264 with the frames the job reported
    assert done["state"] == "done", done
    status, body = http_get(f"{stack.dashboard}{done['url']}", timeout=30)
    assert status == 200 and body[4:8] == b"ftyp"
    (tmp_path / "clip.mp4").write_bytes(body)
    with av.open(str(tmp_path / "clip.mp4")) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.width, video.height) == (done["width"], done["height"])
        assert sum(1 for _ in container.decode(video)) == done["frames"] > 0


def assigned(stack: Stack) -> dict[str, set[tuple[str, int]]]:
    """Frames partitions each inference container's own /metrics says it holds."""
    out = {}
    for container in stack.compose.containers("inference"):
        ip = dockerkit.container_ip(container)
        status, body = http_get(f"http://{ip}:9400/metrics")
        assert status == 200
        text = body.decode()
        lag = r'^framewire_inference_consumer_lag_messages\{partition="(\d+)",topic="([^"]+)"\}'
        series = re.findall(lag, text, re.M)
        count = re.search(r"^framewire_inference_assigned_partitions (\S+)$", text, re.M)
        parts = {(t, int(p)) for p, t in series}
        assert count and int(float(count.group(1))) == len(parts), f"{container}: count and series disagree"
        out[container] = parts
    return out


def test_two_workers_split_the_partitions(stack: Stack) -> None:
    # Given the stack with one inference worker; when it is scaled to two
    stack.up("--scale", "inference=2")
    frames = {(f"{PREFIX}frames.{s}", 0) for s in SAMPLES}

    def split() -> dict[str, set[tuple[str, int]]] | None:
        held = assigned(stack)
        union = set().union(*held.values()) if held else set()
        disjoint = sum(len(p) for p in held.values()) == len(union)
        return held if len(held) == 2 and all(held.values()) and disjoint and union == frames else None

    # Then each worker's metrics show partitions of its own, together all of them, none twice
    held = wait_for("two workers each holding their own frames partitions", split, 120, every_s=2)
    assert len(held) == 2
    # And results keep flowing for every stream
    detections_per_stream(stack, 120)


def processes(container: str) -> list[tuple[int, int, str]]:
    """(host pid, parent pid, command line) of each process in ``container``."""
    out = dockerkit.docker("top", container, "-eo", "pid,ppid,args").stdout.splitlines()[1:]
    return [(int(pid), int(ppid), args) for pid, ppid, args in (line.split(None, 2) for line in out)]


def worker_process(container: str) -> tuple[int, int] | None:
    """(supervisor pid, worker pid) of the supervised inference in ``container``."""
    procs = {pid: ppid for pid, ppid, args in processes(container) if "inference" in args}
    parents = set(procs.values())
    # The worker is the process with a parent among them (docker-init's child is the
    # supervisor) and no child of its own.
    workers = [(ppid, pid) for pid, ppid in procs.items() if ppid in procs and pid not in parents]
    return workers[0] if len(workers) == 1 else None


def test_a_killed_worker_is_forked_again_inside_its_container(stack: Stack) -> None:
    # Given a supervised inference container (the compose default) doing its work
    container = stack.compose.containers("inference")[0]
    started = dockerkit.docker("inspect", "-f", "{{.State.StartedAt}}", container).stdout
    supervisor, worker = wait_for("the worker under its supervisor",
                                  lambda: worker_process(container), 60)
    # When the worker process is killed (what the OOM killer does to the biggest process)
    os.kill(worker, signal.SIGKILL)
    # Then the supervisor forks a new worker, in the same container, which was not restarted
    def replaced() -> bool:
        # (until the fork, the supervisor itself is the innermost process)
        now = worker_process(container)
        return now is not None and now[0] == supervisor and now[1] != worker

    wait_for("a new worker under the same supervisor", replaced, 60)
    assert dockerkit.docker("inspect", "-f", "{{.State.StartedAt}}", container).stdout == started
    # And its metrics say so, and results keep flowing for every stream
    ip = dockerkit.container_ip(container)

    def restarts() -> str | None:
        status, body = http_get(f"http://{ip}:9400/metrics")
        found = re.search(r"^framewire_inference_supervisor_restarts (\S+)$", body.decode(), re.M)
        return found.group(1) if status == 200 and found else None

    assert float(wait_for("the restarted worker's metrics", restarts, 120, every_s=2)) == 1.0
    detections_per_stream(stack, 120)


def test_killed_worker_under_load_loses_and_duplicates_nothing(stack: Stack) -> None:
    # Given two workers processing the sample streams
    victim = stack.compose.containers("inference")[0]
    # When one is killed (SIGKILL) in the middle of the work
    dockerkit.docker("kill", victim)
    time.sleep(8)
    # And the gateway is stopped later, so the frames topics stop growing
    stack.compose("stop", "gateway", timeout=120)
    book = topics.wait_balanced(stack.bootstrap, PREFIX, SAMPLES, 180)
    # Then every frame has exactly one result, drop record or dead letter
    assert not book.duplicated(), f"frames accounted twice: {book.duplicated()}"
    assert not book.missing(), f"frames unaccounted: {book.missing()}"
    frames = sum(len(o) for o in book.frames.values())
    assert book.results + book.dropped + book.dead == frames
    assert book.results > 0
    stack.compose("start", "gateway", timeout=120)


def test_down_then_up_keeps_the_stream_registry(stack: Stack) -> None:
    # Given a stream added through the API besides the samples the gateway registers
    http_json(f"{stack.dashboard}/api/streams", method="POST", body=EXTRA)
    wait_for("the new stream listed", lambda: "extra" in stack.live(), 30)
    # When the stack goes down (volumes kept) and up again
    stack.compose("down", timeout=180)
    stack.up()
    # Then the registry still has it, and it runs again
    streams = wait_for("the registry read back", lambda: stack.live() or None, 60)
    assert set(SAMPLES) | {"extra"} <= set(streams)
    spec = streams["extra"]["spec"]
    assert spec["source_uri"] == EXTRA["source_uri"]
    wait_for("the kept stream running again",
             lambda: stack.live()["extra"]["status"]["state"] == "running", 120, every_s=2)


def test_prometheus_scrapes_every_target_and_loads_the_rules(stack: Stack) -> None:
    # Given Prometheus in the stack (after the restart too)
    def targets() -> list[dict] | None:
        active = http_json(f"{stack.prometheus}/api/v1/targets")["data"]["activeTargets"]
        jobs = {t["labels"]["job"] for t in active}
        wanted = {"models", "gateway", "inference", "aggregator", "tracker", "dashboard", "prometheus"}
        return active if wanted <= jobs and all(t["health"] == "up" for t in active) else None

    # When its targets and rules are read, then every target is up
    active = wait_for("every Prometheus target up", targets, 120, every_s=3)
    assert all(t["health"] == "up" for t in active)
    # And the framewire rule groups are loaded, each with rules and none failing to evaluate
    groups = http_json(f"{stack.prometheus}/api/v1/rules")["data"]["groups"]
    assert {g["name"] for g in groups} >= {"framewire.alerts", "framewire.recording"}
    assert all(g["rules"] for g in groups)
    assert not [r["name"] for g in groups for r in g["rules"] if r.get("health") == "err"]
