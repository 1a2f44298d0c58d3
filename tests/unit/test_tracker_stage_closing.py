"""A stage that is closing does not take streams over: the consumer's close may deliver one
last assignment, and fetching its offsets on a closing consumer waits out the whole restore
timeout, past any shutdown grace period."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from framewire.core.config import KafkaSettings
from framewire.tracker import stage as stage_module
from framewire.tracker.geometry import StreamGeometry
from framewire.tracker.settings import TrackerSettings
from framewire.tracker.stage import TrackerStage

pytestmark = pytest.mark.unit


class StoppingConsumer:
    """Delivers no records; ``consume`` sets the stop event, as a SIGTERM would."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.assigned: list[Any] = []

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.callbacks = callbacks

    def consume(self, n: int, timeout: float) -> list[Any]:
        self.stop.set()
        return []

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned += partitions


def test_an_assignment_delivered_while_closing_is_not_taken_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stage whose loop has ended on a stop
    taken: list[Any] = []
    monkeypatch.setattr(stage_module, "take_over", lambda *args: taken.append(args) or {})
    stop = threading.Event()
    consumer = StoppingConsumer(stop)
    settings = TrackerSettings(kafka=KafkaSettings(bootstrap="127.0.0.1:1"), tracker_id="t", http_port=-1)
    stage = TrackerStage(settings, consumer, producer=None, admin=None,  # type: ignore[arg-type]
                         geometry=StreamGeometry())
    stage.run(stop)
    # When the consumer's close delivers an assignment
    consumer.callbacks["on_assign"](consumer, [TopicPartition("fw.results.cam", 0)])
    # Then nothing is restored or assigned by the stage
    assert taken == [] and consumer.assigned == [] and stage.owned_streams == 0


def test_an_assignment_while_running_is_taken_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a running stage (its loop not ended)
    taken: list[Any] = []
    monkeypatch.setattr(stage_module, "take_over", lambda *args: taken.append(args) or {})
    consumer = StoppingConsumer(threading.Event())
    settings = TrackerSettings(kafka=KafkaSettings(bootstrap="127.0.0.1:1"), tracker_id="t", http_port=-1)
    stage = TrackerStage(settings, consumer, producer=None, admin=None,  # type: ignore[arg-type]
                         geometry=StreamGeometry())
    # When partitions are assigned
    stage._on_assign(consumer, [TopicPartition("fw.results.cam", 0)])  # type: ignore[arg-type]
    # Then the stage restores them (the check above is not a stage that never takes over)
    assert len(taken) == 1
