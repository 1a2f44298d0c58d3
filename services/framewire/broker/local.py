"""Run one combined KRaft broker+controller on 127.0.0.1 from the Maven-resolved jars.

Used by ``framewire kafka up``, the pytest broker fixture, the demo and benchmarks. The
broker runs detached (its own session) so it outlives the command that started it; its
pid, log and data live under ``home``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from framewire.broker.maven import cache_root, require_tool, resolve_classpath
from framewire.core.errors import BrokerError

log = logging.getLogger(__name__)

_LOG4J2 = """Configuration:
  name: framewire-broker
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: WARN
"""

_LOG4J2_PROPERTIES = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafkaclients.name = org.apache.kafka
logger.kafkaclients.level = WARN
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.server.name = kafka.server.KafkaBroker
logger.server.level = INFO
"""

READY_LINE = "Kafka Server started"
# A broker with thousands of partitions, or one recovering from an unclean stop, writes log
# lines for minutes before it serves: wait while it makes progress, and give up only when
# its log has been silent this long, or at the ceiling.
STALL_S = 90.0
CEILING_S = 900.0


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class LocalBroker:
    """One local broker: ``home`` holds its config, data, log and pid file."""

    home: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    extra_config: dict[str, str] | None = None
    # Extra arguments for ``StorageTool format``, e.g. ``--add-scram`` credentials.
    format_args: tuple[str, ...] = ()

    @classmethod
    def default(cls) -> LocalBroker:
        """The developer's broker, called by ``framewire kafka`` and ``framewire up``.

        Its directory is ``FW_KAFKA_HOME`` (default ``$FW_HOME/broker``), its port
        ``FW_KAFKA_PORT`` (default 9092) and the controller's the next one.
        """
        port = int(os.environ.get("FW_KAFKA_PORT", "9092"))
        home = os.environ.get("FW_KAFKA_HOME")
        return cls(Path(home) if home else cache_root() / "broker", port=port, controller_port=port + 1)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    def pid(self) -> int | None:
        """The running broker's pid, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            self.pid_file.unlink(missing_ok=True)
            return None
        except PermissionError:
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None

    def config_text(self) -> str:
        data = self.home / "data"
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
            "SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            "log.dirs": str(data),
            "num.partitions": "1",
            # A single node: internal topics must not wait for replicas that never come.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # A worker killed inside a transaction blocks its partitions' offsets until the
            # broker aborts it: look for timed-out transactions every second, not every 10.
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(8 * 1024 * 1024 + 64 * 1024),
            "log.retention.check.interval.ms": "60000",
        }
        props.update(self.extra_config or {})
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _java_cmd(self, main_class: str, *args: str) -> list[str]:
        java = require_tool("java", "install a Java 17+ runtime to run Kafka")
        libs = resolve_classpath()
        log4j = self.home / "log4j2.properties"
        return [
            java,
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={log4j}",
            "-Djava.awt.headless=true",
            "-cp",
            f"{libs}/*",
            main_class,
            *args,
        ]

    def _format(self, config: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = _cluster_id()
        cmd = self._java_cmd(
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            f"--cluster-id={cluster_id}",
            "-c",
            str(config),
            *self.format_args,
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed: {proc.stderr.strip()[-800:]}")

    def start(self, stall_s: float = STALL_S, ceiling_s: float = CEILING_S) -> float:
        """Format storage if new, start the broker and wait until it serves; return seconds.

        It fails when the broker exits, when its log is silent for ``stall_s`` or when
        ``ceiling_s`` have passed, and then stops the broker.
        """
        if self.running():
            return 0.0
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                raise BrokerError(
                    f"port {port} on 127.0.0.1 is already in use by another process; "
                    "stop it or set FW_KAFKA_PORT to a free port"
                )
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j2.properties").write_text(_LOG4J2_PROPERTIES)
        config = self.home / "server.properties"
        config.write_text(self.config_text())
        started = time.monotonic()
        self._format(config)
        cmd = self._java_cmd("kafka.Kafka", str(config))
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.home,
            )
        self.pid_file.write_text(str(proc.pid))
        self._wait_ready(proc, started, stall_s, ceiling_s)
        return time.monotonic() - started

    def _wait_ready(
        self, proc: subprocess.Popen[bytes], started: float, stall_s: float, ceiling_s: float
    ) -> None:
        position = max(0, (self.log_file.stat().st_size if self.log_file.exists() else 0) - 200_000)
        seen_ready, last_progress, reported = False, time.monotonic(), started
        while True:
            now = time.monotonic()
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(f"broker exited with {proc.returncode}:\n{self._log_tail()}")
            fresh, position = self._read_from(position)
            if fresh:
                last_progress = now
                seen_ready = seen_ready or READY_LINE in fresh
            if seen_ready and port_in_use(self.port):
                return
            if now - last_progress > stall_s or now - started > ceiling_s:
                break
            if now - reported > 30:
                log.info("broker still starting after %.0fs (loading its logs)", now - started)
                reported = now
            time.sleep(0.2)
        self.stop()
        waited = time.monotonic() - started
        why = f"its log silent for {stall_s:g}s" if waited < ceiling_s else "the ceiling reached"
        raise BrokerError(f"broker not ready after {waited:.0f}s ({why}):\n{self._log_tail()}")

    def _read_from(self, position: int) -> tuple[str, int]:
        """The log's whole lines written since ``position``, and the position after them."""
        with open(self.log_file, "rb") as fh:
            fh.seek(position)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1
        return chunk[:end].decode("utf-8", "replace"), position + end

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout_s``; True if a broker was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.2)
        else:
            log.warning("broker %s ignored SIGTERM for %ss; killing it", pid, timeout_s)
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL the broker at once (fault injection in tests)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
            self.pid_file.unlink(missing_ok=True)

    def run_tool(self, main_class: str, *args: str, timeout_s: float | None = None) -> int:
        """Run one of Kafka's own command-line tools from the same classpath; its exit code.

        Called by ``framewire kafka tool``. The tool inherits this process's stdin, stdout and
        stderr: a console consumer prints record values as raw bytes (protobuf, JPEG), which
        must reach the caller unchanged and as they come, not decoded as text at the end.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        tools_log4j = self.home / "log4j2.properties"
        if not tools_log4j.exists():
            tools_log4j.write_text(_LOG4J2_PROPERTIES)
        cmd = self._java_cmd(main_class, *args)
        cmd[1:3] = ["-Xmx256m", "-Xms64m"]
        return subprocess.run(cmd, timeout=timeout_s, check=False).returncode


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes, base64url without padding (22 chars)."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
