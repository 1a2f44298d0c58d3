import pytest

from framewire.core.config import KafkaSettings, SecurityProtocol, load_settings
from framewire.core.errors import ConfigError
from framewire.core.kafka import common_config, consumer_config, producer_config

pytestmark = pytest.mark.unit


def test_settings_are_read_from_fw_env(monkeypatch):
    # Given connection settings in the environment
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", "k1:9093,k2:9093")
    monkeypatch.setenv("FW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FW_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("FW_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("FW_KAFKA_SASL_PASSWORD", "s3cret-pass")
    monkeypatch.setenv("FW_KAFKA_TOPIC_PREFIX", "prod.")
    # When the settings are built
    settings = load_settings(KafkaSettings)
    # Then they carry the values, the secret hidden from repr but passed to librdkafka
    assert settings.bootstrap == "k1:9093,k2:9093"
    assert settings.security_protocol is SecurityProtocol.SASL_SSL
    assert "s3cret-pass" not in repr(settings)
    assert common_config(settings)["sasl.password"] == "s3cret-pass"
    assert settings.topics.frames("a") == "prod.frames.a"


def test_settings_are_frozen():
    settings = KafkaSettings()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        settings.bootstrap = "x:1"  # type: ignore[misc]


def test_incomplete_sasl_is_a_config_error(monkeypatch):
    monkeypatch.setenv("FW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ConfigError, match="FW_KAFKA_SASL_USERNAME"):
        load_settings(KafkaSettings)


@pytest.mark.parametrize("bad", ["localhost", "host:", ":9092", "a:b"])
def test_bootstrap_without_port_is_refused(bad):
    with pytest.raises(ConfigError, match="host:port"):
        load_settings(KafkaSettings, bootstrap=bad)


def test_client_defaults_suit_frames():
    settings = KafkaSettings()
    prod = producer_config(settings, transactional_id="w1")
    cons = consumer_config(settings, "g")
    assert prod["acks"] == "all" and prod["enable.idempotence"] is True
    assert prod["compression.type"] == "none"
    assert prod["message.max.bytes"] > settings.max_message_bytes
    assert cons["max.partition.fetch.bytes"] > settings.max_message_bytes
    assert cons["isolation.level"] == "read_committed"
    assert cons["enable.auto.commit"] is False


def test_topic_policy_follows_settings(monkeypatch):
    # Given a three-broker cluster's settings
    monkeypatch.setenv("FW_KAFKA_TOPIC_REPLICATION", "3")
    monkeypatch.setenv("FW_KAFKA_FRAMES_RETENTION_MS", "600000")
    # When the topic policy is derived
    policy = load_settings(KafkaSettings).topic_policy
    # Then every topic a service creates gets that replication and retention
    assert (policy.replication, policy.frames_retention_ms) == (3, 600000)


def test_secret_env_values_are_redacted_from_logs(monkeypatch, caplog):
    import logging

    from framewire.core.logs import RedactingFormatter, secrets_from_env

    # Given secrets in the environment
    monkeypatch.setenv("FW_KAFKA_SASL_PASSWORD", "hunter2-sasl")
    monkeypatch.setenv("FW_DASHBOARD_TOKEN", "tok-abcdef-123456")
    monkeypatch.setenv("FW_KAFKA_BOOTSTRAP", "k:9092")
    found = secrets_from_env()
    assert set(found) >= {"hunter2-sasl", "tok-abcdef-123456"} and "k:9092" not in found
    # When a record mentioning them is formatted by the redacting formatter
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "auth %s with %s", ("hunter2-sasl", "tok-abcdef-123456"), None
    )
    text = RedactingFormatter("%(message)s", found).format(record)
    # Then neither value survives
    assert text == "auth *** with ***"
