"""Settings shared by every service.

Each service defines one frozen settings class (env prefix ``FW_``) and builds it in its
``main()``, never at import time. Connection settings live in ``KafkaSettings`` (env prefix
``FW_KAFKA_``) and are composed into each service's class.
"""

from __future__ import annotations

import os
import re
import socket
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from framewire.core.errors import ConfigError
from framewire.core.topics import Topics

# An instance id (worker, tracker): it names a transactional id and a group instance id.
INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def host_instance_id(fallback: str) -> str:
    """A stable id for this process's instance: the host name (a pod name under Kubernetes),
    made legal for ``INSTANCE_ID_RE``; called as a settings default."""
    name = os.environ.get("HOSTNAME") or socket.gethostname() or fallback
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)[:100]

if TYPE_CHECKING:
    from framewire.core.admin import TopicPolicy

MIB = 1024 * 1024


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class KafkaSettings(BaseSettings):
    """How to reach the broker. Read from ``FW_KAFKA_*``; secrets are ``SecretStr``."""

    model_config = SettingsConfigDict(env_prefix="FW_KAFKA_", frozen=True, extra="ignore")

    bootstrap: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: SecretStr | None = None
    # Largest message we produce or fetch; must match the topics' max.message.bytes.
    max_message_bytes: int = Field(default=8 * MIB, ge=MIB, le=64 * MIB)
    # How long a client waits for the broker before giving up with a clear error.
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    topic_prefix: str = "fw."
    # Replication factor for topics framewire creates (frames, results, the fixed topics).
    topic_replication: int = Field(default=1, ge=1, le=16)
    frames_retention_ms: int = Field(default=3_600_000, ge=60_000)
    results_retention_ms: int = Field(default=7 * 24 * 3_600_000, ge=60_000)

    @field_validator("bootstrap")
    @classmethod
    def _bootstrap_has_port(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"bootstrap server {server!r} must look like host:port")
        return value

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSettings:
        sasl = self.security_protocol.value.startswith("SASL")
        if sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise ValueError(
                "SASL security protocol needs FW_KAFKA_SASL_MECHANISM, "
                "FW_KAFKA_SASL_USERNAME and FW_KAFKA_SASL_PASSWORD"
            )
        return self

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    @property
    def topic_policy(self) -> TopicPolicy:
        """Retention, size and replication for every topic a service creates."""
        from framewire.core.admin import TopicPolicy

        return TopicPolicy(
            frames_retention_ms=self.frames_retention_ms,
            results_retention_ms=self.results_retention_ms,
            max_message_bytes=self.max_message_bytes,
            replication=self.topic_replication,
        )


S = TypeVar("S", bound=BaseSettings)


def options_given(args: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The command-line options among ``names`` that were given, to lay over the
    environment with ``load_settings(cls, **options_given(args, names))``."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build a settings class, turning pydantic's validation error into a ConfigError.

    Called from each service's ``main()``.
    """
    from pydantic import ValidationError

    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {cls.__name__}: {problems}") from None
