"""The local broker command fails fast and clearly on a bad machine state."""

import socket
import stat

import pytest

from framewire.broker import maven
from framewire.broker.command import tool_command
from framewire.broker.local import LocalBroker
from framewire.core.errors import BrokerError

pytestmark = pytest.mark.unit


def test_port_already_taken_is_reported(tmp_path):
    # Given a port held by another process
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # When a broker is started on it
        # Then the error names the port and how to choose another
        with pytest.raises(BrokerError, match=rf"port {port} .* already in use.*FW_KAFKA_PORT"):
            LocalBroker(tmp_path, port=port, controller_port=port + 1).start()


def test_missing_java_is_reported(tmp_path, monkeypatch):
    # Given a PATH without java
    monkeypatch.setenv("PATH", str(tmp_path))
    # When the broker would be started
    with pytest.raises(BrokerError, match="java not found"):
        LocalBroker(tmp_path, port=1, controller_port=2)._java_cmd("kafka.Kafka")


def test_maven_failure_is_reported_with_its_output(tmp_path, monkeypatch):
    # Given a Maven that cannot reach its repository
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "mvn"
    fake.write_text(
        "#!/bin/sh\necho '[ERROR] Could not transfer artifact org.apache.kafka:kafka_2.13'\nexit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}")
    # When the classpath is resolved into an empty cache
    # Then the error says Maven failed and shows why
    with pytest.raises(BrokerError, match=r"Maven could not resolve Apache Kafka 4\.3\.1") as info:
        maven.resolve_classpath(tmp_path / "cache")
    assert "Could not transfer artifact" in str(info.value)


def test_missing_maven_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrokerError, match="mvn not found"):
        maven.resolve_classpath(tmp_path / "cache")


def test_tool_names_map_to_kafka_classes_and_get_the_bootstrap():
    main_class, args = tool_command("get-offsets", ["--topic", "t"], "127.0.0.1:9092")
    assert main_class == "org.apache.kafka.tools.GetOffsetShell"
    assert args == ["--bootstrap-server", "127.0.0.1:9092", "--topic", "t"]
    _, given = tool_command("topics", ["--bootstrap-server", "x:1", "--list"], "127.0.0.1:9092")
    assert given == ["--bootstrap-server", "x:1", "--list"]
    with pytest.raises(BrokerError, match="unknown Kafka tool"):
        tool_command("nope", [], "b:1")


def test_config_is_single_node_safe_for_transactions(tmp_path):
    text = LocalBroker(tmp_path).config_text()
    for line in ("offsets.topic.replication.factor=1", "transaction.state.log.min.isr=1",
                 "share.coordinator.state.topic.replication.factor=1",
                 "group.initial.rebalance.delay.ms=0"):
        assert line in text
