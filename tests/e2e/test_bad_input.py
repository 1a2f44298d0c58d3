"""Bad deployment input in the real image: the service logs one line saying why and exits
non-zero, with no traceback (so a restart policy shows the reason, not a stack loop)."""

from __future__ import annotations

import uuid

import pytest

from e2e.dockerkit import docker

pytestmark = pytest.mark.e2e

CASES = {
    "unknown model id": (["inference"], {"FW_INFERENCE_MODEL": "no-such-model"}, "no-such-model"),
    "dashboard token too short": (
        ["dashboard"], {"FW_DASHBOARD_TOKEN": "short"}, "FW_DASHBOARD_TOKEN must be at least 16"
    ),
    "unreachable model server": (
        ["inference"],
        {"FW_INFERENCE_MODEL_SERVER_URL": "http://models.invalid:8500/models",
         "FW_MODELS_HTTP_TIMEOUT_S": "5"},
        "models.invalid",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(images: dict[str, str], case: str) -> None:
    # Given the framewire image run the way compose runs it, with one wrong setting
    args, env, reason = CASES[case]
    name = f"fw-e2e-bad-{uuid.uuid4().hex[:8]}"
    run = ["run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp", "--user", "10001:10001",
           "--cap-drop", "ALL", "-e", "FW_KAFKA_BOOTSTRAP=kafka.invalid:9092"]
    for key, value in env.items():
        run += ["-e", f"{key}={value}"]
    docker(*run, images["FW_IMAGE"], *args)
    try:
        # When it starts, then it exits by itself, non-zero
        code = int(docker("wait", name, timeout=120).stdout.strip())
        out = docker("logs", name)
        text = out.stdout + out.stderr
        assert code != 0, text
        # And says why in one error line, without a traceback
        errors = [line for line in text.splitlines() if " ERROR " in line]
        assert len(errors) == 1, text
        assert reason in errors[0], text
        assert "Traceback" not in text
    finally:
        docker("rm", "-f", name, check=False)
