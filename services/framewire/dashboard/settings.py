"""Settings of the dashboard process, read from ``FW_DASHBOARD_*`` (Kafka from ``FW_KAFKA_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from framewire.core.config import KafkaSettings
from framewire.core.media import parse_roots

MIN_TOKEN_LEN = 16


class DashboardSettings(BaseSettings):
    """How the dashboard listens, authenticates and bounds its per-client memory.

    Built once in ``main.run()`` (or by whoever calls ``create_app``), never at import.
    """

    model_config = SettingsConfigDict(env_prefix="FW_DASHBOARD_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Bearer token; when set, every mutating endpoint needs it (and every endpoint if auth_all).
    token: SecretStr | None = None
    auth_all: bool = False
    # Origins allowed to call the API from another site. Empty: no CORS headers at all.
    # Env: a comma-separated list, e.g. "https://ops.example.com,http://localhost:3000".
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Events buffered per SSE client; a client further behind loses its oldest events.
    client_queue_size: int = Field(default=256, ge=4, le=100_000)
    # Seconds between SSE heartbeat comments (keeps proxies from closing idle streams).
    heartbeat_s: float = Field(default=10.0, gt=0, le=300)
    # A client whose socket accepts nothing for this long is disconnected.
    send_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    # Recent JPEG frames kept per stream so boxes can be drawn on the exact frame.
    frames_per_stream: int = Field(default=64, ge=2, le=10_000)
    # Most events one Last-Event-ID resume replays from Kafka before reporting a gap.
    resume_max_events: int = Field(default=5000, ge=1, le=1_000_000)
    # Period of the per-stream summary events (fps, latency percentiles, drops).
    summary_interval_s: float = Field(default=1.0, gt=0, le=60)
    # Seconds of per-second history kept per stream for the latency chart.
    history_s: int = Field(default=120, ge=10, le=3600)
    # How often the consumer looks for new per-stream topics (every second for a while
    # after a new stream appears in the specs or status).
    topic_refresh_s: float = Field(default=10.0, gt=0, le=60)
    # Read a stream's frames only while a client watches it (SSE or frame requests), and
    # for this long after; False reads every stream's frames all the time.
    frames_on_demand: bool = True
    frames_linger_s: float = Field(default=10.0, gt=0, le=3600)
    # Folders file and folder sources must lie in (the gateways' FW_GATEWAY_MEDIA_ROOTS).
    # Env: comma-separated absolute paths. Empty: any path is accepted.
    media_roots: Annotated[tuple[Path, ...], NoDecode] = ()
    # Clip jobs (POST /api/clips): where finished clips are kept (default: a folder in the
    # system's temporary directory), how many are cut at once and wait, the folder's size
    # bound and how long a clip is kept.
    clips_dir: Path | None = None
    clips_running: int = Field(default=2, ge=1, le=16)
    clips_queued: int = Field(default=8, ge=0, le=1000)
    clips_max_mb: int = Field(default=512, ge=1, le=1_000_000)
    clips_ttl_s: float = Field(default=3600.0, gt=0, le=30 * 86400)

    @field_validator("media_roots", mode="before")
    @classmethod
    def _parse_media_roots(cls, value: object) -> object:
        return parse_roots(value) if isinstance(value, str | list | tuple) else value

    @field_validator("token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} must start with http:// or https://")
            if origin.endswith("/"):
                raise ValueError(f"CORS origin {origin!r} must not end with '/'")
        return origins

    @model_validator(mode="after")
    def _token_rules(self) -> DashboardSettings:
        if self.token is not None and len(self.token.get_secret_value()) < MIN_TOKEN_LEN:
            raise ValueError(f"FW_DASHBOARD_TOKEN must be at least {MIN_TOKEN_LEN} characters")
        if self.auth_all and self.token is None:
            raise ValueError("FW_DASHBOARD_AUTH_ALL needs FW_DASHBOARD_TOKEN to be set")
        return self
