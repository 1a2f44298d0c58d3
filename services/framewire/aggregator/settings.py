"""Settings of ``framewire aggregator`` (env prefix ``FW_AGGREGATOR_``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from framewire.aggregator.progress import Timing
from framewire.aggregator.windows import WindowLayout
from framewire.core.config import KafkaSettings


class AggregatorSettings(BaseSettings):
    """Built once in ``run()``; every field can be set as ``FW_AGGREGATOR_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FW_AGGREGATOR_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    # faust app id, after the topic prefix: names the consumer group and internal topics.
    app_id: str = Field(default="aggregator", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # Alert rules; empty means the bundled default_rules.txt.
    rules_file: Path | None = None
    # faust web view (stats, alerts, readiness); 0 disables it.
    web_host: str = "0.0.0.0"
    web_port: int = Field(default=6066, ge=0, le=65535)
    # Prometheus /metrics; 0 disables it.
    metrics_port: int = Field(default=9500, ge=0, le=65535)
    tumbling_s: float = Field(default=10.0, gt=0, le=3600)
    hopping_s: float = Field(default=60.0, gt=0, le=86400)
    hopping_step_s: float = Field(default=10.0, gt=0, le=3600)
    # How long a window waits for late results after the stream's newest capture time.
    grace_s: float = Field(default=2.0, ge=0, le=600)
    # A stream with no result or drop for this long has its windows closed by the clock.
    idle_s: float = Field(default=5.0, gt=0, le=3600)
    # A stream silent for this long is forgotten: its alerts clear, its state is deleted.
    forget_s: float = Field(default=3600.0, gt=0)
    # Results captured further in the future than this are refused (clock skew).
    max_skew_s: float = Field(default=300.0, gt=0)
    # Period of the clock ticks that close windows and detect silence.
    tick_s: float = Field(default=1.0, gt=0, le=60)
    # How often new fw.results.<stream> topics are looked for (a new stream's records are
    # then read from its first one; listing the topics of a big cluster costs CPU).
    discover_s: float = Field(default=30.0, gt=0, le=3600)
    # Records each agent takes at once, and how long it waits to fill a batch: a batch
    # writes each table key it changes once and sends one observation record per stream.
    batch_max: int = Field(default=500, ge=1, le=100_000)
    # (each agent also wakes this often when idle, so not much shorter; stats and alerts
    # are published up to this much later).
    batch_within_s: float = Field(default=1.0, gt=0, le=10)
    # How often the consumer-lag metric is refreshed (it asks the consumer thread for the
    # position of every assigned partition).
    lag_interval_s: float = Field(default=10.0, gt=0, le=3600)
    # Partitions of the internal observation topic and of the table changelogs.
    partitions: int = Field(default=4, ge=1, le=256)
    replication: int = Field(default=1, ge=1, le=7)
    # faust table store: memory:// (rebuilt from the changelog at start) or rocksdb://.
    store: str = "memory://"
    data_dir: Path = Path(tempfile.gettempdir()) / "framewire-aggregator"
    # Largest original value copied into a DeadLetter.
    dlq_value_max_bytes: int = Field(default=1024 * 1024, ge=0)

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if not value.startswith(("memory://", "rocksdb://", "aerospike://")):
            raise ValueError("store must be memory://, rocksdb:// or aerospike://")
        return value

    def layout(self) -> WindowLayout:
        """Window sizes in ms; raises ConfigError when they do not fit together."""
        return WindowLayout(
            round(self.tumbling_s * 1000), round(self.hopping_s * 1000), round(self.hopping_step_s * 1000)
        )

    def timing(self) -> Timing:
        return Timing(
            grace_ms=round(self.grace_s * 1000),
            idle_s=self.idle_s,
            forget_s=self.forget_s,
            max_skew_ms=round(self.max_skew_s * 1000),
        )

    @property
    def faust_id(self) -> str:
        return f"{self.kafka.topic_prefix}{self.app_id}"
