"""The framewire error tree.

Every failure that concerns a message carries where it happened: the stream id and the
Kafka coordinates ``topic[partition]@offset`` when known, so a log line is enough to find
the offending record with Kafka's own tools.
"""

from __future__ import annotations


def coordinates(topic: str | None, partition: int | None, offset: int | None) -> str:
    """Format Kafka coordinates as ``topic[partition]@offset``; unknown parts become ``?``."""
    part = "?" if partition is None else str(partition)
    off = "?" if offset is None else str(offset)
    return f"{topic or '?'}[{part}]@{off}"


class FramewireError(Exception):
    """Root of every error framewire raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        stream_id: str | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.message = message
        self.stream_id = stream_id
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(self._render())

    @property
    def where(self) -> str:
        """Stream and coordinates, for logs; empty when the error concerns no message."""
        parts = []
        if self.stream_id:
            parts.append(f"stream={self.stream_id}")
        if self.topic is not None:
            parts.append(coordinates(self.topic, self.partition, self.offset))
        return " ".join(parts)

    def _render(self) -> str:
        where = self.where
        return f"{self.message} ({where})" if where else self.message


class ConfigError(FramewireError):
    """Settings, a spec or a rule file is invalid; raised before anything starts."""


class InvalidStreamIdError(ConfigError):
    """A stream id that cannot be used in a Kafka topic name."""


class KafkaUnavailableError(FramewireError):
    """The broker could not be reached or refused us (network, auth, TLS)."""


class MembershipLostError(KafkaUnavailableError):
    """The consumer group fenced this member (a fatal consumer error, e.g. a static member
    replaced under its own instance id after a broker outage); a new process may join."""


class BrokerError(FramewireError):
    """The local development broker could not be resolved, started or stopped."""


class DecodeError(FramewireError):
    """A message on Kafka could not be decoded (bad protobuf, unknown schema version)."""


class SourceError(FramewireError):
    """A video source could not be opened or read."""


class ModelError(FramewireError):
    """A model could not be fetched, verified, decrypted or loaded."""
