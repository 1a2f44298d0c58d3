"""The adaptive engine mode switch: latency while the worker keeps up, throughput under a
backlog, back to latency only after the load has stayed low for the hold time."""

from __future__ import annotations

import pytest

from framewire.inference.settings import EngineMode, InferenceSettings
from framewire.models.perframe.modes import ModalDetector, ModeController, ModePolicy

pytestmark = pytest.mark.unit

POLICY = ModePolicy(up=0.85, down=0.6, hold_s=3.0, window_s=0.5)
# Latency mode needs 20 ms of engine time per frame: it keeps up with up to 50 fps.
PER_FRAME_S = 0.02


def feed(ctl: ModeController, start: float, seconds: float, fps: float,
         step: float = 0.1) -> float:
    """Observations every ``step`` s: ``fps`` arrive; the engine completes what latency mode
    could (capped by its capacity) at PER_FRAME_S each. Returns the end time."""
    t = start
    while t < start + seconds - 1e-9:
        t += step
        arrived = round(fps * step)
        if ctl.mode is EngineMode.LATENCY:
            done = min(arrived, round(step / PER_FRAME_S))
            ctl.observe(t, arrived, done, done * PER_FRAME_S)
        else:
            ctl.observe(t, arrived, arrived, arrived * PER_FRAME_S * 0.6)
    return t


def test_light_load_stays_in_latency_mode() -> None:
    # Given an adaptive controller and 20 fps (latency mode 40 % busy)
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY)
    feed(ctl, 0.0, 10.0, 20)
    # Then it never leaves latency mode, and it measured latency mode's time per frame
    assert ctl.mode is EngineMode.LATENCY and ctl.switches == 0
    assert ctl.latency_s_per_frame == pytest.approx(PER_FRAME_S)
    assert ctl.load == pytest.approx(0.4, abs=0.05)


def test_a_backlog_switches_to_throughput_within_two_windows() -> None:
    # Given latency mode at 20 fps, when the offered rate goes to 100 fps (load 2.0)
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY)
    t = feed(ctl, 0.0, 2.0, 20)
    t = feed(ctl, t, 1.1, 100)
    # Then it switched to throughput within two windows
    assert ctl.mode is EngineMode.THROUGHPUT and ctl.switches == 1
    assert ctl.load > 1.5


def test_it_returns_to_latency_only_after_the_hold_time_of_low_load() -> None:
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY)
    t = feed(ctl, 0.0, 2.0, 20)
    t = feed(ctl, t, 2.0, 100)
    # When the load falls to 20 fps, it stays in throughput for the hold time ...
    t = feed(ctl, t, 2.0, 20)
    assert ctl.mode is EngineMode.THROUGHPUT
    # ... and goes back to latency once it has been low for longer than that
    feed(ctl, t, 2.5, 20)
    assert ctl.mode is EngineMode.LATENCY and ctl.switches == 2


def test_a_load_between_the_thresholds_does_not_flap() -> None:
    # Given throughput mode after a burst, when the load settles between down and up (0.7)
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY)
    t = feed(ctl, 0.0, 1.0, 20)
    t = feed(ctl, t, 1.0, 100)
    feed(ctl, t, 20.0, 35)
    # Then it stays in throughput mode: no switching back and forth
    assert ctl.mode is EngineMode.THROUGHPUT and ctl.switches == 1


def test_a_burst_shorter_than_the_hold_keeps_throughput() -> None:
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY)
    t = feed(ctl, 0.0, 1.0, 20)
    t = feed(ctl, t, 1.0, 100)
    t = feed(ctl, t, 2.0, 10)  # calm, but shorter than the hold
    t = feed(ctl, t, 0.6, 100)  # a new burst resets the calm period
    feed(ctl, t, 2.0, 10)
    assert ctl.mode is EngineMode.THROUGHPUT


def test_one_busy_window_is_not_a_backlog() -> None:
    # Given latency mode, when one window is overloaded (a slow first inference, say)
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY)
    t = feed(ctl, 0.0, 2.0, 20)
    t = feed(ctl, t, 0.2, 100)
    feed(ctl, t, 3.0, 20)
    # Then it stays in latency mode
    assert ctl.mode is EngineMode.LATENCY and ctl.switches == 0


@pytest.mark.parametrize("mode", [EngineMode.LATENCY, EngineMode.THROUGHPUT])
def test_a_fixed_mode_never_switches(mode: EngineMode) -> None:
    ctl = ModeController(mode, POLICY)
    t = feed(ctl, 0.0, 2.0, 200)
    feed(ctl, t, 5.0, 1)
    assert ctl.mode is mode and ctl.switches == 0


def test_the_switch_callback_hears_every_switch() -> None:
    heard: list[EngineMode] = []
    ctl = ModeController(EngineMode.ADAPTIVE, POLICY, on_switch=heard.append)
    t = feed(ctl, 0.0, 1.0, 20)
    t = feed(ctl, t, 1.0, 100)
    feed(ctl, t, 5.0, 5)
    assert heard == [EngineMode.THROUGHPUT, EngineMode.LATENCY]


@pytest.mark.parametrize(("env", "expected"), [
    ({}, EngineMode.ADAPTIVE),
    ({"FW_INFERENCE_ENGINE_MODE": "throughput"}, EngineMode.THROUGHPUT),
    ({"FW_INFERENCE_PERFORMANCE_HINT": "LATENCY"}, EngineMode.LATENCY),
    ({"FW_INFERENCE_PERFORMANCE_HINT": "throughput", "FW_INFERENCE_ENGINE_MODE": "latency"},
     EngineMode.THROUGHPUT),
])
def test_the_mode_comes_from_settings_a_legacy_hint_winning(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: EngineMode
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert InferenceSettings().effective_mode is expected


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def test_the_throughput_copy_is_warm_before_it_serves_so_memory_does_not_jump_at_the_switch(
) -> None:
    # Given the zoo model loaded for adaptive mode, its latency copy already in use
    import numpy as np
    import skimage.data

    from framewire.models.perframe.loading import load_model

    modal = load_model(InferenceSettings(model="ssd-mobilenet-v2-oidv4",
                                         engine_mode=EngineMode.ADAPTIVE))
    assert isinstance(modal, ModalDetector) and modal.wait_ready(120)
    photo = np.ascontiguousarray(skimage.data.astronaut()[::2, ::2, ::-1])
    for _ in range(10):
        modal.for_mode(EngineMode.LATENCY).detect(photo)
    before = _rss_mib()
    # When the load switches the worker to throughput and every request serves a frame
    throughput = modal.for_mode(EngineMode.THROUGHPUT)
    assert throughput is modal.throughput
    batch = throughput.preprocess(photo)
    for _ in range(20):
        throughput.infer_async(batch, lambda outputs, userdata: None, None)
    throughput.wait_all()
    # Then the worker's memory stays where it was (unwarmed, the requests' first inferences
    # allocated about 10 MiB)
    assert _rss_mib() - before < 4.0
