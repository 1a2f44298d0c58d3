"""The console-consumer recipe on a frames topic: Kafka's tool prints key, partition, offset
and timestamp with the JPEG bytes escaped, and ``framewire tail --stdin`` decodes every field."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from framewire.core.config import KafkaSettings
from support.replay import photo_jpegs, record

pytestmark = pytest.mark.integration


def cli(kafka: KafkaSettings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FW_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "FW_KAFKA_TOPIC_PREFIX": kafka.topic_prefix}
    return subprocess.run([sys.executable, "-m", "framewire.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def test_console_consumer_frames_with_all_fields_decode_through_tail(
    kafka_settings: KafkaSettings,
) -> None:
    # Given 3 recorded frames (binary JPEGs) with known timestamps
    jpegs = photo_jpegs(3, 160, 120)
    recording = record(kafka_settings, "cam", jpegs, width=160, height=120)
    topic = kafka_settings.topics.frames("cam")
    # When Kafka's console consumer prints them with every field and escaped bytes
    props = ["print.key=true", "print.partition=true", "print.offset=true", "print.timestamp=true",
             "value.deserializer=org.apache.kafka.common.serialization.BytesDeserializer"]
    printed = cli(kafka_settings, "kafka", "tool", "console-consumer", "--topic", topic,
                  "--from-beginning", "--max-messages", "3", "--timeout-ms", "20000",
                  *[arg for p in props for arg in ("--formatter-property", p)])
    assert printed.returncode == 0, printed.stderr
    # And the lines are piped into framewire tail --stdin (with the JPEG bytes asked for)
    decoded = cli(kafka_settings, "tail", topic, "--stdin", "--with-data", stdin=printed.stdout)
    # Then key, partition, offset, timestamp and the exact JPEG bytes come back
    assert decoded.returncode == 0, decoded.stderr
    lines = [json.loads(x) for x in decoded.stdout.splitlines()]
    assert [x["offset"] for x in lines] == ["0", "1", "2"]
    assert {(x["key"], x["partition"]) for x in lines} == {("cam", "0")}
    assert [int(x["createtime"]) for x in lines] == [recording.timestamp(i) for i in range(3)]
    assert [base64.b64decode(x["value"]["data"]) for x in lines] == jpegs
    assert [x["value"]["data_bytes"] for x in lines] == [len(j) for j in jpegs]
