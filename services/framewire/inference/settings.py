"""Settings of the inference service, read from ``FW_INFERENCE_*`` (Kafka from ``FW_KAFKA_*``).

Built in ``main.run()`` (or by whoever calls ``run_worker``), never at import time.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from framewire.core.config import INSTANCE_ID_RE, KafkaSettings, host_instance_id
from framewire.models.perframe.settings import PRECISIONS, DetectorSettings, EngineMode

__all__ = ["PRECISIONS", "EngineMode", "FreshnessPolicy", "GroupProtocol", "InferenceSettings"]



class FreshnessPolicy(StrEnum):
    """What a worker does with frames it cannot process in time."""

    # Skip frames older than the maximum age, jumping to the newest one.
    LATEST = "latest"
    # Process every k-th frame (``stride``), and skip stale ones like ``latest``.
    STRIDE = "stride"
    # Process everything in order, however old (replay).
    NONE = "none"


class GroupProtocol(StrEnum):
    """The consumer group protocol the workers' group speaks (``group.protocol``)."""

    # Client-side assignment (cooperative-sticky) with static membership: a worker restarted
    # under the same id takes its partitions back at once, without a rebalance.
    CLASSIC = "classic"
    # KIP-848: the broker assigns partitions and owns the session timeout; a crashed static
    # member's id stays taken until its session expires (see docs/reliability.md).
    CONSUMER = "consumer"


def default_worker_id() -> str:
    """A stable id for this worker: the host name (a pod name under Kubernetes)."""
    return host_instance_id("worker")


class InferenceSettings(DetectorSettings):
    """Everything ``framewire inference`` can be told; env prefix ``FW_INFERENCE_``. The
    model and decode settings are the per-frame path's (``DetectorSettings``)."""

    model_config = SettingsConfigDict(env_prefix="FW_INFERENCE_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    # Stable per worker: it names the transactional id, so a restart fences its zombie.
    worker_id: str = Field(default_factory=default_worker_id)
    # Consumer group; default ``<topic prefix>inference``.
    group_id: str | None = None

    # With a model server: how often to ask it for a new version.
    model_poll_s: float = Field(default=30.0, ge=1.0, le=3600)

    freshness: FreshnessPolicy = FreshnessPolicy.LATEST
    max_age_ms: int = Field(default=500, ge=1, le=3_600_000)
    stride: int = Field(default=2, ge=1, le=1000)
    # ``latest``: a backlog the worker clears within this much time (its frames times the
    # measured time per frame) is processed in order; a worker further behind jumps to each
    # partition's newest frame and supersedes the older ones (0: always only the newest).
    # It absorbs a late cycle or a handover without losing frames and bounds the extra lag
    # the policy allows. After an assignment, a partition not yet heard from holds the
    # others to one frame a cycle for this long at most.
    catch_up_ms: int = Field(default=200, ge=0, le=60_000)

    # Frames handed to one transaction at most (one consume-infer-commit cycle).
    cycle_frames: int = Field(default=8, ge=1, le=1024)
    # One transaction spans the cycles finished within this interval (0: one per cycle) ...
    commit_interval_ms: int = Field(default=20, ge=0, le=10_000)
    # ... or until it holds this many frames, whichever comes first.
    commit_frames: int = Field(default=32, ge=1, le=4096)
    # Frames buffered per partition before the partition is paused (bounded memory).
    partition_buffer: int = Field(default=16, ge=2, le=4096)
    # Dead letters keep the original value when it is at most this many bytes.
    dlq_max_value_bytes: int = Field(default=1024 * 1024, ge=0)

    # How long the idle loop blocks in consume(); also the stop latency.
    poll_timeout_s: float = Field(default=0.5, gt=0, le=10)
    # How long the group waits for a silent worker before moving its partitions. 6 s is the
    # smallest a default broker accepts (group.min.session.timeout.ms).
    session_timeout_ms: int = Field(default=6000, ge=1000, le=300_000)
    group_protocol: GroupProtocol = GroupProtocol.CLASSIC
    # Join as a static member (group.instance.id = worker id): a restart within the session
    # timeout gets the same partitions back without a rebalance. Off by default: after a
    # broker outage on a loaded machine librdkafka 2.16 re-joined twice and the broker fenced
    # the worker by its own instance id (FENCED_INSTANCE_ID, fatal), stopping the worker.
    static_membership: bool = False
    # On a graceful stop, leave the group explicitly so the partitions move at once (a static
    # member that just closes keeps them until its session times out).
    leave_group_on_stop: bool = True
    metadata_refresh_ms: int = Field(default=5000, ge=100, le=300_000)
    # How long the broker lets a transaction stay open. A worker that dies inside one
    # blocks its partitions' offsets (for the survivor too) until the broker aborts it, so
    # this bounds the failover of a worker gone for good; a live worker's transaction lasts
    # one commit (milliseconds), or an outage, after which a new producer carries on.
    transaction_timeout_ms: int = Field(default=6000, ge=1000, le=900_000)

    # Run the worker as the child of a supervisor that has done the imports and forks it
    # again at once when it is killed (inference/supervisor.py): a restart skips about a
    # second of start-up.
    supervise: bool = False

    # Health, readiness and /metrics; 0 picks a free port, -1 disables the server.
    http_port: int = Field(default=9400, ge=-1, le=65535)
    http_host: str = "0.0.0.0"

    @field_validator("worker_id")
    @classmethod
    def _worker_id_legal(cls, value: str) -> str:
        if not INSTANCE_ID_RE.match(value):
            raise ValueError(
                f"worker id {value!r} may only contain letters, digits, '.', '_' and '-' "
                "(1 to 100 characters)"
            )
        return value

    @property
    def group(self) -> str:
        return self.group_id or f"{self.kafka.topic_prefix}inference"

    @property
    def transactional_id(self) -> str:
        """Derived from group and worker id: the same worker restarting fences its zombie."""
        return f"{self.group}.{self.worker_id}"
