"""SASL_SSL (SCRAM-SHA-512 over TLS) on the real broker, configured through settings alone."""

from __future__ import annotations

import time

import pytest

from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics
from framewire.core.config import KafkaSettings, load_settings
from framewire.core.errors import KafkaUnavailableError
from framewire.core.kafka import check_reachable, make_admin, make_producer

pytestmark = pytest.mark.integration


def test_client_connects_with_scram_over_tls_from_env(secure_env, monkeypatch):
    # Given FW_KAFKA_* naming the SASL_SSL listener, the SCRAM user and the test CA
    for key, value in secure_env.items():
        monkeypatch.setenv(key, value)
    # When settings are built from the environment and used
    settings = load_settings(KafkaSettings)
    check_reachable(settings)
    created = ensure_topics(make_admin(settings), fixed_topics(settings.topics, TopicPolicy()))
    producer = make_producer(settings)
    producer.produce(settings.topics.drops, key=b"k", value=b"v")
    # Then topics are created and a record is delivered over the secure listener
    assert settings.topics.drops in created
    assert producer.flush(15) == 0


def test_wrong_password_is_a_clear_error_not_a_hang(secure_env):
    # Given the right user with a wrong password
    settings = KafkaSettings(
        bootstrap=secure_env["FW_KAFKA_BOOTSTRAP"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=secure_env["FW_KAFKA_SASL_USERNAME"],
        sasl_password="definitely-wrong",
        ssl_ca_location=secure_env["FW_KAFKA_SSL_CA_LOCATION"],
        connect_timeout_s=5,
    )
    # When a service checks the broker at start-up
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError) as info:
        check_reachable(settings)
    # Then it fails within seconds, says authentication failed, and never shows the password
    assert time.monotonic() - started < 15
    message = str(info.value)
    assert "authentication" in message.lower(), message
    assert "definitely-wrong" not in message


def test_untrusted_ca_is_refused(secure_env, tmp_path):
    # Given a CA file that did not sign the broker's certificate
    from framewire.broker.secure import write_tls_material

    other_ca, _ = write_tls_material(tmp_path / "other")
    settings = KafkaSettings(
        bootstrap=secure_env["FW_KAFKA_BOOTSTRAP"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=secure_env["FW_KAFKA_SASL_USERNAME"],
        sasl_password=secure_env["FW_KAFKA_SASL_PASSWORD"],
        ssl_ca_location=str(other_ca),
        connect_timeout_s=5,
    )
    # When checked, then the TLS failure is named
    with pytest.raises(KafkaUnavailableError, match=r"(?i)ssl|certificate"):
        check_reachable(settings)
