"""Gateway settings, read from ``FW_GATEWAY_*`` (Kafka from ``FW_KAFKA_*``).

Built once in ``main.run()`` (or by whoever calls ``serve``), never at import time.

| env var | default | meaning |
|---|---|---|
| FW_GATEWAY_ID | host-pid | instance id shown in stream status |
| FW_GATEWAY_ASSIGNMENT | group | ``group``: replicas split streams; ``all``: serve every stream |
| FW_GATEWAY_SLOTS | 32 | partitions of the slots topic (fixed once created) |
| FW_GATEWAY_GROUP_ID | <prefix>gateway | consumer group of the replicas |
| FW_GATEWAY_SESSION_TIMEOUT_MS | 6000 | how fast a dead gateway's streams move |
| FW_GATEWAY_STATUS_INTERVAL_S | 2.0 | period of status and drop-record publishing |
| FW_GATEWAY_JPEG_QUALITY | 80 | used when a spec says 0 |
| FW_GATEWAY_MAX_FPS | 120 | specs asking for more are rejected |
| FW_GATEWAY_RTSP_TRANSPORT | tcp | default RTSP transport; ``?rtsp_transport=udp`` per source |
| FW_GATEWAY_OPEN_TIMEOUT_S / READ_TIMEOUT_S | 10 / 5 | source open and read limits |
| FW_GATEWAY_BACKOFF_INITIAL_S / BACKOFF_MAX_S | 0.5 / 30 | reconnect backoff |
| FW_GATEWAY_HANDOFF_DEPTH | 2 | decoded frames waiting for the encoder, per stream |
| FW_GATEWAY_PRODUCER_BUFFER_MIB / _MESSAGES | 32 / 512 | frames producer queue bound |
| FW_GATEWAY_DELIVERY_TIMEOUT_MS | 300000 | a frame not delivered by then is dropped (see below) |
| FW_GATEWAY_METRICS_PORT / METRICS_ADDR | 9110 / 0.0.0.0 | Prometheus ``/metrics``; 0 = off |
| FW_GATEWAY_MEDIA_ROOTS | (none) | comma-separated folders file and folder sources must lie in |
"""

from __future__ import annotations

import os
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from framewire.core.config import KafkaSettings
from framewire.core.media import parse_roots


class AssignmentMode(StrEnum):
    """How a gateway decides which streams it serves."""

    GROUP = "group"  # share the slots topic's partitions with the other replicas
    ALL = "all"  # a single gateway serves every stream in the registry


class RtspTransport(StrEnum):
    TCP = "tcp"  # interleaved over the RTSP connection: survives NAT and firewalls
    UDP = "udp"  # RTP over UDP: what minimal servers (e.g. rtsp-server-perl) offer


def _default_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class GatewaySettings(BaseSettings):
    """Everything one gateway process needs; see the module docstring for the env vars."""

    model_config = SettingsConfigDict(env_prefix="FW_GATEWAY_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    id: str = Field(default_factory=_default_id, min_length=1, max_length=200)
    assignment: AssignmentMode = AssignmentMode.GROUP
    slots: int = Field(default=32, ge=1, le=1024)
    group_id: str | None = None
    session_timeout_ms: int = Field(default=6000, ge=1000, le=300_000)
    status_interval_s: float = Field(default=2.0, gt=0, le=300)
    jpeg_quality: int = Field(default=80, ge=1, le=100)
    max_fps: float = Field(default=120.0, gt=0, le=1000)
    rtsp_transport: RtspTransport = RtspTransport.TCP
    open_timeout_s: float = Field(default=10.0, gt=0, le=300)
    read_timeout_s: float = Field(default=5.0, gt=0, le=300)
    backoff_initial_s: float = Field(default=0.5, gt=0, le=60)
    backoff_max_s: float = Field(default=30.0, gt=0, le=3600)
    handoff_depth: int = Field(default=2, ge=1, le=64)
    producer_buffer_mib: int = Field(default=32, ge=1, le=2048)
    producer_buffer_messages: int = Field(default=512, ge=1, le=1_000_000)
    # Long on purpose. librdkafka gives a produce request no more time than its first frame
    # has left; a broker slow after a restart then misses that deadline, the frames count
    # as "possibly written", and the expiring backlog makes the idempotent producer bump its
    # epoch and send them again under new sequence numbers, which the broker cannot
    # recognise as copies (docs/reliability.md). An outage is absorbed by the bounded queue
    # instead: frames that do not fit are dropped as BACKPRESSURE, those queued arrive late
    # and inference records them as stale.
    delivery_timeout_ms: int = Field(default=300_000, ge=1000, le=600_000)
    metrics_port: int = Field(default=9110, ge=0, le=65535)
    metrics_addr: str = "0.0.0.0"
    # File and folder sources must resolve inside one of these; empty: no restriction.
    media_roots: Annotated[tuple[Path, ...], NoDecode] = ()

    @field_validator("media_roots", mode="before")
    @classmethod
    def _parse_media_roots(cls, value: object) -> object:
        return parse_roots(value) if isinstance(value, str | list | tuple) else value

    @property
    def slots_topic(self) -> str:
        return f"{self.kafka.topic_prefix}gateway.slots"

    @property
    def effective_group_id(self) -> str:
        return self.group_id or f"{self.kafka.topic_prefix}gateway"
