"""Settings of ``framewire replay``: the live worker's model settings (``FW_INFERENCE_*``,
so a replay runs the model the live way) and the Kafka connection (``FW_KAFKA_*``).

Built by ``framewire replay``'s ``run()`` (or by whoever calls ``run_replay``).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from framewire.core.config import KafkaSettings
from framewire.models.perframe.settings import DetectorSettings


class ReplaySettings(DetectorSettings):
    """What a replay reads from the environment; env prefix ``FW_INFERENCE_``."""

    model_config = SettingsConfigDict(env_prefix="FW_INFERENCE_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    # A replay commits a transaction per 16 frames; a run interrupted with one open has it
    # aborted by the broker after this long (or at once by the next replay into the topic).
    transaction_timeout_ms: int = Field(default=60_000, ge=1000, le=900_000)

    def transactional_id(self, output: str) -> str:
        """Per output topic, not per run: a second replay into the same topic fences the first."""
        return f"{self.kafka.topic_prefix}replay.{output}"
