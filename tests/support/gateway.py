"""Test, demo and benchmark support: real local video servers and topic readers.

``MjpegServer`` serves JPEGs over HTTP as ``multipart/x-mixed-replace``; ``RtspServer``
runs Debian's ``rtsp-server-perl`` with ``ffmpeg`` publishing a looping file into it;
``GatewayThread`` runs a gateway in-process; ``TopicReader`` collects frames and status.
"""

from __future__ import annotations

import base64
import http.server
import random
import shutil
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition
from google.protobuf.message import Message

from framewire.core.admin import TopicPolicy, ensure_topics, fixed_topics
from framewire.core.codec import decode
from framewire.core.config import KafkaSettings
from framewire.core.errors import ConfigError
from framewire.core.kafka import make_admin, make_consumer, make_producer
from framewire.gateway.registry import delete_spec, put_spec
from framewire.gateway.service import Gateway
from framewire.gateway.settings import GatewaySettings
from framewire.v1.frame_pb2 import Frame
from framewire.v1.stream_pb2 import StreamSpec, StreamStatus

M = TypeVar("M", bound=Message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while not (ok := predicate()) and time.monotonic() < deadline:
        time.sleep(step_s)
    return ok


class MjpegServer:
    """An MJPEG camera on 127.0.0.1 serving ``jpegs`` in a loop at ``fps``."""

    def __init__(self, jpegs: list[bytes], fps: float, user: str = "", password: str = "") -> None:
        self.jpegs, self.period = jpegs, 1.0 / fps
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else ""
        self._userinfo = f"{user}:{password}@" if user else ""
        self._stopping = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._userinfo}127.0.0.1:{self._server.server_address[1]}/stream"

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if server._auth and self.headers.get("Authorization") != server._auth:
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=fwframe")
                self.end_headers()
                server._stream(self.wfile)

        return Handler

    def _stream(self, out: Any) -> None:
        next_due = time.monotonic()
        index = 0
        while not self._stopping.is_set():
            jpeg = self.jpegs[index % len(self.jpegs)]
            head = f"--fwframe\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
            try:
                out.write(head.encode() + jpeg + b"\r\n")
                out.flush()
            except OSError:
                return  # the client went away
            index += 1
            next_due += self.period
            self._stopping.wait(max(0.0, next_due - time.monotonic()))

    def __enter__(self) -> MjpegServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


class RtspServer:
    """``rtsp-server-perl`` with ``ffmpeg`` publishing ``video`` (looped, H.264) into it.

    The server speaks RTP over UDP only, hence ``rtsp_transport=udp`` in ``url``. Ports
    are fixed at construction, so ``stop`` then ``start`` brings the same URL back.
    """

    def __init__(self, video: Path, name: str = "cam") -> None:
        for tool in ("rtsp-server-perl", "ffmpeg"):
            if shutil.which(tool) is None:
                raise ConfigError(f"{tool} is not installed (Debian packages rtsp-server-perl, ffmpeg)")
        self.video, self.name = video, name
        self.client_port, self.source_port = free_port(), free_port()
        self.rtp_port = random.randrange(20000, 40000, 2)
        self._server: subprocess.Popen[bytes] | None = None
        self._publisher: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.client_port}/{self.name}?rtsp_transport=udp"

    def start(self, timeout_s: float = 10.0) -> None:
        self._server = subprocess.Popen(
            ["rtsp-server-perl", "-c", str(self.client_port), "-s", str(self.source_port),
             "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
             "--rtp_start_port", str(self.rtp_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if not wait_until(lambda: port_open(self.source_port), timeout_s):
            self.stop()
            raise ConfigError("rtsp-server-perl did not start listening")
        self._publisher = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(self.video), "-c:v", "libx264", "-preset", "ultrafast", "-tune",
             "zerolatency", "-g", "15", "-f", "rtsp",
             f"rtsp://127.0.0.1:{self.source_port}/{self.name}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # let the publisher announce the mount before clients come

    def stop(self) -> None:
        for proc in (self._publisher, self._server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
        self._publisher = self._server = None

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class GatewayThread:
    """Runs a gateway on a background thread for the duration of a ``with`` block."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.gateway = Gateway(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fw-gateway-control", daemon=True)

    def _run(self) -> None:
        try:
            self.gateway.run(self._stop)
        finally:
            self.gateway.close()

    def __enter__(self) -> Gateway:
        self.gateway.start()
        self._thread.start()
        return self.gateway

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def write_specs(kafka: KafkaSettings, specs: Iterable[StreamSpec] = (),
                deletions: Iterable[str] = ()) -> None:
    """Put specs into (and delete stream ids from) the registry, waiting for delivery."""
    ensure_topics(make_admin(kafka), fixed_topics(kafka.topics, TopicPolicy()))
    producer = make_producer(kafka)
    for spec in specs:
        put_spec(producer, kafka.topics, spec)
    for stream_id in deletions:
        delete_spec(producer, kafka.topics, stream_id)
    if producer.flush(15):
        raise ConfigError("registry writes were not delivered within 15 s")


class TopicReader:
    """Collects every frame (without pixels) and status of a topic prefix, in the background."""

    def __init__(self, kafka: KafkaSettings, keep_data: bool = False) -> None:
        self.frames: dict[str, list[Frame]] = defaultdict(list)
        self.statuses: dict[str, list[StreamStatus | None]] = defaultdict(list)
        self._keep_data = keep_data
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = make_consumer(
            kafka, f"{kafka.topic_prefix}reader-{random.randrange(1 << 30)}",
            **{"auto.offset.reset": "earliest", "topic.metadata.refresh.interval.ms": 500},
        )
        self._consumer.subscribe([kafka.topics.frames_pattern, kafka.topics.status])
        self._status_topic = kafka.topics.status
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for msg in self._consumer.consume(200, 0.2):
                if msg.error() is None:
                    self._add(msg.topic() or "", msg.key() or b"", msg.value())
        self._consumer.close()

    def _add(self, topic: str, key: bytes, value: bytes | None) -> None:
        with self._lock:
            if topic == self._status_topic:
                status = decode(StreamStatus, value) if value is not None else None
                self.statuses[key.decode()].append(status)
                return
            frame = decode(Frame, value)
            if not self._keep_data:
                frame.ClearField("data")
            self.frames[frame.stream_id].append(frame)

    def snapshot(self, stream_id: str) -> list[Frame]:
        with self._lock:
            return list(self.frames.get(stream_id, []))

    def last_status(self, stream_id: str) -> StreamStatus | None:
        with self._lock:
            history = self.statuses.get(stream_id, [])
            return history[-1] if history else None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def read_topic(kafka: KafkaSettings, topic: str, cls: type[M], timeout_s: float = 10.0) -> list[M]:
    """Every record of a one-partition topic from the beginning to its current end."""
    consumer = make_consumer(
        kafka, f"{kafka.topic_prefix}read-{random.randrange(1 << 30)}",
        **{"enable.partition.eof": True, "auto.offset.reset": "earliest"},
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out: list[M] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                return out
            if error is None and msg.value() is not None:
                out.append(decode(cls, msg.value()))
        raise ConfigError(f"{topic} was not read to its end within {timeout_s}s")
    finally:
        consumer.close()


def spec(stream_id: str, uri: str, fps: float = 10.0, **fields: Any) -> StreamSpec:
    """A StreamSpec with test-friendly defaults (enabled, looping)."""
    return StreamSpec(stream_id=stream_id, source_uri=uri, target_fps=fps,
                      enabled=fields.pop("enabled", True), loop=fields.pop("loop", True), **fields)
