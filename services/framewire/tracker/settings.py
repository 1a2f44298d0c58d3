"""Settings of the tracking stage, read from ``FW_TRACKER_*`` (Kafka from ``FW_KAFKA_*``).
Built in ``main.run()`` (or by whoever calls ``run_stage``), never at import time.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from framewire.core.config import INSTANCE_ID_RE, KafkaSettings, host_instance_id


class StartFrom(StrEnum):
    """Where a stream the group has never tracked starts."""

    # Its newest results: a new tracker follows live video, not the week of history.
    LATEST = "latest"
    # Its oldest results still retained.
    EARLIEST = "earliest"


def default_tracker_id() -> str:
    """A stable id: the host name (a pod name under Kubernetes)."""
    return host_instance_id("tracker")


class TrackerSettings(BaseSettings):
    """Everything ``framewire tracker`` can be told; env prefix ``FW_TRACKER_``."""

    model_config = SettingsConfigDict(env_prefix="FW_TRACKER_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    # Stable per instance: it names the transactional id, so a restart fences its zombie.
    tracker_id: str = Field(default_factory=default_tracker_id)
    # Consumer group; default ``<topic prefix>tracker``.
    group_id: str | None = None

    # Association (see framewire.tracker.tracking.TrackerConfig).
    high_score: float = Field(default=0.5, ge=0.0, le=1.0)
    low_score: float = Field(default=0.1, ge=0.0, le=1.0)
    match_iou: float = Field(default=0.3, gt=0.0, le=1.0)
    max_misses: int = Field(default=15, ge=0, le=10_000)

    start_from: StartFrom = StartFrom.LATEST
    # Results taken into one transaction at most; the idle loop blocks this long in poll.
    batch_results: int = Field(default=256, ge=1, le=10_000)
    poll_timeout_s: float = Field(default=0.5, gt=0, le=10)
    session_timeout_ms: int = Field(default=6000, ge=1000, le=300_000)
    # A tracker killed inside a transaction blocks its streams until the broker aborts it.
    transaction_timeout_ms: int = Field(default=6000, ge=1000, le=900_000)
    # How long a new owner of a stream waits for its state to be readable before failing.
    restore_timeout_s: float = Field(default=60.0, gt=0, le=3600)

    # Health, readiness and /metrics; 0 picks a free port, -1 disables the server.
    http_port: int = Field(default=9600, ge=-1, le=65535)
    http_host: str = "0.0.0.0"

    @field_validator("tracker_id")
    @classmethod
    def _id_legal(cls, value: str) -> str:
        if not INSTANCE_ID_RE.match(value):
            raise ValueError(f"tracker id {value!r} may only contain letters, digits, '.', '_' "
                             "and '-' (1 to 100 characters)")
        return value

    @model_validator(mode="after")
    def _scores_ordered(self) -> TrackerSettings:
        if self.low_score > self.high_score:
            raise ValueError(f"low_score {self.low_score} is above high_score {self.high_score}")
        return self

    @property
    def group(self) -> str:
        return self.group_id or f"{self.kafka.topic_prefix}tracker"

    @property
    def transactional_id(self) -> str:
        return f"{self.group}.{self.tracker_id}"
