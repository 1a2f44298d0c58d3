import random
import threading

import pytest

from framewire.gateway.pacing import Backoff, Pacer, Throttle

pytestmark = pytest.mark.unit


def kept_rate(source_fps: float, target_fps: float, seconds: float, jitter_s: float = 0.0) -> float:
    pacer = Pacer(target_fps)
    rng = random.Random(7)
    frames = int(source_fps * seconds)
    kept = sum(pacer.due(i / source_fps + rng.uniform(-jitter_s, jitter_s)) for i in range(frames))
    return kept / seconds


@pytest.mark.parametrize(
    ("source_fps", "target_fps"), [(30, 15), (25, 10), (30, 7), (60, 24), (15, 15), (29.97, 5)]
)
def test_kept_rate_matches_the_target_without_drift(source_fps, target_fps):
    # Given a source faster than (or as fast as) the target, with timestamp jitter
    # When 20 minutes of frames go through the pacer
    rate = kept_rate(source_fps, target_fps, 1200, jitter_s=0.004)
    # Then the kept count is the target's to within one frame: no drift
    assert abs(rate - target_fps) * 1200 <= 1.0


def test_kept_rate_never_exceeds_the_source_rate():
    # Given a source slower than the target
    # When frames go through the pacer
    rate = kept_rate(10, 25, 60)
    # Then every frame is kept and no more
    assert rate == pytest.approx(10, abs=0.02)


def test_zero_target_keeps_every_frame():
    # Given a target of 0 (the source's own rate)
    pacer = Pacer(0)
    # When frames arrive at any times
    # Then all are kept
    assert all(pacer.due(t / 7) for t in range(100))


def test_a_stall_restarts_the_schedule_instead_of_bursting():
    # Given a 10 fps pacer fed at 30 fps, then a 5 s gap
    pacer = Pacer(10)
    for i in range(30):
        pacer.due(i / 30)
    # When frames resume after the gap
    kept = [pacer.due(6.0 + i / 30) for i in range(6)]
    # Then the first is kept and the rate stays 10 fps: no catch-up burst
    assert kept == [True, False, False, True, False, False]


def test_throttle_spaces_reads_by_whole_periods():
    # Given a 20 fps throttle and a clock that sometimes runs late
    throttle = Throttle(20)
    # When asked for delays at late wake-ups
    first = throttle.delay(100.0)
    second = throttle.delay(100.01)
    third = throttle.delay(100.14)  # woke 40 ms late
    # Then waits are measured against the schedule, not the last wake-up
    assert (first, round(second, 3), third) == (0.0, 0.04, 0.0)
    assert round(throttle.delay(100.141), 3) == 0.009


def test_throttle_wait_returns_false_once_stopped():
    # Given a stopped stream
    stop = threading.Event()
    stop.set()
    # When the throttle would wait
    # Then it returns at once saying stop
    assert Throttle(1).wait(stop) is False


def test_backoff_doubles_up_to_the_cap_and_resets():
    # Given a backoff of 0.5 s capped at 4 s without jitter
    backoff = Backoff(0.5, 4.0, jitter=0.0)
    # When attempts keep failing
    delays = [backoff.next_delay() for _ in range(6)]
    # Then delays double up to the cap
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    # And after a success it starts over
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_jitter_stays_within_bounds():
    # Given a jittered backoff
    backoff = Backoff(1.0, 8.0, jitter=0.2)
    # When many delays are drawn
    delays = [backoff.next_delay() for _ in range(50)]
    # Then none exceeds the cap and the first is within 20% of the initial delay
    assert max(delays) <= 8.0
    assert 0.8 <= delays[0] <= 1.2
