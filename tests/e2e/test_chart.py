"""The Helm chart's pods on a real Docker engine: a pod-spec smoke run, not a cluster.

``helm template`` renders the default values (plus the one required value, kafka.bootstrap)
and every ci/ scenario; each rendered pod then runs as ``docker run`` exactly as its spec
says (see e2e.pods) on a network whose aliases are the rendered Service names, next to a
stand-in Kafka speaking the protocol the chart is configured for (see e2e.standin). Every
probe path must answer, and a stream registered through the dashboard must get results,
which the tracker takes in.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploycheck import render
from deploycheck.paths import CHART
from deploycheck.testing import require_tools
from e2e import pods, standin
from e2e.dockerkit import container_ip, docker, http_get, http_json, logs, wait_for

pytestmark = pytest.mark.e2e

# The defaults need one value: where Kafka is (the stand-in answers under this name).
DEFAULTS = {"kafka.bootstrap": "kafka.data.svc:9092"}
SCENARIOS = ["defaults", *(s.name for s in render.scenarios())]
SAMPLE = "/opt/framewire/samples/coffee-640x480-15fps-120f.mp4"


def rendered(name: str, image: str) -> list[dict]:
    repository, tag = image.split(":", 1)
    # Results must flow, not meet the 500 ms freshness budget on a shared 2-core runner.
    sets = {"image.repository": repository, "image.tag": tag,
            "inference.settings.FW_INFERENCE_MAX_AGE_MS": "10000"}
    if name == "defaults":
        return render.parse_manifests(render.helm_template([], sets={**DEFAULTS, **sets}))
    values = CHART / "ci" / f"{name}-values.yaml"
    return render.parse_manifests(
        render.helm_template([values], sets=sets, api_versions=render.cluster_api_versions())
    )


class Run:
    """One scenario's containers on its own network."""

    def __init__(self, name: str, objs: list[dict], image: str, kafka_image: str, workdir: Path) -> None:
        self.name = name
        self.objs = objs
        self.image = image
        self.kafka_image = kafka_image
        self.workdir = workdir
        self.network = f"fw-e2e-chart-{name}-{uuid.uuid4().hex[:6]}"
        self.containers: list[str] = []
        # One pod of each workload: a smoke run of every pod spec, on a shared 2-core budget.
        self.pods = pods.pods_of(objs, per_workload=1)
        self.stand_ins = standin.stand_ins(objs, workdir)

    def start(self) -> None:
        docker("network", "create", self.network)
        kafka = f"{self.network}-kafka"
        self.containers.append(kafka)
        standin.start_kafka(self.objs, self.kafka_image, self.network, kafka, self.workdir, self.stand_ins)
        for pod in self.pods:
            pod.name = f"{self.network}-{pod.name}"
            self.containers.append(pod.name)
            pods.start(pod, self.image, self.network, self.objs, self.stand_ins)

    def stop(self) -> None:
        for name in self.containers:
            docker("rm", "-f", name, check=False)
        docker("network", "rm", self.network, check=False)

    def diagnosis(self) -> str:
        return "\n".join(f"--- {c}\n{logs(c, 20)}" for c in self.containers)

    def pod(self, component: str) -> pods.Pod:
        return next(p for p in self.pods if p.component == component)

    def dashboard_headers(self) -> dict[str, str]:
        env = pods.env_of(self.pod("dashboard"), self.objs, self.stand_ins)
        token = env.get("FW_DASHBOARD_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(params=SCENARIOS)
def run(request: pytest.FixtureRequest, images: dict[str, str], tmp_path: Path) -> Iterator[Run]:
    require_tools()
    name = request.param
    started = time.monotonic()
    image = images["FW_IMAGE"]
    scenario = Run(name, rendered(name, image), image, images["KAFKA_IMAGE"], tmp_path)
    try:
        scenario.start()
        yield scenario
    finally:
        print(f"\nchart scenario {name}: {time.monotonic() - started:.0f}s")
        scenario.stop()


def probe_answers(pod: pods.Pod, path: str, port: int) -> bool:
    status, _ = http_get(f"http://{container_ip(pod.name)}:{port}{path}")
    return status == 200


def test_every_rendered_pod_starts_serves_its_probes_and_results_flow(run: Run) -> None:
    # Given every workload of the scenario running as its pod spec says
    components = {"models", "gateway", "inference", "aggregator", "tracker", "dashboard"}
    assert {p.component for p in run.pods} == components - ({"models"} if run.name == "external" else set())
    # When each probe path is asked, then it answers 200 (within the startup probe's budget)
    for pod in run.pods:
        for kind, path, port in pod.probes():
            try:
                wait_for(f"{pod.name} {kind} {path} on {port}", lambda p=pod, a=path, b=port:
                         probe_answers(p, a, b), 240, every_s=3)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{run.diagnosis()}") from None
    # And a stream registered through the dashboard's API gets results, which the tracker
    # takes in (its committed count, so its transactions go through on this Kafka)
    dashboard = f"http://{container_ip(run.pod('dashboard').name)}:8080"
    body = {"stream_id": "smoke", "source_uri": SAMPLE, "target_fps": 5, "loop": True}
    http_json(f"{dashboard}/api/streams", method="POST", body=body, headers=run.dashboard_headers())
    tracker = run.pod("tracker")
    tracker_port = tracker.port("metrics")

    def flowing() -> bool:
        live = http_json(f"{dashboard}/api/streams/smoke", headers=run.dashboard_headers())["live"]
        return live["fps_out"] > 0 and tracked(tracker, tracker_port) > 0

    try:
        wait_for("results for the registered stream, tracked", flowing, 240, every_s=3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{run.diagnosis()}") from None
    # And every StatefulSet pod runs under its pod name as worker or tracker id
    ids = {"inference": "FW_INFERENCE_WORKER_ID", "tracker": "FW_TRACKER_TRACKER_ID"}
    for pod in (p for p in run.pods if p.component in ids):
        assert pods.env_of(pod, run.objs, run.stand_ins)[ids[pod.component]] == pod.name


def tracked(pod: pods.Pod, port: int) -> float:
    """Results the tracker pod has committed, from its /metrics."""
    status, body = http_get(f"http://{container_ip(pod.name)}:{port}/metrics")
    found = re.search(r"^framewire_tracker_results_in_total (\S+)$", body.decode(), re.M)
    return float(found.group(1)) if status == 200 and found else 0.0
