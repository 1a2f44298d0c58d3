"""The compose stack and its Dockerfile, validated without a Docker engine."""

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import framewire.samples
from deploycheck import compose
from deploycheck.contract import workload_problems
from deploycheck.envcontract import direct_env_reads
from deploycheck.paths import COMPOSE_DIR, COMPOSE_FILE
from deploycheck.testing import require_tools
from deploycheck.tools import find_compose
from deploycheck.workloads import compose_workloads
from framewire.cli import COMMANDS

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tools()


@pytest.fixture(scope="module")
def model() -> dict:
    return compose.compose_model()


def test_compose_config_is_valid():
    # Given the compose file; when `docker compose config -q` reads it; then it is accepted
    proc = compose.compose_config(COMPOSE_FILE, "-q")
    assert proc.returncode == 0, proc.stderr


def test_unknown_key_in_compose_is_caught(tmp_path):
    # Given the compose file with a misspelt key in one service
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    data["services"]["gateway"]["helthcheck"] = data["services"]["gateway"]["healthcheck"]
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(data))
    # When compose validates it, then it fails naming the key
    proc = compose.compose_config(broken, "-q")
    assert proc.returncode != 0
    assert "helthcheck" in proc.stderr


def test_every_service_is_healthchecked_and_started_in_order(model):
    assert compose.service_problems(model) == []
    assert set(model["services"]["inference"]["depends_on"]) == {"kafka", "models"}


def test_missing_healthcheck_and_unordered_start_are_reported(model):
    # Given a model where one service lost its healthcheck and another starts on mere creation
    broken = copy.deepcopy(model)
    del broken["services"]["dashboard"]["healthcheck"]
    broken["services"]["gateway"]["depends_on"]["kafka"]["condition"] = "service_started"
    # When checked, then both are reported
    problems = compose.service_problems(broken)
    assert any("dashboard: no healthcheck" in p for p in problems)
    assert any("gateway: depends on kafka without service_healthy" in p for p in problems)


def test_framewire_services_match_the_code(model):
    # Given every service running the framewire image
    workloads = compose_workloads(model)
    # Then each runs a real command, with known settings, and every service command appears
    assert workload_problems(workloads) == []
    commands = {w.command for w in workloads}
    assert {"models", "gateway", "inference", "aggregator", "dashboard"} <= commands <= set(COMMANDS)


def test_every_framewire_service_is_healthchecked_on_its_readiness_probe(model):
    # Given the services running the framewire image / Then each healthcheck asks /readyz
    names = {w.where.removeprefix("compose service ") for w in compose_workloads(model)}
    assert names >= {"models", "gateway", "inference", "aggregator", "dashboard"}
    for name in names:
        probe = " ".join(model["services"][name]["healthcheck"]["test"])
        assert re.search(r"http://127\.0\.0\.1:\d+/readyz'", probe), (name, probe)


def test_prometheus_scrapes_every_framewire_service_on_its_metrics_port(model):
    assert compose.scrape_problems(model, COMPOSE_DIR / "prometheus" / "prometheus.yml") == []


def test_a_wrong_scrape_port_is_reported(model, tmp_path):
    config = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())
    gateway = next(j for j in config["scrape_configs"] if j["job_name"] == "gateway")
    gateway["static_configs"][0]["targets"] = ["gateway:9999"]
    wrong = tmp_path / "prometheus.yml"
    wrong.write_text(yaml.safe_dump(config))
    problems = compose.scrape_problems(model, wrong)
    expected = "compose service gateway: scraped on port 9999, which neither FW_*_PORT nor --port sets"
    assert problems == [expected]


def test_inference_can_be_scaled(model):
    # Given `--scale inference=N`: then no fixed name or host port may clash between replicas
    inference = model["services"]["inference"]
    assert "container_name" not in inference
    assert not inference.get("ports")


def test_kafka_runs_kraft_single_node_with_static_voters(model):
    env = model["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    voter_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == env["KAFKA_NODE_ID"]
    assert voter.split(":")[0] == "kafka"
    assert f"CONTROLLER://:{voter.split(':')[1]}" in env["KAFKA_LISTENERS"]
    bootstrap = model["services"]["gateway"]["environment"]["FW_KAFKA_BOOTSTRAP"]
    assert f"INTERNAL://{bootstrap}" in env["KAFKA_ADVERTISED_LISTENERS"]


def test_gateway_streams_point_at_the_samples_baked_into_the_image(model, monkeypatch, tmp_path):
    # Given the names `framewire samples` gives its clips (writing skipped, names kept)
    monkeypatch.setattr(framewire.samples, "load_photo", lambda name: None)
    monkeypatch.setattr(framewire.samples, "write_clip", lambda *a, **k: None)
    monkeypatch.setattr(framewire.samples, "write_folder", lambda *a, **k: None)
    made = {p.name for p in framewire.samples.make_samples(tmp_path)}
    # When the gateway's --stream options are read
    args = model["services"]["gateway"]["command"]
    uris = [a.partition("=")[2] for a in args if "=" in a and not a.startswith("-")]
    # Then every stream is a clip the Dockerfile's `framewire samples --dest` step makes
    dockerfile = compose.dockerfile_text()
    assert "framewire samples --dest /opt/framewire/samples" in dockerfile
    assert len(uris) >= 3
    for uri in uris:
        assert Path(uri).parent == Path("/opt/framewire/samples")
        assert Path(uri).name in made


def test_grafana_and_prometheus_read_the_k8s_sources(model):
    # The dashboard and the rules have one source, k8s/, mounted into the containers
    mounts = {
        (s, v["source"], v["target"])
        for s in ("grafana", "prometheus")
        for v in model["services"][s]["volumes"]
        if v["type"] == "bind"
    }
    sources = {Path(src).name: (svc, target) for svc, src, target in mounts}
    assert sources["grafana-dashboard.json"][0] == "grafana"
    assert sources["prometheus-rules.yaml"][0] == "prometheus"
    provider = yaml.safe_load((COMPOSE_DIR / "grafana/provisioning/dashboards/framewire.yaml").read_text())
    folder = provider["providers"][0]["options"]["path"]
    assert Path(sources["grafana-dashboard.json"][1]).parent == Path(folder)


def test_dockerfile_is_pinned_non_root_and_sets_only_known_env():
    text = compose.dockerfile_text()
    assert compose.dockerfile_problems(text) == []
    from deploycheck.contract import known_env

    fw_env = {k for k in compose.dockerfile_env(text) if k.startswith("FW_")}
    assert fw_env and fw_env <= known_env() | direct_env_reads()


def test_dockerfile_checks_catch_root_and_unpinned_images():
    text = 'FROM python:latest\nFROM python:3.11.13-slim\nENTRYPOINT ["framewire"]\n'
    problems = compose.dockerfile_problems(text)
    assert any("python:latest is not pinned" in p for p in problems)
    assert any("non-root USER" in p for p in problems)


def test_the_stack_runs_on_engines_without_buildkit_frontends_or_start_interval(model):
    # Given the Dockerfile and the compose file (Debian 12's docker.io is engine 20.10)
    dockerfile = compose.dockerfile_text()
    # Then the build pulls no frontend image, and no healthcheck uses engine-25-only keys
    assert not [line for line in dockerfile.splitlines() if line.lower().startswith("# syntax=")]
    assert not re.search(r"^\s*start_interval:", COMPOSE_FILE.read_text(), re.M)
    for name, service in model["services"].items():
        assert "start_interval" not in service.get("healthcheck", {}), name


def test_inference_asks_the_model_servers_info_url_and_downloads_by_its_name(model):
    # Given the model server and inference services
    services = model["services"]
    command = services["models"]["command"]
    base = command[command.index("--public-url") + 1]
    # Then the server advertises the name the others reach it at, and inference asks /models
    assert base == "http://models:8500"
    assert services["inference"]["environment"]["FW_INFERENCE_MODEL_SERVER_URL"] == f"{base}/models"


def test_images_without_a_registry_come_in_through_variables():
    # Given compose rendered with the images scripts/build_images.py prints
    env = {"KAFKA_IMAGE": "framewire-kafka:abc123", "PROMETHEUS_IMAGE": "framewire-prometheus:abc123",
           "FW_IMAGE": "framewire:abc123"}
    proc = subprocess.run(
        [str(find_compose()), "--project-directory", str(COMPOSE_DIR), "-f", str(COMPOSE_FILE), "config",
         "--format", "json"], capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, **env},
    )
    services = json.loads(proc.stdout)["services"]
    # Then those images are used, and without them the official ones are the defaults
    assert services["kafka"]["image"] == env["KAFKA_IMAGE"]
    assert services["prometheus"]["image"] == env["PROMETHEUS_IMAGE"]
    assert services["inference"]["image"] == env["FW_IMAGE"]
    assert "${KAFKA_IMAGE:-apache/kafka:4.3.1}" in COMPOSE_FILE.read_text()
    # And Grafana, which has no package to build an image from here, waits behind a profile
    assert "grafana" not in services
