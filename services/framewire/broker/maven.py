"""Resolve Apache Kafka's jars from Maven Central with Maven into a cache folder.

Called by ``framewire kafka up`` and ``framewire kafka tool``; a second call finds the
cached classpath and needs no network.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from framewire.core.errors import BrokerError

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.3.1"
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.25.4"

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.framewire</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""


def cache_root() -> Path:
    """Where framewire keeps downloads and local state (env ``FW_HOME``)."""
    return Path(os.environ.get("FW_HOME", Path.home() / ".cache" / "framewire"))


def require_tool(name: str, what: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BrokerError(f"{name} not found on PATH: {what}")
    return path


def resolve_classpath(root: Path | None = None) -> Path:
    """Return the folder holding every jar the broker and Kafka's tools need.

    Runs Maven once; afterwards the stamp file short-circuits with no network access.
    """
    base = (root or cache_root()) / f"kafka-{KAFKA_VERSION}"
    libs = base / "libs"
    stamp = base / ".resolved"
    if stamp.exists() and any(libs.glob("kafka_*.jar")):
        return libs
    mvn = require_tool("mvn", "install Maven (apt-get install maven) to fetch Kafka")
    base.mkdir(parents=True, exist_ok=True)
    (base / "pom.xml").write_text(_POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
    log.info("resolving Apache Kafka %s from Maven Central into %s", KAFKA_VERSION, libs)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(base / "pom.xml"),
        "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0 or not any(libs.glob("kafka_*.jar")):
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise BrokerError(f"Maven could not resolve Apache Kafka {KAFKA_VERSION}:\n{tail}")
    stamp.write_text(KAFKA_VERSION)
    return libs
