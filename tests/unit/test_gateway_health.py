"""The gateway's liveness and readiness checks (no Kafka)."""

from __future__ import annotations

import pytest

from framewire.gateway.service import STALL_S, GatewayHealth

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_not_ready_until_the_registry_is_read_then_ready() -> None:
    # Given a gateway that has not stepped yet
    clock = Clock()
    health = GatewayHealth(clock)
    # Then it is alive (starting) but not ready
    assert health.live()[0] and not health.ready()[0]
    # When it steps while still reading the registry; then it is still not ready, and says why
    health.stepped(registry_loaded=False)
    assert health.ready() == (False, "reading the stream registry")
    # When the registry is loaded; then it is ready
    health.stepped(registry_loaded=True)
    assert health.ready()[0]


def test_a_stuck_control_loop_fails_liveness_and_readiness() -> None:
    # Given a gateway that stepped once and then stopped stepping
    clock = Clock()
    health = GatewayHealth(clock)
    health.stepped(registry_loaded=True)
    # When more than the stall time passes
    clock.now += STALL_S + 1
    # Then both probes fail, naming how long the loop has been still
    live, why = health.live()
    assert not live and "has not run for 31 s" in why
    assert not health.ready()[0]
