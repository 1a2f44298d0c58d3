"""faust settings derived from ours: broker, credentials, internal topics, bounded buffers."""

from __future__ import annotations

import ssl
from typing import Any, cast

import faust

from framewire.aggregator.faust_transport import SCHEME
from framewire.aggregator.settings import AggregatorSettings
from framewire.core.config import KafkaSettings, SecurityProtocol


def faust_config(settings: AggregatorSettings) -> dict[str, Any]:
    kafka = settings.kafka
    return {
        "broker": [f"{SCHEME}://{server.strip()}" for server in kafka.bootstrap.split(",")],
        "broker_credentials": credentials(kafka),
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication,
        # faust 0.11 cannot declare topics on Kafka 4 (0.15 can); either way every topic is
        # created from the topic catalogue before the app starts (docs/stats-format.md).
        "topic_allow_declare": False,
        "autodiscover": False,
        "web_enabled": settings.web_port > 0,
        "web_host": settings.web_host,
        "web_port": settings.web_port or 6066,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "producer_max_request_size": kafka.max_message_bytes + 64 * 1024,
        "consumer_max_fetch_size": kafka.max_message_bytes + 64 * 1024,
        # Bounded in-memory buffer per topic partition.
        "stream_buffer_maxsize": 1024,
        # Offsets are committed this often. Longer would save idle CPU (faust's livelock
        # check over every assigned partition runs at 2.5 x this), but every rebalance (each
        # new stream causes one) replays what was not committed yet.
        "broker_commit_interval": 1.0,
        # Let aiokafka batch changelog, observation and stats sends instead of one request each.
        "producer_linger": 0.005,
    }


def credentials(kafka: KafkaSettings) -> Any:
    protocol = kafka.security_protocol
    if protocol is SecurityProtocol.PLAINTEXT:
        return None
    context = None
    if protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
        context = ssl.create_default_context(cafile=kafka.ssl_ca_location)
        if kafka.ssl_certificate_location:
            password = kafka.ssl_key_password.get_secret_value() if kafka.ssl_key_password else None
            context.load_cert_chain(kafka.ssl_certificate_location, kafka.ssl_key_location, password)
    if protocol is SecurityProtocol.SSL:
        return faust.SSLCredentials(cast(ssl.SSLContext, context))
    password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
    return faust.SASLCredentials(
        username=kafka.sasl_username,
        password=password,
        mechanism=kafka.sasl_mechanism or "PLAIN",
        ssl_context=cast(ssl.SSLContext, context),
    )
